-- pg_auth_members: memberships touching a scoped role, one row per (role, member) whatever the grantor
-- (PostgreSQL 16+ keeps one per grantor), as [role, member, admin]. Memberships of administrators
-- outside the scope (the role running pmgrants, superusers, CREATEROLE roles) are theirs to keep and are
-- not reported.
-- Unordered and as arrays, not objects: inspect sorts what it builds, and at tens of thousands of rows
-- sorting or naming every field here cost more than the rest.
SELECT coalesce(json_agg(json_build_array(r.rolname, m.rolname, x.admin)), '[]'::json)
FROM (SELECT a.roleid, a.member, bool_or(a.admin_option) AS admin
      FROM pg_catalog.pg_auth_members a
      GROUP BY a.roleid, a.member) x
JOIN pg_catalog.pg_roles r ON r.oid = x.roleid
JOIN pg_catalog.pg_roles m ON m.oid = x.member
WHERE (x.roleid IN (SELECT oid FROM scoped_roles) OR x.member IN (SELECT oid FROM scoped_roles))
  AND (x.member IN (SELECT oid FROM scoped_roles)
       OR NOT (m.rolsuper OR m.rolcreaterole OR m.rolname = current_user))
