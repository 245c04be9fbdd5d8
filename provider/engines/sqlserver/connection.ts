import type * as Mssql from 'mssql';
import type { ExportCatalog } from '../../export/catalog';
import { AccessFacts } from '../../model/access';
import { PmgrantsError } from '../../model/errors';
import { Statement } from '../../model/statement';
import { ActualState, DesiredState } from '../../model/types';
import { diffState } from '../../plan/diff';
import { ApplyOptions, ApplyProgress, ApplyResult, EngineConnection, PreflightCheck } from '../engine';
import { LockHolder } from '../lock';
import { readSqlServerAccess } from './access';
import { applyStatements, lockForApply } from './apply';
import { CATALOG_BATCHES } from './catalog';
import { SqlServerDialect } from './dialect';
import { sqlServerErrorToPmgrants } from './errors';
import { ExportColumnRow, ExportMaskedColumnRow, ExportObjectRow, ExportPermissionRow, SqlServerExportRows, exportCatalogFromSqlServer } from './export';
import { DatabasePermissionRow, DatabasePrincipalRow, DatabaseRoleMemberRow, MaskingColumnRow, SchemaRow, SessionRow, SqlLoginRow, inspectSqlServer } from './inspect';
import { PreflightFacts, PreflightMasterRow, PreflightSchemaRow, PreflightServerRoleRow, PreflightServerRow, evaluatePreflight } from './preflight';
import { ConnectInput, SqlServerSession } from './session';
import { SqlServerAuth } from './url';

/**
 * A live connection to one SQL Server / Azure SQL warehouse. deps.mssql replaces the driver (tests
 * drive the orchestration with a fake).
 */
export async function connectSqlServer(input: ConnectInput, deps: { mssql?: typeof Mssql } = {}): Promise<EngineConnection> {
  const session = new SqlServerSession(input, deps.mssql);
  if (session.database) await session.warehouse();
  return new SqlServerConnection(session);
}

/** The engine's operations over one session: reads here, apply and its lock in apply.ts, access in access.ts. */
class SqlServerConnection implements EngineConnection {
  readonly dialect: SqlServerDialect;

  constructor(private readonly session: SqlServerSession) {
    this.dialect = session.dialect;
  }

  async inspect(desired: DesiredState): Promise<ActualState> {
    const { session } = this;
    const { options } = session;
    const pool = await session.warehouse(desired);
    try {
      let loginRows: SqlLoginRow[] = [];
      let sets: Record<string, unknown>[][];
      if (options.engine === 'sqlserver') {
        sets = await session.sets(session.warehouseRequest(pool), `${CATALOG_BATCHES.SQL_LOGINS_SQL}\n${CATALOG_BATCHES.WAREHOUSE_CATALOG_SQL}`);
        loginRows = sets.shift() as unknown as SqlLoginRow[];
      } else {
        sets = await session.sets(session.warehouseRequest(pool), CATALOG_BATCHES.WAREHOUSE_CATALOG_SQL);
        if (options.generatedLogins === 'server') {
          const m = await session.run(session.request(await session.master()), CATALOG_BATCHES.SQL_LOGINS_AZURE_SQL, false);
          loginRows = m.recordset as unknown as SqlLoginRow[];
        }
      }
      // Personal data: the masked apps' columns and their masks, one more round trip (a JSON array of schemas).
      const maskedSchemas = (desired.masking?.apps ?? []).map((a) => a.schema);
      let maskingColumns: MaskingColumnRow[] | undefined;
      if (maskedSchemas.length > 0) {
        const request = session.warehouseRequest(pool);
        request.input('schemas', session.mssql.NVarChar(session.mssql.MAX), JSON.stringify(maskedSchemas));
        maskingColumns = (await session.run(request, CATALOG_BATCHES.MASKING_COLUMNS_SQL, true)).recordset as unknown as MaskingColumnRow[];
      }
      return inspectSqlServer(
        {
          ...(maskingColumns ? { maskingColumns } : {}),
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
      throw sqlServerErrorToPmgrants(err, { server: session.server, database: desired.database });
    }
  }

  /** pmgrants export: one batch in the warehouse (the URL's database), read by exportCatalogFromSqlServer. */
  async exportCatalog(exportOptions: { prefix?: string }): Promise<ExportCatalog> {
    const { session } = this;
    const pool = await session.warehouse();
    try {
      const sets = await session.sets(session.request(pool), CATALOG_BATCHES.EXPORT_CATALOG_SQL);
      return exportCatalogFromSqlServer(
        {
          principals: sets[0] as unknown as DatabasePrincipalRow[],
          roleMembers: sets[1] as unknown as DatabaseRoleMemberRow[],
          permissions: sets[2] as unknown as ExportPermissionRow[],
          schemas: sets[3] as unknown as SchemaRow[],
          objects: sets[4] as unknown as ExportObjectRow[],
          columns: sets[5] as unknown as ExportColumnRow[],
          session: (sets[6] as unknown as SqlServerExportRows['session'][])[0],
          ...(sets[7] ? { maskedColumns: sets[7] as unknown as ExportMaskedColumnRow[] } : {}),
        },
        session.options.engine,
        exportOptions.prefix,
      );
    } catch (err) {
      throw session.fail(err);
    }
  }

  /** database_id can be reused after a DROP DATABASE; with create_date it names one database (sys.databases). */
  async databaseIdentity(): Promise<string> {
    const { session } = this;
    const pool = await session.warehouse();
    try {
      const r = await session.run(session.request(pool), CATALOG_BATCHES.DATABASE_IDENTITY_SQL, false);
      const row = r.recordset[0] as { id?: unknown } | undefined;
      return String(row?.id);
    } catch (err) {
      throw session.fail(err);
    }
  }

  readAccess(desired: DesiredState): Promise<AccessFacts> {
    return readSqlServerAccess(this.session, desired);
  }

  async preflight(desired: DesiredState): Promise<PreflightCheck[]> {
    const { session } = this;
    const { options } = session;
    const pool = await session.warehouse(desired);
    let facts: PreflightFacts;
    try {
      const sets = await session.sets(session.request(pool), options.engine === 'sqlserver' ? CATALOG_BATCHES.PREFLIGHT_SQLSERVER_SQL : CATALOG_BATCHES.PREFLIGHT_AZURE_SQL_SQL);
      facts = {
        server: sets[0][0] as unknown as PreflightServerRow,
        schemas: sets[1] as unknown as PreflightSchemaRow[],
        ...(options.engine === 'sqlserver' ? { serverRoleMembers: sets[2] as unknown as PreflightServerRoleRow[] } : {}),
      };
    } catch (err) {
      throw session.fail(err, desired.database);
    }
    if (options.engine === 'azure-sql' && options.generatedLogins === 'server' && desired.logins.length > 0) {
      try {
        const m = await session.run(session.request(await session.master()), CATALOG_BATCHES.PREFLIGHT_AZURE_MASTER_SQL, false);
        facts.master = m.recordset[0] as unknown as PreflightMasterRow;
      } catch (err) {
        facts.masterError = err instanceof PmgrantsError ? err.message : sqlServerErrorToPmgrants(err).message;
      }
    }
    // What this plan would run decides some checks (ALTER AUTHORIZATION, Entra users): plan it first.
    const changes = diffState(desired, await this.inspect(desired)).changes;
    return evaluatePreflight(facts, desired, { engine: options.engine, generatedLogins: options.generatedLogins, auth: signIn(session.config.auth), changes });
  }

  lockForApply(onWait?: (holder: LockHolder) => void): Promise<() => Promise<void>> {
    return lockForApply(this.session, onWait);
  }

  apply(statements: readonly Statement[], progress?: ApplyProgress, options: ApplyOptions = {}): Promise<ApplyResult> {
    return applyStatements(this.session, statements, progress, options);
  }

  roundTrips(): number {
    return this.session.trips;
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

/** How the session signs in, as doctor tells it apart: creating Entra users on Azure SQL needs an Entra identity. */
function signIn(auth: SqlServerAuth): 'sql' | 'entra' | 'windows' {
  return auth.type === 'sql' ? 'sql' : auth.type === 'ntlm' ? 'windows' : 'entra';
}
