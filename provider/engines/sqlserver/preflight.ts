import { DesiredState } from '../../model/types';
import { Change } from '../../plan/change';
import { PreflightCheck } from '../engine';
import { quoteName } from './quote';

/** First result set of PREFLIGHT_SQLSERVER_SQL / PREFLIGHT_AZURE_SQL_SQL. */
export interface PreflightServerRow {
  engine_edition: number | null;
  integrated_security_only: number | null;
  login_name: string | null;
  user_name: string | null;
  database_name: string | null;
  is_db_owner: number | null;
  is_db_securityadmin: number | null;
  is_db_accessadmin: number | null;
  can_create_schema: number | null;
  /** HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'ALTER ANY ROLE' / 'ALTER ANY USER'); absent in older fixtures. */
  can_alter_any_role?: number | null;
  can_alter_any_user?: number | null;
  /** HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'ALTER ANY MASK'): what masking a column needs besides ALTER on its table; absent in older fixtures. */
  can_alter_any_mask?: number | null;
  /** SERVERPROPERTY('ProductMajorVersion'): 16 is SQL Server 2022, the first with UNMASK on a schema; absent in older fixtures. */
  product_major_version?: number | null;
  /** SQL Server only: HAS_PERMS_BY_NAME(NULL, NULL, 'ALTER ANY LOGIN'); NULL on Azure SQL. */
  can_alter_any_login: number | null;
  /** SQL Server only: HAS_DBACCESS('master'); NULL on Azure SQL. */
  has_master_access: number | null;
}

export interface PreflightSchemaRow {
  schema_name: string;
  can_select: number | null;
  can_insert: number | null;
  can_update: number | null;
  can_delete: number | null;
  /** HAS_PERMS_BY_NAME(QUOTENAME(schema), 'SCHEMA', 'TAKE OWNERSHIP'): what ALTER AUTHORIZATION needs. */
  can_take_ownership?: number | null;
  /** HAS_PERMS_BY_NAME(QUOTENAME(schema), 'SCHEMA', 'ALTER'): ALTER on its tables, which masking a column needs. */
  can_alter?: number | null;
}

export interface PreflightServerRoleRow {
  role_name: string;
  member_name: string;
}

/** PREFLIGHT_AZURE_MASTER_SQL. */
export interface PreflightMasterRow {
  login_name: string | null;
  user_name: string | null;
  is_loginmanager: number | null;
  is_ms_loginmanager: number | null;
}

export interface PreflightFacts {
  server: PreflightServerRow;
  schemas: PreflightSchemaRow[];
  /** SQL Server: sys.server_role_members with names; absent on Azure SQL. */
  serverRoleMembers?: PreflightServerRoleRow[];
  /** Azure SQL with logins in master: the master facts, or why master could not be reached. */
  master?: PreflightMasterRow;
  masterError?: string;
}

export interface PreflightContext {
  engine: 'sqlserver' | 'azure-sql';
  generatedLogins: 'server' | 'contained';
  /** How the session signed in: CREATE USER ... FROM EXTERNAL PROVIDER on Azure SQL needs an Entra identity. */
  auth?: 'sql' | 'entra' | 'windows';
  /** The plan's changes against the live catalog: checks for what its statements need. */
  changes?: readonly Change[];
}

/** EngineEdition 5 = Azure SQL Database, 8 = Azure SQL Managed Instance (SERVERPROPERTY docs). */
const AZURE_SQL_DATABASE_EDITION = 5;

const yes = (v: number | null | undefined) => v === 1;

/** The provisioning identity as the checks name it: login and user, plain and quoted for a fix statement. */
interface Provisioner {
  login: string;
  user: string;
  qLogin: string;
  qUser: string;
}

/**
 * The seed's provisioning requirements (UiPath app_security_mode) as checks with a verdict each.
 * Pure: the facts come from the preflight queries. A failed check carries the statement that fixes it.
 */
export function evaluatePreflight(facts: PreflightFacts, desired: DesiredState, context: PreflightContext): PreflightCheck[] {
  const s = facts.server;
  const login = s.login_name ?? 'provisioning_login';
  const user = s.user_name ?? 'provisioning_user';
  const who: Provisioner = { login, user, qLogin: safeQuote(login), qUser: safeQuote(user) };
  const needsLogins = desired.logins.length > 0 && !(context.engine === 'azure-sql' && context.generatedLogins === 'contained');
  return [
    engineCheck(s, context),
    // system_managed needs SQL authentication (seed 000), and so does any generated login.
    ...(context.engine === 'sqlserver' && desired.logins.length > 0 ? [sqlAuthenticationCheck(s)] : []),
    ...(needsLogins ? loginManagementChecks(facts, who, context) : []),
    ...warehouseRightChecks(s, user, who.qUser, desired.database),
    ...planChecks(facts, context, who.qUser),
    ...schemaChecks(facts, desired, who),
    ...maskingChecks(facts, desired, context, who),
    ...(facts.serverRoleMembers ? [serverRoleCheck(facts.serverRoleMembers, desired.prefix)] : []),
  ];
}

/** The engine the policy names must be the engine we reached. */
function engineCheck(s: PreflightServerRow, context: PreflightContext): PreflightCheck {
  const isAzureDb = s.engine_edition === AZURE_SQL_DATABASE_EDITION;
  if (context.engine === 'sqlserver' && isAzureDb) {
    return {
      name: 'engine',
      ok: false,
      detail: 'the server is Azure SQL Database (EngineEdition 5) but the policy says engine: sqlserver',
      fix: 'set warehouse.engine: azure-sql in the policy',
    };
  }
  if (context.engine === 'azure-sql' && s.engine_edition !== null && !isAzureDb) {
    return {
      name: 'engine',
      ok: false,
      detail: `the server reports EngineEdition ${s.engine_edition}, not Azure SQL Database (5), but the policy says engine: azure-sql`,
      fix: 'set warehouse.engine: sqlserver in the policy',
    };
  }
  return { name: 'engine', ok: true, detail: `EngineEdition ${s.engine_edition ?? 'unknown'} matches engine ${context.engine}` };
}

/** SQL Server: generated SQL logins sign in only when the server accepts SQL authentication. */
function sqlAuthenticationCheck(s: PreflightServerRow): PreflightCheck {
  const ok = s.integrated_security_only === 0;
  return {
    name: 'sql-authentication',
    ok,
    detail: ok
      ? 'SQL Server and Windows authentication mode is on (IsIntegratedSecurityOnly = 0)'
      : `the server accepts Windows authentication only (IsIntegratedSecurityOnly = ${s.integrated_security_only ?? 'NULL'}); generated SQL logins could not sign in`,
    ...(ok
      ? {}
      : {
          fix: "EXEC master.dbo.xp_instance_regwrite N'HKEY_LOCAL_MACHINE', N'Software\\Microsoft\\MSSQLServer\\MSSQLServer', N'LoginMode', REG_DWORD, 2; -- as sysadmin, then restart the SQL Server service (or: SSMS > Server Properties > Security > SQL Server and Windows Authentication mode)",
        }),
  };
}

/** Creating logins: securityadmin or ##MS_LoginManager## (or ALTER ANY LOGIN), and access to master. */
function loginManagementChecks(facts: PreflightFacts, who: Provisioner, context: PreflightContext): PreflightCheck[] {
  const { login, qLogin } = who;
  if (context.engine === 'sqlserver') {
    const s = facts.server;
    const ok = yes(s.can_alter_any_login);
    const master = yes(s.has_master_access);
    return [
      {
        name: 'login-management',
        ok,
        detail: ok
          ? `${login} holds ALTER ANY LOGIN (directly, or through securityadmin / ##MS_LoginManager## / sysadmin)`
          : `${login} cannot create logins: it needs ALTER ANY LOGIN, or membership in securityadmin or ##MS_LoginManager##`,
        ...(ok ? {} : { fix: `USE [master]; GRANT ALTER ANY LOGIN TO ${qLogin};` }),
      },
      {
        name: 'master-access',
        ok: master,
        detail: master ? `${login} can use the master database` : `${login} has no access to the master database`,
        ...(master ? {} : { fix: `USE [master]; CREATE USER ${qLogin} FOR LOGIN ${qLogin};` }),
      },
    ];
  }
  if (facts.masterError !== undefined || !facts.master) {
    return [
      {
        name: 'master-access',
        ok: false,
        detail: `cannot connect to the master database of the logical server: ${facts.masterError ?? 'not checked'}`,
        fix: `-- in master: CREATE USER ${qLogin} FOR LOGIN ${qLogin};`,
      },
    ];
  }
  const m = facts.master;
  // ##MS_LoginManager## holds CREATE LOGIN and ALTER ANY LOGIN (Azure SQL server roles); loginmanager
  // "can create and delete logins" (Database-level roles): nothing documents that it may change a
  // password, which rotation does.
  const ok = yes(m.is_ms_loginmanager) || m.user_name === 'dbo';
  return [
    { name: 'master-access', ok: true, detail: `${login} can connect to master` },
    {
      name: 'login-management',
      ok,
      detail: ok
        ? `${login} can manage logins in master (${yes(m.is_ms_loginmanager) ? '##MS_LoginManager##' : 'server admin'})`
        : yes(m.is_loginmanager)
          ? `${login} is in loginmanager, which may create and delete logins, but nothing documents that it may change their passwords (rotation): it needs ##MS_LoginManager##`
          : `${login} cannot create logins: it needs membership in ##MS_LoginManager##`,
      ...(ok ? {} : { fix: `-- in master: ALTER SERVER ROLE ##MS_LoginManager## ADD MEMBER ${qLogin};` }),
    },
  ];
}

/**
 * The app schemas: the missing ones pmgrants creates (CREATE SCHEMA ... AUTHORIZATION), and, in
 * single_account, read/write on the existing ones (seed 000).
 */
function schemaChecks(facts: PreflightFacts, desired: DesiredState, who: Provisioner): PreflightCheck[] {
  const { user, qUser } = who;
  const checks: PreflightCheck[] = [];
  const existing = new Map(facts.schemas.map((r) => [r.schema_name, r]));
  const missing = desired.schemas.filter((sc) => !existing.has(sc.name));
  if (missing.length > 0) {
    const ok = yes(facts.server.can_create_schema);
    checks.push({
      name: 'create-schema',
      ok,
      detail: ok
        ? `${user} can create the ${missing.length} missing app schema${missing.length === 1 ? '' : 's'}`
        : `${user} cannot create schemas, and ${missing.map((m) => m.name).join(', ')} do not exist yet`,
      ...(ok ? {} : { fix: `GRANT CREATE SCHEMA TO ${qUser};` }),
    });
  }
  if (desired.mode !== 'single_account') return checks;
  for (const sc of desired.schemas) {
    const row = existing.get(sc.name);
    if (!row) continue;
    const lacking = (['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const).filter((p) => !yes(row[`can_${p.toLowerCase()}` as keyof PreflightSchemaRow] as number | null));
    checks.push({
      name: `schema-read-write:${sc.name}`,
      ok: lacking.length === 0,
      detail: lacking.length === 0 ? `${user} can read and write schema ${sc.name}` : `${user} lacks ${lacking.join(', ')} on schema ${sc.name}`,
      ...(lacking.length === 0 ? {} : { fix: `GRANT ${lacking.join(', ')} ON SCHEMA::${safeQuote(sc.name)} TO ${qUser};` }),
    });
  }
  return checks;
}

/**
 * Personal data (Dynamic Data Masking): "Adding, replacing, or removing the mask of a column, requires
 * the ALTER ANY MASK permission and ALTER permission on the table" (Dynamic Data Masking, Permissions),
 * neither among the seed's rights; and UNMASK on a schema needs SQL Server 2022 ("Granular permissions
 * introduced in SQL Server 2022"): before it UNMASK is database-wide, and a clear reader of one app
 * would read every app's personal columns in clear.
 */
function maskingChecks(facts: PreflightFacts, desired: DesiredState, context: PreflightContext, who: Provisioner): PreflightCheck[] {
  const apps = desired.masking?.apps ?? [];
  if (apps.length === 0) return [];
  const s = facts.server;
  const { user, qUser } = who;
  const checks: PreflightCheck[] = [];
  if (context.engine === 'sqlserver') {
    const version = s.product_major_version;
    const ok = version !== null && version !== undefined && version >= 16;
    checks.push({
      name: 'granular-unmask',
      ok,
      detail: ok
        ? `SQL Server ${version} grants UNMASK on a schema (SQL Server 2022 and later)`
        : `SQL Server ${version ?? 'of unknown version'} grants UNMASK only database-wide (UNMASK on a schema came with SQL Server 2022): the apply would fail, and a clear reader of one app would read every app's personal columns in clear`,
      ...(ok ? {} : { fix: '-- upgrade the server to SQL Server 2022 or later, or remove apps.<app>.personalData.columns' }),
    });
  }
  const mask = yes(s.can_alter_any_mask);
  checks.push({
    name: 'alter-any-mask',
    ok: mask,
    detail: mask ? `${user} holds ALTER ANY MASK, which masking personal columns needs` : `${user} lacks ALTER ANY MASK, which masking personal columns needs (not among the seed's rights)`,
    ...(mask ? {} : { fix: `GRANT ALTER ANY MASK TO ${qUser};` }),
  });
  const existing = new Map(facts.schemas.map((r) => [r.schema_name, r]));
  for (const app of apps) {
    const row = existing.get(app.schema);
    const ok = row === undefined || yes(row.can_alter);
    checks.push({
      name: `alter:${app.schema}`,
      ok,
      detail:
        row === undefined
          ? `schema ${app.schema} does not exist yet: nothing to mask in it until its tables exist, and then ${user} needs ALTER on it`
          : ok
            ? `${user} holds ALTER on schema ${app.schema}, which masking its tables' columns needs`
            : `${user} lacks ALTER on schema ${app.schema}, which masking its tables' personal columns needs (not among the seed's rights)`,
      ...(ok ? {} : { fix: `GRANT ALTER ON SCHEMA::${safeQuote(app.schema)} TO ${qUser};` }),
    });
  }
  return checks;
}

/** SQL Server: generated logins must not hold server roles, since pmgrants grants them nothing server-wide. */
function serverRoleCheck(members: readonly PreflightServerRoleRow[], prefix: string): PreflightCheck {
  const leaks = members.filter((r) => r.member_name.toLowerCase().startsWith(prefix.toLowerCase()) && r.role_name !== 'public');
  return {
    name: 'generated-logins-server-roles',
    ok: leaks.length === 0,
    detail:
      leaks.length === 0
        ? `no login named ${prefix}* is a member of a server role`
        : `generated logins hold server roles: ${leaks.map((l) => `${l.member_name} in ${l.role_name}`).join(', ')}`,
    ...(leaks.length === 0 ? {} : { fix: leaks.map((l) => `ALTER SERVER ROLE ${safeQuote(l.role_name)} DROP MEMBER ${safeQuote(l.member_name)};`).join(' ') }),
  };
}

function safeQuote(name: string): string {
  try {
    return quoteName(name);
  } catch {
    return '[<name too long>]';
  }
}

/**
 * What every apply needs in the warehouse, as permissions (HAS_PERMS_BY_NAME), not role names: ALTER ANY
 * ROLE (CREATE/ALTER/DROP ROLE, marking roles), ALTER ANY USER (CREATE/DROP USER, marking users), and
 * db_securityadmin (or db_owner) membership, which GRANT/DENY/REVOKE ... AS the schema owner or dbo
 * needs (the AS tables of GRANT Schema / Database / Database Principal Permissions). The fix is the seed's
 * role that gives each.
 */
function warehouseRightChecks(s: PreflightServerRow, user: string, qUser: string, database: string): PreflightCheck[] {
  const where = s.database_name ?? database;
  const permission = (name: string, value: number | null | undefined, fallbackRole: number | null, role: string, why: string): PreflightCheck => {
    // Rows read before the permission columns existed: the seed role stands in for the permission.
    const ok = value === undefined ? yes(fallbackRole) || yes(s.is_db_owner) : yes(value);
    return {
      name: `${name.toLowerCase().replace(/ /g, '-')}`,
      ok,
      detail: ok ? `${user} holds ${name} in ${where}` : `${user} lacks ${name} in ${where}, which ${why} need`,
      ...(ok ? {} : { fix: `ALTER ROLE [${role}] ADD MEMBER ${qUser};` }),
    };
  };
  const grantAs = yes(s.is_db_securityadmin) || yes(s.is_db_owner);
  return [
    permission('ALTER ANY ROLE', s.can_alter_any_role, s.is_db_securityadmin, 'db_securityadmin', 'CREATE ROLE, ALTER ROLE ... ADD/DROP MEMBER and DROP ROLE'),
    permission('ALTER ANY USER', s.can_alter_any_user, s.is_db_accessadmin, 'db_accessadmin', 'CREATE USER and DROP USER'),
    {
      name: 'grant-as-owner',
      ok: grantAs,
      detail: grantAs
        ? `${user} may grant AS a schema's owner and AS dbo (${yes(s.is_db_securityadmin) ? 'db_securityadmin' : 'db_owner'})`
        : `${user} may not name another principal after AS in GRANT, DENY and REVOKE: that needs db_securityadmin (or db_owner)`,
      ...(grantAs ? {} : { fix: `ALTER ROLE [db_securityadmin] ADD MEMBER ${qUser};` }),
    },
  ];
}

/** Checks for particular statements of the plan: ALTER AUTHORIZATION (TAKE OWNERSHIP), Entra users on Azure SQL. */
function planChecks(facts: PreflightFacts, context: PreflightContext, qUser: string): PreflightCheck[] {
  const checks: PreflightCheck[] = [];
  const changes = context.changes ?? [];
  const schemaRow = new Map(facts.schemas.map((r) => [r.schema_name, r]));
  // ALTER AUTHORIZATION, Permissions: TAKE OWNERSHIP on the entity (implied by CONTROL on it or the database).
  for (const c of changes) {
    if (c.kind !== 'alter-schema-owner') continue;
    const ok = yes(schemaRow.get(c.schema)?.can_take_ownership);
    checks.push({
      name: `take-ownership:${c.schema}`,
      ok,
      detail: ok ? `may give schema ${c.schema} to ${c.to}` : `the plan gives schema ${c.schema} to ${c.to}, which needs TAKE OWNERSHIP on it (not among the seed's rights)`,
      ...(ok ? {} : { fix: `GRANT TAKE OWNERSHIP ON SCHEMA::${safeQuote(c.schema)} TO ${qUser};` }),
    });
  }
  // "To create a contained database user in Azure SQL Database ... you must connect to the database or
  // instance using a Microsoft Entra identity" (azure/azure-sql/database/authentication-aad-configure).
  const entraUsers = changes.flatMap((c) => (c.kind === 'create-user' && c.user.source.type === 'external' ? [c.user.name] : []));
  if (context.engine === 'azure-sql' && entraUsers.length > 0) {
    const ok = context.auth === 'entra';
    checks.push({
      name: 'entra-connection',
      ok,
      detail: ok
        ? `connected with a Microsoft Entra identity, which creating ${entraUsers.join(', ')} needs`
        : `the plan creates Microsoft Entra users (${entraUsers.join(', ')}), which only a connection signed in with a Microsoft Entra identity may create (error 33159); this one uses ${context.auth ?? 'SQL'} authentication`,
      ...(ok ? {} : { fix: 'connect with ?auth=entra-default (or entra-service-principal, entra-managed-identity, entra-access-token) as an Entra identity that holds the same rights' }),
    });
  }
  return checks;
}
