-- The scoped roles as [oid, name, LOGIN, comment, managed by pmgrants, VALID UNTIL of a login (null:
-- no end)]: arrays, not objects (at thousands of roles, naming every field cost more than the rest).
SELECT coalesce(json_agg(json_build_array(oid, rolname, rolcanlogin, comment, managed, validuntil)), '[]'::json)
FROM scoped_roles
