-- The roles inspect looks at: every role whose name starts with the managed prefix ($1), and every
-- role the policy names ($2). An inspect scoped to one part of the warehouse ($4 not null: '' the
-- warehouse part, else the marker text '"app":"<key>"' of one app) keeps, of the managed roles under
-- the prefix, only those whose marker names that app (the warehouse: no app), so its cost does not grow
-- with the number of apps; prefixed roles without a marker are few and kept. "managed" = prefix + the marker comment pmgrants puts on what it creates.
-- "own": the roles the part itself owns (scoped to one part): the names of its desired slices ($5)
-- and the managed roles whose marker names it. The others are roles the part only refers to (the
-- warehouse-wide personas, the principals), whose grants on every other app's schema and memberships
-- in every other app's roles are not this part's: schemas and memberships are scoped by "own" roles,
-- or a part's inspect would read every app again.
-- The names are matched through a hashed subquery and the comments joined from pg_shdescription:
-- `= ANY ($2)` and shobj_description() per role were linear per role (thousands of roles).
-- The policy's protected roles ($6: its names and patterns as LIKE operands, backslash the escape) are
-- read too, so the plan can name their members: the warehouse's own (the whole warehouse, or its
-- warehouse part) like the roles it owns. pmgrants never changes them (plan/protected.ts).
-- validuntil: when a login's password stops being valid (VALID UNTIL; null when it has no end).
SELECT r.oid,
       r.rolname,
       r.rolcanlogin,
       d.description AS comment,
       CASE WHEN r.rolcanlogin AND pg_catalog.isfinite(r.rolvaliduntil) THEN r.rolvaliduntil END AS validuntil,
       left(r.rolname, length($1::text)) = $1::text AND coalesce(left(d.description, 16), '') = 'pmgrants:managed' AS managed,
       ($4::text IS NULL
        OR r.rolname::text IN (SELECT pg_catalog.unnest($5::text[]))
        OR (left(r.rolname, length($1::text)) = $1::text
            AND coalesce(left(d.description, 16), '') = 'pmgrants:managed'
            AND CASE WHEN $4::text = '' THEN position('"app":' IN d.description) = 0
                     ELSE position($4::text IN d.description) > 0 END)
        OR ($4::text = '' AND r.rolname::text LIKE ANY ($6::text[]))) AS own
FROM pg_catalog.pg_roles r
LEFT JOIN pg_catalog.pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass
WHERE (left(r.rolname, length($1::text)) = $1::text
       AND ($4::text IS NULL
            OR coalesce(left(d.description, 16), '') <> 'pmgrants:managed'
            OR CASE WHEN $4::text = '' THEN position('"app":' IN d.description) = 0
                    ELSE position($4::text IN d.description) > 0 END))
   OR r.rolname::text IN (SELECT pg_catalog.unnest($2::text[]))
   OR r.rolname::text LIKE ANY ($6::text[])
