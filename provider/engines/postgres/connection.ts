import type { Client as PgClient, QueryResult } from 'pg';
import { DesiredState } from '../../model/types';
import { ActualState } from '../../plan/diff';
import { ApplyOptions, ApplyProgress, ApplyResult, EngineConnection, LockHolder, lockTimeoutError, PartialApplyError, PmgrantsError, PreflightCheck, Statement } from '../engine';
import {
  APPLY_LOCK_KEY,
  batchSql,
  batchStatements,
  beginSql,
  dropLoginsSql,
  lockHolderSql,
  passwordSessionLockSql,
  passwordSql,
  PendingPassword,
  PreparedApply,
  prepareStatements,
  tryLockSql,
  unlockSql,
  waitLockSql,
  waitPasswordSessionsSql,
} from './apply';
import { scramSha256VerifierAsync } from './scram';
import { catalogSql } from './catalog';
import { applyErrorMessage, connectErrorMessage, isConnectionLost, redact } from './errors';
import { inspectPostgres, inspectPostgresAhead } from './inspect';
import type { Part } from '../../plan/slice';
import { exportPostgres } from './export';
import { readPostgresAccess } from './access';
import { postgresAccessFacts } from '../../report/postgres';
import { postgresDialect } from './dialect';
import { preflightChecks, ProvisioningFacts } from './preflight';
import { postgresUrlDatabase } from './url';

export interface PostgresConnectOptions {
  /** application_name of the session (how a DBA spots pmgrants in pg_stat_activity). Default 'pmgrants'. */
  applicationName?: string;
  /** Statements sent per round trip during apply. Default 200. */
  batchSize?: number;
  /** How long an apply waits for another apply's lock before giving up, in seconds. Default 120. */
  lockTimeoutSeconds?: number;
  /** Connection timeout in milliseconds. Default 10000. */
  connectTimeoutMs?: number;
}

/**
 * Sessions that set passwords at once after an apply's commit (PostgreSQL spends ~3 ms of one core on
 * each), and passwords per round trip on each.
 */
const PASSWORD_SESSIONS = 4;
const PASSWORDS_PER_TRIP = 25;

/** host:port/database of a connection URL, never its password (for messages). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'the configured server';
  }
}

/**
 * A live connection to one PostgreSQL database. The driver is required here, not at module load, so a
 * serialized Pulumi provider closure never captures it. A session lost mid-apply is replaced by a new
 * one on the next call.
 */
export async function connectPostgres(url: string, options: PostgresConnectOptions = {}): Promise<EngineConnection> {
  postgresUrlDatabase(url); // an unreadable URL is one sentence here, not the driver's "Invalid URL"
  const pg = require('pg') as typeof import('pg');
  const where = describeUrl(url);
  const batchSize = options.batchSize ?? 200;
  const lockTimeoutSeconds = options.lockTimeoutSeconds ?? 120;
  let trips = 0;
  let client: PgClient | undefined;
  let warnings: string[] = [];
  /** The session that holds the apply lock for lockForApply: inspect and apply run on it alone. */
  let lockedOn: PgClient | undefined;

  /** A new session; `catalogReads`: one that reads the catalog (the main one), not a password session. */
  const open = async (catalogReads = true): Promise<PgClient> => {
    const c = new pg.Client({
      connectionString: url,
      application_name: options.applicationName ?? 'pmgrants',
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    });
    // A backend terminated between queries surfaces as an 'error' event; without a listener it would crash the process.
    c.on('error', () => {
      if (client === c) client = undefined;
    });
    // Only the apply's own session's warnings stop it (the password sessions run beside its transaction).
    c.on('notice', (n) => {
      if (client === c && n.severity === 'WARNING') warnings.push(n.message ?? 'warning');
    });
    try {
      await c.connect();
      // No JIT for this session's catalog reads: once the statistics know thousands of roles, the
      // inspect's estimated cost passes jit_above_cost, and compiling it took ten times the query itself
      // (326 of 358 ms for one app's inspect at 1,000 apps). One round trip per such session.
      if (catalogReads) {
        trips++;
        await c.query('SET jit = off');
      }
    } catch (err) {
      await c.end().catch(() => undefined);
      throw new PmgrantsError(connectErrorMessage(err, where));
    }
    return c;
  };
  const session = async (): Promise<PgClient> => (client ??= await open());
  const dropSession = async () => {
    const c = client;
    client = undefined;
    await c?.end().catch(() => undefined);
  };
  /**
   * One round trip. With `pinned`, only on that session: an apply never continues on a new one. On an
   * open session the query is written before this returns (inspectAhead counts on it: the server
   * works while the caller goes on).
   */
  const run = (sql: string, params?: unknown[], pinned?: PgClient): Promise<QueryResult | QueryResult[]> => {
    if (pinned && client !== pinned) return Promise.reject(Object.assign(new Error('the session was lost'), { code: '08003' }));
    const send = async (c: PgClient) => {
      trips++;
      try {
        return (await c.query(sql, params)) as unknown as QueryResult | QueryResult[];
      } catch (err) {
        if (isConnectionLost(err)) await dropSession();
        throw err;
      }
    };
    const ready = pinned ?? client;
    return ready ? send(ready) : session().then(send);
  };
  const rowsOf = (r: QueryResult | QueryResult[]) => (Array.isArray(r) ? r[r.length - 1].rows : r.rows);
  const readCatalog = async (what: string, sql: string, params: unknown[]) => {
    try {
      return rowsOf(await run(sql, params, lockedOn));
    } catch (err) {
      if (err instanceof PmgrantsError) throw err;
      if (lockedOn && isConnectionLost(err)) throw sessionLost();
      throw new PmgrantsError(`reading the catalog (${what}) of ${where} failed: ${((err as Error).message ?? String(err)).split('\n')[0]}`);
    }
  };

  /**
   * Sets an apply's passwords on the sessions given to it, PASSWORDS_PER_TRIP per round trip, each
   * trip one implicit transaction (all of it or none). Work can be added and sessions can join while it
   * runs: the early passwords start on the extra sessions during the main transaction, the rest (and
   * the apply's own session) join after its commit. A session whose trip fails stops, and its trip goes
   * back to the queue for the others: one lost or limited session costs time, not passwords.
   */
  const passwordSetter = (prepared: PreparedApply, report: (index: number) => void | Promise<void>, signal?: AbortSignal) => {
    const now = new Date();
    const verifierOf = new Map<string, Promise<string>>();
    const hidden = [...prepared.hidden];
    for (const p of prepared.passwords) {
      const verifier = scramSha256VerifierAsync(p.password).then((v) => {
        hidden.push(v);
        return v;
      });
      verifier.catch(() => undefined); // awaited by a worker; a failure before that must not go unhandled
      verifierOf.set(p.login, verifier);
    }
    const queue: PendingPassword[][] = [];
    const set = new Map<string, string>();
    const working: Promise<void>[] = [];
    let failure: unknown;
    let stopped = false;
    const worker = async (c: PgClient, pinned: boolean) => {
      for (let chunk = queue.shift(); chunk; chunk = queue.shift()) {
        if (stopped || signal?.aborted) {
          failure ??= signal?.aborted ? new PmgrantsError('the apply was interrupted') : undefined;
          queue.unshift(chunk);
          return;
        }
        try {
          const verifiers = await Promise.all(chunk.map((p) => verifierOf.get(p.login)!));
          trips++;
          // An extra session marks itself as one (see PASSWORD_SESSION_LOCK_KEY); the apply's own holds the apply lock.
          const sql = chunk.map((p, i) => passwordSql(p.login, verifiers[i], now, warehouse, p.generation));
          await c.query((pinned ? sql : [passwordSessionLockSql, ...sql]).join(';\n'));
        } catch (err) {
          failure ??= err;
          queue.unshift(chunk);
          if (pinned && isConnectionLost(err)) await dropSession();
          return;
        }
        for (const p of chunk) {
          set.set(p.login, p.password);
          const reported = report(p.index);
          if (reported) await reported;
        }
      }
    };
    return {
      add(passwords: readonly PendingPassword[]) {
        for (let i = 0; i < passwords.length; i += PASSWORDS_PER_TRIP) queue.push(passwords.slice(i, i + PASSWORDS_PER_TRIP));
      },
      /** Put a session to work on the queue (one still at work gets a second worker: pg queues its queries). */
      join(c: PgClient, pinned = false) {
        working.push(worker(c, pinned));
      },
      /** No new trips: the main transaction failed. */
      stop() {
        stopped = true;
      },
      /** Wait for every session; the passwords set, and the first failure when some were not. */
      async settle(): Promise<{ set: Map<string, string>; failure: unknown; hidden: string[] }> {
        await Promise.all(working);
        return { set, failure: set.size < prepared.passwords.length ? (failure ?? new Error('no session was left to set them')) : undefined, hidden };
      },
    };
  };

  /** The PartialApplyError of passwords that could not all be set after the changes were committed. */
  const passwordsFailed = (prepared: PreparedApply, outcome: { set: Map<string, string>; failure: unknown; hidden: string[] }) => {
    const missing = prepared.passwords.length - outcome.set.size;
    const reason = reasonOf(outcome.failure, outcome.hidden);
    return new PartialApplyError(
      `the changes were committed, but setting the password of ${missing} of ${prepared.passwords.length} login${prepared.passwords.length === 1 ? '' : 's'} failed (${reason.replace(/\.$/, '')}); those logins keep their previous password, or none if they are new, and the next apply sets the missing ones`,
      outcome.set,
    );
  };

  client = await open();
  // The database connected to (the URL's, or the driver's default): the warehouse whose markers apply writes.
  const warehouse = client.database ?? '';

  /** The session under lockForApply is gone, and its lock with it: nothing more may run as if under it. */
  const sessionLost = () => new PmgrantsError(`the session holding the apply lock on ${where} was lost, and the lock with it; nothing was applied, run the command again`);

  return {
    dialect: postgresDialect,
    inspect(desired: DesiredState, part?: Part): Promise<ActualState> {
      return inspectPostgres((sql, params) => readCatalog('inspect', sql, params), desired, part);
    },
    inspectAhead(compiled: DesiredState) {
      return inspectPostgresAhead((sql, params) => readCatalog('inspect', sql, params), compiled);
    },
    exportCatalog(options: { prefix?: string }) {
      return exportPostgres((sql, params) => readCatalog('export', sql, params), options.prefix);
    },
    async readAccess(desired: DesiredState) {
      const rows = await readPostgresAccess((sql, params) => readCatalog('access report', sql, params), desired.schemas.map((s) => s.name));
      return postgresAccessFacts(rows);
    },

    async lockForApply(onWait?: (holder: LockHolder) => void): Promise<() => Promise<void>> {
      const waitPasswordSessions = async (c: PgClient) => {
        try {
          await run(waitPasswordSessionsSql(lockTimeoutSeconds), undefined, c);
        } catch (err) {
          if ((err as { code?: string }).code !== '55P03') throw err;
          await run(unlockSql, undefined, c).catch(() => dropSession());
          throw new PmgrantsError(
            `a password session of an interrupted pmgrants apply on ${where} was still running after ${lockTimeoutSeconds} s; nothing was applied, run the command again when it has ended`,
          );
        }
      };
      if (lockedOn) throw new Error('lockForApply: this connection holds the apply lock already');
      const c = client ?? (await session());
      const holderNow = async (): Promise<LockHolder> => {
        const row = rowsOf(await run(lockHolderSql, undefined, c))[0] as { pid?: number; backend_start?: Date | null; application_name?: string | null } | undefined;
        return { ...(row?.pid ? { session: `pid ${row.pid}` } : {}), ...(row?.backend_start ? { since: row.backend_start } : {}), ...(row?.application_name ? { program: row.application_name } : {}) };
      };
      try {
        const first = rowsOf(await run(tryLockSql, undefined, c))[0] as { locked?: boolean; password_sessions?: boolean } | undefined;
        if (!first?.locked) {
          const holder = await holderNow();
          onWait?.(holder);
          try {
            await run(waitLockSql(lockTimeoutSeconds), undefined, c);
          } catch (err) {
            if ((err as { code?: string }).code === '55P03') throw lockTimeoutError(where, holder, lockTimeoutSeconds);
            throw err;
          }
        }
        // A killed apply's password sessions may still be setting passwords: the catalog is read after them.
        if (!first?.locked || first.password_sessions) await waitPasswordSessions(c);
      } catch (err) {
        if (err instanceof PmgrantsError) throw err;
        throw new PmgrantsError(`taking the apply lock on ${where} failed: ${messageOf(err, [])}`);
      }
      lockedOn = c;
      return async () => {
        if (lockedOn !== c) return;
        lockedOn = undefined;
        // A lost session released the lock already.
        if (client === c) await run(unlockSql, undefined, c).catch(() => dropSession());
      };
    },

    async apply(statements: readonly Statement[], progress?: ApplyProgress, options: ApplyOptions = {}): Promise<ApplyResult> {
      // Under lockForApply the lock is held on lockedOn and stays held after the apply (its release
      // function lets it go); without it, the apply takes the lock in its first round trip and lets it go.
      const held = lockedOn;
      if (held && client !== held) throw sessionLost();
      // Extra sessions for the passwords are opened first, so that they are ready when the first
      // passwords are; one that cannot be opened (max_connections, say) only means fewer at once. As
      // many as there are trips of passwords, less one when all of them wait for the commit (rotations
      // only: the apply's own session joins then). Logins are counted from the statements that set a
      // password, which is what prepareStatements will find.
      const passwordLogins = new Set<string>();
      let creates = false;
      for (const s of statements) {
        const param = s.params[0];
        if (param === undefined || !('secretFor' in param)) continue;
        passwordLogins.add(param.secretFor);
        creates ||= s.sql.startsWith('CREATE ROLE ');
      }
      const passwordTrips = Math.ceil(passwordLogins.size / PASSWORDS_PER_TRIP);
      const extraWanted = Math.min(PASSWORD_SESSIONS - 1, creates ? passwordTrips : passwordTrips - 1);
      const extraSessions = Promise.all(Array.from({ length: Math.max(0, extraWanted) }, () => open(false).catch(() => undefined))).then((cs) =>
        cs.filter((c): c is PgClient => c !== undefined),
      );
      const closeExtra = () => extraSessions.then((cs) => Promise.all(cs.map((c) => c.end().catch(() => undefined))));
      let prepared: PreparedApply;
      try {
        prepared = prepareStatements(statements, undefined, warehouse);
      } catch (err) {
        await closeExtra();
        throw err;
      }
      const batches = batchStatements(prepared.units, batchSize);
      const before = trips;
      if (batches.length === 0 && prepared.logins.length === 0 && prepared.passwords.length === 0) {
        await closeExtra();
        return { statements: 0, roundTrips: 0, secrets: prepared.secrets };
      }
      // Write-ahead: the passwords are where they are delivered before the server sees anything.
      const interrupted = () => new PmgrantsError('the apply was interrupted before its commit; it was rolled back and nothing was applied');
      try {
        if (options.signal?.aborted) throw interrupted();
        if (options.deliver && prepared.passwords.length > 0) {
          await options.deliver(prepared.passwords.map((p) => ({ login: p.login, password: p.password, generation: p.generation })));
        }
        if (options.signal?.aborted) throw interrupted();
      } catch (err) {
        await closeExtra();
        throw err;
      }
      warnings = [];
      let done = 0;
      // Awaited only when the callback returns a promise: a round trip completes thousands of statements.
      const report = (index: number): void | Promise<void> => {
        done++;
        return progress?.(done, statements.length, statements[index]);
      };
      // A statement is done when the last command carrying it out (a login's CREATE is followed by its
      // marker; GRANTs may be sent together) has run; one that only sets a password, when that is set.
      const inFirst = new Set(prepared.logins.flatMap((u) => u.covers));
      const lastUnit = new Array<number>(statements.length).fill(-1);
      prepared.units.forEach((u, i) => u.covers.forEach((s) => (lastUnit[s] = Math.max(lastUnit[s], i))));
      const inTransactionOrder = lastUnit.map((last, index) => ({ last, index })).filter((x) => x.last >= 0);
      const onlyPassword = new Set(lastUnit.flatMap((last, index) => (last < 0 && !inFirst.has(index) ? [index] : [])));
      const passwords = passwordSetter(prepared, (index) => (onlyPassword.has(index) ? report(index) : undefined), options.signal);
      passwords.add(prepared.passwords.filter((p) => p.early));
      let inTransaction = false;
      let locked = false;
      let pinned: PgClient | undefined;
      let loginsCommitted = false;
      let loginsMaybeCommitted = false;
      let committing = false;
      let committed = false;
      try {
        // Without an await when the session is open: the first trip is sent before apply returns its promise.
        pinned = held ?? client ?? (await session());
        // Set first: a failed lock wait leaves the transaction open (aborted) and it must be rolled back.
        inTransaction = true;
        if (prepared.logins.length > 0) {
          // The first transaction, its COMMIT and the main transaction's BEGIN ride with its statements:
          // a failure before the COMMIT skips the rest of the string and leaves the transaction aborted.
          const firstTrips = batchStatements(prepared.logins, batchSize).map(batchSql);
          firstTrips[0] = `${beginSql(lockTimeoutSeconds, !held)};\n${firstTrips[0]}`;
          firstTrips[firstTrips.length - 1] += batches.length > 0 ? `;\nCOMMIT;\n${beginSql(lockTimeoutSeconds, false)}` : ';\nCOMMIT';
          // The first trip takes the lock and may fail after it: a session lock taken in a transaction
          // that is rolled back is still held, so it is released in any case (finally).
          locked = !held;
          for (const [i, sql] of firstTrips.entries()) {
            if (i === firstTrips.length - 1) loginsMaybeCommitted = true;
            if (options.signal?.aborted) throw interrupted();
            await run(sql, undefined, pinned);
            if (warnings.length > 0) throw new PmgrantsError(`the server warned "${warnings[0]}"; the transaction was rolled back and nothing was applied`);
          }
          loginsCommitted = true;
          inTransaction = batches.length > 0;
          // The new logins' passwords are set on the extra sessions while the main transaction runs.
          for (const c of await extraSessions) passwords.join(c);
          for (const index of inFirst) {
            const reported = report(index);
            if (reported) await reported;
          }
        } else {
          await run(beginSql(lockTimeoutSeconds, !held), undefined, pinned);
          locked = !held;
        }
        let next = 0;
        let sent = 0;
        for (const batch of batches) {
          if (options.signal?.aborted) throw interrupted();
          await run(batchSql(batch), undefined, pinned);
          if (warnings.length > 0) {
            throw new PmgrantsError(`the server warned "${warnings[0]}"; the transaction was rolled back and nothing was applied`);
          }
          sent += batch.length;
          // Progress is reported after each round trip, once per statement it completed.
          while (next < inTransactionOrder.length && inTransactionOrder[next].last < sent) {
            const reported = report(inTransactionOrder[next++].index);
            if (reported) await reported;
          }
        }
        if (inTransaction) {
          if (options.signal?.aborted) throw interrupted();
          committing = true;
          await run('COMMIT', undefined, pinned);
          committing = false;
          inTransaction = false;
        }
        committed = true;
        // Every session sets what is left, and the passwords that had to wait for the commit.
        passwords.add(prepared.passwords.filter((p) => !p.early));
        passwords.join(pinned, true);
        for (const c of await extraSessions) passwords.join(c);
        const outcome = await passwords.settle();
        if (outcome.failure !== undefined) throw passwordsFailed(prepared, outcome);
        return { statements: statements.length, roundTrips: trips - before, secrets: prepared.secrets };
      } catch (err) {
        if (err instanceof PartialApplyError) throw err;
        const alive = pinned !== undefined && client === pinned;
        if (inTransaction && alive) await run('ROLLBACK', undefined, pinned).catch(() => dropSession());
        passwords.stop();
        const { set, hidden } = await passwords.settle();
        let message = messageOf(err, hidden);
        const logins = `${prepared.newLogins.length} new login${prepared.newLogins.length === 1 ? '' : 's'}`;
        if (committing && isConnectionLost(err)) {
          message = 'the connection was lost while committing, so the apply may or may not have been committed; plan again to see where the database stands';
        } else if (loginsCommitted && !committed) {
          // The main transaction failed: drop the new logins again, so that nothing is applied.
          const undo = await dropNewLogins(prepared.newLogins, client === pinned ? pinned : undefined, await extraSessions);
          if (undo === undefined) throw err instanceof PmgrantsError ? new PmgrantsError(message, err.exitCode) : new PmgrantsError(message);
          message = `${message.replace(/\.$/, '')}; the ${logins} created before it could not be dropped again (${undo.replace(/\.$/, '')}), so they remain, without privileges, and the next apply continues from there`;
        } else if (loginsMaybeCommitted && isConnectionLost(err)) {
          message = `${message.replace(/\.$/, '')}; the ${logins} created first may or may not have been committed; plan again to see where the database stands`;
        }
        if (set.size > 0) throw new PartialApplyError(message, set);
        throw err instanceof PmgrantsError ? new PmgrantsError(message, err.exitCode) : isPgError(err) || isConnectionLost(err) ? new PmgrantsError(message) : err;
      } finally {
        warnings = [];
        await closeExtra();
        // The apply lock is the session's: release it (a lost session has released it already).
        if (locked && pinned && client === pinned) await run(unlockSql, undefined, pinned).catch(() => dropSession());
      }
    },

    async preflight(desired: DesiredState): Promise<PreflightCheck[]> {
      let facts: ProvisioningFacts;
      try {
        const rows = await readCatalog('provisioning role', catalogSql('provisioning-role'), [desired.schemas.map((s) => s.name)]);
        facts = rows[0] as unknown as ProvisioningFacts;
      } catch (err) {
        return [{ name: 'server', ok: false, detail: (err as Error).message }];
      }
      return preflightChecks(facts, desired);
    },

    async databaseIdentity(): Promise<string> {
      // oids come from one counter of the whole server: a database created again gets a new one.
      const rows = await readCatalog('database identity', 'SELECT oid::text AS id FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()', []);
      return `oid ${String(rows[0]?.id)}`;
    },

    roundTrips: () => trips,

    async close(): Promise<void> {
      await dropSession();
    },
  };
}

/** One sentence for an error of an apply, scrubbed of its secrets. */
function messageOf(err: unknown, hidden: readonly string[]): string {
  if (err instanceof PmgrantsError) return redact(err.message, hidden);
  if (isPgError(err) || isConnectionLost(err)) return applyErrorMessage(err, hidden);
  return redact(String((err as Error)?.message ?? err), hidden);
}

/**
 * An error as the reason inside a larger sentence: a lost connection is said as such, not with the
 * sentence of a whole failed apply, which would repeat the sentence around it (or contradict it: "rolled
 * back" inside "the changes were committed").
 */
export function reasonOf(err: unknown, hidden: readonly string[]): string {
  if (!(err instanceof PmgrantsError) && isConnectionLost(err)) {
    const server = redact(((err as Error)?.message ?? '').split('\n')[0].trim().replace(/[.\s]+$/, ''), hidden);
    return `the connection to the server was lost${server && !/^(the session was lost|Connection terminated.*)$/i.test(server) ? ` (${server})` : ''}`;
  }
  return messageOf(err, hidden);
}

/**
 * Drop the logins an apply created in its first transaction, after its main transaction failed, under
 * the apply lock: on the apply's own session, which holds it; when that session is lost (and the lock
 * with it), on an extra session that takes the lock again, unless another apply got it first.
 * Undefined when done; else why not.
 */
async function dropNewLogins(logins: readonly string[], pinned: PgClient | undefined, extra: readonly PgClient[]): Promise<string | undefined> {
  const drop = dropLoginsSql(logins);
  if (pinned) {
    try {
      await pinned.query(drop);
      return undefined;
    } catch (err) {
      return reasonOf(err, []);
    }
  }
  let reason = 'the session was lost, and no other was left';
  for (const c of extra) {
    try {
      const r = await c.query(`SELECT pg_try_advisory_lock(${APPLY_LOCK_KEY}) AS locked`);
      if (!r.rows[0]?.locked) return 'the session was lost, and another apply holds the lock now';
      try {
        await c.query(drop);
        return undefined;
      } catch (err) {
        if (!isConnectionLost(err)) return reasonOf(err, []);
        throw err;
      } finally {
        await c.query(unlockSql).catch(() => undefined);
      }
    } catch (err) {
      reason = reasonOf(err, []);
    }
  }
  return reason;
}

function isPgError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string';
}
