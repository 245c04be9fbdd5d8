-- pg_default_acl in the scoped schemas (ALTER DEFAULT PRIVILEGES FOR ROLE r IN SCHEMA s), and the
-- scoped roles' entries for every schema (without IN SCHEMA; schema '' here, as no schema has an
-- empty name), as [schema, for role, object type letter, ACL items as text]: inspect keeps what
-- roles receive on objects created later.
SELECT coalesce(json_agg(json_build_array(coalesce(s.nspname, ''), pg_catalog.pg_get_userbyid(d.defaclrole), d.defaclobjtype, d.defaclacl::text[])), '[]'::json)
FROM pg_catalog.pg_default_acl d
LEFT JOIN scoped_schemas s ON s.oid = d.defaclnamespace
WHERE s.oid IS NOT NULL
   OR (d.defaclnamespace = 0 AND d.defaclrole IN (SELECT oid FROM scoped_roles))
