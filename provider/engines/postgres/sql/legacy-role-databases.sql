-- [role name, database names] of the managed roles whose marker names no warehouse (written before
-- markers recorded one): the databases where the role holds privileges or owns objects, from the
-- cluster-wide pg_shdepend. Inspect claims such a role only when that is this database alone (see
-- inspect.ts). A privilege on a database itself (CONNECT) is recorded with dbid 0 and the database as
-- the object. Roles with a warehouse in their marker are not looked up.
SELECT coalesce(json_agg(json_build_array(l.rolname, l.databases)), '[]'::json)
FROM (
  SELECT s.rolname, array_agg(DISTINCT d.datname::text) AS databases
  FROM scoped_roles s
  JOIN pg_catalog.pg_shdepend p ON p.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND p.refobjid = s.oid
  JOIN pg_catalog.pg_database d
    ON d.oid = CASE WHEN p.dbid = 0 AND p.classid = 'pg_catalog.pg_database'::pg_catalog.regclass THEN p.objid ELSE p.dbid END
  WHERE s.managed AND position('"warehouse"' IN s.comment) = 0
  GROUP BY s.rolname
) l
