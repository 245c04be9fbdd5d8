-- pg_namespace.nspacl of every schema that has one, as [schema, owner, ACL items as text]: inspect
-- keeps the USAGE and CREATE that scoped roles hold (a grant on a schema outside the policy is drift
-- too), and on the policy's app schemas what anyone holds, PUBLIC included. The owner's own privileges
-- are implicit and not reported. Scoped to one part ($4 not null), the schemas a managed role outside
-- the scope owns are left out: they are other parts' (at one schema per app, reading them all would
-- make every part's inspect grow with the number of apps). "Owned by a managed role" is tested as in
-- scoped-schemas.sql (the owner's name, then one hashed scan of the markers).
SELECT coalesce(json_agg(json_build_array(n.nspname, pg_catalog.pg_get_userbyid(n.nspowner), n.nspacl::text[])), '[]'::json)
FROM pg_catalog.pg_namespace n
WHERE n.nspacl IS NOT NULL
  AND ($4::text IS NULL
       OR n.oid IN (SELECT oid FROM scoped_schemas)
       OR left(pg_catalog.pg_get_userbyid(n.nspowner), length($1::text)) <> $1::text
       OR n.nspowner NOT IN (SELECT od.objoid
                             FROM pg_catalog.pg_shdescription od
                             WHERE od.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass
                               AND left(od.description, 16) = 'pmgrants:managed'))
