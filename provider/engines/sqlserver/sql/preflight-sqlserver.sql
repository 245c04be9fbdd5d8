--  SQL Server, in the warehouse: one row of facts, then schema rights, then server role memberships.
SELECT CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
       CAST(SERVERPROPERTY('IsIntegratedSecurityOnly') AS int) AS integrated_security_only,
       SUSER_SNAME() AS login_name, USER_NAME() AS user_name, DB_NAME() AS database_name,
       IS_ROLEMEMBER('db_owner') AS is_db_owner,
       IS_ROLEMEMBER('db_securityadmin') AS is_db_securityadmin,
       IS_ROLEMEMBER('db_accessadmin') AS is_db_accessadmin,
       HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'CREATE SCHEMA') AS can_create_schema,
       HAS_PERMS_BY_NAME(NULL, NULL, 'ALTER ANY LOGIN') AS can_alter_any_login,
       HAS_DBACCESS('master') AS has_master_access;
SELECT s.name AS schema_name,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'SELECT') AS can_select,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'INSERT') AS can_insert,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'UPDATE') AS can_update,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'DELETE') AS can_delete
FROM sys.schemas AS s;
SELECT r.name AS role_name, m.name AS member_name
FROM sys.server_role_members AS rm
JOIN sys.server_principals AS r ON r.principal_id = rm.role_principal_id
JOIN sys.server_principals AS m ON m.principal_id = rm.member_principal_id;
