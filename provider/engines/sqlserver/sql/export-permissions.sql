--  Every permission of the classes pmgrants can say something about, in every state but R (revoked).
SELECT p.class, p.major_id, p.minor_id, p.grantee_principal_id, p.permission_name, p.state
FROM sys.database_permissions AS p
WHERE p.class IN (0, 1, 3, 4) AND p.state IN ('G', 'W', 'D');
