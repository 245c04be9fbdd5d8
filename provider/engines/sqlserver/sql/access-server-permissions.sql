-- SQL Server: the server permissions (class 100) granted to each database principal's login or to a
-- server role it is a member of (via_role: that role's name). Azure SQL Database keeps server
-- permissions in master, so there the result comes back empty (EngineEdition 5).
SELECT dp.name AS principal_name, sp.permission_name, sp.state,
       CASE WHEN sp.grantee_principal_id <> l.principal_id THEN g.name END AS via_role
FROM sys.database_principals AS dp
JOIN sys.server_principals AS l ON l.sid = dp.sid
JOIN sys.server_permissions AS sp ON sp.class = 100 AND sp.state IN ('G', 'W', 'D')
  AND (sp.grantee_principal_id = l.principal_id
       OR sp.grantee_principal_id IN (SELECT m.role_principal_id FROM sys.server_role_members AS m WHERE m.member_principal_id = l.principal_id))
JOIN sys.server_principals AS g ON g.principal_id = sp.grantee_principal_id
WHERE SERVERPROPERTY('EngineEdition') <> 5;
