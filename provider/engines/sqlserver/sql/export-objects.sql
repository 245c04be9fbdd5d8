--  User objects that permissions can name: tables, views, procedures and functions.
SELECT o.object_id, o.name, o.schema_id, o.type
FROM sys.objects AS o
WHERE o.is_ms_shipped = 0 AND o.type IN ('U', 'V', 'P', 'FN', 'IF', 'TF');
