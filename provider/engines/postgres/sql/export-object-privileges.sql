-- pmgrants export: explicit privileges on those objects (relacl, proacl), except the owner's own;
-- PUBLIC as 'PUBLIC'. A NULL ACL (the defaults) holds no explicit grant.
SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', o.name, 'kind', o.kind,
         'grantee', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END,
         'privilege', a.privilege_type) ORDER BY n.nspname, o.kind, o.name, a.grantee, a.privilege_type), '[]'::json)
FROM (SELECT c.relnamespace AS nsp, c.relname::text AS name, CASE WHEN c.relkind = 'S' THEN 'sequences' ELSE 'tables' END AS kind, c.relowner AS owner, c.relacl AS acl
      FROM pg_catalog.pg_class c
      WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S') AND c.relacl IS NOT NULL
      UNION ALL
      SELECT p.pronamespace, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', 'functions', p.proowner, p.proacl
      FROM pg_catalog.pg_proc p
      WHERE p.proacl IS NOT NULL) o
JOIN pg_catalog.pg_namespace n ON n.oid = o.nsp
CROSS JOIN LATERAL pg_catalog.aclexplode(o.acl) a
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND a.grantee <> o.owner
