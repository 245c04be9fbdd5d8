-- pg_class.relacl / pg_proc.proacl, aggregated per (schema, kind, grantee, privilege): on how many of
-- the schema's objects (not owned by the grantee) a scoped role holds the privilege explicitly.
-- Unordered: inspect sorts what it builds, and sorting tens of thousands of rows here cost more than the rest.
SELECT coalesce(json_agg(json_build_object('schema', s.nspname, 'kind', h.kind, 'grantee', g.rolname, 'privilege', h.privilege,
         'objects', h.objects, 'grantable', h.grantable)), '[]'::json)
FROM (SELECT o.nsp, o.kind, a.grantee, a.privilege_type AS privilege, count(DISTINCT o.oid) AS objects, bool_and(a.is_grantable) AS grantable
      FROM schema_objects o
      CROSS JOIN LATERAL pg_catalog.aclexplode(o.acl) a
      WHERE a.grantee <> o.owner AND a.grantee IN (SELECT oid FROM scoped_roles)
      GROUP BY 1, 2, 3, 4) h
JOIN scoped_schemas s ON s.oid = h.nsp
JOIN scoped_roles g ON g.oid = h.grantee
