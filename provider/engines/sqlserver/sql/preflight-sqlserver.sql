-- pmgrants doctor on SQL Server, in the warehouse: one row of facts about the provisioning identity.
SELECT CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
       CAST(SERVERPROPERTY('IsIntegratedSecurityOnly') AS int) AS integrated_security_only,
       SUSER_SNAME() AS login_name, USER_NAME() AS user_name, DB_NAME() AS database_name,
       IS_ROLEMEMBER('db_owner') AS is_db_owner,
       IS_ROLEMEMBER('db_securityadmin') AS is_db_securityadmin,
       IS_ROLEMEMBER('db_accessadmin') AS is_db_accessadmin,
       HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'CREATE SCHEMA') AS can_create_schema,
       HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'ALTER ANY ROLE') AS can_alter_any_role,
       HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'ALTER ANY USER') AS can_alter_any_user,
       HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'ALTER ANY MASK') AS can_alter_any_mask,
       CAST(SERVERPROPERTY('ProductMajorVersion') AS int) AS product_major_version,
       HAS_PERMS_BY_NAME(NULL, NULL, 'ALTER ANY LOGIN') AS can_alter_any_login,
       HAS_DBACCESS('master') AS has_master_access;
