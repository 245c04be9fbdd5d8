-- pg_roles (+ shobj_description): name, LOGIN, comment and whether pmgrants manages the role.
SELECT coalesce(json_agg(json_build_object(
         'name', rolname, 'canLogin', rolcanlogin, 'comment', comment, 'managed', managed) ORDER BY rolname), '[]'::json)
FROM scoped_roles
