-- The schemas inspect looks at: those the policy names ($3) and those owned by a managed role. The names
-- are matched through a hashed subquery (`= ANY ($3)` compares each schema with every name).
SELECT n.oid, n.nspname, n.nspowner
FROM pg_catalog.pg_namespace n
WHERE n.nspname::text IN (SELECT pg_catalog.unnest($3::text[]))
   OR n.nspowner IN (SELECT oid FROM scoped_roles WHERE managed)
