-- Role memberships in the warehouse, by principal id (sys.database_role_members).
SELECT rm.role_principal_id, rm.member_principal_id
FROM sys.database_role_members AS rm;
