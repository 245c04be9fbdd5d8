-- The session reading the catalog: its user, and whether it is a member of db_owner, which changing a
-- fixed database role's members needs (ALTER ROLE, Permissions; IS_ROLEMEMBER).
SELECT USER_NAME() AS user_name, IS_ROLEMEMBER('db_owner') AS is_db_owner;
