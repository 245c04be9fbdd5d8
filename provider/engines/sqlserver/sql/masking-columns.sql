--  Personal data (Dynamic Data Masking): the columns of the tables and views of the schemas named in the
--  JSON array @schemas, in order, with their system type (partial() takes strings only) and their mask
--  (sys.masked_columns, which inherits sys.columns' columns and adds is_masked and masking_function),
--  and whether it is computed (sys.columns.is_computed: "A masking rule can't be defined" on it).
SELECT s.name AS schema_name, o.name AS object_name, o.type AS object_type, c.column_id, c.name AS column_name,
       TYPE_NAME(c.system_type_id) AS type_name, m.masking_function, c.is_computed
FROM sys.objects AS o
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
JOIN sys.columns AS c ON c.object_id = o.object_id
LEFT JOIN sys.masked_columns AS m ON m.object_id = c.object_id AND m.column_id = c.column_id AND m.is_masked = 1
WHERE o.type IN ('U', 'V') AND s.name IN (SELECT [value] FROM OPENJSON(@schemas))
ORDER BY s.name, o.name, c.column_id;
