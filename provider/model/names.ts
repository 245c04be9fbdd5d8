import { EngineName } from './types';

/**
 * Every name pmgrants creates is derived here, so validation can check lengths and collisions
 * before any SQL exists. Names start with the managed prefix: that is how ownership is recognised.
 */
export const names = {
  schemaOwner: (prefix: string, app: string) => `${prefix}${app}_owner`,
  appPersona: (prefix: string, app: string, persona: string) => `${prefix}${app}_${persona}`,
  warehousePersona: (prefix: string, persona: string) => `${prefix}${persona}`,
  appLogin: (prefix: string, app: string) => `${prefix}${app}_app`,
  sharedLogin: (prefix: string) => `${prefix}shared`,
};

/** Identifier limits: sysname is nvarchar(128), counted in UTF-16 code units; PostgreSQL's NAMEDATALEN-1 is 63 bytes of UTF-8. */
export function identifierLimit(engine: EngineName): { max: number; unit: 'UTF-16 code units' | 'bytes' } {
  return engine === 'postgres' ? { max: 63, unit: 'bytes' } : { max: 128, unit: 'UTF-16 code units' };
}

export function identifierLength(engine: EngineName, name: string): number {
  // A JavaScript string's length is its count of UTF-16 code units, exactly what nvarchar counts.
  return engine === 'postgres' ? Buffer.byteLength(name, 'utf8') : name.length;
}

/** SQL Server compares names case-insensitively under the default collation; PostgreSQL quoted names do not. */
export function nameKey(engine: EngineName, name: string): string {
  return engine === 'postgres' ? name : name.toLowerCase();
}

/** Names an app schema may not take. */
export function isReservedSchema(engine: EngineName, schema: string): boolean {
  const s = schema.toLowerCase();
  if (engine === 'postgres') return s === 'public' || s === 'information_schema' || s.startsWith('pg_');
  return [
    'dbo',
    'guest',
    'sys',
    'information_schema',
    'db_owner',
    'db_accessadmin',
    'db_securityadmin',
    'db_ddladmin',
    'db_backupoperator',
    'db_datareader',
    'db_datawriter',
    'db_denydatareader',
    'db_denydatawriter',
  ].includes(s);
}

/** Names a principal may not take (built-in principals and fixed roles). */
export function isReservedPrincipal(engine: EngineName, name: string): boolean {
  return reservedPrincipalReason(engine, name) !== undefined;
}

const SQLSERVER_BUILTIN = new Set(['sa', 'public', 'dbo', 'guest', 'sys', 'information_schema']);
const SQLSERVER_SERVER_ROLES = new Set(['sysadmin', 'serveradmin', 'securityadmin', 'processadmin', 'setupadmin', 'bulkadmin', 'diskadmin', 'dbcreator']);
const AZURE_MASTER_ROLES = new Set(['dbmanager', 'loginmanager']);
const POSTGRES_ROLE_SPECS = new Set(['current_user', 'session_user', 'current_role']);

/**
 * Why a principal may not take a name, as the end of a sentence ("is reserved by ..."), or undefined.
 * PostgreSQL compares as the server does, case and all (CREATE ROLE refuses "none", "public" and any name
 * starting with "pg_"; "Public" is another role); SQL Server case-insensitively, as its default collation.
 * Sources: docs/postgres.md and docs/sqlserver.md, "Reserved names".
 */
export function reservedPrincipalReason(engine: EngineName, name: string): string | undefined {
  if (engine === 'postgres') {
    if (name === 'none' || name === 'public') return `reserved by PostgreSQL (CREATE ROLE refuses "${name}")`;
    if (name.startsWith('pg_')) return 'reserved by PostgreSQL (role names starting with "pg_" are)';
    if (POSTGRES_ROLE_SPECS.has(name)) return `reserved: ${name} is a PostgreSQL keyword for the session's role in GRANT, ALTER and SET ROLE`;
    if (name === 'postgres') return 'reserved: it is the bootstrap superuser of a PostgreSQL cluster';
    return undefined;
  }
  const s = name.toLowerCase();
  const product = engine === 'azure-sql' ? 'Azure SQL' : 'SQL Server';
  if (SQLSERVER_BUILTIN.has(s)) return `reserved by ${product} (a built-in principal)`;
  if (s.startsWith('##')) return `reserved by ${product} (names between ## are its certificate-based logins and built-in server roles)`;
  if (s.startsWith('db_')) return `reserved by ${product} (names starting with "db_" are its fixed database roles)`;
  if (SQLSERVER_SERVER_ROLES.has(s)) return `reserved by ${product} (a fixed server role)`;
  if (engine === 'azure-sql' && AZURE_MASTER_ROLES.has(s)) return 'reserved by Azure SQL (a role of the master database)';
  return undefined;
}

/** The parts of an app spec that decide its names (apps.<app>.roles adopts existing roles). */
interface AppNaming {
  roles?: Record<string, string>;
}

/**
 * The database names of one app's roles: adopted ones (apps.<app>.roles) where the policy names them,
 * generated ones otherwise. Compile and validation both use this, so they agree on every name.
 */
export function appRoleNames(prefix: string, app: string, spec: AppNaming | undefined) {
  const adopted = spec?.roles ?? {};
  return {
    owner: adopted.owner ?? names.schemaOwner(prefix, app),
    login: adopted.app ?? names.appLogin(prefix, app),
    persona: (persona: string) => adopted[persona] ?? names.appPersona(prefix, app, persona),
    isAdopted: (slot: string) => slot in adopted,
  };
}

/** Role slots of apps.<app>.roles besides persona keys. */
export const ROLE_SLOTS = ['owner', 'app'] as const;
