-- SQL logins with their password age. sys.sql_logins, not sys.server_principals: on Azure SQL Database
-- SQL logins are not kept in sys.server_principals (sys.server_role_members docs), and sys.sql_logins
-- inherits the sys.server_principals columns. PasswordLastSetTime via LOGINPROPERTY (SQL Server).
-- The SID tells pmgrants' generated logins apart (sid.ts); default_database_name (a sys.server_principals
-- column), which pmgrants sets WITH DEFAULT_DATABASE, names the warehouse of a login whose SID was not
-- derived for this one (logins carry no extended property).
SELECT sl.name, sl.principal_id, CONVERT(varchar(172), sl.sid, 1) AS sid, sl.type, sl.is_disabled,
       CONVERT(varchar(23), CAST(LOGINPROPERTY(sl.name, 'PasswordLastSetTime') AS datetime), 126) AS password_last_set,
       sl.default_database_name
FROM sys.sql_logins AS sl;
