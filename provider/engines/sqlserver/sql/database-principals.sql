-- Database principals with the pmgrants marker (an extended property on class 4, database principal)
-- and, for Entra principals, the object id their SID encodes (first 16 bytes as uniqueidentifier).
SELECT dp.principal_id, dp.name, dp.type, dp.authentication_type,
       CONVERT(varchar(172), dp.sid, 1) AS sid, dp.is_fixed_role,
       CASE WHEN dp.type IN ('E', 'X') THEN CONVERT(varchar(36), CAST(SUBSTRING(dp.sid, 1, 16) AS uniqueidentifier)) END AS entra_object_id,
       CONVERT(varchar(23), dp.modify_date, 126) AS modify_date,
       CONVERT(nvarchar(128), ep.value) AS pmgrants_marker
FROM sys.database_principals AS dp
LEFT JOIN sys.extended_properties AS ep
  ON ep.class = 4 AND ep.major_id = dp.principal_id AND ep.minor_id = 0 AND ep.name = N'pmgrants:managed';
