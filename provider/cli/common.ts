import { Diagnostic, hasErrors } from '../diagnostics/diagnostic';
import { printable } from '../diagnostics/printable';
import { formatText } from '../diagnostics/format';
import { PmgrantsError } from '../model/errors';
import { checkUrlDatabase } from '../pipeline/database';
import { loadPolicy } from '../policy/load';
import { Policy } from '../model/types';
import { CliIO, EXIT } from './io';
import { OptionSpec } from './args';
import { Patience, patienceFrom } from '../engines/busy';

export const POLICY_OPTIONS: Record<string, OptionSpec> = {
  stack: { type: 'string', short: 's', help: 'merge stacks/NAME.yaml onto the policy', placeholder: 'NAME' },
  'stacks-dir': { type: 'string', help: 'where stack overlays live (default: ./stacks, then next to the policy)', placeholder: 'DIR' },
};

export const CONNECTION_OPTIONS: Record<string, OptionSpec> = {
  'database-url': {
    type: 'string',
    help: 'connection URL of the warehouse (default: $PMGRANTS_DATABASE_URL); prefer the variable, a URL on the command line is visible to other users',
    placeholder: 'URL',
  },
};

/** A busy warehouse (engines/busy.ts): apply, rotate and checkout take them. */
export const BUSY_OPTIONS: Record<string, OptionSpec> = {
  'lock-timeout': {
    type: 'string',
    help: 'seconds one statement waits for a lock a reader or another session holds before the transaction is rolled back and tried again (default: $PMGRANTS_LOCK_TIMEOUT or 3); readers queued behind it wait no longer',
    placeholder: 'SECONDS',
  },
  wait: {
    type: 'string',
    help: 'seconds to keep trying, rolled back in between, while locks cannot be had or concurrent changes conflict (default: $PMGRANTS_WAIT or 30; 0: one try)',
    placeholder: 'SECONDS',
  },
};

/** The patience of an apply from --lock-timeout, --wait and the environment; retries are told on stderr. */
export function patienceOf(io: CliIO, values: Record<string, unknown>): Patience {
  return { ...patienceFrom({ lockTimeout: values['lock-timeout'], wait: values.wait }, io.env), onRetry: (note) => io.err(`pmgrants: ${note}\n`) };
}

export class PolicyInvalid extends Error {}

/**
 * Problems with the files themselves rather than their content: a usage or environment error (exit 2),
 * like a policy file that is missing; a stack whose overlay file does not exist is one.
 */
const FILE_PROBLEMS = new Set(['file-unreadable', 'file-not-regular', 'file-too-large', 'unknown-stack']);

/** The first diagnostic that is about reading a file, as the one sentence the CLI prints for it. */
export function fileProblem(diagnostics: readonly Diagnostic[]): PmgrantsError | undefined {
  const d = diagnostics.find((x) => FILE_PROBLEMS.has(x.code));
  return d && new PmgrantsError(`${printable(d.file)}: ${d.message}`);
}

/** Load and validate; print diagnostics (errors and warnings) to stderr; throw when invalid. */
export function loadValidPolicy(io: CliIO, file: string | undefined, values: Record<string, unknown>): Policy {
  if (!file) throw new PmgrantsError('missing the policy file argument');
  const loaded = loadPolicy(file, { stack: values.stack as string | undefined, stacksDir: values['stacks-dir'] as string | undefined });
  const unreadable = fileProblem(loaded.diagnostics);
  if (unreadable) throw unreadable;
  const shown = loaded.diagnostics.filter((d) => d.severity !== 'info');
  if (hasErrors(loaded.diagnostics) || !loaded.policy) {
    io.err(formatText(loaded.diagnostics, loaded.sources));
    throw new PolicyInvalid();
  }
  if (shown.length) io.err(formatText(shown, loaded.sources));
  return loaded.policy;
}

/**
 * The connection URL. With `policy` (plan, apply, rotate): checked to name the policy's
 * warehouse.database, so that no command compares or changes another database.
 */
export function databaseUrl(io: CliIO, values: Record<string, unknown>, policy?: Policy): string {
  const url = (values['database-url'] as string | undefined) ?? io.env.PMGRANTS_DATABASE_URL;
  if (!url) throw new PmgrantsError('no database to connect to: pass --database-url or set PMGRANTS_DATABASE_URL (or use --offline to print the creation plan)');
  if (policy) checkUrlDatabase(policy.warehouse.engine, url, policy.warehouse.database);
  return url;
}

export { EXIT };
