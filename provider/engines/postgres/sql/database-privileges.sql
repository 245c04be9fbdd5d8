-- pg_database.datacl of the current database: CONNECT, TEMPORARY and CREATE held by scoped roles.
SELECT coalesce(json_agg(json_build_object('grantee', x.grantee, 'privilege', x.privilege, 'grantable', x.grantable)
         ORDER BY x.grantee, x.privilege), '[]'::json)
FROM (SELECT g.rolname AS grantee, a.privilege_type AS privilege, bool_or(a.is_grantable) AS grantable
      FROM pg_catalog.pg_database d
      CROSS JOIN LATERAL pg_catalog.aclexplode(d.datacl) a
      JOIN scoped_roles g ON g.oid = a.grantee
      WHERE d.datname = current_database() AND a.grantee <> d.datdba
      GROUP BY 1, 2) x
