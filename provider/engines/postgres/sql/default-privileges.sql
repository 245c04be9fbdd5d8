-- pg_default_acl: per-schema default privileges (ALTER DEFAULT PRIVILEGES FOR ROLE r IN SCHEMA s) that
-- scoped roles receive on objects created later in the scoped schemas.
-- Unordered: inspect sorts what it builds, and sorting tens of thousands of rows here cost more than the rest.
SELECT coalesce(json_agg(json_build_object('schema', x.nspname, 'forRole', x.for_role, 'objtype', x.objtype, 'grantee', x.grantee,
         'privilege', x.privilege, 'grantable', x.grantable)), '[]'::json)
FROM (SELECT s.nspname, pg_catalog.pg_get_userbyid(d.defaclrole) AS for_role, d.defaclobjtype::text AS objtype, g.rolname AS grantee,
             a.privilege_type AS privilege, bool_or(a.is_grantable) AS grantable
      FROM pg_catalog.pg_default_acl d
      JOIN scoped_schemas s ON s.oid = d.defaclnamespace
      CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) a
      JOIN scoped_roles g ON g.oid = a.grantee
      WHERE a.grantee <> d.defaclrole
      GROUP BY 1, 2, 3, 4, 5) x
