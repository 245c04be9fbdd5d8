import { CliIO } from '../../provider/cli/io';
import { runCli } from '../../provider/cli/main';

/** Run the CLI in-process, as a pipeline would (no terminal), and collect what it printed. */
export async function runCliCaptured(args: string[], options: { env?: NodeJS.ProcessEnv; cwd: string }): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => (out += t), err: (t) => (err += t), env: options.env ?? {}, interactive: false, confirm: async () => false, cwd: options.cwd };
  const code = await runCli(args, io);
  return { code, out, err };
}
