-- Column privileges (pg_attribute.attacl) of the tables in the scoped schemas: [schema, table, column,
-- ACL items], only columns with grants of their own. On an app schema they are the policy's like the
-- tables' ACLs: a column grant to PUBLIC or to a grantee outside the policy lets it read or change that
-- column, and the diff revokes it (authoritative enforcement). pmgrants never grants on columns.
-- Tables whose owner the connecting role cannot act as are left out, as in object-acls.sql.
SELECT coalesce(json_agg(json_build_array(s.nspname, c.relname, a.attname, a.attacl::text[]) ORDER BY s.nspname, c.relname, a.attnum), '[]'::json)
FROM schema_objects o
JOIN pg_catalog.pg_attribute a ON a.attrelid = o.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
JOIN pg_catalog.pg_class c ON c.oid = o.oid
JOIN scoped_schemas s ON s.oid = o.nsp
WHERE o.kind = 'tables' AND pg_catalog.pg_has_role(o.owner, 'USAGE')
