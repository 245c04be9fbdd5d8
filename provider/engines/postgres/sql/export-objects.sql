-- pmgrants export: every relation (tables, views, materialized views, foreign and partitioned tables,
-- sequences) and routine outside the system schemas, with its owner.
SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', o.name, 'kind', o.kind,
         'owner', pg_catalog.pg_get_userbyid(o.owner)) ORDER BY n.nspname, o.kind, o.name), '[]'::json)
FROM (SELECT c.relnamespace AS nsp, c.relname::text AS name, CASE WHEN c.relkind = 'S' THEN 'sequences' ELSE 'tables' END AS kind, c.relowner AS owner
      FROM pg_catalog.pg_class c
      WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S')
      UNION ALL
      SELECT p.pronamespace, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', 'functions', p.proowner
      FROM pg_catalog.pg_proc p) o
JOIN pg_catalog.pg_namespace n ON n.oid = o.nsp
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
