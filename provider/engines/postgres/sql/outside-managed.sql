-- Scoped to one part ($4 not null): [name, comment] of the managed roles outside the scope (other
-- parts' roles: prefix + marker) that the scoped memberships name or that the ACLs of the scoped
-- schemas, of their objects or of their default privileges name. Inspect counts them as managed and
-- reads their privileges there, as the whole inspect does: another app's role granted USAGE on this
-- app's schema is this app's to revoke. Empty for the whole inspect (every such role is scoped).
-- Read from the few role oids those name (the roles' names by oid), never by going through every
-- managed role.
SELECT coalesce(json_agg(json_build_array(pg_catalog.pg_get_userbyid(c.oid), d.description)), '[]'::json)
FROM (SELECT DISTINCT u.oid
      FROM (SELECT roleid AS oid FROM scoped_memberships
            UNION ALL SELECT member FROM scoped_memberships
            UNION ALL SELECT (pg_catalog.aclexplode(n.nspacl)).grantee
                      FROM pg_catalog.pg_namespace n
                      WHERE n.oid IN (SELECT oid FROM scoped_schemas) AND n.nspacl IS NOT NULL
            UNION ALL SELECT (pg_catalog.aclexplode(o.acl)).grantee FROM schema_objects o WHERE o.acl IS NOT NULL
            UNION ALL SELECT (pg_catalog.aclexplode(a.defaclacl)).grantee
                      FROM pg_catalog.pg_default_acl a
                      WHERE a.defaclnamespace IN (SELECT oid FROM scoped_schemas)) u
      WHERE $4::text IS NOT NULL
        AND u.oid NOT IN (SELECT oid FROM scoped_roles)) c
JOIN pg_catalog.pg_shdescription d ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass
WHERE left(pg_catalog.pg_get_userbyid(c.oid), length($1::text)) = $1::text
  AND left(d.description, 16) = 'pmgrants:managed'
