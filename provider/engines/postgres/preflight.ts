import { DesiredState } from '../../model/types';
import { PreflightCheck } from '../engine';
import { quoteIdent } from './quote';

/** What sql/provisioning-role.sql returns. */
export interface ProvisioningFacts {
  user: string;
  database: string;
  version: string;
  versionNum: number;
  passwordEncryption: string;
  superuser: boolean;
  createRole: boolean;
  createInDatabase: boolean;
  grantConnect: boolean;
  /** member: acts as the owner; admin: holds that membership WITH ADMIN OPTION. */
  schemas: { schema: string; owner: string; member: boolean; admin?: boolean }[];
}

/** Oldest server the catalog queries and GRANT ... ON ALL ROUTINES support. */
export const MIN_SERVER_VERSION = 120000;

/** Facts about the provisioning role -> verdicts, each failed one with the statement a DBA runs to fix it. Pure. */
export function preflightChecks(f: ProvisioningFacts, desired: DesiredState): PreflightCheck[] {
  const me = quoteIdent(f.user);
  const checks: PreflightCheck[] = [];
  checks.push(
    f.versionNum >= MIN_SERVER_VERSION
      ? { name: 'server', ok: true, detail: `PostgreSQL ${f.version}, connected as "${f.user}" to database "${f.database}"` }
      : { name: 'server', ok: false, detail: `PostgreSQL ${f.version} is too old; pmgrants needs 12 or later` },
  );
  checks.push(
    f.database === desired.database
      ? { name: 'database', ok: true, detail: `connected to the policy's database "${f.database}"` }
      : {
          name: 'database',
          ok: false,
          detail: `connected to database "${f.database}" but the policy's warehouse.database is "${desired.database}"; connect to that database (create it first if needed)`,
          fix: `CREATE DATABASE ${quoteIdent(desired.database)};`,
        },
  );
  checks.push(
    f.superuser || f.createRole
      ? { name: 'create-role', ok: true, detail: f.superuser ? `"${f.user}" is a superuser` : `"${f.user}" has CREATEROLE` }
      : { name: 'create-role', ok: false, detail: `"${f.user}" needs CREATEROLE to create and alter logins and roles`, fix: `ALTER ROLE ${me} CREATEROLE;` },
  );
  checks.push(
    f.superuser || f.createInDatabase
      ? { name: 'create-schema', ok: true, detail: `"${f.user}" may create schemas in "${f.database}"` }
      : { name: 'create-schema', ok: false, detail: `"${f.user}" needs CREATE on database "${f.database}" to create app schemas`, fix: `GRANT CREATE ON DATABASE ${quoteIdent(f.database)} TO ${me};` },
  );
  // From PostgreSQL 16 granting a role needs ADMIN OPTION on it (GRANT: "the grantor must have ADMIN
  // OPTION on the role"; CREATEROLE no longer suffices), and an apply grants each existing owner role to
  // the app's login: membership alone lets doctor pass and apply fail.
  const needsAdmin = f.versionNum >= 160000;
  const foreign = f.superuser ? [] : f.schemas.filter((s) => !s.member || (needsAdmin && s.admin === false));
  checks.push(
    foreign.length === 0
      ? { name: 'schema-ownership', ok: true, detail: f.schemas.length === 0 ? 'no app schema exists yet' : `"${f.user}" acts as the owner of ${f.schemas.length} existing app schema(s)` }
      : {
          name: 'schema-ownership',
          ok: false,
          detail: needsAdmin
            ? `"${f.user}" is not a member WITH ADMIN OPTION of the owner of schema(s) ${foreign.map((s) => `"${s.schema}" (owner "${s.owner}")`).join(', ')}, so it can neither grant on their objects nor make the app's login a member of the owner (PostgreSQL 16 and later need ADMIN OPTION to grant a role)`
            : `"${f.user}" is not a member of the owner of schema(s) ${foreign.map((s) => `"${s.schema}" (owner "${s.owner}")`).join(', ')}, so it can neither grant on their objects nor hand them to the app's owner role`,
          fix: [...new Set(foreign.map((s) => s.owner))].map((o) => `GRANT ${quoteIdent(o)} TO ${me}${needsAdmin ? ' WITH ADMIN OPTION' : ''};`).join(' '),
        },
  );
  checks.push(
    f.superuser || f.grantConnect
      ? { name: 'grant-connect', ok: true, detail: `"${f.user}" may grant CONNECT on "${f.database}" to the roles it creates` }
      : {
          name: 'grant-connect',
          ok: false,
          detail: `"${f.user}" needs CONNECT on "${f.database}" WITH GRANT OPTION (or to own the database) to let generated logins and personas connect`,
          fix: `GRANT CONNECT ON DATABASE ${quoteIdent(f.database)} TO ${me} WITH GRANT OPTION;`,
        },
  );
  if (desired.mode === 'system_managed' || desired.logins.length > 0) {
    checks.push(
      f.passwordEncryption === 'scram-sha-256'
        ? { name: 'password-encryption', ok: true, detail: 'password_encryption is scram-sha-256' }
        : {
            name: 'password-encryption',
            ok: false,
            detail: `password_encryption is ${f.passwordEncryption}; generated logins need SCRAM authentication (pmgrants stores SCRAM-SHA-256 verifiers; pg_hba.conf must accept scram-sha-256 for them)`,
            fix: "ALTER SYSTEM SET password_encryption = 'scram-sha-256'; SELECT pg_reload_conf();",
          },
    );
  }
  return checks;
}
