-- pg_roles and server settings for the role pmgrants connects as: what preflight (pmgrants doctor)
-- checks before an apply. $1: the policy's schema names (pg_namespace), to check their ownership:
-- whether it is a member of each owner, and whether it holds that membership WITH ADMIN OPTION (from
-- PostgreSQL 16 granting a role, e.g. an owner role to the app's login, needs it).
SELECT current_user AS "user",
       current_database() AS "database",
       current_setting('server_version') AS "version",
       current_setting('server_version_num')::int AS "versionNum",
       current_setting('password_encryption') AS "passwordEncryption",
       r.rolsuper AS "superuser",
       r.rolcreaterole AS "createRole",
       has_database_privilege(current_database(), 'CREATE') AS "createInDatabase",
       has_database_privilege(current_database(), 'CONNECT WITH GRANT OPTION') AS "grantConnect",
       (SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'owner', pg_catalog.pg_get_userbyid(n.nspowner),
                 'member', pg_catalog.pg_has_role(n.nspowner, 'USAGE'),
                 'admin', pg_catalog.pg_has_role(n.nspowner, 'USAGE WITH ADMIN OPTION')) ORDER BY n.nspname), '[]'::json)
          FROM pg_catalog.pg_namespace n
         WHERE n.nspname = ANY ($1::text[])) AS "schemas"
FROM pg_catalog.pg_roles r
WHERE r.rolname = current_user
