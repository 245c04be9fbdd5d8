-- Tables (and views, materialized views, foreign and partitioned tables) and routines of the app
-- schemas ($1), one row per distinct [schema, kind, owner, ACL with defaults spelled out, objects]:
-- a right is held on a schema's objects when some role the principal has the privileges of holds it
-- in every group. A schema's objects mostly share one ACL, so this is a few rows per schema.
SELECT coalesce(json_agg(json_build_array(o.schema, o.kind, o.owner, o.acl, o.objects) ORDER BY o.schema, o.kind, o.owner, o.acl), '[]'::json)
FROM (SELECT n.nspname AS schema, x.kind, pg_catalog.pg_get_userbyid(x.owner) AS owner, x.acl::text[] AS acl, count(*) AS objects
      FROM (SELECT c.relnamespace AS nsp, 'tables' AS kind, c.relowner AS owner, coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS acl
            FROM pg_catalog.pg_class c
            WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p')
            UNION ALL
            SELECT p.pronamespace, 'functions', p.proowner, coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))
            FROM pg_catalog.pg_proc p) x
      JOIN pg_catalog.pg_namespace n ON n.oid = x.nsp
      WHERE n.nspname::text IN (SELECT pg_catalog.unnest($1::text[]))
      GROUP BY 1, 2, 3, 4) o
