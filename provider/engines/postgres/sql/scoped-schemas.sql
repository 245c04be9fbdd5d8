-- The schemas inspect looks at: those the policy names ($3) and those owned by a managed role. The names
-- are matched through a hashed subquery (`= ANY ($3)` compares each schema with every name). Scoped to
-- one part ($4 not null), the scoped roles are that part's: also the schemas another managed role owns
-- whose ACL names a scoped role, so that such a grant is known to be on another part's schema.
SELECT n.oid, n.nspname, n.nspowner
FROM pg_catalog.pg_namespace n
WHERE n.nspname::text IN (SELECT pg_catalog.unnest($3::text[]))
   OR n.nspowner IN (SELECT oid FROM scoped_roles WHERE managed)
   OR ($4::text IS NOT NULL
       AND n.nspacl IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) a WHERE a.grantee IN (SELECT oid FROM scoped_roles))
       AND EXISTS (SELECT 1
                   FROM pg_catalog.pg_roles o
                   JOIN pg_catalog.pg_shdescription od ON od.objoid = o.oid AND od.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass
                   WHERE o.oid = n.nspowner
                     AND left(o.rolname, length($1::text)) = $1::text
                     AND left(od.description, 16) = 'pmgrants:managed'))
