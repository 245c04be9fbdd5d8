-- pg_database.datacl of the current database, as [owner, ACL items as text or null]: inspect keeps
-- the CONNECT, TEMPORARY and CREATE that scoped roles hold.
SELECT json_build_array(pg_catalog.pg_get_userbyid(d.datdba), d.datacl::text[])
FROM pg_catalog.pg_database d
WHERE d.datname = current_database()
