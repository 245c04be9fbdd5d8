-- Every relation and routine in the scoped schemas, with its owner and ACL. A NULL relacl is the
-- default: the owner only. A NULL proacl is the default too, but routines' default includes PUBLIC
-- EXECUTE: it is spelled out (acldefault), so inspect sees PUBLIC's EXECUTE like any grant.
SELECT c.relnamespace AS nsp,
       CASE WHEN c.relkind = 'S' THEN 'sequences' ELSE 'tables' END AS kind,
       c.oid,
       c.relowner AS owner,
       c.relacl AS acl
FROM pg_catalog.pg_class c
WHERE c.relnamespace IN (SELECT oid FROM scoped_schemas)
  AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S')
UNION ALL
SELECT p.pronamespace, 'functions', p.oid, p.proowner, coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))
FROM pg_catalog.pg_proc p
WHERE p.pronamespace IN (SELECT oid FROM scoped_schemas)
