-- pmgrants export: the views whose comment carries pmgrants' masked-view marker (model/masking.ts,
-- maskedViewComment: the base table, and each column's mask or that it is hidden). Comments only:
-- never a row of data.
SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', c.relname, 'comment', d.description) ORDER BY n.nspname, c.relname), '[]'::json)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
WHERE c.relkind = 'v' AND pg_catalog.starts_with(d.description, 'pmgrants masked view ')
  AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
