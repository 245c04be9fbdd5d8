-- pg_namespace.nspacl of every schema that has one, as [schema, owner, ACL items as text]: inspect
-- keeps the USAGE and CREATE that scoped roles hold (a grant on a schema outside the policy is drift
-- too), and on the policy's app schemas what anyone holds, PUBLIC included. The owner's own privileges
-- are implicit and not reported.
SELECT coalesce(json_agg(json_build_array(n.nspname, pg_catalog.pg_get_userbyid(n.nspowner), n.nspacl::text[])), '[]'::json)
FROM pg_catalog.pg_namespace n
WHERE n.nspacl IS NOT NULL
