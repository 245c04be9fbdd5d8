import { counted } from '../../diagnostics/printable';
import { ApplyResult, EngineConnection } from '../../engines/engine';
import { Patience } from '../../engines/busy';
import { PmgrantsError } from '../../model/errors';
import { ActualState } from '../../model/types';
import { waitingForLockMessage } from '../../engines/lock';
import { connectEngine } from '../../engines/registry';
import { applyRendered, planLive, RenderedPlan, viewOf } from '../../pipeline/plan';
import { formatPlan, PlanView, planTextPieces } from '../../plan/format';
import { CommandSpec } from '../args';
import { BUSY_OPTIONS, CONNECTION_OPTIONS, POLICY_OPTIONS, databaseUrl, loadValidPolicy, patienceOf } from '../common';
import { CliIO, EXIT } from '../io';
import { fileRepairs } from '../../plan/delivery';
import { addDeliveryNotes, secretsFileOf, SecretsFile } from '../secrets';
import { redactUrl } from './plan';

export const applySpec: CommandSpec = {
  name: 'apply',
  summary: 'make the database match the policy',
  usage: 'pmgrants apply <policy.yaml> [--stack NAME] [--database-url URL] [--yes] [--secrets-file FILE] [--lock-timeout SECONDS] [--wait SECONDS]',
  options: {
    ...POLICY_OPTIONS,
    ...CONNECTION_OPTIONS,
    ...BUSY_OPTIONS,
    yes: { type: 'boolean', short: 'y', help: 'do not ask for confirmation (pipelines)' },
    'secrets-file': {
      type: 'string',
      help: 'where generated passwords are written, mode 0600, checked before anything changes (default: $PMGRANTS_SECRETS_FILE or .pmgrants/credentials.json)',
      placeholder: 'FILE',
    },
    help: { type: 'boolean', short: 'h', help: 'show this help' },
  },
  details: 'Takes the apply lock on the database first, then plans and shows the plan, then asks (on a terminal) before\napplying, and releases the lock at the end: the plan shown is the plan applied, never one another apply made\nstale. The lock is held while it asks. When another apply holds it, says so on stderr and waits (PostgreSQL\n120 s, SQL Server lockTimeoutMs), then fails naming the holder.\nA warehouse in use: every statement waits at most --lock-timeout (3 s) for a lock a reader or another session\nholds (readers queued behind it wait no longer); a try rolled back by a lock wait, a deadlock or a concurrent\nGRANT is tried again, saying so on stderr, within --wait (30 s), then exit 2 naming the blocking session, nothing\napplied. The plan lists the changes that take exclusive locks (Locks:).\nWith --yes the apply starts at once and the plan is printed while it runs, before any progress line. The changes run in a transaction\nunder the lock: on any error in it nothing is applied. On PostgreSQL, new logins are created just before it, in\na short transaction of their own, and their passwords set on other sessions while it runs (a login has none\nuntil then); if it fails, those logins are dropped again. If setting passwords fails part-way, those set are\nkept in the secrets file and the next apply sets the rest.\nPasswords: written only to the secrets file, never printed. The file is checked first (a regular file that parses,\nor a path creatable in a directory you own; otherwise exit 2, nothing applied, the file left as it is). Each\nnew password is written to it as "pending" and fsynced BEFORE the server sees it, and becomes the login\'s\n"password" once the server has it; the login\'s marker records which one the server holds.\nInterrupted: on SIGINT or SIGTERM the current step is finished or rolled back, the file written, exit 130 or 143.\nKilled (SIGKILL, crash) at any point: the next plan says what is left and the next apply repairs it, so that\nevery login logs in with the password in the file (docs/credentials.md).\nExit: 0 applied (or nothing to do), 1 policy invalid, 2 usage, connection or apply error, 130/143 interrupted.',
};

export async function applyCommand(io: CliIO, values: Record<string, unknown>, positionals: string[], rotate?: string[]): Promise<number> {
  const policy = loadValidPolicy(io, positionals[0], values);
  const url = databaseUrl(io, values, policy);
  // The destination is checked before anything else: a password must never be set that cannot be kept.
  const secretsFile = secretsFileOf(values, io.env, io.cwd);
  const store = SecretsFile.open(secretsFile, { forWriting: true });
  const patience = patienceOf(io, values);
  const interruption = catchInterruption(io);
  let conn;
  try {
    conn = await connectEngine(policy.warehouse.engine, url);
  } catch (e) {
    interruption.dispose();
    throw e;
  }
  let release: (() => Promise<void>) | undefined;
  try {
    // The lock first, then inspect and plan under it (as terraform takes its state lock before it
    // refreshes): the plan printed and confirmed is the plan applied, never one another apply made stale.
    release = await conn.lockForApply((holder) => io.err(`${waitingForLockMessage(policy.warehouse.database, holder)}\n`));
    const rendered = await planLive(conn, policy, { ...(rotate ? { rotate } : {}), ...(store.exists ? { delivered: store.delivered() } : {}) });
    return await applyPlanned({ io, values, conn, store, interruption, patience, rendered, view: viewOf(rendered, `live: ${redactUrl(url)}`), database: policy.warehouse.database });
  } finally {
    interruption.dispose();
    await release?.();
    await conn.close();
  }
}

/** An apply planned under the lock, with what it needs to finish: print, confirm, apply, deliver. */
interface Planned {
  io: CliIO;
  values: Record<string, unknown>;
  conn: EngineConnection;
  store: SecretsFile;
  interruption: Interruption;
  patience: Patience;
  rendered: RenderedPlan & { actual: ActualState };
  view: PlanView;
  database: string;
}

/** The plan, its notes and the secrets file's repairs; then, when there are changes and they are confirmed, the apply. */
async function applyPlanned(p: Planned): Promise<number> {
  const { io, store, rendered, view, database } = p;
  addDeliveryNotes(rendered.plan, rendered.desired, store, rendered.actual);
  // The file alone is repaired first: passwords the server took after the file recorded them as
  // pending (an interrupted apply) become the delivered ones; pending ones it never took are dropped.
  const repairs = fileRepairs(store.logins, rendered.actual.passwordGeneration);
  store.discardPending(repairs.discard);
  const promoted = store.promote(repairs.promote, database);
  const early = p.interruption.exitCode();
  if (early !== undefined) throw new PmgrantsError('interrupted before the apply started; nothing was applied', early);
  if (rendered.plan.changes.length === 0) {
    io.out(formatPlan('text', view));
    if (promoted) io.out(`${promoted} password${promoted === 1 ? '' : 's'} the server already held recorded as delivered in ${store.file}.\n`);
    return EXIT.ok;
  }
  const started = Date.now();
  const run = await startApply(p);
  if (run === undefined) return EXIT.ok;
  const result = await deliveredOrKept(p, run.applying);
  io.out(
    `Applied ${counted(rendered.plan.changes.length, 'change')} (${counted(result.statements, 'statement')}, ${counted(result.roundTrips, 'round trip')}) in ${((Date.now() - started) / 1000).toFixed(2)} s.\n`,
  );
  if (result.secrets.size) io.out(`${result.secrets.size} generated password${result.secrets.size === 1 ? '' : 's'} written to ${store.file} (mode 0600).\n`);
  const code = p.interruption.exitCode();
  if (code !== undefined) throw new PmgrantsError('interrupted, but the apply had already finished: everything was applied and the secrets file written', code);
  return EXIT.ok;
}

/**
 * Print the plan and start the apply: with --yes at once, the plan printed while it runs; else after
 * the plan and a confirmation (undefined: declined). Progress lines wait for the plan to be out. The
 * apply's promise comes wrapped: awaiting this function must not wait for the apply itself.
 */
async function startApply(p: Planned): Promise<{ applying: Promise<ApplyResult> } | undefined> {
  const { io, store, rendered, view, database } = p;
  let lastReport = 0;
  let planPrinted = false;
  const apply = () =>
    applyRendered(
      p.conn,
      rendered,
      (done, total) => {
        const now = Date.now();
        if (planPrinted && total >= 50 && (now - lastReport > 500 || done === total)) {
          lastReport = now;
          io.err(`applying: ${done}/${total} statements\n`);
        }
      },
      // Write-ahead: every generated password is in the secrets file (fsynced) before the server sees any.
      { deliver: async (passwords) => store.stagePending(passwords, database), signal: p.interruption.signal, patience: p.patience },
    );
  if (p.values.yes) {
    // Nothing to ask: the apply starts first (its first round trip is on its way when apply()
    // returns) and the plan is printed while the server works. Progress and errors come after it.
    const applying = apply();
    applying.catch(() => undefined); // awaited by the caller
    await printInPieces(io, planTextPieces(view));
    planPrinted = true;
    return { applying };
  }
  io.out(formatPlan('text', view));
  planPrinted = true;
  if (!io.interactive) throw new PmgrantsError('refusing to apply without confirmation: not on a terminal; pass --yes');
  if (!(await io.confirm(`Apply ${rendered.plan.changes.length} changes to ${database}?`))) {
    io.err('Nothing applied.\n');
    return undefined;
  }
  return { applying: apply() };
}

/**
 * The apply's result, its passwords recorded as delivered. An apply that committed part of its work
 * hands back the passwords the server took: they are the delivered ones now. The others stay pending;
 * the next plan sorts them out (marker generations).
 */
async function deliveredOrKept(p: Planned, applying: Promise<ApplyResult>): Promise<ApplyResult> {
  const { store, database } = p;
  let result: ApplyResult;
  try {
    result = await applying;
  } catch (e) {
    const kept = (e as { secrets?: unknown }).secrets;
    const code = p.interruption.exitCode();
    if (e instanceof PmgrantsError && kept instanceof Map && kept.size > 0) {
      store.promote(kept.keys(), database);
      throw new PmgrantsError(
        `${e.message.replace(/\.$/, '')}; the passwords of the ${kept.size} login${kept.size === 1 ? '' : 's'} already set are in ${store.file}`,
        code ?? e.exitCode,
      );
    }
    if (code !== undefined && e instanceof PmgrantsError) throw new PmgrantsError(e.message, code);
    throw e;
  }
  store.promote(result.secrets.keys(), database);
  return result;
}

/**
 * SIGINT and SIGTERM while an apply runs: the apply is asked to stop (it rolls back what it has not
 * committed, or stops setting passwords after its commit), the secrets file is written, and the
 * command exits 130 or 143. A second signal is the same request.
 */
/** What catchInterruption gives an apply: the signal it listens to, and the exit code of the signal received. */
export interface Interruption {
  signal: AbortSignal;
  exitCode(): number | undefined;
  dispose(): void;
}

export function catchInterruption(io: CliIO): Interruption {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!received) io.err(`pmgrants: ${sig} received: stopping after the current step, then writing the secrets file\n`);
    received ??= sig;
    controller.abort();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const s of signals) process.on(s, onSignal);
  return {
    signal: controller.signal,
    exitCode: () => (received === 'SIGINT' ? 130 : received === 'SIGTERM' ? 143 : undefined),
    dispose: () => {
      for (const s of signals) process.off(s, onSignal);
    },
  };
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
