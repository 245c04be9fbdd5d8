-- Personal data (Dynamic Data Masking): every column of the user tables and views (sys.objects type U
-- and V, sys.columns), with its mask from sys.masked_columns (which "inherits from the sys.columns view"
-- and adds is_masked and masking_function; NULL here: not masked). Every column, not only the masked
-- ones: the report tells a reader granted SELECT on every column from one that misses a table or column
-- made after the last apply. Only schemas where that matters: with a masked column, or with a column
-- permission (a warehouse without personal data reads none). The caller keeps the policy's app schemas
-- only. System objects (is_ms_shipped) are left out. Like every catalog view, it shows what the reading login may see
-- (sys.masked_columns, Permissions: tables it has some permission on, or VIEW ANY DEFINITION).
SELECT SCHEMA_NAME(o.schema_id) AS schema_name, o.name AS object_name, o.type AS object_type, c.column_id,
       c.name AS column_name, m.masking_function
FROM sys.objects AS o
JOIN sys.columns AS c ON c.object_id = o.object_id
LEFT JOIN sys.masked_columns AS m ON m.object_id = c.object_id AND m.column_id = c.column_id AND m.is_masked = 1
WHERE o.type IN ('U', 'V') AND o.is_ms_shipped = 0
  AND (EXISTS (SELECT 1 FROM sys.masked_columns AS mc JOIN sys.objects AS mo ON mo.object_id = mc.object_id
               WHERE mo.schema_id = o.schema_id AND mc.is_masked = 1)
       OR EXISTS (SELECT 1 FROM sys.database_permissions AS dp JOIN sys.objects AS po ON po.object_id = dp.major_id
                  WHERE dp.class = 1 AND dp.minor_id > 0 AND po.schema_id = o.schema_id))
ORDER BY SCHEMA_NAME(o.schema_id), o.name, c.column_id;
