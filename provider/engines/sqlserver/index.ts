/**
 * SQL Server and Azure SQL Database engine.
 * Pure half: dialects (realize, render), inspectSqlServer, evaluatePreflight, planBatches.
 * I/O half: connectSqlServer (mssql / tedious, required on demand).
 */
export { azureSqlDialect, createSqlServerDialect, realizeSqlServer, sqlServerDialect, sqlServerLimitations } from './dialect';
export type { SqlServerDialect } from './dialect';
export { MANAGED_MARKER, resolveDialectOptions } from './options';
export type { ResolvedDialectOptions, SqlServerDialectOptions } from './options';
export { CREATE_OBJECT_PERMISSIONS, MANAGED_PERMISSIONS, SCHEMA_PERMISSION_OF, realizePermission, realizePermissions } from './privileges';
export { DATABASE_GRANTOR, MASKED_PASSWORD, ROLE_OWNER, THROW_ACTIVE_SESSIONS, THROW_NAME_TOO_LONG, grantSql, markManaged, renderChange, renderChanges, revokeSql } from './render';
export type { RenderContext } from './render';
export { SYSNAME_MAX_CODE_UNITS, quoteName, quoteObjectId, quoteString } from './quote';
export { inspectSqlServer, readMaskingColumns } from './inspect';
export type {
  DatabasePermissionRow,
  MaskingColumnRow,
  DatabasePrincipalRow,
  DatabaseRoleMemberRow,
  InspectContext,
  SchemaRow,
  SessionRow,
  SqlLoginRow,
  SqlServerCatalogRows,
} from './inspect';
export { generatedLoginSid, isGeneratedLoginSid } from './sid';
export { evaluatePreflight } from './preflight';
export type {
  PreflightContext,
  PreflightFacts,
  PreflightMasterRow,
  PreflightSchemaRow,
  PreflightServerRoleRow,
  PreflightServerRow,
} from './preflight';
export { sqlErrorNumber, sqlServerErrorToPmgrants } from './errors';
export { PASSWORD_CLASSES, PASSWORD_LENGTH, generateSqlServerPassword, meetsPasswordPolicy } from './password';
export { MAX_STATEMENTS_PER_BATCH, planBatches } from './batches';
export type { Batch } from './batches';
export { describeServer, parseSqlServerUrl, toMssqlConfig } from './url';
export type { SqlServerAuth, SqlServerConnectionConfig, SqlServerUrlInput } from './url';
export { connectSqlServer } from './connection';
export { applyPhases, failingStatement, lockBatchSql } from './apply';
export type { ApplyPhases } from './apply';
export { CATALOG_BATCHES, catalogSql } from './catalog';
