-- pg_default_acl in the scoped schemas (ALTER DEFAULT PRIVILEGES FOR ROLE r IN SCHEMA s), as
-- [schema, for role, object type letter, ACL items as text]: inspect keeps what scoped roles receive
-- on objects created later.
SELECT coalesce(json_agg(json_build_array(s.nspname, pg_catalog.pg_get_userbyid(d.defaclrole), d.defaclobjtype, d.defaclacl::text[])), '[]'::json)
FROM pg_catalog.pg_default_acl d
JOIN scoped_schemas s ON s.oid = d.defaclnamespace
