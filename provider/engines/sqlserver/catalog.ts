import { sqlFileDirs, sqlFileReader } from '../sql-files';

/**
 * The catalog batches: one constant batch per database and purpose, never one query per object, each
 * query in its named sql/<name>.sql file. Column aliases are the row shapes of inspect.ts, export.ts,
 * preflight.ts and access-facts.ts (and of test/fixtures/sqlserver/*.json). SIDs come back as '0x…'
 * strings (CONVERT binary style 1) and times as ISO 8601 (style 126), so the rows are plain JSON.
 * Each file's leading comment says what it reads; the server gets the statements alone.
 */

/** Where sql/*.sql are: next to this file's source, or in the source tree the package ships (sql-files.ts). */
export function catalogSqlDirs(dir: string = __dirname): string[] {
  return sqlFileDirs('sqlserver', dir);
}

/** The statements of sql/<name>.sql, without its leading comment. Throws one clear sentence when the file is missing. */
export const catalogSql = sqlFileReader(() => catalogSqlDirs(), { withoutLeadingComments: true });

const batch = (...names: string[]) => names.map((n) => catalogSql(n)).join('\n');

/** The batches, read from their files on first use (the dialect loads without them). */
export const CATALOG_BATCHES = {
  /** inspect on SQL Server, before the warehouse batch: SQL logins with their password age. */
  get SQL_LOGINS_SQL(): string {
    return catalogSql('sql-logins');
  },
  /** inspect on Azure SQL Database, in the logical server's master. */
  get SQL_LOGINS_AZURE_SQL(): string {
    return catalogSql('sql-logins-azure-sql');
  },
  /** inspect in the warehouse: five result sets, in this order; the last is the session reading them. */
  get WAREHOUSE_CATALOG_SQL(): string {
    return batch('database-principals', 'database-role-members', 'database-permissions', 'schemas', 'session');
  },
  /**
   * inspect in the warehouse when the policy declares personal columns: one more round trip, the
   * columns of the masked apps' schemas (@schemas, a JSON array) with their masks.
   */
  get MASKING_COLUMNS_SQL(): string {
    return catalogSql('masking-columns');
  },
  /** pmgrants doctor on SQL Server, in the warehouse: one row of facts, then schema rights, then server role memberships. */
  get PREFLIGHT_SQLSERVER_SQL(): string {
    return batch('preflight-sqlserver', 'preflight-schemas', 'preflight-server-roles');
  },
  /** pmgrants doctor on Azure SQL Database, in the warehouse: one row of facts, then schema rights. */
  get PREFLIGHT_AZURE_SQL_SQL(): string {
    return batch('preflight-azure-sql', 'preflight-schemas');
  },
  /** pmgrants doctor on Azure SQL Database, in master: may this login manage logins? */
  get PREFLIGHT_AZURE_MASTER_SQL(): string {
    return catalogSql('preflight-azure-master');
  },
  /**
   * pmgrants export: eight result sets, in this order; the seventh is the session, the eighth the masked columns (sys.masked_columns). Grounded in Microsoft's
   * pages for sys.database_principals, sys.database_role_members, sys.database_permissions (class 0
   * database, 1 object or column with minor_id = column_id, 3 schema, 4 database principal; state G,
   * W, D), sys.schemas, sys.objects and sys.columns.
   */
  get EXPORT_CATALOG_SQL(): string {
    return batch('database-principals', 'database-role-members', 'export-permissions', 'schemas', 'export-objects', 'export-columns', 'export-session', 'export-masked-columns');
  },
  /**
   * pmgrants report: nine result sets in the order of SqlServerAccessRows (access-facts.ts), whose field
   * names are their column aliases; the ninth, every column of the user tables and views with its mask
   * (sys.masked_columns), tells masked columns and the columns a reader granted column by column misses.
   */
  get ACCESS_SQL(): string {
    return batch('access-identity', 'access-principals', 'access-members', 'access-permissions', 'access-schemas', 'access-server-roles', 'access-server-permissions', 'access-object-owners', 'access-masked-columns');
  },
  /** The identity of the database (EngineConnection.databaseIdentity): database_id and create_date. */
  get DATABASE_IDENTITY_SQL(): string {
    return catalogSql('database-identity');
  },
  /** Not a catalog read: what apply runs in an Azure SQL warehouse after logins changed in master (apply.ts). */
  get FLUSH_AUTH_CACHE_SQL(): string {
    return catalogSql('flush-auth-cache');
  },
};
