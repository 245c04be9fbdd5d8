-- The app schemas ($1) that exist: [name, owner, ACL with defaults spelled out, the default ACL of a
-- table and of a function the owner creates]. acldefault() gives what a NULL ACL means.
SELECT coalesce(json_agg(json_build_array(n.nspname, pg_catalog.pg_get_userbyid(n.nspowner),
                                          coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))::text[],
                                          pg_catalog.acldefault('r', n.nspowner)::text[],
                                          pg_catalog.acldefault('f', n.nspowner)::text[]) ORDER BY n.nspname), '[]'::json)
FROM pg_catalog.pg_namespace n
WHERE n.nspname::text IN (SELECT pg_catalog.unnest($1::text[]))
