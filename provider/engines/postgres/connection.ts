import type { Client as PgClient, QueryResult } from 'pg';
import { DesiredState } from '../../model/types';
import { ActualState } from '../../plan/diff';
import { ApplyProgress, ApplyResult, EngineConnection, PmgrantsError, PreflightCheck, Statement } from '../engine';
import { batchSql, batchStatements, beginSql, prepareStatements } from './apply';
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
      const prepared = prepareStatements(statements, new Date());
      const batches = batchStatements(prepared.units, batchSize);
      const before = trips;
      if (batches.length === 0) return { statements: 0, roundTrips: 0, secrets: prepared.secrets };
      warnings = [];
      let done = 0;
      let inTransaction = false;
      let pinned: PgClient | undefined;
      let committing = false;
      try {
        pinned = await session();
        // Set first: a failed lock wait leaves the transaction open (aborted) and it must be rolled back.
        inTransaction = true;
        await run(beginSql(lockTimeoutSeconds), undefined, pinned);
        // A statement is done when the last command carrying it out (a password statement is followed
        // by its marker stamp; GRANTs may be sent together) has run. Reported in order, once each.
        const lastUnit = new Array<number>(statements.length).fill(-1);
        prepared.units.forEach((u, i) => u.covers.forEach((s) => (lastUnit[s] = Math.max(lastUnit[s], i))));
        let sent = 0;
        for (const batch of batches) {
          await run(batchSql(batch), undefined, pinned);
          if (warnings.length > 0) {
            throw new PmgrantsError(`the server warned "${warnings[0]}"; the transaction was rolled back and nothing was applied`);
          }
          sent += batch.length;
          // Progress is reported after each round trip, once per statement it completed.
          while (done < statements.length && lastUnit[done] < sent) {
            done++;
            await progress?.(done, statements.length, statements[done - 1]);
          }
        }
        committing = true;
        await run('COMMIT', undefined, pinned);
        inTransaction = false;
        return { statements: statements.length, roundTrips: trips - before, secrets: prepared.secrets };
      } catch (err) {
        if (inTransaction && pinned && client === pinned) await run('ROLLBACK', undefined, pinned).catch(() => dropSession());
        if (committing && isConnectionLost(err)) {
          throw new PmgrantsError('the connection was lost while committing, so the apply may or may not have been committed; plan again to see where the database stands');
        }
        if (err instanceof PmgrantsError) throw new PmgrantsError(redact(err.message, prepared.hidden), err.exitCode);
        if (isPgError(err) || isConnectionLost(err)) throw new PmgrantsError(applyErrorMessage(err, prepared.hidden));
        throw err;
      } finally {
        warnings = [];
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
