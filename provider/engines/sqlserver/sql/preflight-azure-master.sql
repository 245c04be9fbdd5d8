-- Azure SQL Database, in master: may this login manage logins? Members of the server role
-- ##MS_LoginManager## (SQL logins joined through sys.sql_logins, as the sys.server_role_members docs
-- show for Azure SQL) or of the loginmanager database role in master.
SELECT SUSER_SNAME() AS login_name, USER_NAME() AS user_name,
       IS_ROLEMEMBER('loginmanager') AS is_loginmanager,
       CASE WHEN EXISTS (
         SELECT 1 FROM sys.server_role_members AS rm
         JOIN sys.server_principals AS r ON r.principal_id = rm.role_principal_id
         JOIN sys.sql_logins AS l ON l.principal_id = rm.member_principal_id
         WHERE r.name = N'##MS_LoginManager##' AND l.sid = SUSER_SID()
       ) THEN 1 ELSE 0 END AS is_ms_loginmanager;
