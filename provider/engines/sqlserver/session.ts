import type * as Mssql from 'mssql';
import { PmgrantsError } from '../../model/errors';
import { DesiredState } from '../../model/types';
import { createSqlServerDialect, SqlServerDialect } from './dialect';
import { sqlServerErrorToPmgrants } from './errors';
import { ResolvedDialectOptions } from './options';
import { describeServer, parseSqlServerUrl, SqlServerConnectionConfig, SqlServerUrlInput, toMssqlConfig } from './url';

export type ConnectInput = SqlServerConnectionConfig | SqlServerUrlInput;

/**
 * The connections to one SQL Server / Azure SQL warehouse (and, for Azure SQL logins, its master),
 * shared by inspect, export, access, preflight and apply: the pools, the round-trip count, and the
 * transaction that holds the apply lock under lockForApply. mssql is required when a session is made,
 * not at module load, so the dialect stays usable (and Pulumi closures serializable) without the
 * driver; `mssql` may replace the driver (tests drive the orchestration with a fake).
 */
export class SqlServerSession {
  readonly config: SqlServerConnectionConfig;
  readonly dialect: SqlServerDialect;
  readonly options: ResolvedDialectOptions;
  /** host[:port][\instance], for messages. */
  readonly server: string;
  /** How long an apply waits for the apply lock (sp_getapplock), in milliseconds. */
  readonly lockTimeout: number;
  /** Round trips made so far. */
  trips = 0;
  /** The warehouse: the URL's, else the policy's at the first inspect or preflight. */
  database: string | undefined;
  /** The warehouse transaction that holds the apply lock for lockForApply: inspect runs in it, and apply continues it. */
  lockTx: Mssql.Transaction | undefined;
  private warehousePool: Mssql.ConnectionPool | undefined;
  private masterPool: Mssql.ConnectionPool | undefined;

  constructor(
    input: ConnectInput,
    readonly mssql: typeof Mssql = require('mssql') as typeof Mssql,
  ) {
    this.config = 'url' in input ? parseSqlServerUrl(input.url, input.engine) : input;
    this.dialect = createSqlServerDialect({
      engine: this.config.engine,
      ...(this.config.generatedLogins ? { generatedLogins: this.config.generatedLogins } : {}),
      ...(this.config.guardActiveSessions !== undefined ? { guardActiveSessions: this.config.guardActiveSessions } : {}),
    });
    this.options = this.dialect.options;
    this.server = describeServer(this.config);
    this.database = this.config.database;
    this.lockTimeout = this.config.lockTimeoutMs ?? 30_000;
  }

  private async open(db: string | undefined): Promise<Mssql.ConnectionPool> {
    const pool = new this.mssql.ConnectionPool(toMssqlConfig(this.config, db));
    pool.on('error', () => undefined); // idle-connection errors surface on the next request instead
    try {
      this.trips++;
      await pool.connect();
      return pool;
    } catch (err) {
      throw sqlServerErrorToPmgrants(err, { server: this.server, ...(db ? { database: db } : {}) });
    }
  }

  /** The warehouse's pool; with `desired`, checked to be the policy's database (and naming it when the URL did not). */
  async warehouse(desired?: DesiredState): Promise<Mssql.ConnectionPool> {
    if (desired) {
      if (this.database && this.database.toLowerCase() !== desired.database.toLowerCase()) {
        throw new PmgrantsError(`the connection is for database ${this.database} but the policy governs ${desired.database}`);
      }
      this.database = desired.database;
    }
    if (!this.database) throw new PmgrantsError('the connection names no database; add it to the URL (mssql://host/database)');
    this.warehousePool ??= await this.open(this.database);
    return this.warehousePool;
  }

  async master(): Promise<Mssql.ConnectionPool> {
    this.masterPool ??= await this.open('master');
    return this.masterPool;
  }

  request(target: Mssql.ConnectionPool | Mssql.Transaction): Mssql.Request {
    return new this.mssql.Request(target as Mssql.ConnectionPool);
  }

  /** A request in the warehouse: in lockForApply's transaction while it holds the lock (on its connection), else on the pool. */
  warehouseRequest(pool: Mssql.ConnectionPool): Mssql.Request {
    return this.lockTx ? new this.mssql.Request(this.lockTx) : new this.mssql.Request(pool);
  }

  /** One round trip: a batch, or a parameterized query when it has parameters. */
  async run(request: Mssql.Request, sql: string, hasParams: boolean): Promise<Mssql.IResult<Record<string, unknown>>> {
    this.trips++;
    return hasParams ? request.query(sql) : request.batch(sql);
  }

  /** One batch (no parameters), its result sets as rows. */
  async sets(request: Mssql.Request, sql: string): Promise<Record<string, unknown>[][]> {
    return (await this.run(request, sql, false)).recordsets as unknown as Record<string, unknown>[][];
  }

  /** An error as one sentence naming the server and (when known) the database. */
  fail(err: unknown, database: string | undefined = this.database): PmgrantsError {
    return sqlServerErrorToPmgrants(err, { server: this.server, ...(database ? { database } : {}) });
  }

  async close(): Promise<void> {
    const pools = [this.warehousePool, this.masterPool].filter((p): p is Mssql.ConnectionPool => p !== undefined);
    this.warehousePool = undefined;
    this.masterPool = undefined;
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  }
}
