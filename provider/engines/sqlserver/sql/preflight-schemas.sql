-- pmgrants doctor, in the warehouse: the provisioning identity's data rights on every schema, and
-- TAKE OWNERSHIP, which ALTER AUTHORIZATION on a schema's objects needs, and ALTER, which masking a
-- table's column needs (with ALTER ANY MASK).
SELECT s.name AS schema_name,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'SELECT') AS can_select,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'INSERT') AS can_insert,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'UPDATE') AS can_update,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'DELETE') AS can_delete,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'TAKE OWNERSHIP') AS can_take_ownership,
       HAS_PERMS_BY_NAME(QUOTENAME(s.name), 'SCHEMA', 'ALTER') AS can_alter
FROM sys.schemas AS s;
