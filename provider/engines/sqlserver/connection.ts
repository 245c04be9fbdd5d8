import type * as Mssql from 'mssql';
import { DesiredState } from '../../model/types';
import { ActualState, diffState } from '../../plan/diff';
import { ApplyOptions, ApplyProgress, ApplyResult, EngineConnection, GeneratedPassword, LockHolder, lockTimeoutError, PartialApplyError, PmgrantsError, PreflightCheck, Statement } from '../engine';
import { newPasswordGeneration } from '../generation';

export { PartialApplyError };
import { Batch, planBatches } from './batches';
import { SqlServerConnectionConfig, SqlServerUrlInput, describeServer, parseSqlServerUrl, toMssqlConfig } from './config';
import { createSqlServerDialect } from './dialect';
import { sqlServerErrorToPmgrants } from './errors';
import { DatabasePermissionRow, DatabasePrincipalRow, DatabaseRoleMemberRow, SchemaRow, SessionRow, SqlLoginRow, inspectSqlServer } from './inspect';
import { ExportColumnRow, ExportObjectRow, ExportPermissionRow, SqlServerExportRows, exportCatalogFromSqlServer } from './export';
import { EXPORT_CATALOG_SQL } from './sql/export';
import { ACCESS_SQL } from './sql/access';
import { SqlServerAccessRows, sqlServerAccessFacts } from '../../report/sqlserver';
import type { AccessFacts } from '../../report/types';
import type { ExportCatalog } from '../../export/catalog';
import { generateSqlServerPassword } from './password';
import { PreflightFacts, PreflightMasterRow, PreflightSchemaRow, PreflightServerRoleRow, PreflightServerRow, evaluatePreflight } from './preflight';
import { quoteString } from './quote';
import {
  PREFLIGHT_AZURE_MASTER_SQL,
  PREFLIGHT_AZURE_SQL_SQL,
  PREFLIGHT_SQLSERVER_SQL,
  SQL_LOGINS_AZURE_SQL,
  SQL_LOGINS_SQL,
  WAREHOUSE_CATALOG_SQL,
} from './sql/catalog';

/** Where each batch runs, in what order, in which transaction. */
export interface ApplyPhases {
  /** Azure SQL (logins in master): committed in master before the warehouse transaction's statements run. */
  masterBefore: Batch[];
  /** One transaction in the warehouse, under the lock. On SQL Server also the server-level statements. */
  warehouse: Batch[];
  /** Azure SQL: DROP LOGIN in master, after the warehouse transaction committed. */
  masterAfter: Batch[];
}

/**
 * Batches -> phases. SQL Server: one transaction on the warehouse connection, server-level statements
 * included (CREATE LOGIN participates in transactions and needs no USE). Azure SQL with logins in master:
 * master statements that come before the first warehouse statement run first, the rest after.
 */
export function applyPhases(batches: readonly Batch[], engine: 'sqlserver' | 'azure-sql', generatedLogins: 'server' | 'contained'): ApplyPhases {
  if (engine === 'sqlserver') return { masterBefore: [], warehouse: [...batches], masterAfter: [] };
  const firstWarehouse = batches.findIndex((b) => b.target === 'warehouse');
  const phases: ApplyPhases = { masterBefore: [], warehouse: [], masterAfter: [] };
  batches.forEach((b, i) => {
    if (b.target === 'warehouse') phases.warehouse.push(b);
    else if (generatedLogins === 'contained') throw new PmgrantsError('a server-level statement was rendered for contained logins; this is a bug');
    else if (firstWarehouse === -1 || i < firstWarehouse) phases.masterBefore.push(b);
    else phases.masterAfter.push(b);
  });
  return phases;
}

/** The application lock's resource name (sp_getapplock keeps 255 characters). */
function lockResource(database: string): string {
  return `pmgrants:${database}`.slice(0, 255);
}

/** SET XACT_ABORT ON and the exclusive application lock owned by the transaction, in one plain batch. */
export function lockBatchSql(database: string, timeoutMs: number): string {
  if (!Number.isInteger(timeoutMs) || timeoutMs < -1) throw new PmgrantsError('lockTimeoutMs must be a whole number of milliseconds');
  return [
    'SET XACT_ABORT ON;',
    'DECLARE @result int;',
    `EXEC @result = sys.sp_getapplock @Resource = ${quoteString(lockResource(database))}, @LockMode = N'Exclusive', @LockOwner = N'Transaction', @LockTimeout = ${timeoutMs};`,
    'SELECT @result AS lock_result;',
  ].join('\n');
}

/**
 * The session holding the apply lock of `database` (run in it): sys.dm_tran_locks shows an application
 * lock's resource by the first 32 characters of its name. It needs VIEW SERVER STATE (Azure SQL: VIEW
 * DATABASE STATE); without it the query fails or sees only this session, and the holder stays unknown.
 */
export function lockHolderSql(database: string): string {
  return [
    'SELECT TOP (1) l.request_session_id AS session_id, s.login_time, s.program_name',
    'FROM sys.dm_tran_locks AS l LEFT JOIN sys.dm_exec_sessions AS s ON s.session_id = l.request_session_id',
    `WHERE l.resource_type = N'APPLICATION' AND l.resource_database_id = DB_ID() AND l.request_mode = N'X' AND l.request_status LIKE N'GRANT%'`,
    `  AND CHARINDEX(${quoteString(lockResource(database).slice(0, 32))}, l.resource_description) > 0 AND l.request_session_id <> @@SPID;`,
  ].join('\n');
}

/** The statement of a batch an error points at: the driver reports the line of the batch it failed on. */
export function failingStatement(batch: Batch, err: unknown): Statement {
  const e = err as { lineNumber?: number; originalError?: { info?: { lineNumber?: number } } } | undefined;
  const line = e?.lineNumber ?? e?.originalError?.info?.lineNumber;
  if (typeof line !== 'number' || batch.statements.length === 1) return batch.statements[0];
  let first = 1;
  for (const s of batch.statements) {
    const lines = s.sql.split('\n').length;
    if (line < first + lines) return s;
    first += lines;
  }
  return batch.statements[batch.statements.length - 1];
}

type ConnectInput = SqlServerConnectionConfig | SqlServerUrlInput;

function resolveConfig(input: ConnectInput): SqlServerConnectionConfig {
  if ('url' in input) return parseSqlServerUrl(input.url, input.engine);
  return input;
}

/**
 * A live connection to one SQL Server / Azure SQL warehouse. mssql is required here, not at module
 * load, so the dialect stays usable (and Pulumi closures serializable) without the driver.
 * deps.mssql replaces the driver (tests drive the orchestration with a fake).
 */
/** DBCC FLUSHAUTHCACHE (Azure SQL Database), when HAS_PERMS_BY_NAME says the session holds KILL DATABASE CONNECTION. */
export const FLUSH_AUTH_CACHE_SQL = "IF HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'KILL DATABASE CONNECTION') = 1 DBCC FLUSHAUTHCACHE;";

export const DATABASE_IDENTITY_SQL =
  "SELECT N'database_id ' + CONVERT(nvarchar(12), d.database_id) + N' created ' + CONVERT(nvarchar(30), d.create_date, 126) AS id FROM sys.databases d WHERE d.database_id = DB_ID();";

export async function connectSqlServer(input: ConnectInput, deps: { mssql?: typeof Mssql } = {}): Promise<EngineConnection> {
  const config = resolveConfig(input);
  const mssql = deps.mssql ?? (require('mssql') as typeof Mssql);
  const dialect = createSqlServerDialect({
    engine: config.engine,
    ...(config.generatedLogins ? { generatedLogins: config.generatedLogins } : {}),
    ...(config.guardActiveSessions !== undefined ? { guardActiveSessions: config.guardActiveSessions } : {}),
  });
  const options = dialect.options;
  const server = describeServer(config);
  let trips = 0;
  let database = config.database;
  let warehousePool: Mssql.ConnectionPool | undefined;
  let masterPool: Mssql.ConnectionPool | undefined;
  /** The warehouse transaction that holds the apply lock for lockForApply: inspect runs in it, and apply continues it. */
  let lockTx: Mssql.Transaction | undefined;
  const lockTimeout = config.lockTimeoutMs ?? 30_000;

  const open = async (db: string | undefined): Promise<Mssql.ConnectionPool> => {
    const pool = new mssql.ConnectionPool(toMssqlConfig(config, db));
    pool.on('error', () => undefined); // idle-connection errors surface on the next request instead
    try {
      trips++;
      await pool.connect();
      return pool;
    } catch (err) {
      throw sqlServerErrorToPmgrants(err, { server, ...(db ? { database: db } : {}) });
    }
  };
  const warehouse = async (desired?: DesiredState): Promise<Mssql.ConnectionPool> => {
    if (desired) {
      if (database && database.toLowerCase() !== desired.database.toLowerCase()) {
        throw new PmgrantsError(`the connection is for database ${database} but the policy governs ${desired.database}`);
      }
      database = desired.database;
    }
    if (!database) throw new PmgrantsError('the connection names no database; add it to the URL (mssql://host/database)');
    warehousePool ??= await open(database);
    return warehousePool;
  };
  const master = async (): Promise<Mssql.ConnectionPool> => {
    masterPool ??= await open('master');
    return masterPool;
  };
  const run = async (request: Mssql.Request, sql: string, hasParams: boolean): Promise<Mssql.IResult<Record<string, unknown>>> => {
    trips++;
    return hasParams ? request.query(sql) : request.batch(sql);
  };

  if (database) await warehouse();

  /** A request in the warehouse: in lockForApply's transaction while it holds the lock (on its connection), else on the pool. */
  const warehouseRequest = (pool: Mssql.ConnectionPool): Mssql.Request => (lockTx ? new mssql.Request(lockTx) : new mssql.Request(pool));

  const inspect = async (desired: DesiredState): Promise<ActualState> => {
    const pool = await warehouse(desired);
    try {
      let loginRows: SqlLoginRow[] = [];
      let sets: Record<string, unknown>[][];
      if (options.engine === 'sqlserver') {
        const r = await run(warehouseRequest(pool), `${SQL_LOGINS_SQL}\n${WAREHOUSE_CATALOG_SQL}`, false);
        sets = r.recordsets as unknown as Record<string, unknown>[][];
        loginRows = sets.shift() as unknown as SqlLoginRow[];
      } else {
        const r = await run(warehouseRequest(pool), WAREHOUSE_CATALOG_SQL, false);
        sets = r.recordsets as unknown as Record<string, unknown>[][];
        if (options.generatedLogins === 'server') {
          const m = await run(new mssql.Request(await master()), SQL_LOGINS_AZURE_SQL, false);
          loginRows = m.recordset as unknown as SqlLoginRow[];
        }
      }
      return inspectSqlServer(
        {
          logins: loginRows,
          principals: sets[0] as unknown as DatabasePrincipalRow[],
          roleMembers: sets[1] as unknown as DatabaseRoleMemberRow[],
          permissions: sets[2] as unknown as DatabasePermissionRow[],
          schemas: sets[3] as unknown as SchemaRow[],
          ...(sets[4]?.[0] ? { session: sets[4][0] as unknown as SessionRow } : {}),
        },
        { engine: options.engine, database: desired.database, prefix: desired.prefix, generatedLogins: options.generatedLogins, desired },
      );
    } catch (err) {
      throw sqlServerErrorToPmgrants(err, { server, database: desired.database });
    }
  };

  /** pmgrants export: one batch in the warehouse (the URL's database), read by exportCatalogFromSqlServer. */
  const exportCatalog = async (exportOptions: { prefix?: string }): Promise<ExportCatalog> => {
    const pool = await warehouse();
    try {
      const r = await run(new mssql.Request(pool), EXPORT_CATALOG_SQL, false);
      const sets = r.recordsets as unknown as Record<string, unknown>[][];
      return exportCatalogFromSqlServer(
        {
          principals: sets[0] as unknown as DatabasePrincipalRow[],
          roleMembers: sets[1] as unknown as DatabaseRoleMemberRow[],
          permissions: sets[2] as unknown as ExportPermissionRow[],
          schemas: sets[3] as unknown as SchemaRow[],
          objects: sets[4] as unknown as ExportObjectRow[],
          columns: sets[5] as unknown as ExportColumnRow[],
          session: (sets[6] as unknown as SqlServerExportRows['session'][])[0],
        },
        options.engine,
        exportOptions.prefix,
      );
    } catch (err) {
      throw sqlServerErrorToPmgrants(err, { server, ...(database ? { database } : {}) });
    }
  };

  /** database_id can be reused after a DROP DATABASE; with create_date it names one database (sys.databases). */
  const databaseIdentity = async (): Promise<string> => {
    const pool = await warehouse();
    try {
      const r = await run(new mssql.Request(pool), DATABASE_IDENTITY_SQL, false);
      const row = r.recordset[0] as { id?: unknown } | undefined;
      return String(row?.id);
    } catch (err) {
      throw sqlServerErrorToPmgrants(err, { server, ...(database ? { database } : {}) });
    }
  };

  /** pmgrants report: one batch in the warehouse, evaluated by sqlServerAccessFacts. */
  const readAccess = async (desired: DesiredState): Promise<AccessFacts> => {
    const pool = await warehouse(desired);
    try {
      const sets = (await run(new mssql.Request(pool), ACCESS_SQL, false)).recordsets as unknown as Record<string, unknown>[][];
      const [identity, principals, members, permissions, schemas, serverRoles, serverPermissions] = sets;
      const rows = { identity, principals, members, permissions, schemas, serverRoles: serverRoles ?? [], serverPermissions: serverPermissions ?? [] } as unknown as SqlServerAccessRows;
      const wanted = new Set(desired.schemas.map((s) => s.name.toLowerCase()));
      return sqlServerAccessFacts({ ...rows, schemas: rows.schemas.filter((s) => wanted.has(s.name.toLowerCase())) }, options.engine);
    } catch (err) {
      throw sqlServerErrorToPmgrants(err, { server, database: desired.database });
    }
  };

  const preflight = async (desired: DesiredState): Promise<PreflightCheck[]> => {
    const pool = await warehouse(desired);
    let facts: PreflightFacts;
    try {
      const r = await run(new mssql.Request(pool), options.engine === 'sqlserver' ? PREFLIGHT_SQLSERVER_SQL : PREFLIGHT_AZURE_SQL_SQL, false);
      const sets = r.recordsets as unknown as Record<string, unknown>[][];
      facts = {
        server: sets[0][0] as unknown as PreflightServerRow,
        schemas: sets[1] as unknown as PreflightSchemaRow[],
        ...(options.engine === 'sqlserver' ? { serverRoleMembers: sets[2] as unknown as PreflightServerRoleRow[] } : {}),
      };
    } catch (err) {
      throw sqlServerErrorToPmgrants(err, { server, database: desired.database });
    }
    if (options.engine === 'azure-sql' && options.generatedLogins === 'server' && desired.logins.length > 0) {
      try {
        const m = await run(new mssql.Request(await master()), PREFLIGHT_AZURE_MASTER_SQL, false);
        facts.master = m.recordset[0] as unknown as PreflightMasterRow;
      } catch (err) {
        facts.masterError = err instanceof PmgrantsError ? err.message : sqlServerErrorToPmgrants(err).message;
      }
    }
    // What this plan would run decides some checks (ALTER AUTHORIZATION, Entra users): plan it first.
    const changes = diffState(desired, await inspect(desired)).changes;
    const auth = config.auth.type === 'sql' ? 'sql' : config.auth.type === 'ntlm' ? 'windows' : 'entra';
    return evaluatePreflight(facts, desired, { engine: options.engine, generatedLogins: options.generatedLogins, auth, changes });
  };

  const apply = async (statements: readonly Statement[], progress?: ApplyProgress, applyOptions: ApplyOptions = {}): Promise<ApplyResult> => {
    const startTrips = trips;
    // Every password is generated first and delivered (write-ahead) before the first round trip;
    // `secrets` holds those the apply has sent.
    const generated = new Map<string, GeneratedPassword>();
    for (const s of statements) {
      for (const p of s.params) {
        if ('secretFor' in p && !generated.has(p.secretFor)) {
          generated.set(p.secretFor, { login: p.secretFor, password: generateSqlServerPassword(p.secretFor), generation: newPasswordGeneration() });
        }
      }
    }
    if (applyOptions.deliver && generated.size > 0) await applyOptions.deliver([...generated.values()]);
    const secrets = new Map<string, string>();
    const phases = applyPhases(planBatches(statements), options.engine, options.generatedLogins);
    const total = statements.length;
    let done = 0;
    const pool = await warehouse();
    // Under lockForApply its transaction holds the lock: the apply continues it (and its commit or
    // rollback releases the lock); else the apply begins its own and takes the lock first.
    const held = lockTx;
    lockTx = undefined;

    const execute = async (tx: Mssql.Transaction, batch: Batch): Promise<void> => {
      const request = new mssql.Request(tx);
      for (const p of batch.params) {
        if ('secretFor' in p) {
          if (!secrets.has(p.secretFor)) secrets.set(p.secretFor, generated.get(p.secretFor)!.password);
          request.input(p.name, mssql.NVarChar(128), secrets.get(p.secretFor));
        } else {
          request.input(p.name, mssql.NVarChar(4000), p.value);
        }
      }
      try {
        await run(request, batch.sql, batch.params.length > 0);
      } catch (err) {
        throw sqlServerErrorToPmgrants(err, { server, database: database!, statement: failingStatement(batch, err).display });
      }
      done += batch.statements.length;
      if (progress) progress(done, total, batch.statements[batch.statements.length - 1]);
    };
    const inTransaction = async (target: Mssql.ConnectionPool, batches: Batch[], lock: boolean): Promise<Mssql.Transaction> => {
      const tx = new mssql.Transaction(target);
      trips++;
      await tx.begin();
      try {
        const r = await run(new mssql.Request(tx), lock ? lockBatchSql(database!, lockTimeout) : 'SET XACT_ABORT ON;', false);
        if (lock) {
          const result = Number((r.recordset?.[0] as { lock_result?: number } | undefined)?.lock_result);
          if (!(result >= 0)) {
            throw new PmgrantsError(
              `another pmgrants apply holds the lock on ${database} (sp_getapplock returned ${result}); nothing was applied, try again when it has finished`,
            );
          }
        }
        for (const b of batches) await execute(tx, b);
        return tx;
      } catch (err) {
        await tx.rollback().catch(() => undefined);
        throw sqlServerErrorToPmgrants(err, { server, database: database! });
      }
    };
    const commit = async (tx: Mssql.Transaction) => {
      trips++;
      await tx.commit();
    };

    let warehouseTx: Mssql.Transaction | undefined;
    let masterCommitted = false;
    try {
      // The lock is taken first, so concurrent applies queue even before the master phase.
      warehouseTx = held ?? (await inTransaction(pool, [], true));
      if (phases.masterBefore.length > 0) {
        const mtx = await inTransaction(await master(), phases.masterBefore, false);
        await commit(mtx);
        masterCommitted = true;
      }
      for (const b of phases.warehouse) await execute(warehouseTx, b);
      await commit(warehouseTx);
      warehouseTx = undefined;
      if (phases.masterAfter.length > 0) {
        const mtx = await inTransaction(await master(), phases.masterAfter, false);
        await commit(mtx);
      }
      if (masterCommitted) await flushAuthCache(pool);
    } catch (err) {
      if (warehouseTx) await warehouseTx.rollback().catch(() => undefined);
      const clear = sqlServerErrorToPmgrants(err, { server, database: database! });
      if (masterCommitted && secrets.size > 0) {
        throw new PartialApplyError(
          `${clear.message}. The logins ${[...secrets.keys()].join(', ')} were already created or changed in master; their new passwords are returned with this error (a login created here carries this warehouse's SID, so the next apply creates its user).`,
          secrets,
        );
      }
      throw clear;
    }
    return { statements: total, roundTrips: trips - startTrips, secrets };
  };

  /**
   * Azure SQL: the user database keeps a copy of the logins of master in its authentication cache
   * (DBCC FLUSHAUTHCACHE, Remarks), so a login created or a password changed in master a moment ago may
   * not be seen there yet. DBCC FLUSHAUTHCACHE empties it, but needs KILL DATABASE CONNECTION or the admin
   * account, which the seed's login does not hold: it runs only when the session may, outside the
   * committed transaction, and its failure changes nothing that was applied.
   */
  const flushAuthCache = async (pool: Mssql.ConnectionPool): Promise<void> => {
    await run(new mssql.Request(pool), FLUSH_AUTH_CACHE_SQL, false).catch(() => undefined);
  };

  /** sp_getapplock in `tx`, waiting up to `timeoutMs`: its result (0 or 1 granted, below 0 not). */
  const getLock = async (tx: Mssql.Transaction, timeoutMs: number): Promise<number> => {
    const r = await run(new mssql.Request(tx), lockBatchSql(database!, timeoutMs), false);
    return Number((r.recordset?.[0] as { lock_result?: number } | undefined)?.lock_result);
  };
  const holderOf = async (pool: Mssql.ConnectionPool): Promise<LockHolder> => {
    try {
      const r = await run(new mssql.Request(pool), lockHolderSql(database!), false);
      const row = r.recordset?.[0] as { session_id?: number; login_time?: Date | null; program_name?: string | null } | undefined;
      return { ...(row?.session_id ? { session: `session ${row.session_id}` } : {}), ...(row?.login_time ? { since: row.login_time } : {}), ...(row?.program_name ? { program: row.program_name } : {}) };
    } catch {
      return {}; // no VIEW SERVER STATE: the holder stays unknown
    }
  };

  const lockForApply = async (onWait?: (holder: LockHolder) => void): Promise<() => Promise<void>> => {
    if (lockTx) throw new Error('lockForApply: this connection holds the apply lock already');
    const pool = await warehouse();
    const tx = new mssql.Transaction(pool);
    try {
      trips++;
      await tx.begin();
    } catch (err) {
      throw sqlServerErrorToPmgrants(err, { server, database: database! });
    }
    try {
      // Without waiting first: when another apply has it, say who, then wait as long as the timeout allows.
      if (!((await getLock(tx, 0)) >= 0)) {
        const holder = await holderOf(pool);
        if (lockTimeout === 0) throw lockTimeoutError(database!, holder, 0);
        onWait?.(holder);
        if (!((await getLock(tx, lockTimeout)) >= 0)) throw lockTimeoutError(database!, holder, lockTimeout / 1000);
      }
    } catch (err) {
      await tx.rollback().catch(() => undefined);
      throw err instanceof PmgrantsError ? err : sqlServerErrorToPmgrants(err, { server, database: database! });
    }
    lockTx = tx;
    return async () => {
      if (lockTx !== tx) return; // apply committed or rolled it back
      lockTx = undefined;
      trips++;
      await tx.rollback().catch(() => undefined);
    };
  };

  return {
    dialect,
    inspect,
    lockForApply,
    apply,
    preflight,
    exportCatalog,
    databaseIdentity,
    readAccess,
    roundTrips: () => trips,
    close: async () => {
      const pools = [warehousePool, masterPool].filter((p): p is Mssql.ConnectionPool => p !== undefined);
      warehousePool = undefined;
      masterPool = undefined;
      await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
    },
  };
}
