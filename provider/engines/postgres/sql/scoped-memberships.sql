-- pg_auth_members rows touching a scoped role: [role oid, member oid, admin option]. Memberships of
-- administrators outside the scope (the role running pmgrants, superusers, CREATEROLE roles) are theirs
-- to keep and are not reported. PostgreSQL 16+ keeps one row per grantor: inspect merges them.
-- The whole warehouse ($4 null): one scan of pg_auth_members. Scoped to one part, only the rows
-- touching a role the part owns (a principal is a member of the roles of every app, and those
-- memberships are the other apps'), looked up role by role through pg_auth_members' two indexes
-- (OFFSET 0 keeps the planner from turning the lookups back into a scan): the part's few roles, not
-- every membership of the warehouse.
SELECT a.roleid, a.member, a.admin_option
FROM pg_catalog.pg_auth_members a
WHERE $4::text IS NULL
  AND (a.roleid IN (SELECT oid FROM scoped_roles) OR a.member IN (SELECT oid FROM scoped_roles))
  AND (a.member IN (SELECT oid FROM scoped_roles)
       OR a.member IN (SELECT oid FROM pg_catalog.pg_roles WHERE NOT (rolsuper OR rolcreaterole OR rolname = current_user)))
UNION ALL
SELECT a.roleid, a.member, a.admin_option
FROM scoped_roles r
CROSS JOIN LATERAL (SELECT m.roleid, m.member, m.admin_option FROM pg_catalog.pg_auth_members m WHERE m.roleid = r.oid OFFSET 0) a
WHERE $4::text IS NOT NULL
  AND r.own
  AND (a.member IN (SELECT oid FROM scoped_roles)
       OR a.member IN (SELECT oid FROM pg_catalog.pg_roles WHERE NOT (rolsuper OR rolcreaterole OR rolname = current_user)))
UNION ALL
-- A member the part owns, of a role it does not own (a row whose role it owns is above).
SELECT a.roleid, a.member, a.admin_option
FROM scoped_roles r
CROSS JOIN LATERAL (SELECT m.roleid, m.member, m.admin_option FROM pg_catalog.pg_auth_members m WHERE m.member = r.oid OFFSET 0) a
WHERE $4::text IS NOT NULL
  AND r.own
  AND a.roleid NOT IN (SELECT oid FROM scoped_roles WHERE own)
