-- Every role of the server with what decides its effective access: [name, SUPERUSER, INHERIT, LOGIN,
-- BYPASSRLS, comment (the pmgrants marker), CREATEROLE (an administrator, such as the provisioning
-- role)]. Roles are server-wide: any of them may hold a grant in this database, so none is left out.
SELECT coalesce(json_agg(json_build_array(r.rolname, r.rolsuper, r.rolinherit, r.rolcanlogin, r.rolbypassrls,
                                          pg_catalog.shobj_description(r.oid, 'pg_authid'), r.rolcreaterole) ORDER BY r.rolname), '[]'::json)
FROM pg_catalog.pg_roles r
