import type { Client as PgClient, QueryResult } from 'pg';
import { PmgrantsError } from '../../model/errors';
import { connectErrorMessage, isConnectionLost } from './errors';
import { describeUrl, driverConnectionString, postgresUrlDatabase } from './url';

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

/** The rows of a result (of the last statement, when a string held several). */
export function rowsOf(r: QueryResult | QueryResult[]): Record<string, unknown>[] {
  return Array.isArray(r) ? r[r.length - 1].rows : r.rows;
}

/**
 * The sessions of one PostgreSQL connection: the main one (catalog reads and the apply's transaction),
 * replaced by a new one on the next call when it is lost, and extra ones an apply opens to set
 * passwords. The driver is required here, not at module load, so a serialized Pulumi provider closure
 * never captures it.
 */
export class PostgresSession {
  /** host:port/database, never the password (for messages). */
  readonly where: string;
  readonly batchSize: number;
  readonly lockTimeoutSeconds: number;
  /** Round trips made so far. */
  trips = 0;
  /** The main session, while it is open. */
  client: PgClient | undefined;
  /** The server's WARNINGs on the main session since the apply began: they stop it. */
  warnings: string[] = [];
  /** The session that holds the apply lock for lockForApply: inspect and apply run on it alone. */
  lockedOn: PgClient | undefined;
  /** The database connected to (the URL's, or the driver's default): the warehouse whose markers apply writes. */
  warehouse = '';
  private readonly pg: typeof import('pg');

  constructor(
    private readonly url: string,
    private readonly options: PostgresConnectOptions = {},
  ) {
    postgresUrlDatabase(url); // an unreadable URL is one sentence here, not the driver's "Invalid URL"
    this.pg = require('pg') as typeof import('pg');
    this.where = describeUrl(url);
    this.batchSize = options.batchSize ?? 200;
    this.lockTimeoutSeconds = options.lockTimeoutSeconds ?? 120;
  }

  /** Open the main session: the database connected to is the warehouse. */
  async start(): Promise<void> {
    this.client = await this.open();
    this.warehouse = this.client.database ?? '';
  }

  /** A new session; `catalogReads`: one that reads the catalog (the main one), not a password session. */
  async open(catalogReads = true): Promise<PgClient> {
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    const c = new this.pg.Client({
      connectionString: driverConnectionString(this.url),
      application_name: this.options.applicationName ?? 'pmgrants',
      connectionTimeoutMillis: timeoutMs,
    });
    // Whether the TCP connection was made tells a timeout's two causes apart (no answer at all, or a
    // listener that does not speak PostgreSQL). The driver's connection emits 'connect' when its socket does.
    let reached = false;
    (c as unknown as { connection?: { once?(event: 'connect', listener: () => void): void } }).connection?.once?.('connect', () => {
      reached = true;
    });
    // A backend terminated between queries surfaces as an 'error' event; without a listener it would crash the process.
    c.on('error', () => {
      if (this.client === c) this.client = undefined;
    });
    // Only the apply's own session's warnings stop it (the password sessions run beside its transaction).
    c.on('notice', (n) => {
      if (this.client === c && n.severity === 'WARNING') this.warnings.push(n.message ?? 'warning');
    });
    try {
      await c.connect();
      // No JIT for this session's catalog reads: once the statistics know thousands of roles, the
      // inspect's estimated cost passes jit_above_cost, and compiling it took ten times the query itself
      // (326 of 358 ms for one app's inspect at 1,000 apps). One round trip per such session.
      if (catalogReads) {
        this.trips++;
        await c.query('SET jit = off');
      }
    } catch (err) {
      await c.end().catch(() => undefined);
      throw new PmgrantsError(connectErrorMessage(err, this.where, { timeoutMs, reached }));
    }
    return c;
  }

  /** The main session, opened again if it was lost. */
  async session(): Promise<PgClient> {
    return (this.client ??= await this.open());
  }

  async dropSession(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  /**
   * One round trip. With `pinned`, only on that session: an apply never continues on a new one. On an
   * open session the query is written before this returns (inspectAhead counts on it: the server
   * works while the caller goes on).
   */
  run(sql: string, params?: unknown[], pinned?: PgClient): Promise<QueryResult | QueryResult[]> {
    if (pinned && this.client !== pinned) return Promise.reject(Object.assign(new Error('the session was lost'), { code: '08003' }));
    const send = async (c: PgClient) => {
      this.trips++;
      try {
        return (await c.query(sql, params)) as unknown as QueryResult | QueryResult[];
      } catch (err) {
        if (isConnectionLost(err)) await this.dropSession();
        throw err;
      }
    };
    const ready = pinned ?? this.client;
    return ready ? send(ready) : this.session().then(send);
  }

  /** A catalog read (on the session holding the apply lock, when one does): its rows, or one sentence. */
  async readCatalog(what: string, sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    try {
      return rowsOf(await this.run(sql, params, this.lockedOn));
    } catch (err) {
      if (err instanceof PmgrantsError) throw err;
      if (this.lockedOn && isConnectionLost(err)) throw this.sessionLost();
      throw new PmgrantsError(`reading the catalog (${what}) of ${this.where} failed: ${((err as Error).message ?? String(err)).split('\n')[0]}`);
    }
  }

  /** The session under lockForApply is gone, and its lock with it: nothing more may run as if under it. */
  sessionLost(): PmgrantsError {
    return new PmgrantsError(`the session holding the apply lock on ${this.where} was lost, and the lock with it; nothing was applied, run the command again`);
  }
}
