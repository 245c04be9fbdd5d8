-- Every role of the server with what decides its effective access: [name, SUPERUSER, INHERIT, LOGIN,
-- BYPASSRLS, comment (the pmgrants marker), CREATEROLE (an administrator, such as the provisioning
-- role), VALID UNTIL (null: no end; 'infinity' reads as none)]. Roles are server-wide: any of them may
-- hold a grant in this database, so none is left out.
SELECT coalesce(json_agg(json_build_array(r.rolname, r.rolsuper, r.rolinherit, r.rolcanlogin, r.rolbypassrls,
                                          pg_catalog.shobj_description(r.oid, 'pg_authid'), r.rolcreaterole,
                                          CASE WHEN pg_catalog.isfinite(r.rolvaliduntil) THEN r.rolvaliduntil END) ORDER BY r.rolname), '[]'::json)
FROM pg_catalog.pg_roles r
