-- The roles inspect looks at: every role whose name starts with the managed prefix ($1), and every
-- role the policy names ($2). "managed" = prefix + the marker comment pmgrants puts on what it creates.
SELECT r.oid,
       r.rolname,
       r.rolcanlogin,
       d.comment,
       left(r.rolname, length($1::text)) = $1::text AND coalesce(left(d.comment, 16), '') = 'pmgrants:managed' AS managed
FROM pg_catalog.pg_roles r
CROSS JOIN LATERAL (SELECT pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment) d
WHERE left(r.rolname, length($1::text)) = $1::text
   OR r.rolname = ANY ($2::text[])
