-- class 0 = database, 3 = schema, 4 = database principal, 1 = object or column: its schema, name and own
-- owner from sys.objects (principal_id: "ID of the individual owner, if different from the schema
-- owner", NULL otherwise), and with minor_id > 0 one of its columns, named from sys.columns (minor_id
-- is the column id); state G, W (with grant option), D (deny). sys.database_permissions, sys.objects,
-- sys.columns.
SELECT p.class, p.major_id, p.minor_id, p.grantee_principal_id, p.permission_name, p.state, o.schema_id AS object_schema_id, o.name AS object_name,
       o.principal_id AS object_owner_id, c.name AS column_name
FROM sys.database_permissions AS p
LEFT JOIN sys.objects AS o ON p.class = 1 AND o.object_id = p.major_id
LEFT JOIN sys.columns AS c ON p.class = 1 AND p.minor_id > 0 AND c.object_id = p.major_id AND c.column_id = p.minor_id
WHERE (p.class IN (0, 3, 4) AND p.minor_id = 0 OR p.class = 1 AND o.is_ms_shipped = 0) AND p.state IN ('G', 'W', 'D');
