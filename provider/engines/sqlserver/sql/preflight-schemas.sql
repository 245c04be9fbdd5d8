-- pmgrants doctor, in the warehouse: the provisioning identity's data rights on every schema.
SELECT s.name AS schema_name,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'SELECT') AS can_select,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'INSERT') AS can_insert,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'UPDATE') AS can_update,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'DELETE') AS can_delete
FROM sys.schemas AS s;
