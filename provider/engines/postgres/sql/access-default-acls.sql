-- Default privileges for tables ('r') and functions ('f') that apply in the app schemas ($1):
-- [schema, or null for the role's database-wide entry, creating role, object type, ACL]. They say who
-- can use the objects a role creates there later: how a right is judged on a schema with no object of
-- that kind yet.
SELECT coalesce(json_agg(json_build_array(n.nspname, pg_catalog.pg_get_userbyid(d.defaclrole), d.defaclobjtype, d.defaclacl::text[])
                         ORDER BY n.nspname NULLS FIRST, pg_catalog.pg_get_userbyid(d.defaclrole), d.defaclobjtype), '[]'::json)
FROM pg_catalog.pg_default_acl d
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
WHERE d.defaclobjtype IN ('r', 'f')
  AND (d.defaclnamespace = 0 OR n.nspname::text IN (SELECT pg_catalog.unnest($1::text[])))
