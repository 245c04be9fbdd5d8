import { printable } from '../diagnostics/printable';
import { PmgrantsError } from '../model/errors';
import { packageVersion } from '../package-root';
import { CommandSpec, commandHelp, parseCommandArgs } from './args';
import { PolicyInvalid } from './common';
import { CliIO, EXIT, processIO } from './io';
import { applyCommand, applySpec } from './commands/apply';
import { checkoutCommand, checkoutSpec } from './commands/checkout';
import { demoCommand, demoSpec } from './commands/demo';
import { diffStacksCommand, diffStacksSpec } from './commands/diff-stacks';
import { doctorCommand, doctorSpec } from './commands/doctor';
import { exportCommand, exportSpec } from './commands/export';
import { planCommand, planSpec } from './commands/plan';
import { reportCommand, reportSpec } from './commands/report';
import { rotateCommand, rotateSpec } from './commands/rotate';
import { validateCommand, validateSpec } from './commands/validate';
import { maxOf } from '../model/collections';

type Handler = (io: CliIO, values: Record<string, unknown>, positionals: string[]) => Promise<number>;

export const COMMANDS: [CommandSpec, Handler][] = [
  [validateSpec, validateCommand],
  [planSpec, planCommand],
  [diffStacksSpec, diffStacksCommand],
  [applySpec, (io, v, p) => applyCommand(io, v, p)],
  [doctorSpec, doctorCommand],
  [exportSpec, exportCommand],
  [reportSpec, reportCommand],
  [rotateSpec, rotateCommand],
  [checkoutSpec, checkoutCommand],
  [demoSpec, demoCommand],
];

export function mainHelp(): string {
  const width = maxOf(COMMANDS.map(([s]) => s.name.length), 0);
  return [
    'pmgrants — access policy for process-mining data warehouses, as code',
    '',
    'Usage: pmgrants <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map(([s]) => `  ${s.name.padEnd(width)}  ${s.summary}`),
    '',
    "Run 'pmgrants <command> --help' for a command's options.",
    'Exit codes: 0 ok, 1 policy invalid, 2 usage or environment error (plan --detailed-exitcode: 2 = changes; report --detailed-exitcode: 2 = drift; doctor: 3 = a check failed).',
    '',
  ].join('\n');
}

export async function runCli(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const sub = name === 'help' ? COMMANDS.find(([s]) => s.name === rest[0]) : undefined;
    io.out(sub ? commandHelp(sub[0]) : mainHelp());
    return EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    io.out(`pmgrants ${packageVersion()}\n`);
    return EXIT.ok;
  }
  const entry = COMMANDS.find(([s]) => s.name === name);
  // plan --detailed-exitcode says "changes" with 2: there, any error exits 1 (as terraform plan does).
  let errorExit = (code: number) => code;
  try {
    if (!entry) throw new PmgrantsError(`unknown command "${name}"; run 'pmgrants --help' for the list`);
    const [spec, handler] = entry;
    const { values, positionals } = parseCommandArgs(spec, rest);
    if (spec.name === 'plan' && values['detailed-exitcode']) errorExit = () => 1;
    if (values.help) {
      io.out(commandHelp(spec));
      return EXIT.ok;
    }
    return await handler(io, values, positionals);
  } catch (e) {
    if (e instanceof PolicyInvalid) return EXIT.invalid;
    if (e instanceof PmgrantsError) {
      // Messages can quote names from the catalog: printed escaped, one line.
      io.err(`pmgrants: ${printable(e.message)}\n`);
      return errorExit(e.exitCode);
    }
    // Driver errors that escaped an engine's mapping still get one line, never a stack trace.
    const err = e as NodeJS.ErrnoException;
    io.err(`pmgrants: ${printable(describeUnexpected(err))}\n`);
    if (io.env.PMGRANTS_DEBUG) io.err(`${err.stack ?? ''}\n`);
    return errorExit(EXIT.usage);
  }
}

function describeUnexpected(e: NodeJS.ErrnoException): string {
  if (e.code === 'ECONNREFUSED') return 'cannot connect to the database: connection refused (is the server running, and the host and port right?)';
  if (e.code === 'ENOTFOUND') return 'cannot connect to the database: unknown host';
  if (e.code === 'ETIMEDOUT') return 'cannot connect to the database: timed out';
  const first = String(e.message ?? e).split('\n')[0];
  return `unexpected error: ${first} (set PMGRANTS_DEBUG=1 for details)`;
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`pmgrants: ${(e as Error).message}\n`);
      process.exitCode = EXIT.usage;
    },
  );
}
