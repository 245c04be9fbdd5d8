-- pmgrants export: column-level privileges (pg_attribute.attacl), which no persona expresses.
SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'table', c.relname, 'column', att.attname,
         'grantee', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END,
         'privilege', a.privilege_type) ORDER BY n.nspname, c.relname, att.attnum, a.grantee, a.privilege_type), '[]'::json)
FROM pg_catalog.pg_attribute att
JOIN pg_catalog.pg_class c ON c.oid = att.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL pg_catalog.aclexplode(att.attacl) a
WHERE att.attacl IS NOT NULL AND att.attnum > 0 AND NOT att.attisdropped
  AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
