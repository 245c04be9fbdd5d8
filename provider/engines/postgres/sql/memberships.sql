-- The scoped memberships as three parallel arrays, [role oids, member oids, admin options]: inspect
-- names them from the roles column and member-names. At tens of thousands of memberships, one JSON
-- array per row and two name lookups per row were most of the server's time of the whole inspect.
SELECT json_build_array(coalesce(array_agg(roleid), '{}'), coalesce(array_agg(member), '{}'), coalesce(array_agg(admin_option), '{}'))
FROM scoped_memberships
