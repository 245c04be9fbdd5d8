-- pg_class / pg_proc: how many objects of each kind each role owns in each scoped schema. A privilege is
-- held on "all tables" when the grantee holds it on every table it does not own itself.
SELECT coalesce(json_agg(json_build_object('schema', s.nspname, 'kind', o.kind, 'owner', pg_catalog.pg_get_userbyid(o.owner), 'objects', o.objects)
         ORDER BY s.nspname, o.kind), '[]'::json)
FROM (SELECT nsp, kind, owner, count(*) AS objects FROM schema_objects GROUP BY 1, 2, 3) o
JOIN scoped_schemas s ON s.oid = o.nsp
