-- Column privileges (pg_attribute.attacl) of the tables of the app schemas ($1): [schema, table,
-- column, ACL], only the columns that carry grants of their own. A role that holds SELECT on a column
-- reads that column even without SELECT on its table ("GRANT ... (column)").
SELECT coalesce(json_agg(json_build_array(n.nspname, c.relname, a.attname, a.attacl::text[]) ORDER BY n.nspname, c.relname, a.attnum), '[]'::json)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
  AND n.nspname::text IN (SELECT pg_catalog.unnest($1::text[]))
