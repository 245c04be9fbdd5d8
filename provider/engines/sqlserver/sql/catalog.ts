/**
 * The catalog queries inspect runs: one constant batch per database, never one query per object.
 * Column aliases are the row shapes of inspect.ts (and of test/fixtures/sqlserver/*.json).
 * SIDs come back as '0x…' strings (CONVERT binary style 1) and times as ISO 8601 (style 126), so the
 * rows are plain JSON.
 */

/**
 * SQL logins with their password age. sys.sql_logins, not sys.server_principals: on Azure SQL Database
 * SQL logins are not kept in sys.server_principals (sys.server_role_members docs), and sys.sql_logins
 * inherits the sys.server_principals columns. PasswordLastSetTime via LOGINPROPERTY (SQL Server).
 * default_database_name (a sys.server_principals column) is the warehouse a generated login belongs to
 * on SQL Server, where pmgrants creates it WITH DEFAULT_DATABASE (logins carry no extended property).
 */
export const SQL_LOGINS_SQL = `SELECT sl.name, sl.principal_id, CONVERT(varchar(172), sl.sid, 1) AS sid, sl.type, sl.is_disabled,
       CONVERT(varchar(23), CAST(LOGINPROPERTY(sl.name, 'PasswordLastSetTime') AS datetime), 126) AS password_last_set,
       sl.default_database_name
FROM sys.sql_logins AS sl;`;

/**
 * Azure SQL Database variant, run in the logical server's master: LOGINPROPERTY is documented for SQL
 * Server and Managed Instance, so the login's modify_date stands in for the password age (pmgrants is
 * the only writer of its generated logins).
 */
export const SQL_LOGINS_AZURE_SQL = `SELECT sl.name, sl.principal_id, CONVERT(varchar(172), sl.sid, 1) AS sid, sl.type, sl.is_disabled,
       CONVERT(varchar(23), sl.modify_date, 126) AS password_last_set,
       sl.default_database_name
FROM sys.sql_logins AS sl;`;

/**
 * Database principals with the pmgrants marker (an extended property on class 4, database principal)
 * and, for Entra principals, the object id their SID encodes (first 16 bytes as uniqueidentifier).
 */
export const DATABASE_PRINCIPALS_SQL = `SELECT dp.principal_id, dp.name, dp.type, dp.authentication_type,
       CONVERT(varchar(172), dp.sid, 1) AS sid, dp.is_fixed_role,
       CASE WHEN dp.type IN ('E', 'X') THEN CONVERT(varchar(36), CAST(SUBSTRING(dp.sid, 1, 16) AS uniqueidentifier)) END AS entra_object_id,
       CONVERT(varchar(23), dp.modify_date, 126) AS modify_date,
       CONVERT(nvarchar(128), ep.value) AS pmgrants_marker
FROM sys.database_principals AS dp
LEFT JOIN sys.extended_properties AS ep
  ON ep.class = 4 AND ep.major_id = dp.principal_id AND ep.minor_id = 0 AND ep.name = N'pmgrants:managed';`;

export const DATABASE_ROLE_MEMBERS_SQL = `SELECT rm.role_principal_id, rm.member_principal_id
FROM sys.database_role_members AS rm;`;

/**
 * class 0 = database, 3 = schema, 4 = database principal, 1 = object (its schema and name from
 * sys.objects; minor_id 0: the object itself, not a column); state G, W (with grant option), D (deny).
 */
export const DATABASE_PERMISSIONS_SQL = `SELECT p.class, p.major_id, p.grantee_principal_id, p.permission_name, p.state, o.schema_id AS object_schema_id, o.name AS object_name
FROM sys.database_permissions AS p
LEFT JOIN sys.objects AS o ON p.class = 1 AND o.object_id = p.major_id
WHERE (p.class IN (0, 3, 4) OR (p.class = 1 AND o.is_ms_shipped = 0)) AND p.minor_id = 0 AND p.state IN ('G', 'W', 'D');`;

export const SCHEMAS_SQL = `SELECT s.schema_id, s.name, s.principal_id
FROM sys.schemas AS s;`;

/**
 * The session reading the catalog: its user, and whether it is a member of db_owner, which changing a
 * fixed database role's members needs (ALTER ROLE, Permissions; IS_ROLEMEMBER).
 */
export const SESSION_SQL = `SELECT USER_NAME() AS user_name, IS_ROLEMEMBER('db_owner') AS is_db_owner;`;

/** The warehouse batch: five result sets, in this order. */
export const WAREHOUSE_CATALOG_SQL = [DATABASE_PRINCIPALS_SQL, DATABASE_ROLE_MEMBERS_SQL, DATABASE_PERMISSIONS_SQL, SCHEMAS_SQL, SESSION_SQL].join('\n');

// ---------------------------------------------------------------------------------------------
// Preflight (pmgrants doctor): facts about the provisioning identity, evaluated by evaluatePreflight.
// ---------------------------------------------------------------------------------------------

/** SQL Server, in the warehouse: one row of facts, then schema rights, then server role memberships. */
export const PREFLIGHT_SQLSERVER_SQL = `SELECT CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
       CAST(SERVERPROPERTY('IsIntegratedSecurityOnly') AS int) AS integrated_security_only,
       SUSER_SNAME() AS login_name, USER_NAME() AS user_name, DB_NAME() AS database_name,
       IS_ROLEMEMBER('db_owner') AS is_db_owner,
       IS_ROLEMEMBER('db_securityadmin') AS is_db_securityadmin,
       IS_ROLEMEMBER('db_accessadmin') AS is_db_accessadmin,
       HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'CREATE SCHEMA') AS can_create_schema,
       HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'ALTER ANY ROLE') AS can_alter_any_role,
       HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'ALTER ANY USER') AS can_alter_any_user,
       HAS_PERMS_BY_NAME(NULL, NULL, 'ALTER ANY LOGIN') AS can_alter_any_login,
       HAS_DBACCESS('master') AS has_master_access;
SELECT s.name AS schema_name,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'SELECT') AS can_select,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'INSERT') AS can_insert,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'UPDATE') AS can_update,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'DELETE') AS can_delete,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'TAKE OWNERSHIP') AS can_take_ownership
FROM sys.schemas AS s;
SELECT r.name AS role_name, m.name AS member_name
FROM sys.server_role_members AS rm
JOIN sys.server_principals AS r ON r.principal_id = rm.role_principal_id
JOIN sys.server_principals AS m ON m.principal_id = rm.member_principal_id;`;

/**
 * Azure SQL Database, in the warehouse: server-level securables cannot be passed to HAS_PERMS_BY_NAME
 * there and HAS_DBACCESS is not documented for it, so those columns come back NULL.
 */
export const PREFLIGHT_AZURE_SQL_SQL = `SELECT CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
       CAST(SERVERPROPERTY('IsIntegratedSecurityOnly') AS int) AS integrated_security_only,
       SUSER_SNAME() AS login_name, USER_NAME() AS user_name, DB_NAME() AS database_name,
       IS_ROLEMEMBER('db_owner') AS is_db_owner,
       IS_ROLEMEMBER('db_securityadmin') AS is_db_securityadmin,
       IS_ROLEMEMBER('db_accessadmin') AS is_db_accessadmin,
       HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'CREATE SCHEMA') AS can_create_schema,
       HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'ALTER ANY ROLE') AS can_alter_any_role,
       HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'ALTER ANY USER') AS can_alter_any_user,
       CAST(NULL AS int) AS can_alter_any_login,
       CAST(NULL AS int) AS has_master_access;
SELECT s.name AS schema_name,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'SELECT') AS can_select,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'INSERT') AS can_insert,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'UPDATE') AS can_update,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'DELETE') AS can_delete,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'TAKE OWNERSHIP') AS can_take_ownership
FROM sys.schemas AS s;`;

/**
 * Azure SQL Database, in master: may this login manage logins? Members of the server role
 * ##MS_LoginManager## (SQL logins joined through sys.sql_logins, as the sys.server_role_members docs
 * show for Azure SQL) or of the loginmanager database role in master.
 */
export const PREFLIGHT_AZURE_MASTER_SQL = `SELECT SUSER_SNAME() AS login_name, USER_NAME() AS user_name,
       IS_ROLEMEMBER('loginmanager') AS is_loginmanager,
       CASE WHEN EXISTS (
         SELECT 1 FROM sys.server_role_members AS rm
         JOIN sys.server_principals AS r ON r.principal_id = rm.role_principal_id
         JOIN sys.sql_logins AS l ON l.principal_id = rm.member_principal_id
         WHERE r.name = N'##MS_LoginManager##' AND l.sid = SUSER_SID()
       ) THEN 1 ELSE 0 END AS is_ms_loginmanager;`;

/** The lock every apply takes in the warehouse, owned by the transaction (released on commit or rollback). */
export const APPLOCK_SQL = `DECLARE @result int;
EXEC @result = sys.sp_getapplock @Resource = @resource, @LockMode = N'Exclusive', @LockOwner = N'Transaction', @LockTimeout = @timeout_ms;
SELECT @result AS lock_result;`;
