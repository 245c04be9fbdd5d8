import type { Client as PgClient, QueryResult } from 'pg';
import { DesiredState } from '../../model/types';
import { ActualState } from '../../plan/diff';
import { ApplyProgress, ApplyResult, EngineConnection, PartialApplyError, PmgrantsError, PreflightCheck, Statement } from '../engine';
import { batchSql, batchStatements, beginSql, passwordSql, PreparedApply, prepareStatements, unlockSql } from './apply';
import { scramSha256VerifierAsync } from './scram';
import { catalogSql } from './catalog';
import { applyErrorMessage, connectErrorMessage, isConnectionLost, redact } from './errors';
import { inspectPostgres } from './inspect';
import { exportPostgres } from './export';
import { postgresDialect } from './dialect';
import { preflightChecks, ProvisioningFacts } from './preflight';

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
  const pg = require('pg') as typeof import('pg');
  const where = describeUrl(url);
  const batchSize = options.batchSize ?? 200;
  const lockTimeoutSeconds = options.lockTimeoutSeconds ?? 120;
  let trips = 0;
  let client: PgClient | undefined;
  let warnings: string[] = [];

  const open = async (): Promise<PgClient> => {
    const c = new pg.Client({
      connectionString: url,
      application_name: options.applicationName ?? 'pmgrants',
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    });
    // A backend terminated between queries surfaces as an 'error' event; without a listener it would crash the process.
    c.on('error', () => {
      if (client === c) client = undefined;
    });
    c.on('notice', (n) => {
      if (n.severity === 'WARNING') warnings.push(n.message ?? 'warning');
    });
    try {
      await c.connect();
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
  /** One round trip. With `pinned`, only on that session: an apply never continues on a new one. */
  const run = async (sql: string, params?: unknown[], pinned?: PgClient): Promise<QueryResult | QueryResult[]> => {
    if (pinned && client !== pinned) throw Object.assign(new Error('the session was lost'), { code: '08003' });
    const c = pinned ?? (await session());
    trips++;
    try {
      return (await c.query(sql, params)) as unknown as QueryResult | QueryResult[];
    } catch (err) {
      if (isConnectionLost(err)) await dropSession();
      throw err;
    }
  };
  const rowsOf = (r: QueryResult | QueryResult[]) => (Array.isArray(r) ? r[r.length - 1].rows : r.rows);
  const readCatalog = async (what: string, sql: string, params: unknown[]) => {
    try {
      return rowsOf(await run(sql, params));
    } catch (err) {
      if (err instanceof PmgrantsError) throw err;
      throw new PmgrantsError(`reading the catalog (${what}) of ${where} failed: ${((err as Error).message ?? String(err)).split('\n')[0]}`);
    }
  };

  /**
   * Set the passwords of an apply whose transaction has committed (see prepareStatements), on the
   * apply's own session and the extra ones opened for it, at once. Each round trip sets up to
   * PASSWORDS_PER_TRIP passwords in one implicit transaction. Returns the secrets of every login; when
   * some could not be set, throws PartialApplyError with the secrets of those that were.
   */
  const setPasswords = async (
    pinned: PgClient,
    prepared: PreparedApply,
    verifiers: string[],
    extra: PgClient[],
    report: (index: number) => void | Promise<void>,
  ): Promise<Map<string, string>> => {
    const hidden = [...prepared.hidden, ...verifiers];
    const now = new Date();
    const queue: { login: string; index: number; sql: string }[][] = [];
    prepared.passwords.forEach((p, i) => {
      if (i % PASSWORDS_PER_TRIP === 0) queue.push([]);
      queue[queue.length - 1].push({ login: p.login, index: p.index, sql: passwordSql(p.login, verifiers[i], now) });
    });
    const set = new Map<string, string>();
    let failure: unknown;
    await Promise.all(
      [pinned, ...extra].map(async (c) => {
        for (let chunk = queue.shift(); chunk && failure === undefined; chunk = queue.shift()) {
          trips++;
          try {
            await c.query(chunk.map((p) => p.sql).join(';\n'));
          } catch (err) {
            failure ??= err;
            if (c === pinned && isConnectionLost(err)) await dropSession();
            return;
          }
          for (const p of chunk) {
            set.set(p.login, prepared.secrets.get(p.login)!);
            const reported = report(p.index);
            if (reported) await reported;
          }
        }
      }),
    );
    if (failure === undefined) return prepared.secrets;
    const missing = prepared.passwords.length - set.size;
    const reason = isPgError(failure) || isConnectionLost(failure) ? applyErrorMessage(failure, hidden) : redact(String((failure as Error).message ?? failure), hidden);
    throw new PartialApplyError(
      `the changes were committed, but setting the password of ${missing} of ${prepared.passwords.length} login${prepared.passwords.length === 1 ? '' : 's'} failed (${reason.replace(/\.$/, '')}); those logins keep their previous password, or none if they are new, and the next apply sets the missing ones`,
      set,
    );
  };

  client = await open();

  return {
    dialect: postgresDialect,
    inspect(desired: DesiredState): Promise<ActualState> {
      return inspectPostgres((sql, params) => readCatalog('inspect', sql, params), desired);
    },
    exportCatalog(options: { prefix?: string }) {
      return exportPostgres((sql, params) => readCatalog('export', sql, params), options.prefix);
    },

    async apply(statements: readonly Statement[], progress?: ApplyProgress): Promise<ApplyResult> {
      const prepared = prepareStatements(statements);
      const batches = batchStatements(prepared.units, batchSize);
      const before = trips;
      if (batches.length === 0 && prepared.passwords.length === 0) return { statements: 0, roundTrips: 0, secrets: prepared.secrets };
      // The verifiers are derived on the thread pool while the transaction runs on the server.
      const verifiers = Promise.all(prepared.passwords.map((p) => scramSha256VerifierAsync(p.password)));
      verifiers.catch(() => undefined); // awaited below; a failure before that must not go unhandled
      warnings = [];
      let done = 0;
      // Awaited only when the callback returns a promise: a round trip completes thousands of statements.
      const report = (index: number): void | Promise<void> => {
        done++;
        return progress?.(done, statements.length, statements[index]);
      };
      // Extra sessions for the passwords are opened while the transaction runs. One that cannot be
      // opened (max_connections, say) only means fewer at once.
      const extraWanted = Math.min(PASSWORD_SESSIONS, Math.ceil(prepared.passwords.length / PASSWORDS_PER_TRIP)) - 1;
      const extraSessions = Promise.all(Array.from({ length: Math.max(0, extraWanted) }, () => open().catch(() => undefined))).then((cs) =>
        cs.filter((c): c is PgClient => c !== undefined),
      );
      let inTransaction = false;
      let locked = false;
      let pinned: PgClient | undefined;
      let committing = false;
      try {
        pinned = await session();
        // Set first: a failed lock wait leaves the transaction open (aborted) and it must be rolled back.
        inTransaction = true;
        await run(beginSql(lockTimeoutSeconds), undefined, pinned);
        locked = true;
        // A statement is done when the last command carrying it out (a login's CREATE is followed by its
        // marker; GRANTs may be sent together) has run; one that only sets a password, when that is set.
        const lastUnit = new Array<number>(statements.length).fill(-1);
        prepared.units.forEach((u, i) => u.covers.forEach((s) => (lastUnit[s] = Math.max(lastUnit[s], i))));
        const inTransactionOrder = lastUnit.map((last, index) => ({ last, index })).filter((x) => x.last >= 0);
        let next = 0;
        let sent = 0;
        for (const batch of batches) {
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
        committing = true;
        await run('COMMIT', undefined, pinned);
        committing = false;
        inTransaction = false;
        if (prepared.passwords.length > 0) {
          const onlyPassword = new Set(lastUnit.flatMap((last, index) => (last < 0 ? [index] : [])));
          const secrets = await setPasswords(pinned, prepared, await verifiers, await extraSessions, (index) => (onlyPassword.has(index) ? report(index) : undefined));
          return { statements: statements.length, roundTrips: trips - before, secrets };
        }
        return { statements: statements.length, roundTrips: trips - before, secrets: prepared.secrets };
      } catch (err) {
        if (inTransaction && pinned && client === pinned) await run('ROLLBACK', undefined, pinned).catch(() => dropSession());
        if (committing && isConnectionLost(err)) {
          throw new PmgrantsError('the connection was lost while committing, so the apply may or may not have been committed; plan again to see where the database stands');
        }
        if (err instanceof PartialApplyError) throw err;
        if (err instanceof PmgrantsError) throw new PmgrantsError(redact(err.message, prepared.hidden), err.exitCode);
        if (isPgError(err) || isConnectionLost(err)) throw new PmgrantsError(applyErrorMessage(err, prepared.hidden));
        throw err;
      } finally {
        warnings = [];
        await extraSessions.then((cs) => Promise.all(cs.map((c) => c.end().catch(() => undefined))));
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

    roundTrips: () => trips,

    async close(): Promise<void> {
      await dropSession();
    },
  };
}

function isPgError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string';
}
