-- The warehouse's schemas with their owners' principal ids (sys.schemas).
SELECT s.schema_id, s.name, s.principal_id
FROM sys.schemas AS s;
