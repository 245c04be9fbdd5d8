-- [oid, name] of the roles outside the scope that are in some membership, so that every role the
-- scoped memberships name has a name (the roles column names the scoped ones). A few roles: a
-- hand-made one granted a managed role, the administrators. Looked up through the indexes of
-- pg_auth_members rather than the scoped memberships themselves, so it may name a few more. Scoped to
-- one part ($4 not null), the other parts' roles are many and all in memberships: only those the scoped
-- memberships name are listed.
SELECT coalesce(json_agg(json_build_array(r.oid, r.rolname)), '[]'::json)
FROM pg_catalog.pg_roles r
WHERE r.oid NOT IN (SELECT oid FROM scoped_roles)
  AND CASE WHEN $4::text IS NULL
           THEN EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members a WHERE a.member = r.oid)
                OR EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members a WHERE a.roleid = r.oid)
           ELSE r.oid IN (SELECT roleid FROM scoped_memberships UNION ALL SELECT member FROM scoped_memberships)
      END
