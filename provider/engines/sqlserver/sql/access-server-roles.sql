-- SQL Server: the server roles of each database principal's login (matched by SID). Azure SQL Database
-- keeps server roles in master, so there the result comes back empty (EngineEdition 5).
SELECT dp.name AS principal_name, r.name AS role_name
FROM sys.database_principals AS dp
JOIN sys.server_principals AS l ON l.sid = dp.sid
JOIN sys.server_role_members AS m ON m.member_principal_id = l.principal_id
JOIN sys.server_principals AS r ON r.principal_id = m.role_principal_id
WHERE SERVERPROPERTY('EngineEdition') <> 5;
