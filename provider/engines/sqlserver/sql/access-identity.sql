--  Which database this is.
SELECT DB_NAME() AS database_name, CONVERT(nvarchar(128), @@SERVERNAME) AS server_name,
       CONVERT(nvarchar(128), SERVERPROPERTY('ProductVersion')) AS product_version,
       CONVERT(nvarchar(128), SERVERPROPERTY('Edition')) AS edition, DB_ID() AS database_id;
