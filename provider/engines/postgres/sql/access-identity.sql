-- Which database the access report read: name, oid, server version and where it listens, as one JSON
-- object. A reviewer tells two reports apart by this and the digest of the rows below.
SELECT json_build_object(
         'database', d.datname,
         'oid', d.oid,
         'version', pg_catalog.current_setting('server_version'),
         'versionNum', pg_catalog.current_setting('server_version_num')::int,
         'server', coalesce(pg_catalog.host(pg_catalog.inet_server_addr()), 'local socket') || ':' || pg_catalog.current_setting('port'))
FROM pg_catalog.pg_database d
WHERE d.datname = pg_catalog.current_database()
