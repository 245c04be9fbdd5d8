-- The scoped roles as [oid, name, LOGIN, comment, managed by pmgrants]: arrays, not objects (at
-- thousands of roles, naming every field cost more than the rest).
SELECT coalesce(json_agg(json_build_array(oid, rolname, rolcanlogin, comment, managed)), '[]'::json)
FROM scoped_roles
