-- Tables (and views, materialized views, foreign and partitioned tables) and routines of the app
-- schemas ($1), one row per distinct [schema, kind, owner, ACL with defaults spelled out, the names of
-- the objects sharing them (routines as name(identity arguments))]: a right is held on the objects
-- whose ACL gives it to a role the principal has the privileges of, and ALTER on those its owner is.
-- A schema's objects mostly share one owner and ACL, so this is a few rows per schema.
SELECT coalesce(json_agg(json_build_array(o.schema, o.kind, o.owner, o.acl, o.names) ORDER BY o.schema, o.kind, o.owner, o.acl), '[]'::json)
FROM (SELECT n.nspname AS schema, x.kind, pg_catalog.pg_get_userbyid(x.owner) AS owner, x.acl::text[] AS acl, array_agg(x.name ORDER BY x.name) AS names
      FROM (SELECT c.relnamespace AS nsp, 'tables' AS kind, c.relowner AS owner, coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS acl, c.relname::text AS name
            FROM pg_catalog.pg_class c
            WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p')
            UNION ALL
            SELECT p.pronamespace, 'functions', p.proowner, coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner)),
                   p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
            FROM pg_catalog.pg_proc p) x
      JOIN pg_catalog.pg_namespace n ON n.oid = x.nsp
      WHERE n.nspname::text IN (SELECT pg_catalog.unnest($1::text[]))
      GROUP BY 1, 2, 3, 4) o
