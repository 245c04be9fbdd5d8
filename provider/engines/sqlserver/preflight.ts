import { DesiredState } from '../../model/types';
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
}

/** EngineEdition 5 = Azure SQL Database, 8 = Azure SQL Managed Instance (SERVERPROPERTY docs). */
const AZURE_SQL_DATABASE_EDITION = 5;

const yes = (v: number | null | undefined) => v === 1;

/**
 * The seed's provisioning requirements (UiPath app_security_mode) as checks with a verdict each.
 * Pure: the facts come from the preflight queries. A failed check carries the statement that fixes it.
 */
export function evaluatePreflight(facts: PreflightFacts, desired: DesiredState, context: PreflightContext): PreflightCheck[] {
  const checks: PreflightCheck[] = [];
  const s = facts.server;
  const login = s.login_name ?? 'provisioning_login';
  const user = s.user_name ?? 'provisioning_user';
  const qLogin = safeQuote(login);
  const qUser = safeQuote(user);
  const isAzureDb = s.engine_edition === AZURE_SQL_DATABASE_EDITION;
  const needsLogins = desired.logins.length > 0 && !(context.engine === 'azure-sql' && context.generatedLogins === 'contained');

  // The engine the policy names must be the engine we reached.
  if (context.engine === 'sqlserver' && isAzureDb) {
    checks.push({
      name: 'engine',
      ok: false,
      detail: 'the server is Azure SQL Database (EngineEdition 5) but the policy says engine: sqlserver',
      fix: 'set warehouse.engine: azure-sql in the policy',
    });
  } else if (context.engine === 'azure-sql' && s.engine_edition !== null && !isAzureDb) {
    checks.push({
      name: 'engine',
      ok: false,
      detail: `the server reports EngineEdition ${s.engine_edition}, not Azure SQL Database (5), but the policy says engine: azure-sql`,
      fix: 'set warehouse.engine: sqlserver in the policy',
    });
  } else {
    checks.push({ name: 'engine', ok: true, detail: `EngineEdition ${s.engine_edition ?? 'unknown'} matches engine ${context.engine}` });
  }

  // system_managed needs SQL authentication (seed 000), and so does any generated login.
  if (context.engine === 'sqlserver' && desired.logins.length > 0) {
    const ok = s.integrated_security_only === 0;
    checks.push({
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
    });
  }

  // Creating logins: securityadmin or ##MS_LoginManager## (or ALTER ANY LOGIN), and access to master.
  if (needsLogins) {
    if (context.engine === 'sqlserver') {
      const ok = yes(s.can_alter_any_login);
      checks.push({
        name: 'login-management',
        ok,
        detail: ok
          ? `${login} holds ALTER ANY LOGIN (directly, or through securityadmin / ##MS_LoginManager## / sysadmin)`
          : `${login} cannot create logins: it needs ALTER ANY LOGIN, or membership in securityadmin or ##MS_LoginManager##`,
        ...(ok ? {} : { fix: `USE [master]; GRANT ALTER ANY LOGIN TO ${qLogin};` }),
      });
      const master = yes(s.has_master_access);
      checks.push({
        name: 'master-access',
        ok: master,
        detail: master ? `${login} can use the master database` : `${login} has no access to the master database`,
        ...(master ? {} : { fix: `USE [master]; CREATE USER ${qLogin} FOR LOGIN ${qLogin};` }),
      });
    } else if (facts.masterError !== undefined || !facts.master) {
      checks.push({
        name: 'master-access',
        ok: false,
        detail: `cannot connect to the master database of the logical server: ${facts.masterError ?? 'not checked'}`,
        fix: `-- in master: CREATE USER ${qLogin} FOR LOGIN ${qLogin};`,
      });
    } else {
      const m = facts.master;
      checks.push({ name: 'master-access', ok: true, detail: `${login} can connect to master` });
      const ok = yes(m.is_ms_loginmanager) || yes(m.is_loginmanager) || m.user_name === 'dbo';
      checks.push({
        name: 'login-management',
        ok,
        detail: ok
          ? `${login} can manage logins in master (${yes(m.is_ms_loginmanager) ? '##MS_LoginManager##' : yes(m.is_loginmanager) ? 'loginmanager' : 'server admin'})`
          : `${login} cannot create logins: it needs membership in ##MS_LoginManager## (or the loginmanager role in master)`,
        ...(ok ? {} : { fix: `-- in master: ALTER SERVER ROLE ##MS_LoginManager## ADD MEMBER ${qLogin};` }),
      });
    }
  }

  // db_securityadmin and db_accessadmin in the warehouse (db_owner covers both).
  for (const role of ['db_securityadmin', 'db_accessadmin'] as const) {
    const member = role === 'db_securityadmin' ? s.is_db_securityadmin : s.is_db_accessadmin;
    const ok = yes(member) || yes(s.is_db_owner);
    checks.push({
      name: role,
      ok,
      detail: ok
        ? `${user} is a member of ${yes(member) ? role : 'db_owner'} in ${s.database_name ?? desired.database}`
        : `${user} is not a member of ${role} in ${s.database_name ?? desired.database}`,
      ...(ok ? {} : { fix: `ALTER ROLE [${role}] ADD MEMBER ${qUser};` }),
    });
  }

  // App schemas that do not exist yet are created by pmgrants (CREATE SCHEMA ... AUTHORIZATION).
  const existing = new Map(facts.schemas.map((r) => [r.schema_name, r]));
  const missing = desired.schemas.filter((sc) => !existing.has(sc.name));
  if (missing.length > 0) {
    const ok = yes(s.can_create_schema);
    checks.push({
      name: 'create-schema',
      ok,
      detail: ok
        ? `${user} can create the ${missing.length} missing app schema${missing.length === 1 ? '' : 's'}`
        : `${user} cannot create schemas, and ${missing.map((m) => m.name).join(', ')} do not exist yet`,
      ...(ok ? {} : { fix: `GRANT CREATE SCHEMA TO ${qUser};` }),
    });
  }

  // single_account: read/write on the app schemas (seed 000).
  if (desired.mode === 'single_account') {
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
  }

  // Generated logins must not hold server roles: pmgrants grants them nothing server-wide.
  if (facts.serverRoleMembers) {
    const prefix = desired.prefix.toLowerCase();
    const leaks = facts.serverRoleMembers.filter((r) => r.member_name.toLowerCase().startsWith(prefix) && r.role_name !== 'public');
    checks.push({
      name: 'generated-logins-server-roles',
      ok: leaks.length === 0,
      detail:
        leaks.length === 0
          ? `no login named ${desired.prefix}* is a member of a server role`
          : `generated logins hold server roles: ${leaks.map((l) => `${l.member_name} in ${l.role_name}`).join(', ')}`,
      ...(leaks.length === 0 ? {} : { fix: leaks.map((l) => `ALTER SERVER ROLE ${safeQuote(l.role_name)} DROP MEMBER ${safeQuote(l.member_name)};`).join(' ') }),
    });
  }
  return checks;
}

function safeQuote(name: string): string {
  try {
    return quoteName(name);
  } catch {
    return '[<name too long>]';
  }
}
