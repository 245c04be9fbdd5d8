import { PmgrantsError } from '../model/errors';

/**
 * Applying to a warehouse in use: how long one statement may wait for a lock, how long an apply keeps
 * trying, and what it says while it does. Engine-neutral; each engine sets its lock wait (PostgreSQL
 * lock_timeout, SQL Server SET LOCK_TIMEOUT), classifies its errors and names who blocks it.
 */

/** One statement waits at most this long for a lock (a reader queued behind it waits no longer). */
export const DEFAULT_LOCK_TIMEOUT_SECONDS = 3;
/** An apply whose locks cannot be had keeps trying, rolled back in between, for this long in all. */
export const DEFAULT_WAIT_SECONDS = 30;

/** How patient an apply is with a busy warehouse (ApplyOptions.patience). */
export interface Patience {
  /** Seconds one statement waits for a lock before the transaction is rolled back. Default 3. */
  lockTimeoutSeconds?: number;
  /** Seconds, from the first try, during which a rolled-back apply is tried again. Default 30; 0: one try. */
  waitSeconds?: number;
  /** Told before each new try, with one sentence saying why and when (the CLI prints it on stderr). */
  onRetry?(note: string): void;
}

/** The patience from command-line values or the environment (PMGRANTS_LOCK_TIMEOUT, PMGRANTS_WAIT); a bad value is one sentence. */
export function patienceFrom(values: { lockTimeout?: unknown; wait?: unknown }, env: Record<string, string | undefined> = {}): Patience {
  const read = (value: unknown, variable: string, flag: string, min: number): number | undefined => {
    const given = value ?? env[variable];
    if (given === undefined || given === '') return undefined;
    const n = typeof given === 'number' ? given : Number(String(given).trim());
    const source = value !== undefined ? `--${flag}` : variable;
    if (!Number.isFinite(n) || n < min || n > 86_400) {
      throw new PmgrantsError(`${source} must be a number of seconds${min > 0 ? ' above 0' : ''}, at most 86400, not "${String(given)}"`);
    }
    return n;
  };
  const lockTimeoutSeconds = read(values.lockTimeout, 'PMGRANTS_LOCK_TIMEOUT', 'lock-timeout', 0.001);
  const waitSeconds = read(values.wait, 'PMGRANTS_WAIT', 'wait', 0);
  return { ...(lockTimeoutSeconds !== undefined ? { lockTimeoutSeconds } : {}), ...(waitSeconds !== undefined ? { waitSeconds } : {}) };
}

export function lockTimeoutOf(patience: Patience | undefined): number {
  return patience?.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS;
}

/** A session that holds what an apply waited for, as far as the server tells. */
export interface Blocker {
  /** "pid 4242" (PostgreSQL), "session 57" (SQL Server). */
  session: string;
  user?: string;
  program?: string;
  /** How long its transaction (else its query) has run, in seconds. */
  seconds?: number;
  /** Its query's first words; undefined when the server hides it. */
  query?: string;
}

/**
 * The apply was rolled back whole because of somebody else's work: a lock not had in time, a deadlock,
 * a serialization failure, PostgreSQL's "tuple concurrently updated". Nothing of it stayed on the
 * server, so it may be tried again as it is.
 */
export class TransientConflict extends PmgrantsError {
  constructor(
    /** What happened, without "nothing was applied": "a lock on hr.events was not granted within 3 s". */
    readonly what: string,
    readonly blockers: readonly Blocker[] = [],
    /** A lock wait (as opposed to a deadlock or a concurrent update). */
    readonly lockWait = false,
  ) {
    super(`${what}${blockedBy(blockers)}; the transaction was rolled back and nothing was applied`);
    this.name = 'TransientConflict';
  }
}

const printable = (text: string) => text.replace(/[^\x20-\x7e]/g, '?');

/** "pid 4242 (user analyst, application "psql", running for 41 s: "SELECT count(*) FROM hr.events")". */
export function describeBlocker(b: Blocker): string {
  const parts: string[] = [];
  if (b.user) parts.push(`user ${printable(b.user)}`);
  if (b.program) parts.push(`application "${printable(b.program)}"`);
  const ran = b.seconds !== undefined ? `running for ${Math.round(b.seconds)} s` : undefined;
  const text = b.query !== undefined ? withoutSecrets(b.query).replace(/\s+/g, ' ').trim() : undefined;
  const query = text !== undefined ? `"${printable(text).slice(0, 60)}${text.length > 60 ? '...' : ''}"` : undefined;
  if (ran && query) parts.push(`${ran}: ${query}`);
  else if (ran) parts.push(ran);
  else if (query) parts.push(query);
  return parts.length > 0 ? `${b.session} (${parts.join(', ')})` : b.session;
}

/**
 * Somebody else's query, without what follows PASSWORD or SECRET: the blocker may be a DBA's `ALTER ROLE
 * ... PASSWORD '...'` or `CREATE LOGIN ... WITH PASSWORD = N'...'`, and its text goes to stderr and logs.
 * A quoted value is cut to its closing quote (or the end of a truncated text), anything else to the next space.
 */
export function withoutSecrets(query: string): string {
  return query.replace(/\b(password|secret)(\s*=\s*|\s+)(N?'(?:[^']|'')*'?|"[^"]*"?|[^\s,;)]+)/gi, '$1$2********');
}

function blockedBy(blockers: readonly Blocker[]): string {
  if (blockers.length === 0) return '';
  return `, held by ${blockers.map(describeBlocker).join(' and ')}`;
}

/** Delay before try `next` (2, 3, ...): 0.25 s doubling to 4 s, with up to a quarter of jitter. */
export function backoffSeconds(next: number, random: () => number = Math.random): number {
  const base = Math.min(4, 0.25 * 2 ** Math.max(0, next - 2));
  return base * (0.75 + 0.25 * random());
}

/**
 * Run `attempt` until it succeeds, fails for another reason, or the patience runs out. Between tries
 * nothing is held or queued (the failed try rolled back). The last conflict becomes one sentence that
 * says how long it tried and what to do.
 */
export async function retryTransient<T>(attempt: () => Promise<T>, patience: Patience | undefined, signal?: AbortSignal, sleep = defaultSleep): Promise<T> {
  const waitSeconds = patience?.waitSeconds ?? DEFAULT_WAIT_SECONDS;
  const started = Date.now();
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof TransientConflict)) throw err;
      const elapsed = (Date.now() - started) / 1000;
      const delay = backoffSeconds(tries + 1);
      if (signal?.aborted || elapsed + delay > waitSeconds) throw exhausted(err, tries, elapsed, waitSeconds);
      patience?.onRetry?.(`${err.what}${blockedBy(err.blockers)}; rolled back, trying again in ${delay.toFixed(1)} s (try ${tries + 1}, waiting up to ${waitSeconds} s in all)`);
      await sleep(delay * 1000, signal);
    }
  }
}

function exhausted(err: TransientConflict, tries: number, elapsed: number, waitSeconds: number): PmgrantsError {
  const over = tries === 1 ? 'in one try' : `in ${tries} tries over ${Math.round(elapsed)} s`;
  const advice = err.lockWait ? 'run it again when that session has finished, or pass --wait SECONDS (PMGRANTS_WAIT) to keep trying longer' : 'run it again';
  return new PmgrantsError(`${err.what}${blockedBy(err.blockers)} ${over}; nothing was applied and the database is unchanged; ${advice}${waitSeconds === 0 ? ' (--wait is 0: no retry)' : ''}`);
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
