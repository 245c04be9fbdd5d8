-- What tells this database apart from another of the same name: database_id can be reused after a
-- DROP DATABASE; with create_date it names one database (sys.databases).
SELECT N'database_id ' + CONVERT(nvarchar(12), d.database_id) + N' created ' + CONVERT(nvarchar(30), d.create_date, 126) AS id FROM sys.databases d WHERE d.database_id = DB_ID();
