-- pmgrants export: USAGE and CREATE on schemas (pg_namespace.nspacl), except the owner's own; PUBLIC as 'PUBLIC'.
SELECT coalesce(json_agg(json_build_object('schema', n.nspname,
         'grantee', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END,
         'privilege', a.privilege_type) ORDER BY n.nspname, a.grantee, a.privilege_type), '[]'::json)
FROM pg_catalog.pg_namespace n
CROSS JOIN LATERAL pg_catalog.aclexplode(n.nspacl) a
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND a.grantee <> n.nspowner
