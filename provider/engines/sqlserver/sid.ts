import { createHash } from 'node:crypto';

/**
 * The SID pmgrants gives a generated SQL login: derived from the warehouse database's name and the
 * login's name, so the login says which warehouse created it whatever its default database, and a
 * login of the same name made by hand (or by another warehouse) is told apart.
 *
 * CREATE LOGIN ... SID = sid (CREATE LOGIN, Arguments, both the SQL Server and the SQL Database tabs):
 * SQL Server takes a 16-byte binary(16) value "based on a GUID"; SQL Database "a 32 byte (binary(32))
 * literal consisting of 0x01060000000000640000000000000000 plus 16 bytes representing a GUID". The 16
 * bytes here are the first 16 of SHA-256 over a versioned, case-folded input (the default collation
 * compares names case-insensitively). The page does not say the 16 bytes must be a GUID of any version;
 * pmgrants sets the version and variant bits of a name-based GUID (RFC 9562, version 8) so they are one.
 * SIDs are unique on a server, and (database, login name) is unique per server.
 */
const AZURE_SQL_SID_PREFIX = '01060000000000640000000000000000';

export function generatedLoginSid(engine: 'sqlserver' | 'azure-sql', database: string, login: string): string {
  const digest = createHash('sha256').update(`pmgrants-login-sid/v1\n${database.toLowerCase()}\n${login.toLowerCase()}`, 'utf8').digest();
  const bytes = Buffer.from(digest.subarray(0, 16));
  bytes[6] = (bytes[6] & 0x0f) | 0x80; // version 8 (custom)
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC variant
  const hex = bytes.toString('hex').toUpperCase();
  return `0x${engine === 'azure-sql' ? AZURE_SQL_SID_PREFIX : ''}${hex}`;
}

/** Whether `sid` (as inspect reads it: '0x…', any case) is the SID pmgrants derives for this login in this database. */
export function isGeneratedLoginSid(engine: 'sqlserver' | 'azure-sql', database: string, login: string, sid: string): boolean {
  return sid.toUpperCase() === generatedLoginSid(engine, database, login).toUpperCase();
}
