--  Columns that carry a column-level permission (class 1, minor_id = column_id).
SELECT DISTINCT c.object_id, c.column_id, c.name
FROM sys.columns AS c
JOIN sys.database_permissions AS p ON p.class = 1 AND p.major_id = c.object_id AND p.minor_id = c.column_id;
