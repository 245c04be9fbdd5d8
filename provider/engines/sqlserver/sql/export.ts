/**
 * The catalog batch `pmgrants export` runs on SQL Server and Azure SQL Database: one batch, seven result
 * sets, in this order. Column aliases are the row shapes of ../export.ts (and of
 * test/fixtures/sqlserver/export-*.json); the last is the session (DB_NAME(), USER_NAME()). Grounded in
 * Microsoft's pages for sys.database_principals,
 * sys.database_role_members, sys.database_permissions (class 0 database, 1 object or column with
 * minor_id = column_id, 3 schema, 4 database principal; state G, W, D), sys.schemas, sys.objects and
 * sys.columns.
 */
import { DATABASE_PRINCIPALS_SQL, DATABASE_ROLE_MEMBERS_SQL, SCHEMAS_SQL } from './catalog';

/** Every permission of the classes pmgrants can say something about, in every state but R (revoked). */
export const EXPORT_PERMISSIONS_SQL = `SELECT p.class, p.major_id, p.minor_id, p.grantee_principal_id, p.permission_name, p.state
FROM sys.database_permissions AS p
WHERE p.class IN (0, 1, 3, 4) AND p.state IN ('G', 'W', 'D');`;

/** User objects that permissions can name: tables, views, procedures and functions. */
export const EXPORT_OBJECTS_SQL = `SELECT o.object_id, o.name, o.schema_id, o.type
FROM sys.objects AS o
WHERE o.is_ms_shipped = 0 AND o.type IN ('U', 'V', 'P', 'FN', 'IF', 'TF');`;

/** Columns that carry a column-level permission (class 1, minor_id = column_id). */
export const EXPORT_COLUMNS_SQL = `SELECT DISTINCT c.object_id, c.column_id, c.name
FROM sys.columns AS c
JOIN sys.database_permissions AS p ON p.class = 1 AND p.major_id = c.object_id AND p.minor_id = c.column_id;`;

export const EXPORT_CATALOG_SQL = [
  DATABASE_PRINCIPALS_SQL,
  DATABASE_ROLE_MEMBERS_SQL,
  EXPORT_PERMISSIONS_SQL,
  SCHEMAS_SQL,
  EXPORT_OBJECTS_SQL,
  EXPORT_COLUMNS_SQL,
  'SELECT DB_NAME() AS database_name, USER_NAME() AS user_name;',
].join('\n');
