-- pg_namespace: the scoped schemas and their owners.
SELECT coalesce(json_agg(json_build_object('name', s.nspname, 'owner', pg_catalog.pg_get_userbyid(s.nspowner)) ORDER BY s.nspname), '[]'::json)
FROM scoped_schemas s
