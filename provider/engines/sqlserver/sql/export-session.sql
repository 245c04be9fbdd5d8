-- The session: which database and which user the export read as.
SELECT DB_NAME() AS database_name, USER_NAME() AS user_name;
