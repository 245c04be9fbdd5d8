-- Azure SQL Database variant, run in the logical server's master: LOGINPROPERTY is documented for SQL
-- Server and Managed Instance, so the login's modify_date stands in for the password age (pmgrants is
-- the only writer of its generated logins).
SELECT sl.name, sl.principal_id, CONVERT(varchar(172), sl.sid, 1) AS sid, sl.type, sl.is_disabled,
       CONVERT(varchar(23), sl.modify_date, 126) AS password_last_set,
       sl.default_database_name
FROM sys.sql_logins AS sl;
