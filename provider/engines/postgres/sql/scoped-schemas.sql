-- The schemas inspect looks at: those the policy names ($3) and those owned by a managed role the part
-- owns. The names are matched through a hashed subquery (`= ANY ($3)` compares each schema with every
-- name). Scoped to one part ($4 not null): also the schemas another managed role owns whose ACL names
-- a role this part owns, so that such a grant is known to be on another part's schema. Not those
-- naming a role the part only refers to: the warehouse-wide personas hold USAGE on every app schema.
-- Which schemas' ACLs name such a role comes from pg_shdepend (an ACL entry of a role, deptype 'a', is
-- recorded there), looked up role by role through its index on the referenced role (OFFSET 0 keeps the
-- planner from turning the lookups into a scan of every schema's entries), not from reading every
-- schema's ACL.
-- "Owned by a managed role" is the owner's name and a lookup in the markers (one hashed scan of
-- pg_shdescription): a join of pg_roles with pg_shdescription is planned as a nested loop over both
-- whole catalogs when their statistics are stale, as they are right after many roles were created.
SELECT n.oid, n.nspname, n.nspowner
FROM pg_catalog.pg_namespace n
WHERE n.nspname::text IN (SELECT pg_catalog.unnest($3::text[]))
   OR n.nspowner IN (SELECT oid FROM scoped_roles WHERE managed AND own)
   OR ($4::text IS NOT NULL
       AND n.oid IN (SELECT dep.objid
                     FROM scoped_roles r
                     CROSS JOIN LATERAL (SELECT d.objid, d.classid, d.deptype, d.dbid
                                         FROM pg_catalog.pg_shdepend d
                                         WHERE d.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
                                           AND d.refobjid = r.oid
                                         OFFSET 0) dep
                     WHERE r.own
                       AND dep.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
                       AND dep.deptype = 'a'
                       AND dep.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()))
       AND left(pg_catalog.pg_get_userbyid(n.nspowner), length($1::text)) = $1::text
       AND n.nspowner IN (SELECT od.objoid
                          FROM pg_catalog.pg_shdescription od
                          WHERE od.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass
                            AND left(od.description, 16) = 'pmgrants:managed'))
