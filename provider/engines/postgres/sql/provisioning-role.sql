-- pg_roles and server settings for the role pmgrants connects as: what preflight (pmgrants doctor)
-- checks before an apply. $1: the policy's schema names (pg_namespace), to check their ownership:
-- whether it is a member of each owner, and whether it holds that membership WITH ADMIN OPTION (from
-- PostgreSQL 16 granting a role, e.g. an owner role to the app's login, needs it). $2: the schemas of
-- the apps with personal columns, whose relations each get a masked view per companion schema: how many
-- there are, against the size of the shared lock table (max_locks_per_transaction x (max_connections +
-- max_prepared_transactions) objects), which one transaction making every view must fit in.
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
         WHERE n.nspname = ANY ($1::text[])) AS "schemas",
       current_setting('max_locks_per_transaction')::int
         * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int) AS "lockSlots",
       current_setting('max_locks_per_transaction')::int AS "maxLocksPerTransaction",
       (SELECT coalesce(json_object_agg(n.nspname, (SELECT count(*) FROM pg_catalog.pg_class c
                  WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'v', 'm', 'f', 'p') AND NOT c.relispartition)), '{}'::json)
          FROM pg_catalog.pg_namespace n
         WHERE n.nspname = ANY ($2::text[])) AS "maskedRelations"
FROM pg_catalog.pg_roles r
WHERE r.rolname = current_user
