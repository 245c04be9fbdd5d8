-- Database- (class 0), schema- (class 3) and object-level (class 1: the object, or one of its columns
-- when minor_id is a column id) permissions, grants and denials, by name (sys.database_permissions,
-- sys.objects, sys.columns). System objects (is_ms_shipped) are left out.
SELECT p.class,
       CASE WHEN p.class = 3 THEN SCHEMA_NAME(p.major_id) WHEN p.class = 1 THEN SCHEMA_NAME(o.schema_id) END AS schema_name,
       g.name AS grantee_name, p.permission_name, p.state, o.name AS object_name, c.name AS column_name
FROM sys.database_permissions AS p
JOIN sys.database_principals AS g ON g.principal_id = p.grantee_principal_id
LEFT JOIN sys.objects AS o ON p.class = 1 AND o.object_id = p.major_id
LEFT JOIN sys.columns AS c ON p.class = 1 AND p.minor_id > 0 AND c.object_id = p.major_id AND c.column_id = p.minor_id
WHERE (p.class IN (0, 3) AND p.minor_id = 0 OR p.class = 1 AND o.is_ms_shipped = 0) AND p.state IN ('G', 'W', 'D');
