--  Database- (class 0) and schema-level (class 3) permissions, grants and denials, by name.
SELECT p.class, CASE WHEN p.class = 3 THEN SCHEMA_NAME(p.major_id) END AS schema_name,
       g.name AS grantee_name, p.permission_name, p.state
FROM sys.database_permissions AS p
JOIN sys.database_principals AS g ON g.principal_id = p.grantee_principal_id
WHERE p.class IN (0, 3) AND p.minor_id = 0 AND p.state IN ('G', 'W', 'D');
