import { PmgrantsError, Statement } from '../engine';
import { managedComment } from './marker';
import { quoteIdent, quoteLiteral } from './quote';
import { GrantParts, grantPartsOf, roleEffectOf } from './render';
import { generatePassword } from './scram';
import { newPasswordGeneration } from '../generation';

/**
 * Key of the session-level advisory lock every apply holds, from before it reads the catalog (lockForApply)
 * to after its last password, so two applies against the same database serialize instead of
 * interleaving, and each plans from what the one before it left. ASCII "pmgrants" as a bigint.
 */
export const APPLY_LOCK_KEY = '8101245045667951731';

/** A command ready to send and the statements it carries out. */
export interface PreparedStatement {
  sql: string;
  /** The (first) statement it carries out. */
  statement: Statement;
  /** Positions, in the list given to prepareStatements, of every statement it carries out (in whole or in part). */
  covers: number[];
}

/** A password to set (see prepareStatements). */
export interface PendingPassword {
  login: string;
  /** Plaintext: only its SCRAM verifier is ever sent (passwordSql). */
  password: string;
  /** The id of this password, recorded in the login's marker with it (and with the password where it is delivered). */
  generation: string;
  /** Position of the statement that asked for it. */
  index: number;
  /** A login created by the apply's first transaction: its password is set while the main transaction runs. */
  early: boolean;
}

export interface PreparedApply {
  /**
   * The first transaction: the new logins, created without a password (with the marker that says so)
   * and handed to the provisioning role. Empty when there are none.
   */
  logins: PreparedStatement[];
  /** The logins `logins` creates, in order: if the main transaction fails they are dropped again. */
  newLogins: string[];
  /** The main transaction: every other change (and logins that cannot go first, see prepareStatements). */
  units: PreparedStatement[];
  /** Passwords to set, one per login: the early ones while the main transaction runs, the rest after its commit. */
  passwords: PendingPassword[];
  /** Plaintext passwords by login: the caller's secrets. */
  secrets: Map<string, string>;
  /** Every plaintext, to scrub from any text that leaves apply (verifiers are added when computed). */
  hidden: string[];
}

/**
 * Split the statements into the apply's transactions and its passwords, generating the passwords
 * (CSPRNG).
 *
 * Why passwords are set apart: PostgreSQL spends about 3 ms of CPU on every CREATE or ALTER ROLE ...
 * PASSWORD, even given a SCRAM verifier (it checks that the password is not the empty one, which costs
 * a full 4,096-round key derivation), and one transaction runs on one core. So logins are created
 * WITHOUT a password, stamped "generated-login" with no password time, and passwordSql() sets the
 * passwords on other sessions, at once. A login whose password was not set yet cannot log in (password
 * authentication fails without one); inspect reports it and the next plan sets it (rotate-password,
 * reason "missing").
 *
 * New logins go first, in a short transaction of their own, so that their passwords are set on other
 * sessions (other cores) while the main transaction runs; if the main transaction fails, the apply
 * drops them again. A login stays in the main transaction, its password set after the commit, when
 * the plan also drops a role of the same name (a principal that changed kind): it can only be created
 * after that drop. Rotations are set after the commit.
 *
 * Consecutive GRANTs (or REVOKEs, or role memberships) that render made are sent as few commands:
 * one per target and set of privileges, naming every grantee (see coalesce). GRANTs commute with each
 * other, as REVOKEs do, so only the order inside such a run changes; runs never cross another kind of
 * statement.
 */
export function prepareStatements(
  statements: readonly Statement[],
  newPassword: () => string = generatePassword,
  warehouse?: string,
  newGeneration: () => string = newPasswordGeneration,
): PreparedApply {
  const secrets = new Map<string, string>();
  const hidden: string[] = [];
  const logins: PreparedStatement[] = [];
  const newLogins: string[] = [];
  const early = new Set<string>();
  const units: PreparedStatement[] = [];
  const passwords: PendingPassword[] = [];
  const dropped = new Set<string>();
  for (const statement of statements) {
    const effect = roleEffectOf(statement);
    if (effect?.kind === 'drop') dropped.add(effect.role);
  }
  let run: { kind: RunKind; items: RunItem[] } | undefined;
  const flush = () => {
    if (run) units.push(...coalesce(run.items, run.kind));
    run = undefined;
  };
  for (const [index, statement] of statements.entries()) {
    const parts = statement.params.length === 0 ? grantPartsOf(statement) : undefined;
    if (parts) {
      const kind = runKind(parts);
      if (run?.kind !== kind) {
        flush();
        run = { kind, items: [] };
      }
      run.items.push({ index, statement, parts });
      continue;
    }
    const effect = roleEffectOf(statement);
    if (effect?.kind === 'act-as' && early.has(effect.role)) {
      logins.push({ sql: statement.sql, statement, covers: [index] });
      continue;
    }
    flush();
    if (statement.params.length === 0) {
      units.push({ sql: statement.sql, statement, covers: [index] });
      continue;
    }
    const [param, ...rest] = statement.params;
    const suffix = ` PASSWORD ${param?.name}`;
    if (rest.length > 0 || !('secretFor' in param) || !statement.sql.endsWith(suffix)) {
      throw new Error(`apply: a PostgreSQL statement takes at most one parameter, a password placeholder at its end (${statement.display})`);
    }
    const login = param.secretFor;
    const head = statement.sql.slice(0, -suffix.length);
    if (head.startsWith('CREATE ROLE ')) {
      const first = effect?.kind === 'create-login' && effect.role === login && !dropped.has(login) && !secrets.has(login);
      const created = [
        { sql: head, statement, covers: [index] },
        { sql: markerSql(login, undefined, warehouse), statement, covers: [index] },
      ];
      if (first) {
        logins.push(...created);
        newLogins.push(login);
        early.add(login);
      } else units.push(...created);
    } else if (head !== `ALTER ROLE ${quoteIdent(login)} WITH`) {
      throw new Error(`apply: a password is set by CREATE ROLE or ALTER ROLE "<login>" WITH, not by (${statement.display})`);
    }
    if (!secrets.has(login)) {
      const password = newPassword();
      secrets.set(login, password);
      hidden.push(password);
      passwords.push({ login, password, generation: newGeneration(), index, early: early.has(login) });
    }
  }
  flush();
  return { logins, newLogins, units, passwords, secrets, hidden };
}

/**
 * The managed marker of a generated login; with the time its password was set, and the generation of
 * that password, once it has one. Without them, inspect reports the login's password as missing (see
 * also the psql script, script.ts). `warehouse` is the database that owns the login (see marker.ts).
 */
export function markerSql(login: string, passwordSetAt?: Date, warehouse?: string, generation?: string): string {
  const marker = managedComment({
    purpose: 'generated-login',
    ...(passwordSetAt ? { passwordSetAt: passwordSetAt.toISOString() } : {}),
    ...(warehouse !== undefined ? { warehouse } : {}),
    ...(generation ? { passwordGeneration: generation } : {}),
  });
  return `COMMENT ON ROLE ${quoteIdent(login)} IS ${quoteLiteral(marker)}`;
}

/**
 * Set one password: its SCRAM verifier (never the plaintext) and the marker stamped with the time,
 * which rotation by age reads back, and the password's generation, which plan compares with the
 * secrets file. Both in one command string, so one implicit transaction.
 */
export function passwordSql(login: string, verifier: string, now: Date, warehouse?: string, generation?: string): string {
  return `ALTER ROLE ${quoteIdent(login)} WITH PASSWORD ${quoteLiteral(verifier)};\n${markerSql(login, now, warehouse, generation)}`;
}

type RunKind = 'grant' | 'revoke' | 'membership';
interface RunItem {
  index: number;
  statement: Statement;
  parts: GrantParts;
}

function runKind(parts: GrantParts): RunKind {
  return parts.kind === 'membership' ? 'membership' : parts.revoke ? 'revoke' : 'grant';
}

/**
 * A run of GRANTs, REVOKEs or memberships -> the fewest commands that do the same: privileges are
 * grouped by target (`ON ...`, default-privileges role and schema, grant option), then grantees with
 * the same privileges share one command; memberships by role and admin option. Groups keep the
 * order in which they first appear. A group of one statement is sent as that statement.
 */
export function coalesce(items: readonly RunItem[], kind: RunKind): PreparedStatement[] {
  const groups = new Map<string, RunItem[]>();
  for (const item of items) {
    const p = item.parts;
    const key = p.kind === 'membership' ? `${p.role}\u0000${p.admin}` : `${p.defaultsPrefix ?? ''}\u0000${p.on}\u0000${p.grantOption}`;
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  const units: PreparedStatement[] = [];
  const single = (item: RunItem): PreparedStatement => ({ sql: item.statement.sql, statement: item.statement, covers: [item.index] });
  for (const group of groups.values()) {
    if (group.length === 1) {
      units.push(single(group[0]));
      continue;
    }
    const first = group[0].parts;
    if (first.kind === 'membership') {
      const members = [...new Set(group.map((i) => (i.parts as Extract<GrantParts, { kind: 'membership' }>).member))];
      units.push({
        sql: `GRANT ${first.role} TO ${members.join(', ')}${first.admin ? ' WITH ADMIN OPTION' : ''}`,
        statement: group[0].statement,
        covers: group.map((i) => i.index),
      });
      continue;
    }
    // grantee -> its privileges on this target; then grantees with equal privilege sets together.
    const byGrantee = new Map<string, { privileges: Set<string>; items: RunItem[] }>();
    for (const item of group) {
      const p = item.parts as Extract<GrantParts, { kind: 'privilege' }>;
      const entry = byGrantee.get(p.grantee) ?? { privileges: new Set<string>(), items: [] };
      entry.privileges.add(p.privilege);
      entry.items.push(item);
      byGrantee.set(p.grantee, entry);
    }
    const bySet = new Map<string, { privileges: string[]; grantees: string[]; items: RunItem[] }>();
    for (const [grantee, entry] of byGrantee) {
      const privileges = [...entry.privileges].sort();
      const key = privileges.join(',');
      const set = bySet.get(key) ?? { privileges, grantees: [], items: [] };
      set.grantees.push(grantee);
      set.items.push(...entry.items);
      bySet.set(key, set);
    }
    for (const set of bySet.values()) {
      if (set.items.length === 1) {
        units.push(single(set.items[0]));
        continue;
      }
      const body =
        kind === 'revoke'
          ? `REVOKE ${set.privileges.join(', ')} ${first.on} FROM ${set.grantees.join(', ')}`
          : `GRANT ${set.privileges.join(', ')} ${first.on} TO ${set.grantees.join(', ')}${first.grantOption ? ' WITH GRANT OPTION' : ''}`;
      units.push({
        sql: first.defaultsPrefix ? `${first.defaultsPrefix} ${body}` : body,
        statement: set.items[0].statement,
        covers: set.items.map((i) => i.index).sort((a, b) => a - b),
      });
    }
  }
  return units;
}

/** Units -> round trips: up to `size` statements joined into one simple-query string each. */
export function batchStatements(units: readonly PreparedStatement[], size: number): PreparedStatement[][] {
  if (!Number.isInteger(size) || size < 1) throw new PmgrantsError(`the apply batch size must be a positive integer, not ${size}`);
  const batches: PreparedStatement[][] = [];
  for (let i = 0; i < units.length; i += size) batches.push(units.slice(i, i + size));
  return batches;
}

export function batchSql(batch: readonly PreparedStatement[]): string {
  return batch.map((u) => u.sql).join(';\n');
}

/**
 * Open a transaction whose lock waits are bounded; with `takeLock`, the apply's first round trip, also
 * wait for the apply lock. The lock is the session's, not the transaction's: it is held until
 * unlockSql, after every password is set (or every new login dropped again), so another apply never
 * sees an apply half done. A lost session releases it.
 */
export function beginSql(lockTimeoutSeconds: number, takeLock = true): string {
  if (!Number.isFinite(lockTimeoutSeconds) || lockTimeoutSeconds <= 0) throw new PmgrantsError('the apply lock timeout must be a positive number of seconds');
  return [
    'BEGIN',
    `SET LOCAL lock_timeout = ${quoteLiteral(`${Math.round(lockTimeoutSeconds * 1000)}ms`)}`,
    ...(takeLock ? [`SELECT pg_advisory_lock(${APPLY_LOCK_KEY})`] : []),
  ].join(';\n');
}

/** The pg_locks row of an advisory lock: a bigint key shows as its high and low 32 bits (classid, objid) with objsubid 1. */
const lockRow = (key: string) => `locktype = 'advisory' AND objsubid = 1 AND classid::bigint = (${key}::bigint >> 32) AND objid::bigint = (${key}::bigint & 4294967295)`;
const APPLY_LOCK_ROW = lockRow(APPLY_LOCK_KEY);

/**
 * Key of the advisory lock each extra password session of an apply holds, shared, from its first
 * password round trip to its end. PostgreSQL notices that a client is gone only when it next reads
 * from it, so the round trip a session had received when its apply was killed (SIGKILL, a crash) still
 * runs, and sets its passwords after the apply is gone (seconds later if it waits for a lock). The
 * apply lock does not cover it: only the apply's own session holds that. So lockForApply also waits
 * (waitPasswordSessionsSql) until no such session is left, before the catalog is read: else the next
 * apply would take a pending password the server has not taken yet for one it never will, drop it from
 * the secrets file, and the server would then take it: a password nobody holds. ASCII "pmgpassw".
 */
export const PASSWORD_SESSION_LOCK_KEY = '8101245037078344567';

/** Prefixed to each password round trip of an extra session (a session lock: it outlives the trip's transaction). */
export const passwordSessionLockSql = `SELECT pg_catalog.pg_advisory_lock_shared(${PASSWORD_SESSION_LOCK_KEY})`;

/**
 * lockForApply's first round trip: take the apply lock if it is free, without waiting, and say whether
 * password sessions of an earlier apply are still there. When the lock is not free, lockHolderSql says
 * who has it and waitLockSql waits for it, as long as the lock timeout allows.
 */
export const tryLockSql = `SELECT pg_catalog.pg_try_advisory_lock(${APPLY_LOCK_KEY}) AS locked, EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE ${lockRow(PASSWORD_SESSION_LOCK_KEY)} AND granted AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())) AS password_sessions`;

/**
 * Wait, at most `lockTimeoutSeconds`, until no password session of an earlier apply is left: take the
 * password-session lock exclusively and let it go at once (one implicit transaction, so SET LOCAL ends
 * with it).
 */
export function waitPasswordSessionsSql(lockTimeoutSeconds: number): string {
  if (!Number.isFinite(lockTimeoutSeconds) || lockTimeoutSeconds <= 0) throw new PmgrantsError('the apply lock timeout must be a positive number of seconds');
  return [
    `SET LOCAL lock_timeout = ${quoteLiteral(`${Math.round(lockTimeoutSeconds * 1000)}ms`)}`,
    `SELECT pg_catalog.pg_advisory_lock(${PASSWORD_SESSION_LOCK_KEY})`,
    `SELECT pg_catalog.pg_advisory_unlock(${PASSWORD_SESSION_LOCK_KEY})`,
  ].join(';\n');
}

/**
 * Wait for the apply lock, at most `lockTimeoutSeconds`: a multi-statement string runs as one implicit
 * transaction, so SET LOCAL ends with it (and a lock wait that times out takes nothing).
 */
export function waitLockSql(lockTimeoutSeconds: number): string {
  if (!Number.isFinite(lockTimeoutSeconds) || lockTimeoutSeconds <= 0) throw new PmgrantsError('the apply lock timeout must be a positive number of seconds');
  return `SET LOCAL lock_timeout = ${quoteLiteral(`${Math.round(lockTimeoutSeconds * 1000)}ms`)};\nSELECT pg_catalog.pg_advisory_lock(${APPLY_LOCK_KEY})`;
}

/**
 * The session holding the apply lock in this database (advisory locks are per database), with when it
 * started; pg_stat_activity hides backend_start and application_name of other roles' sessions from a
 * role without pg_read_all_stats (they come back null).
 */
export const lockHolderSql = `SELECT a.pid, a.backend_start, a.application_name FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid WHERE ${APPLY_LOCK_ROW} AND l.granted AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) LIMIT 1`;


/**
 * Undo the first transaction after the main one failed: drop the logins it created (one statement: all
 * or none). They own nothing and hold no privilege (the main transaction was rolled back), so only
 * their own rows go; PostgreSQL refuses, and the apply reports it, if anything came to depend on one.
 */
export function dropLoginsSql(logins: readonly string[]): string {
  return `DROP ROLE ${logins.map(quoteIdent).join(', ')}`;
}

/**
 * Release the apply lock if this session holds it. A session lock survives COMMIT and ROLLBACK, even the
 * rollback of the transaction that took it, so an apply whose first round trip failed may hold it or
 * not; asking pg_locks first spares the server's warning about releasing a lock not held. A bigint key
 * shows in pg_locks as its high and low 32 bits (classid, objid) with objsubid 1.
 */
export const unlockSql = `SELECT pg_catalog.pg_advisory_unlock(${APPLY_LOCK_KEY}) FROM pg_catalog.pg_locks WHERE ${APPLY_LOCK_ROW} AND pid = pg_catalog.pg_backend_pid() AND granted`;
