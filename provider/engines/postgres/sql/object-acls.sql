-- pg_class.relacl / pg_proc.proacl of the objects in the scoped schemas, one row per distinct
-- (schema, kind, owner, ACL) with how many objects share it: [schema, kind, owner, ACL items as text
-- or null, objects]. A schema's objects mostly share one ACL, so this is a few rows per schema.
-- Inspect counts, per grantee and privilege, on how many objects it does not own a scoped role holds
-- the privilege; and per owner how many objects each role owns (a privilege is held on "all tables"
-- when the grantee holds it on every table it does not own itself).
-- Only objects whose owner the connecting role can act as: it has the owner's privileges
-- (pg_has_role ... 'USAGE': a member that inherits them, or a superuser), which is what lets it grant
-- and revoke there as the owner (GRANT and REVOKE, Notes). On another role's object its GRANT and
-- REVOKE fail, or only warn, so those objects are not the plan's: unreachable-objects.sql names them.
SELECT coalesce(json_agg(json_build_array(s.nspname, o.kind, pg_catalog.pg_get_userbyid(o.owner), o.acl, o.objects)), '[]'::json)
FROM (SELECT nsp, kind, owner, acl::text[] AS acl, count(*) AS objects
      FROM schema_objects
      GROUP BY 1, 2, 3, 4) o
JOIN scoped_schemas s ON s.oid = o.nsp
WHERE pg_catalog.pg_has_role(o.owner, 'USAGE')
