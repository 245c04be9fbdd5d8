-- pmgrants export: direct role memberships (one row per role and member, whatever the grantor).
SELECT coalesce(json_agg(json_build_object('role', r.rolname, 'member', m.rolname) ORDER BY r.rolname, m.rolname), '[]'::json)
FROM (SELECT DISTINCT a.roleid, a.member FROM pg_catalog.pg_auth_members a) x
JOIN pg_catalog.pg_roles r ON r.oid = x.roleid
JOIN pg_catalog.pg_roles m ON m.oid = x.member
WHERE r.rolname !~ '^pg_'
