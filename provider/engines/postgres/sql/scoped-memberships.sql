-- pg_auth_members rows touching a scoped role: [role oid, member oid, admin option]. Memberships of
-- administrators outside the scope (the role running pmgrants, superusers, CREATEROLE roles) are theirs
-- to keep and are not reported. PostgreSQL 16+ keeps one row per grantor: inspect merges them.
-- Scoped to one part, only the rows touching a role the part owns: a principal is a member of the
-- roles of every app, and those memberships are the other apps'.
SELECT a.roleid, a.member, a.admin_option
FROM pg_catalog.pg_auth_members a
WHERE (a.roleid IN (SELECT oid FROM scoped_roles WHERE own) OR a.member IN (SELECT oid FROM scoped_roles WHERE own))
  AND (a.member IN (SELECT oid FROM scoped_roles)
       OR a.member IN (SELECT oid FROM pg_catalog.pg_roles WHERE NOT (rolsuper OR rolcreaterole OR rolname = current_user)))
