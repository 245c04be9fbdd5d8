import type * as Mssql from 'mssql';
import { ApplyOptions, ApplyProgress, ApplyResult, GeneratedPassword } from '../engine';
import { newPasswordGeneration } from '../generation';
import { LockHolder, lockTimeoutError } from '../lock';
import { PartialApplyError, PmgrantsError } from '../../model/errors';
import { Statement } from '../../model/statement';
import { Batch, planBatches } from './batches';
import { CATALOG_BATCHES } from './catalog';
import { generateSqlServerPassword } from './password';
import { sqlErrorNumber, sqlServerErrorToPmgrants } from './errors';
import { Blocker, lockTimeoutOf, retryTransient, TransientConflict } from '../busy';
import { watchSqlServerBlockers } from './blockers';
import { quoteString } from './quote';
import { SqlServerSession } from './session';

/**
 * Apply on SQL Server and Azure SQL Database: the statements' batches in one transaction in the
 * warehouse under an application lock (Azure SQL logins: in master, before and after it), every
 * generated password delivered before the first round trip. docs/sqlserver.md says how it stays all
 * or nothing.
 */

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
 * The warehouse transaction's statement lock wait, and its session id (to ask who blocks it): SET
 * LOCK_TIMEOUT cancels a statement that waited longer with error 1222, and XACT_ABORT ON (set with the
 * apply lock) rolls the whole transaction back then, as for any run-time error (SET XACT_ABORT,
 * Remarks). One round trip, after the apply lock is held: waiting for that lock has its own timeout.
 */
export function statementLockTimeoutSql(timeoutMs: number): string {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new PmgrantsError('the lock timeout must be a whole, positive number of milliseconds');
  return `SET LOCK_TIMEOUT ${timeoutMs};\nSELECT @@SPID AS spid;`;
}

/** SQL Server errors that roll the apply back because of somebody else's work, and may pass if it is tried again. */
export const TRANSIENT_ERRORS: ReadonlyMap<number, string> = new Map([
  [1205, "this apply's transaction was chosen as the victim of a deadlock with another session"],
  [1222, 'a lock was not granted within the lock timeout'],
]);

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


/** Every password the statements set, generated (CSPRNG) with its generation, by login. */
function generatePasswords(statements: readonly Statement[]): Map<string, GeneratedPassword> {
  const generated = new Map<string, GeneratedPassword>();
  for (const s of statements) {
    for (const p of s.params) {
      if ('secretFor' in p && !generated.has(p.secretFor)) {
        generated.set(p.secretFor, { login: p.secretFor, password: generateSqlServerPassword(p.secretFor), generation: newPasswordGeneration() });
      }
    }
  }
  return generated;
}

/**
 * Run statements in their phases, all or nothing. Every password is generated first and delivered
 * (write-ahead) before the first round trip. Under lockForApply the apply continues the transaction
 * that holds the lock (and its commit or rollback releases it); else it begins its own and takes the
 * lock first.
 */
export async function applyStatements(session: SqlServerSession, statements: readonly Statement[], progress?: ApplyProgress, options: ApplyOptions = {}): Promise<ApplyResult> {
  const startTrips = session.trips;
  const generated = generatePasswords(statements);
  // A login has no expiry time on SQL Server: the lifetime is only what the destination is told (docs/credentials.md).
  const validUntil = options.passwordLifetime?.validUntil?.toISOString();
  if (options.deliver && generated.size > 0) await options.deliver([...generated.values()].map((p) => (validUntil ? { ...p, validUntil } : p)));
  const phases = applyPhases(planBatches(statements), session.options.engine, session.options.generatedLogins);
  const lockTimeoutMs = Math.max(1, Math.round(lockTimeoutOf(options.patience) * 1000));
  // A try rolled back by a deadlock or a lock wait (1205, 1222) left nothing: the same batches, with the
  // same passwords already delivered, are tried again (engines/busy.ts). The first try continues
  // lockForApply's transaction; a later one takes the apply lock again in its own.
  let run: ApplyRun | undefined;
  await retryTransient(
    () => {
      run = new ApplyRun(session, statements, generated, progress, lockTimeoutMs);
      return run.phases(phases);
    },
    options.patience,
    options.signal,
  );
  return { statements: statements.length, roundTrips: session.trips - startTrips, secrets: run!.secrets };
}

/** One apply's progress through its phases: which passwords it has sent, how many statements ran. */
class ApplyRun {
  /** The passwords the apply has sent, by login. */
  readonly secrets = new Map<string, string>();
  private done = 0;

  constructor(
    private readonly session: SqlServerSession,
    private readonly statements: readonly Statement[],
    private readonly generated: ReadonlyMap<string, GeneratedPassword>,
    private readonly progress: ApplyProgress | undefined,
    /** How long one statement waits for a lock (SET LOCK_TIMEOUT), in milliseconds. */
    private readonly lockTimeoutMs: number,
  ) {}

  /** The warehouse transaction's session and pool, once its lock wait is set: slow batches ask who blocks them. */
  private watched: { spid: number; pool: Mssql.ConnectionPool; tx: Mssql.Transaction } | undefined;
  /** Who blocked the last batch that waited, as seen while it waited. */
  private blockers: Blocker[] = [];

  async phases(phases: ApplyPhases): Promise<void> {
    const session = this.session;
    const pool = await session.warehouse();
    const held = session.lockTx;
    session.lockTx = undefined;
    let warehouseTx: Mssql.Transaction | undefined;
    let masterCommitted = false;
    try {
      // The lock is taken first, so concurrent applies queue even before the master phase.
      warehouseTx = held ?? (await this.inTransaction(pool, [], true));
      const set = await session.run(session.request(warehouseTx), statementLockTimeoutSql(this.lockTimeoutMs), false);
      const spid = Number((set.recordset?.[0] as { spid?: number } | undefined)?.spid);
      if (Number.isInteger(spid) && spid > 0) this.watched = { spid, pool, tx: warehouseTx };
      if (phases.masterBefore.length > 0) {
        const mtx = await this.inTransaction(await session.master(), phases.masterBefore, false);
        await this.commit(mtx);
        masterCommitted = true;
      }
      for (const b of phases.warehouse) await this.execute(warehouseTx, b);
      await this.commit(warehouseTx);
      warehouseTx = undefined;
      if (phases.masterAfter.length > 0) {
        const mtx = await this.inTransaction(await session.master(), phases.masterAfter, false);
        await this.commit(mtx);
      }
      if (masterCommitted) await flushAuthCache(session, pool);
    } catch (err) {
      if (warehouseTx) await warehouseTx.rollback().catch(() => undefined);
      // Rolled back whole, nothing committed in master: it may be tried again as it is. Once master has
      // committed, it may not: the conflict is an error like any other, and says what stayed.
      if (err instanceof TransientConflict && !masterCommitted) throw err;
      const clear = err instanceof TransientConflict ? new PmgrantsError(`${err.what}; the warehouse transaction was rolled back`) : session.fail(err, session.database!);
      if (masterCommitted && this.secrets.size > 0) {
        throw new PartialApplyError(
          `${clear.message}. The logins ${[...this.secrets.keys()].join(', ')} were already created or changed in master; their new passwords are returned with this error (a login created here carries this warehouse's SID, so the next apply creates its user).`,
          this.secrets,
        );
      }
      throw clear;
    }
  }

  private async execute(tx: Mssql.Transaction, batch: Batch): Promise<void> {
    const { session } = this;
    const request = session.request(tx);
    for (const p of batch.params) {
      if ('secretFor' in p) {
        if (!this.secrets.has(p.secretFor)) this.secrets.set(p.secretFor, this.generated.get(p.secretFor)!.password);
        request.input(p.name, session.mssql.NVarChar(128), this.secrets.get(p.secretFor));
      } else {
        request.input(p.name, session.mssql.NVarChar(4000), p.value);
      }
    }
    const watch = this.watched?.tx === tx ? watchSqlServerBlockers(session, this.watched.pool, this.watched.spid, Math.max(200, this.lockTimeoutMs / 2)) : undefined;
    try {
      await session.run(request, batch.sql, batch.params.length > 0);
    } catch (err) {
      const seen = await watch?.stop();
      if (seen) this.blockers = seen;
      const number = sqlErrorNumber(err);
      const transient = number !== undefined ? TRANSIENT_ERRORS.get(number) : undefined;
      if (transient !== undefined) {
        const lockWait = number === 1222;
        throw new TransientConflict(lockWait ? `a lock was not granted within ${this.lockTimeoutMs / 1000} s` : transient, lockWait ? this.blockers : [], lockWait);
      }
      throw sqlServerErrorToPmgrants(err, { server: session.server, database: session.database!, statement: failingStatement(batch, err).display });
    }
    await watch?.stop();
    this.done += batch.statements.length;
    if (this.progress) this.progress(this.done, this.statements.length, batch.statements[batch.statements.length - 1]);
  }

  private async inTransaction(target: Mssql.ConnectionPool, batches: Batch[], lock: boolean): Promise<Mssql.Transaction> {
    const { session } = this;
    const tx = new session.mssql.Transaction(target);
    session.trips++;
    await tx.begin();
    try {
      const r = await session.run(session.request(tx), lock ? lockBatchSql(session.database!, session.lockTimeout) : 'SET XACT_ABORT ON;', false);
      if (lock) {
        const result = Number((r.recordset?.[0] as { lock_result?: number } | undefined)?.lock_result);
        if (!(result >= 0)) {
          throw new PmgrantsError(
            `another pmgrants apply holds the lock on ${session.database} (sp_getapplock returned ${result}); nothing was applied, try again when it has finished`,
          );
        }
      }
      for (const b of batches) await this.execute(tx, b);
      return tx;
    } catch (err) {
      await tx.rollback().catch(() => undefined);
      throw session.fail(err, session.database!);
    }
  }

  private async commit(tx: Mssql.Transaction): Promise<void> {
    this.session.trips++;
    await tx.commit();
  }
}

/**
 * Azure SQL: the user database keeps a copy of the logins of master in its authentication cache
 * (DBCC FLUSHAUTHCACHE, Remarks), so a login created or a password changed in master a moment ago may
 * not be seen there yet. DBCC FLUSHAUTHCACHE empties it, but needs KILL DATABASE CONNECTION or the admin
 * account, which the seed's login does not hold: it runs only when the session may, outside the
 * committed transaction, and its failure changes nothing that was applied.
 */
async function flushAuthCache(session: SqlServerSession, pool: Mssql.ConnectionPool): Promise<void> {
  await session.run(session.request(pool), CATALOG_BATCHES.FLUSH_AUTH_CACHE_SQL, false).catch(() => undefined);
}

/** sp_getapplock in `tx`, waiting up to `timeoutMs`: its result (0 or 1 granted, below 0 not). */
async function getLock(session: SqlServerSession, tx: Mssql.Transaction, timeoutMs: number): Promise<number> {
  const r = await session.run(session.request(tx), lockBatchSql(session.database!, timeoutMs), false);
  return Number((r.recordset?.[0] as { lock_result?: number } | undefined)?.lock_result);
}

async function holderOf(session: SqlServerSession, pool: Mssql.ConnectionPool): Promise<LockHolder> {
  try {
    const r = await session.run(session.request(pool), lockHolderSql(session.database!), false);
    const row = r.recordset?.[0] as { session_id?: number; login_time?: Date | null; program_name?: string | null } | undefined;
    return { ...(row?.session_id ? { session: `session ${row.session_id}` } : {}), ...(row?.login_time ? { since: row.login_time } : {}), ...(row?.program_name ? { program: row.program_name } : {}) };
  } catch {
    return {}; // no VIEW SERVER STATE: the holder stays unknown
  }
}

/** EngineConnection.lockForApply: a warehouse transaction that holds the application lock until released (or continued by apply). */
export async function lockForApply(session: SqlServerSession, onWait?: (holder: LockHolder) => void): Promise<() => Promise<void>> {
  if (session.lockTx) throw new Error('lockForApply: this connection holds the apply lock already');
  const pool = await session.warehouse();
  const tx = new session.mssql.Transaction(pool);
  try {
    session.trips++;
    await tx.begin();
  } catch (err) {
    throw session.fail(err, session.database!);
  }
  const { database, lockTimeout } = session;
  try {
    // Without waiting first: when another apply has it, say who, then wait as long as the timeout allows.
    if (!((await getLock(session, tx, 0)) >= 0)) {
      const holder = await holderOf(session, pool);
      if (lockTimeout === 0) throw lockTimeoutError(database!, holder, 0);
      onWait?.(holder);
      if (!((await getLock(session, tx, lockTimeout)) >= 0)) throw lockTimeoutError(database!, holder, lockTimeout / 1000);
    }
  } catch (err) {
    await tx.rollback().catch(() => undefined);
    throw err instanceof PmgrantsError ? err : session.fail(err, database!);
  }
  session.lockTx = tx;
  return async () => {
    if (session.lockTx !== tx) return; // apply committed or rolled it back
    session.lockTx = undefined;
    session.trips++;
    await tx.rollback().catch(() => undefined);
  };
}
