-- Every relation and routine in the scoped schemas, with its owner and explicit ACL (NULL = defaults:
-- the owner and, for routines, PUBLIC; neither is a grant to a scoped role).
SELECT c.relnamespace AS nsp,
       CASE WHEN c.relkind = 'S' THEN 'sequences' ELSE 'tables' END AS kind,
       c.oid,
       c.relowner AS owner,
       c.relacl AS acl
FROM pg_catalog.pg_class c
WHERE c.relnamespace IN (SELECT oid FROM scoped_schemas)
  AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S')
UNION ALL
SELECT p.pronamespace, 'functions', p.oid, p.proowner, p.proacl
FROM pg_catalog.pg_proc p
WHERE p.pronamespace IN (SELECT oid FROM scoped_schemas)
