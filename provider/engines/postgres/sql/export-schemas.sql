-- pmgrants export: every schema but the system ones, with its owner.
SELECT coalesce(json_agg(json_build_object('name', n.nspname, 'owner', pg_catalog.pg_get_userbyid(n.nspowner)) ORDER BY n.nspname), '[]'::json)
FROM pg_catalog.pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
