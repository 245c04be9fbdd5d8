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
  /** The shared lock table's size in objects: max_locks_per_transaction x (max_connections + max_prepared_transactions). Absent in older fixtures. */
  lockSlots?: number;
  maxLocksPerTransaction?: number;
  /** Relations (tables, views, ...; not partitions) of each schema with personal columns: each gets a masked view per companion schema. */
  maskedRelations?: Record<string, number>;
}

/**
 * Lock-table entries one masked view takes while the transaction that makes it runs: the view and its
 * base table. Measured by bench:masking (20,000 views in one first apply needed about 40,000).
 */
export const LOCKS_PER_MASKED_VIEW = 2;

/** Oldest server the catalog queries and GRANT ... ON ALL ROUTINES support. */
export const MIN_SERVER_VERSION = 120000;

/** Oldest server that masks personal data: the pseudonym key comes from gen_random_uuid(), built in from 13. */
export const MASKING_SERVER_VERSION = 130000;

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
  // Personal data: the pseudonym key is generated by the server's gen_random_uuid() (PostgreSQL 13+, masking.ts).
  if (desired.masking) {
    checks.push(
      f.versionNum >= MASKING_SERVER_VERSION
        ? { name: 'personal-data', ok: true, detail: `PostgreSQL ${f.version} generates the pseudonym key itself (gen_random_uuid)` }
        : { name: 'personal-data', ok: false, detail: `PostgreSQL ${f.version} cannot generate the pseudonym key without an extension (gen_random_uuid() is built in from PostgreSQL 13): personal columns need PostgreSQL 13 or later` },
    );
  }
  const lockTable = lockTableCheck(f, desired);
  if (lockTable) checks.push(lockTable);
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

/**
 * Personal data: an apply makes every masked view it needs in one transaction, and a transaction's
 * locks live in the shared lock table until it ends ("out of shared memory", 53200, when it is full).
 * At most every relation of the masked schemas gets a view per companion schema (the first apply):
 * that must fit, with the other sessions' locks beside it (a quarter of the table is left to them).
 */
function lockTableCheck(f: ProvisioningFacts, desired: DesiredState): PreflightCheck | undefined {
  if (!desired.masking || f.lockSlots === undefined || f.maskedRelations === undefined) return undefined;
  let views = 0;
  for (const app of desired.masking.apps) views += (f.maskedRelations[app.schema] ?? 0) * app.companions.length;
  const needed = views * LOCKS_PER_MASKED_VIEW;
  const room = Math.floor(f.lockSlots * 0.75);
  const sizes = `the lock table holds ${f.lockSlots.toLocaleString('en-US')} (max_locks_per_transaction ${f.maxLocksPerTransaction ?? '?'} x (max_connections + max_prepared_transactions))`;
  if (needed <= room) {
    return { name: 'lock-table', ok: true, detail: `making all ${views.toLocaleString('en-US')} masked views in one transaction takes about ${needed.toLocaleString('en-US')} locks; ${sizes}` };
  }
  // The per-process setting that makes room: the table grows with it in proportion.
  const perProcess = f.maxLocksPerTransaction ?? 64;
  const wanted = Math.ceil((perProcess * needed) / room / 64) * 64;
  return {
    name: 'lock-table',
    ok: false,
    detail: `an apply that makes all ${views.toLocaleString('en-US')} masked views (the first one) takes about ${needed.toLocaleString('en-US')} locks in one transaction, and ${sizes}: it would fail with "out of shared memory" and change nothing`,
    fix: `ALTER SYSTEM SET max_locks_per_transaction = ${wanted}; -- then restart the server (the setting is read at start)`,
  };
}
