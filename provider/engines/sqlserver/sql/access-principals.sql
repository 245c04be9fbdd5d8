-- Every database principal, with the pmgrants marker, the password age of SQL users' logins and whether
-- the login is a member of sysadmin. LOGINPROPERTY and IS_SRVROLEMEMBER are documented for SQL Server;
-- on Azure SQL Database (EngineEdition 5) there is no sysadmin and the columns are NULL.
SELECT dp.principal_id, dp.name, dp.type, dp.is_fixed_role,
       CONVERT(nvarchar(4000), ep.value) AS pmgrants_marker,
       CASE WHEN dp.type = 'S' AND SERVERPROPERTY('EngineEdition') <> 5
            THEN CONVERT(varchar(23), CAST(LOGINPROPERTY(SUSER_SNAME(dp.sid), 'PasswordLastSetTime') AS datetime), 126) END AS password_last_set,
       CASE WHEN dp.type IN ('S', 'U', 'G') AND SERVERPROPERTY('EngineEdition') <> 5
            THEN IS_SRVROLEMEMBER('sysadmin', SUSER_SNAME(dp.sid)) END AS is_sysadmin
FROM sys.database_principals AS dp
LEFT JOIN sys.extended_properties AS ep
  ON ep.class = 4 AND ep.major_id = dp.principal_id AND ep.minor_id = 0 AND ep.name = N'pmgrants:managed';
