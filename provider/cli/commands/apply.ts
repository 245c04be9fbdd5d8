import { PmgrantsError, waitingForLockMessage } from '../../engines/engine';
import { connectEngine } from '../../engines/registry';
import { applyRendered, planLive, viewOf } from '../../engines/session';
import { formatPlan, planTextPieces } from '../../plan/format';
import { CommandSpec } from '../args';
import { CONNECTION_OPTIONS, POLICY_OPTIONS, databaseUrl, loadValidPolicy } from '../common';
import { CliIO, EXIT } from '../io';
import { defaultSecretsFile, writeSecretsFile } from '../secrets';
import { redactUrl } from './plan';

export const applySpec: CommandSpec = {
  name: 'apply',
  summary: 'make the database match the policy',
  usage: 'pmgrants apply <policy.yaml> [--stack NAME] [--database-url URL] [--yes] [--secrets-file FILE]',
  options: {
    ...POLICY_OPTIONS,
    ...CONNECTION_OPTIONS,
    yes: { type: 'boolean', short: 'y', help: 'do not ask for confirmation (pipelines)' },
    'secrets-file': { type: 'string', help: 'where generated passwords are written, mode 0600 (default: $PMGRANTS_SECRETS_FILE or .pmgrants/credentials.json)', placeholder: 'FILE' },
    help: { type: 'boolean', short: 'h', help: 'show this help' },
  },
  details: 'Takes the apply lock on the database first, then plans and shows the plan, then asks (on a terminal) before\napplying, and releases the lock at the end: the plan shown is the plan applied, never one another apply made\nstale. The lock is held while it asks. When another apply holds it, says so on stderr and waits (PostgreSQL\n120 s, SQL Server lockTimeoutMs), then fails naming the holder. With --yes the apply starts at once\nand the plan is printed while it runs, before any progress line. The changes run in a transaction\nunder the lock: on any error in it nothing is applied. On PostgreSQL, new logins are created just before it, in\na short transaction of their own, and their passwords set on other sessions while it runs (a login has none\nuntil then); if it fails, those logins are dropped again. If setting passwords fails part-way, those set are\nkept in the secrets file and the next apply sets the rest. Generated passwords are written only to the\nsecrets file, never printed.\nExit: 0 applied (or nothing to do), 1 policy invalid, 2 usage, connection or apply error.',
};

export async function applyCommand(io: CliIO, values: Record<string, unknown>, positionals: string[], rotate?: string[]): Promise<number> {
  const policy = loadValidPolicy(io, positionals[0], values);
  const url = databaseUrl(io, values, policy);
  const conn = await connectEngine(policy.warehouse.engine, url);
  let release: (() => Promise<void>) | undefined;
  try {
    // The lock first, then inspect and plan under it (as terraform takes its state lock before it
    // refreshes): the plan printed and confirmed is the plan applied, never one another apply made stale.
    release = await conn.lockForApply((holder) => io.err(`${waitingForLockMessage(policy.warehouse.database, holder)}\n`));
    const rendered = await planLive(conn, policy, rotate ? { rotate } : {});
    const view = viewOf(rendered, `live: ${redactUrl(url)}`);
    const printPlan = () => io.out(formatPlan('text', view));
    if (rendered.plan.changes.length === 0) {
      printPlan();
      return EXIT.ok;
    }
    const started = Date.now();
    let lastReport = 0;
    // Progress lines wait for the plan (printed while the apply runs, with --yes) to be out.
    let planPrinted = false;
    const secretsFile = (values['secrets-file'] as string | undefined) ?? defaultSecretsFile(io.env);
    const apply = () =>
      applyRendered(conn, rendered, (done, total) => {
        const now = Date.now();
        if (planPrinted && total >= 50 && (now - lastReport > 500 || done === total)) {
          lastReport = now;
          io.err(`applying: ${done}/${total} statements\n`);
        }
      });
    let applying: ReturnType<typeof apply>;
    if (values.yes) {
      // Nothing to ask: the apply starts first (its first round trip is on its way when apply()
      // returns) and the plan is printed while the server works. Progress and errors come after it.
      applying = apply();
      applying.catch(() => undefined); // awaited below
      await printInPieces(io, planTextPieces(view));
      planPrinted = true;
    } else {
      printPlan();
      planPrinted = true;
      if (!io.interactive) throw new PmgrantsError('refusing to apply without confirmation: not on a terminal; pass --yes');
      if (!(await io.confirm(`Apply ${rendered.plan.changes.length} changes to ${policy.warehouse.database}?`))) {
        io.err('Nothing applied.\n');
        return EXIT.ok;
      }
      applying = apply();
    }
    let result;
    try {
      result = await applying;
    } catch (e) {
      // An apply that committed part of its work (Azure SQL: logins in master) hands back the passwords
      // of the logins it did create; keep them, or those logins would be unusable until rotated.
      const kept = (e as { secrets?: unknown }).secrets;
      if (e instanceof PmgrantsError && kept instanceof Map && kept.size > 0) {
        writeSecretsFile(secretsFile, policy.warehouse.database, kept as Map<string, string>);
        throw new PmgrantsError(`${e.message.replace(/\.$/, '')}; the passwords of the ${kept.size} login${kept.size === 1 ? '' : 's'} already created were written to ${secretsFile}`);
      }
      throw e;
    }
    writeSecretsFile(secretsFile, policy.warehouse.database, result.secrets);
    io.out(
      `Applied ${rendered.plan.changes.length} changes (${result.statements} statements, ${result.roundTrips} round trips) in ${((Date.now() - started) / 1000).toFixed(2)} s.\n`,
    );
    if (result.secrets.size) io.out(`${result.secrets.size} generated password${result.secrets.size === 1 ? '' : 's'} written to ${secretsFile} (mode 0600).\n`);
    return EXIT.ok;
  } finally {
    await release?.();
    await conn.close();
  }
}

/**
 * Print a text piece by piece, letting the I/O callbacks of an apply already under way run in between:
 * formatting and writing a plan of thousands of statements takes tens of milliseconds, and the apply's
 * next round trip (and its password sessions) would wait for all of it.
 */
export async function printInPieces(io: CliIO, pieces: Iterable<string>): Promise<void> {
  let first = true;
  for (const piece of pieces) {
    if (!first) await new Promise<void>((resolve) => setImmediate(resolve));
    first = false;
    io.out(piece);
  }
}
