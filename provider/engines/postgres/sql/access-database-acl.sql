-- The ACL of this database with defaults spelled out: who may CONNECT (and CREATE schemas).
SELECT coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))::text[]
FROM pg_catalog.pg_database d
WHERE d.datname = pg_catalog.current_database()
