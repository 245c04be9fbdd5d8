import type { Client as PgClient } from 'pg';
import type { PasswordLifetime } from '../engine';
import { PartialApplyError, PmgrantsError } from '../../model/errors';
import { isConnectionLost, reasonOf } from './errors';
import { passwordSql } from './marker';
import { scramSha256VerifierAsync } from './scram';
import type { PostgresSession } from './session';

/**
 * Sessions that set passwords at once after an apply's commit (PostgreSQL spends ~3 ms of one core on
 * each), and passwords per round trip on each.
 */
export const PASSWORD_SESSIONS = 4;
export const PASSWORDS_PER_TRIP = 25;

/**
 * Key of the advisory lock each extra password session of an apply holds, shared, from its first
 * password round trip to its end. PostgreSQL notices that a client is gone only when it next reads
 * from it, so the round trip a session had received when its apply was killed (SIGKILL, a crash) still
 * runs, and sets its passwords after the apply is gone (seconds later if it waits for a lock). The
 * apply lock does not cover it: only the apply's own session holds that. So lockForApply also waits
 * (waitPasswordSessionsSql) until no such session is left, before the catalog is read: else the next
 * apply would take a pending password the server has not taken yet for one it never will, drop it from
 * the secrets file, and the server would then take it: a password nobody holds. ASCII "pmgpassw".
 */
export const PASSWORD_SESSION_LOCK_KEY = '8101245037078344567';

/** Prefixed to each password round trip of an extra session (a session lock: it outlives the trip's transaction). */
export const passwordSessionLockSql = `SELECT pg_catalog.pg_advisory_lock_shared(${PASSWORD_SESSION_LOCK_KEY})`;

/** A password to set (see prepareStatements). */
export interface PendingPassword {
  login: string;
  /** Plaintext: only its SCRAM verifier is ever sent (passwordSql). */
  password: string;
  /** The id of this password, recorded in the login's marker with it (and with the password where it is delivered). */
  generation: string;
  /** Position of the statement that asked for it. */
  index: number;
  /** A login created by the apply's first transaction: its password is set while the main transaction runs. */
  early: boolean;
}

/** What an apply has to set: its passwords, and every plaintext to scrub from a message (see PreparedApply). */
export interface PasswordWork {
  passwords: readonly PendingPassword[];
  hidden: readonly string[];
  /** How long they are valid, and whether a checkout takes them (ApplyOptions.passwordLifetime). */
  lifetime?: PasswordLifetime;
  /**
   * Seconds each password trip waits for a lock (a DBA's uncommitted change to the same role): it ends
   * the trip, whose passwords go back to the other sessions, instead of waiting without end. Absent: no bound.
   */
  lockTimeoutSeconds?: number;
}

/** The outcome of setting an apply's passwords: those set, and the first failure when some were not. */
export interface PasswordOutcome {
  set: Map<string, string>;
  failure: unknown;
  /** The secrets an error message must not show: the passwords and their verifiers. */
  hidden: string[];
}

/**
 * Sets an apply's passwords on the sessions given to it, PASSWORDS_PER_TRIP per round trip, each
 * trip one implicit transaction (all of it or none). Work can be added and sessions can join while it
 * runs: the early passwords start on the extra sessions during the main transaction, the rest (and
 * the apply's own session) join after its commit. A session whose trip fails stops, and its trip goes
 * back to the queue for the others: one lost or limited session costs time, not passwords.
 */
export class PasswordSetter {
  private readonly now: Date;
  private readonly verifierOf = new Map<string, Promise<string>>();
  private readonly hidden: string[];
  private readonly queue: PendingPassword[][] = [];
  private readonly set = new Map<string, string>();
  private readonly working: Promise<void>[] = [];
  private failure: unknown;
  private stopped = false;

  constructor(
    private readonly session: PostgresSession,
    private readonly prepared: PasswordWork,
    private readonly report: (index: number) => void | Promise<void>,
    private readonly signal?: AbortSignal,
  ) {
    this.now = prepared.lifetime?.setAt ?? new Date();
    this.hidden = [...prepared.hidden];
    for (const p of prepared.passwords) {
      const verifier = scramSha256VerifierAsync(p.password).then((v) => {
        this.hidden.push(v);
        return v;
      });
      verifier.catch(() => undefined); // awaited by a worker; a failure before that must not go unhandled
      this.verifierOf.set(p.login, verifier);
    }
  }

  add(passwords: readonly PendingPassword[]): void {
    for (let i = 0; i < passwords.length; i += PASSWORDS_PER_TRIP) this.queue.push(passwords.slice(i, i + PASSWORDS_PER_TRIP));
  }

  /** Put a session to work on the queue (one still at work gets a second worker: pg queues its queries). */
  join(c: PgClient, pinned = false): void {
    this.working.push(this.worker(c, pinned));
  }

  /** No new trips: the main transaction failed. */
  stop(): void {
    this.stopped = true;
  }

  /** Wait for every session; the passwords set, and the first failure when some were not. */
  async settle(): Promise<PasswordOutcome> {
    await Promise.all(this.working);
    const { set, hidden } = this;
    return { set, failure: set.size < this.prepared.passwords.length ? (this.failure ?? new Error('no session was left to set them')) : undefined, hidden };
  }

  private async worker(c: PgClient, pinned: boolean): Promise<void> {
    const { session, signal } = this;
    for (let chunk = this.queue.shift(); chunk; chunk = this.queue.shift()) {
      if (this.stopped || signal?.aborted) {
        this.failure ??= signal?.aborted ? new PmgrantsError('the apply was interrupted') : undefined;
        this.queue.unshift(chunk);
        return;
      }
      try {
        const verifiers = await Promise.all(chunk.map((p) => this.verifierOf.get(p.login)!));
        session.trips++;
        // An extra session marks itself as one (see PASSWORD_SESSION_LOCK_KEY); the apply's own holds the apply lock.
        const lifetime = this.prepared.lifetime;
        const sql = chunk.map((p, i) => passwordSql(p.login, verifiers[i], this.now, session.warehouse, p.generation, lifetime));
        const wait = this.prepared.lockTimeoutSeconds;
        // One implicit transaction per trip: SET LOCAL ends with it.
        const bound = wait !== undefined ? [`SET LOCAL lock_timeout = '${Math.max(1, Math.round(wait * 1000))}ms'`] : [];
        await c.query([...bound, ...(pinned ? sql : [passwordSessionLockSql, ...sql])].join(';\n'));
      } catch (err) {
        this.failure ??= err;
        this.queue.unshift(chunk);
        if (pinned && isConnectionLost(err)) await session.dropSession();
        return;
      }
      for (const p of chunk) {
        this.set.set(p.login, p.password);
        const reported = this.report(p.index);
        if (reported) await reported;
      }
    }
  }
}

/** The PartialApplyError of passwords that could not all be set after the changes were committed. */
export function passwordsFailed(prepared: PasswordWork, outcome: PasswordOutcome): PartialApplyError {
  const missing = prepared.passwords.length - outcome.set.size;
  const reason = reasonOf(outcome.failure, outcome.hidden);
  return new PartialApplyError(
    `the changes were committed, but setting the password of ${missing} of ${prepared.passwords.length} login${prepared.passwords.length === 1 ? '' : 's'} failed (${reason.replace(/\.$/, '')}); those logins keep their previous password, or none if they are new, and the next apply sets the missing ones`,
    outcome.set,
  );
}
