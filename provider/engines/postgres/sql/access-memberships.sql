-- Every role membership: [role, member, the pg_auth_members row as JSON]. The row carries admin_option
-- and, from PostgreSQL 16, inherit_option and set_option per membership; reading it whole keeps one
-- query for every server version.
SELECT coalesce(json_agg(json_build_array(r.rolname, m.rolname, pg_catalog.to_jsonb(am)) ORDER BY r.rolname, m.rolname), '[]'::json)
FROM pg_catalog.pg_auth_members am
JOIN pg_catalog.pg_roles r ON r.oid = am.roleid
JOIN pg_catalog.pg_roles m ON m.oid = am.member
