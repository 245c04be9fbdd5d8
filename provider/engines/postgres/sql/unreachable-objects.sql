-- The objects of the scoped schemas whose owner the connecting role cannot act as (it has not the
-- owner's privileges: pg_has_role ... 'USAGE' is false), which object-acls.sql and column-acls.sql
-- leave out: a DBA's table, another team's function. Its GRANT and REVOKE on them would fail ("permission
-- denied") or grant nothing (a warning) (GRANT and REVOKE, Notes), so the plan leaves them alone and
-- names them. [schema, kind, name as a plan names it (routines as name(identity arguments)), owner,
-- what ALTER ... OWNER TO names to hand it over, or null for a sequence that belongs to a table's
-- column (serial, identity): it follows its table's owner]. Usually none.
SELECT coalesce(json_agg(json_build_array(s.nspname, o.kind, x.name, pg_catalog.pg_get_userbyid(o.owner), x.target) ORDER BY s.nspname, x.name), '[]'::json)
FROM schema_objects o
JOIN scoped_schemas s ON s.oid = o.nsp
LEFT JOIN pg_catalog.pg_class c ON o.kind <> 'functions' AND c.oid = o.oid
LEFT JOIN pg_catalog.pg_proc p ON o.kind = 'functions' AND p.oid = o.oid
CROSS JOIN LATERAL (
  SELECT CASE WHEN p.oid IS NOT NULL THEN s.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
              ELSE s.nspname || '.' || c.relname END AS name,
         CASE WHEN p.oid IS NOT NULL THEN pg_catalog.format('ROUTINE %I.%I(%s)', s.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
              WHEN c.relkind = 'S' AND EXISTS (SELECT FROM pg_catalog.pg_depend d
                                               WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
                                                 AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')) THEN NULL
              ELSE pg_catalog.format('%s %I.%I', CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, s.nspname, c.relname)
         END AS target
) x
WHERE NOT pg_catalog.pg_has_role(o.owner, 'USAGE')
