-- Objects with an owner of their own (sys.objects.principal_id: "ID of the individual owner, if different
-- from the schema owner", set by ALTER AUTHORIZATION; NULL otherwise): tables, views, procedures and
-- functions, by schema, name and owner. System objects (is_ms_shipped) are left out.
SELECT SCHEMA_NAME(o.schema_id) AS schema_name, o.name AS object_name, p.name AS owner_name
FROM sys.objects AS o
JOIN sys.database_principals AS p ON p.principal_id = o.principal_id
WHERE o.principal_id IS NOT NULL AND o.is_ms_shipped = 0 AND o.type IN ('U', 'V', 'P', 'FN', 'IF', 'TF');
