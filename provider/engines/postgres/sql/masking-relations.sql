-- Personal data: the relations of the schemas masking concerns ($7: the app schemas with personal
-- columns, their companion schemas of masked views, the schema of the pseudonym key), each as
-- [schema, name, relkind, comment, [column, ...]]: tables, views, materialized views, foreign and
-- partitioned tables; not the partitions of a partitioned table (its view reads them all). The plan matches the policy's column patterns against them (a table made since
-- the last apply has no view yet) and compares each view's comment (its fingerprint) with what the
-- policy wants. Names and comments only: never a row of data.
SELECT coalesce(json_agg(json_build_array(n.nspname, c.relname, c.relkind, pg_catalog.obj_description(c.oid, 'pg_class'),
         (SELECT coalesce(json_agg(a.attname ORDER BY a.attnum), '[]'::json)
          FROM pg_catalog.pg_attribute a
          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
       ORDER BY n.nspname, c.relname), '[]'::json)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname::text IN (SELECT pg_catalog.unnest($7::text[]))
  AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
  AND NOT c.relispartition
