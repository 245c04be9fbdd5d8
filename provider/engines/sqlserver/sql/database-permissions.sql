-- class 0 = database, 3 = schema, 4 = database principal, 1 = object (its schema and name from
-- sys.objects; minor_id 0: the object itself, not a column); state G, W (with grant option), D (deny).
SELECT p.class, p.major_id, p.grantee_principal_id, p.permission_name, p.state, o.schema_id AS object_schema_id, o.name AS object_name
FROM sys.database_permissions AS p
LEFT JOIN sys.objects AS o ON p.class = 1 AND o.object_id = p.major_id
WHERE (p.class IN (0, 3, 4) OR (p.class = 1 AND o.is_ms_shipped = 0)) AND p.minor_id = 0 AND p.state IN ('G', 'W', 'D');
