-- pg_namespace.nspacl: USAGE and CREATE held by scoped roles on any schema (a grant on a schema outside
-- the policy is drift too). The owner's own privileges are implicit and not reported.
SELECT coalesce(json_agg(json_build_object('schema', x.nspname, 'grantee', x.grantee, 'privilege', x.privilege, 'grantable', x.grantable)
         ORDER BY x.nspname, x.grantee, x.privilege), '[]'::json)
FROM (SELECT n.nspname, g.rolname AS grantee, a.privilege_type AS privilege, bool_or(a.is_grantable) AS grantable
      FROM pg_catalog.pg_namespace n
      CROSS JOIN LATERAL pg_catalog.aclexplode(n.nspacl) a
      JOIN scoped_roles g ON g.oid = a.grantee
      WHERE a.grantee <> n.nspowner
      GROUP BY 1, 2, 3) x
