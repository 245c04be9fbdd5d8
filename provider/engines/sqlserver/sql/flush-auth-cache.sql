-- Azure SQL Database, in the warehouse after logins changed in master: empty the authentication cache
-- (DBCC FLUSHAUTHCACHE), when HAS_PERMS_BY_NAME says the session holds KILL DATABASE CONNECTION, which
-- it needs (DBCC FLUSHAUTHCACHE, Permissions). Run outside the committed transaction.
IF HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'KILL DATABASE CONNECTION') = 1 DBCC FLUSHAUTHCACHE;
