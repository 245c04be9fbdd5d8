/** Everything a command touches outside itself, so commands run in-process in tests. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** True when a person can answer a prompt. */
  interactive: boolean;
  /** Ask a yes/no question; resolves false on anything but y/yes. */
  confirm(question: string): Promise<boolean>;
  cwd: string;
}

export function processIO(): CliIO {
  // A reader that goes away (`pmgrants plan ... | head`) ends the output, not the command: an apply
  // under way finishes (or rolls back) as it would have, and its exit code still tells how it went.
  let stdoutGone = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stdoutGone = true;
  });
  return {
    out: (t) => {
      if (!stdoutGone) process.stdout.write(t);
    },
    err: (t) => process.stderr.write(t),
    env: process.env,
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    cwd: process.cwd(),
    confirm: (question) =>
      new Promise((resolve) => {
        const readline = require('node:readline') as typeof import('node:readline');
        const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
        rl.question(`${question} [y/N] `, (answer) => {
          rl.close();
          resolve(/^y(es)?$/i.test(answer.trim()));
        });
      }),
  };
}

/** Exit codes are part of the interface (README "Exit codes"). */
export const EXIT = { ok: 0, invalid: 1, usage: 2 } as const;
