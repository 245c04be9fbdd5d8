--  Personal data: the columns Dynamic Data Masking masks (sys.masked_columns: sys.columns' columns plus
--  is_masked and masking_function), with their system type.
SELECT m.object_id, m.column_id, m.name, TYPE_NAME(m.system_type_id) AS type_name, m.masking_function
FROM sys.masked_columns AS m
WHERE m.is_masked = 1;
