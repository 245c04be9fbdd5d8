-- The schemas inspect looks at: those the policy names ($3) and those owned by a managed role.
SELECT n.oid, n.nspname, n.nspowner
FROM pg_catalog.pg_namespace n
WHERE n.nspname = ANY ($3::text[])
   OR n.nspowner IN (SELECT oid FROM scoped_roles WHERE managed)
