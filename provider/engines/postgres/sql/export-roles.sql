-- pmgrants export: every role but PostgreSQL's own (pg_*), with what decides whether pmgrants may adopt it.
SELECT coalesce(json_agg(json_build_object('name', r.rolname, 'canLogin', r.rolcanlogin, 'superuser', r.rolsuper,
         'createRole', r.rolcreaterole, 'comment', d.description) ORDER BY r.rolname), '[]'::json)
FROM pg_catalog.pg_roles r
LEFT JOIN pg_catalog.pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass
WHERE r.rolname !~ '^pg_'
