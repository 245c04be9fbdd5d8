--  Every schema with its owner (sys.schemas.principal_id).
SELECT s.name, o.name AS owner_name
FROM sys.schemas AS s
JOIN sys.database_principals AS o ON o.principal_id = s.principal_id;
