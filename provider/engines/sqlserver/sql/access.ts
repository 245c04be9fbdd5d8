/**
 * The access report's catalog reads (pmgrants report): one batch in the warehouse, seven result sets in
 * the order of SqlServerAccessRows (provider/report/sqlserver.ts), whose field names are these column
 * aliases. Times come back as ISO 8601 (style 126).
 */

/** Which database this is. */
export const ACCESS_IDENTITY_SQL = `SELECT DB_NAME() AS database_name, CONVERT(nvarchar(128), @@SERVERNAME) AS server_name,
       CONVERT(nvarchar(128), SERVERPROPERTY('ProductVersion')) AS product_version,
       CONVERT(nvarchar(128), SERVERPROPERTY('Edition')) AS edition, DB_ID() AS database_id;`;

/**
 * Every database principal, with the pmgrants marker, the password age of SQL users' logins and whether
 * the login is a member of sysadmin. LOGINPROPERTY and IS_SRVROLEMEMBER are documented for SQL Server;
 * on Azure SQL Database (EngineEdition 5) there is no sysadmin and the columns are NULL.
 */
export const ACCESS_PRINCIPALS_SQL = `SELECT dp.principal_id, dp.name, dp.type, dp.is_fixed_role,
       CONVERT(nvarchar(4000), ep.value) AS pmgrants_marker,
       CASE WHEN dp.type = 'S' AND SERVERPROPERTY('EngineEdition') <> 5
            THEN CONVERT(varchar(23), CAST(LOGINPROPERTY(SUSER_SNAME(dp.sid), 'PasswordLastSetTime') AS datetime), 126) END AS password_last_set,
       CASE WHEN dp.type IN ('S', 'U', 'G') AND SERVERPROPERTY('EngineEdition') <> 5
            THEN IS_SRVROLEMEMBER('sysadmin', SUSER_SNAME(dp.sid)) END AS is_sysadmin
FROM sys.database_principals AS dp
LEFT JOIN sys.extended_properties AS ep
  ON ep.class = 4 AND ep.major_id = dp.principal_id AND ep.minor_id = 0 AND ep.name = N'pmgrants:managed';`;

/** Role memberships, by name. */
export const ACCESS_MEMBERS_SQL = `SELECT r.name AS role_name, m.name AS member_name
FROM sys.database_role_members AS rm
JOIN sys.database_principals AS r ON r.principal_id = rm.role_principal_id
JOIN sys.database_principals AS m ON m.principal_id = rm.member_principal_id;`;

/**
 * Database- (class 0), schema- (class 3) and object-level (class 1: the object, or one of its columns
 * when minor_id is a column id) permissions, grants and denials, by name (sys.database_permissions,
 * sys.objects, sys.columns). System objects (is_ms_shipped) are left out.
 */
export const ACCESS_PERMISSIONS_SQL = `SELECT p.class,
       CASE WHEN p.class = 3 THEN SCHEMA_NAME(p.major_id) WHEN p.class = 1 THEN SCHEMA_NAME(o.schema_id) END AS schema_name,
       g.name AS grantee_name, p.permission_name, p.state, o.name AS object_name, c.name AS column_name
FROM sys.database_permissions AS p
JOIN sys.database_principals AS g ON g.principal_id = p.grantee_principal_id
LEFT JOIN sys.objects AS o ON p.class = 1 AND o.object_id = p.major_id
LEFT JOIN sys.columns AS c ON p.class = 1 AND p.minor_id > 0 AND c.object_id = p.major_id AND c.column_id = p.minor_id
WHERE (p.class IN (0, 3) AND p.minor_id = 0 OR p.class = 1 AND o.is_ms_shipped = 0) AND p.state IN ('G', 'W', 'D');`;

/**
 * SQL Server: the server roles of each database principal's login (matched by SID), and the server
 * permissions (class 100) granted to that login or to a server role it is a member of. Azure SQL
 * Database keeps server roles in master, so there both come back empty (EngineEdition 5).
 */
export const ACCESS_SERVER_ROLES_SQL = `SELECT dp.name AS principal_name, r.name AS role_name
FROM sys.database_principals AS dp
JOIN sys.server_principals AS l ON l.sid = dp.sid
JOIN sys.server_role_members AS m ON m.member_principal_id = l.principal_id
JOIN sys.server_principals AS r ON r.principal_id = m.role_principal_id
WHERE SERVERPROPERTY('EngineEdition') <> 5;`;

export const ACCESS_SERVER_PERMISSIONS_SQL = `SELECT dp.name AS principal_name, sp.permission_name, sp.state,
       CASE WHEN sp.grantee_principal_id <> l.principal_id THEN g.name END AS via_role
FROM sys.database_principals AS dp
JOIN sys.server_principals AS l ON l.sid = dp.sid
JOIN sys.server_permissions AS sp ON sp.class = 100 AND sp.state IN ('G', 'W', 'D')
  AND (sp.grantee_principal_id = l.principal_id
       OR sp.grantee_principal_id IN (SELECT m.role_principal_id FROM sys.server_role_members AS m WHERE m.member_principal_id = l.principal_id))
JOIN sys.server_principals AS g ON g.principal_id = sp.grantee_principal_id
WHERE SERVERPROPERTY('EngineEdition') <> 5;`;

/** Every schema with its owner (sys.schemas.principal_id). */
export const ACCESS_SCHEMAS_SQL = `SELECT s.name, o.name AS owner_name
FROM sys.schemas AS s
JOIN sys.database_principals AS o ON o.principal_id = s.principal_id;`;

export const ACCESS_SQL = [ACCESS_IDENTITY_SQL, ACCESS_PRINCIPALS_SQL, ACCESS_MEMBERS_SQL, ACCESS_PERMISSIONS_SQL, ACCESS_SCHEMAS_SQL, ACCESS_SERVER_ROLES_SQL, ACCESS_SERVER_PERMISSIONS_SQL].join('\n');
