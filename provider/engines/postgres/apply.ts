import type { Client as PgClient } from 'pg';
import { PartialApplyError, PmgrantsError } from '../../model/errors';
import { Statement } from '../../model/statement';
import { ApplyOptions, ApplyProgress, ApplyResult, PasswordLifetime } from '../engine';
import { newPasswordGeneration } from '../generation';
import { LockHolder, lockTimeoutError } from '../lock';
import { isConnectionLost, isPgError, messageOf, reasonOf, transientConflictOf } from './errors';
import { Blocked, watchBlockers } from './blockers';
import { lockTimeoutOf, retryTransient, TransientConflict } from '../busy';
import { markerSql } from './marker';
import { PASSWORD_SESSION_LOCK_KEY, PASSWORD_SESSIONS, PASSWORDS_PER_TRIP, PasswordSetter, passwordsFailed, PendingPassword } from './passwords';
import { quoteIdent, quoteLiteral } from './quote';
import { GrantParts, grantPartsOf, roleEffectOf } from './render';
import { generatePassword } from './scram';
import { PostgresSession, rowsOf } from './session';
import { pushAll } from '../../model/collections';

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
  /** How long the passwords are valid, and whether a checkout takes them (ApplyOptions.passwordLifetime). */
  lifetime?: PasswordLifetime;
  /** Seconds a statement (and a password trip) waits for a lock (ApplyOptions.patience). */
  lockTimeoutSeconds?: number;
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
    if (run) pushAll(units, coalesce(run.items, run.kind));
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
        pushAll(logins, created);
        newLogins.push(login);
        early.add(login);
      } else pushAll(units, created);
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
      pushAll(set.items, entry.items);
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
 * sees an apply half done. A lost session releases it. The apply lock is waited for as long as
 * `lockTimeoutSeconds` (another pmgrants apply finishing); every statement after it waits at most
 * `statementLockTimeoutSeconds` for a lock on a table or role (a reader's, a DBA's), so that readers
 * who queue behind the apply's request never wait longer than that (engines/busy.ts retries).
 */
export function beginSql(lockTimeoutSeconds: number, takeLock = true, statementLockTimeoutSeconds = lockTimeoutSeconds): string {
  if (!Number.isFinite(lockTimeoutSeconds) || lockTimeoutSeconds <= 0) throw new PmgrantsError('the apply lock timeout must be a positive number of seconds');
  if (!Number.isFinite(statementLockTimeoutSeconds) || statementLockTimeoutSeconds <= 0) throw new PmgrantsError('the lock timeout must be a positive number of seconds');
  const timeout = (seconds: number) => `SET LOCAL lock_timeout = ${quoteLiteral(`${Math.max(1, Math.round(seconds * 1000))}ms`)}`;
  const statements = takeLock && statementLockTimeoutSeconds !== lockTimeoutSeconds;
  return [
    'BEGIN',
    timeout(takeLock ? lockTimeoutSeconds : statementLockTimeoutSeconds),
    ...(takeLock ? [`SELECT pg_advisory_lock(${APPLY_LOCK_KEY})`] : []),
    ...(statements ? [timeout(statementLockTimeoutSeconds)] : []),
  ].join(';\n');
}

/** The pg_locks row of an advisory lock: a bigint key shows as its high and low 32 bits (classid, objid) with objsubid 1. */
const lockRow = (key: string) => `locktype = 'advisory' AND objsubid = 1 AND classid::bigint = (${key}::bigint >> 32) AND objid::bigint = (${key}::bigint & 4294967295)`;
const APPLY_LOCK_ROW = lockRow(APPLY_LOCK_KEY);

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

// ---------------------------------------------------------------------------------------------
// Running an apply on a session (EngineConnection.apply and lockForApply).
// ---------------------------------------------------------------------------------------------

/**
 * Under the apply lock, wait (at most the lock timeout) until no password session of an earlier apply
 * is left (see PASSWORD_SESSION_LOCK_KEY); when one outlasts it, let the apply lock go and say so.
 */
async function waitPasswordSessions(session: PostgresSession, c: PgClient): Promise<void> {
  try {
    await session.run(waitPasswordSessionsSql(session.lockTimeoutSeconds), undefined, c);
  } catch (err) {
    if ((err as { code?: string }).code !== '55P03') throw err;
    await session.run(unlockSql, undefined, c).catch(() => session.dropSession());
    throw new PmgrantsError(
      `a password session of an interrupted pmgrants apply on ${session.where} was still running after ${session.lockTimeoutSeconds} s; nothing was applied, run the command again when it has ended`,
    );
  }
}

/** EngineConnection.lockForApply: the session-level advisory lock, on the main session, until released. */
export async function lockForApply(session: PostgresSession, onWait?: (holder: LockHolder) => void): Promise<() => Promise<void>> {
  if (session.lockedOn) throw new Error('lockForApply: this connection holds the apply lock already');
  const c = session.client ?? (await session.session());
  const { where, lockTimeoutSeconds } = session;
  const holderNow = async (): Promise<LockHolder> => {
    const row = rowsOf(await session.run(lockHolderSql, undefined, c))[0] as { pid?: number; backend_start?: Date | null; application_name?: string | null } | undefined;
    return { ...(row?.pid ? { session: `pid ${row.pid}` } : {}), ...(row?.backend_start ? { since: row.backend_start } : {}), ...(row?.application_name ? { program: row.application_name } : {}) };
  };
  try {
    const first = rowsOf(await session.run(tryLockSql, undefined, c))[0] as { locked?: boolean; password_sessions?: boolean } | undefined;
    if (!first?.locked) {
      const holder = await holderNow();
      onWait?.(holder);
      try {
        await session.run(waitLockSql(lockTimeoutSeconds), undefined, c);
      } catch (err) {
        if ((err as { code?: string }).code === '55P03') throw lockTimeoutError(where, holder, lockTimeoutSeconds);
        throw err;
      }
    }
    // A killed apply's password sessions may still be setting passwords: the catalog is read after them.
    if (!first?.locked || first.password_sessions) await waitPasswordSessions(session, c);
  } catch (err) {
    if (err instanceof PmgrantsError) throw err;
    throw new PmgrantsError(`taking the apply lock on ${where} failed: ${messageOf(err, [])}`);
  }
  session.lockedOn = c;
  return async () => {
    if (session.lockedOn !== c) return;
    session.lockedOn = undefined;
    // A lost session released the lock already.
    if (session.client === c) await session.run(unlockSql, undefined, c).catch(() => session.dropSession());
  };
}

/**
 * Extra sessions for the passwords, opened first, so that they are ready when the first passwords are;
 * one that cannot be opened (max_connections, say) only means fewer at once. As many as there are
 * trips of passwords, less one when all of them wait for the commit (rotations only: the apply's own
 * session joins then). Logins are counted from the statements that set a password, which is what
 * prepareStatements will find.
 */
function openPasswordSessions(session: PostgresSession, statements: readonly Statement[]): { sessions: Promise<PgClient[]>; close(): Promise<unknown> } {
  const passwordLogins = new Set<string>();
  let creates = false;
  for (const s of statements) {
    const param = s.params[0];
    if (param === undefined || !('secretFor' in param)) continue;
    passwordLogins.add(param.secretFor);
    creates ||= s.sql.startsWith('CREATE ROLE ');
  }
  const passwordTrips = Math.ceil(passwordLogins.size / PASSWORDS_PER_TRIP);
  const extraWanted = Math.min(PASSWORD_SESSIONS - 1, creates ? passwordTrips : passwordTrips - 1);
  const sessions = Promise.all(Array.from({ length: Math.max(0, extraWanted) }, () => session.open(false).catch(() => undefined))).then((cs) =>
    cs.filter((c): c is PgClient => c !== undefined),
  );
  return { sessions, close: () => sessions.then((cs) => Promise.all(cs.map((c) => c.end().catch(() => undefined)))) };
}

const interrupted = () => new PmgrantsError('the apply was interrupted before its commit; it was rolled back and nothing was applied');

/**
 * EngineConnection.apply. Under lockForApply the lock is held on the session that holds it and stays
 * held after the apply (its release function lets it go); without it, the apply takes the lock in its
 * first round trip and lets it go. No await comes before the first round trip when the session is
 * open and there are no passwords to deliver: it is on its way when this returns its promise.
 */
export async function applyStatements(session: PostgresSession, statements: readonly Statement[], progress?: ApplyProgress, options: ApplyOptions = {}): Promise<ApplyResult> {
  const held = session.lockedOn;
  if (held && session.client !== held) throw session.sessionLost();
  const extra = openPasswordSessions(session, statements);
  let prepared: PreparedApply;
  try {
    prepared = {
      ...prepareStatements(statements, undefined, session.warehouse),
      ...(options.passwordLifetime ? { lifetime: options.passwordLifetime } : {}),
      lockTimeoutSeconds: lockTimeoutOf(options.patience),
    };
  } catch (err) {
    await extra.close();
    throw err;
  }
  const batches = batchStatements(prepared.units, session.batchSize);
  const before = session.trips;
  if (batches.length === 0 && prepared.logins.length === 0 && prepared.passwords.length === 0) {
    await extra.close();
    return { statements: 0, roundTrips: 0, secrets: prepared.secrets };
  }
  // Write-ahead: the passwords are where they are delivered before the server sees anything.
  try {
    if (options.signal?.aborted) throw interrupted();
    if (options.deliver && prepared.passwords.length > 0) {
      const validUntil = options.passwordLifetime?.validUntil?.toISOString();
      await options.deliver(prepared.passwords.map((p) => ({ login: p.login, password: p.password, generation: p.generation, ...(validUntil ? { validUntil } : {}) })));
    }
    if (options.signal?.aborted) throw interrupted();
  } catch (err) {
    await extra.close();
    throw err;
  }
  session.warnings = [];
  const statementLockTimeout = prepared.lockTimeoutSeconds!;
  // A try rolled back by somebody else's work (a lock not had in time, a deadlock, a concurrent GRANT)
  // left nothing on the server: the same statements, with the same passwords already delivered, are
  // tried again (engines/busy.ts). Only the first try uses the sessions opened ahead.
  let tries = 0;
  return retryTransient(
    () => new ApplyRun(session, statements, prepared, batches, tries++ === 0 ? extra : openPasswordSessions(session, statements), held, progress, options.signal, before, statementLockTimeout).run(),
    options.patience,
    options.signal,
  );
}

/**
 * One apply on its session: the first transaction (new logins, committed on their own), the main one
 * (every other change), then the passwords on every session. Where it stands is in its fields, so
 * that a failure at any point undoes, or says, exactly what is left.
 */
class ApplyRun {
  private done = 0;
  private readonly passwords: PasswordSetter;
  /** Statements the first transaction carries out. */
  private readonly inFirst: Set<number>;
  /** Statements of the main transaction, by the last command carrying them out. */
  private readonly inTransactionOrder: { last: number; index: number }[];
  private inTransaction = false;
  private locked = false;
  private pinned: PgClient | undefined;
  private loginsCommitted = false;
  private loginsMaybeCommitted = false;
  private committing = false;
  private committed = false;
  /** The apply lock is held (the first round trip took it, or lockForApply did): a lock wait after this is a table's or a role's. */
  private lockHeld = false;
  /** Who blocked the last round trip that waited, as seen while it waited. */
  private blocked: Blocked | undefined;

  constructor(
    private readonly session: PostgresSession,
    private readonly statements: readonly Statement[],
    private readonly prepared: PreparedApply,
    private readonly batches: PreparedStatement[][],
    private readonly extra: { sessions: Promise<PgClient[]>; close(): Promise<unknown> },
    private readonly held: PgClient | undefined,
    private readonly progress: ApplyProgress | undefined,
    private readonly signal: AbortSignal | undefined,
    /** Round trips made before the apply began. */
    private readonly before: number,
    /** Seconds a statement waits for a lock (ApplyOptions.patience). */
    private readonly statementLockTimeout: number,
  ) {
    // A statement is done when the last command carrying it out (a login's CREATE is followed by its
    // marker; GRANTs may be sent together) has run; one that only sets a password, when that is set.
    this.inFirst = new Set(prepared.logins.flatMap((u) => u.covers));
    const lastUnit = new Array<number>(statements.length).fill(-1);
    prepared.units.forEach((u, i) => u.covers.forEach((s) => (lastUnit[s] = Math.max(lastUnit[s], i))));
    this.inTransactionOrder = lastUnit.map((last, index) => ({ last, index })).filter((x) => x.last >= 0);
    const onlyPassword = new Set(lastUnit.flatMap((last, index) => (last < 0 && !this.inFirst.has(index) ? [index] : [])));
    this.passwords = new PasswordSetter(session, prepared, (index) => (onlyPassword.has(index) ? this.report(index) : undefined), signal);
    this.passwords.add(prepared.passwords.filter((p) => p.early));
  }

  /** Awaited only when the callback returns a promise: a round trip completes thousands of statements. */
  private report(index: number): void | Promise<void> {
    this.done++;
    return this.progress?.(this.done, this.statements.length, this.statements[index]);
  }

  private checkWarnings(): void {
    const { warnings } = this.session;
    if (warnings.length > 0) throw new PmgrantsError(`the server warned "${warnings[0]}"; the transaction was rolled back and nothing was applied`);
  }

  async run(): Promise<ApplyResult> {
    const { session } = this;
    try {
      // Without an await when the session is open: the first trip is sent before apply returns its promise.
      this.pinned = this.held ?? session.client ?? (await session.session());
      // Set first: a failed lock wait leaves the transaction open (aborted) and it must be rolled back.
      this.inTransaction = true;
      if (this.prepared.logins.length > 0) await this.firstTransaction(this.pinned);
      else {
        this.lockHeld = !!this.held;
        await session.run(beginSql(session.lockTimeoutSeconds, !this.held, this.statementLockTimeout), undefined, this.pinned);
        this.locked = !this.held;
        this.lockHeld = true;
      }
      await this.mainTransaction(this.pinned);
      this.committed = true;
      // Every session sets what is left, and the passwords that had to wait for the commit.
      this.passwords.add(this.prepared.passwords.filter((p) => !p.early));
      this.passwords.join(this.pinned, true);
      for (const c of await this.extra.sessions) this.passwords.join(c);
      const outcome = await this.passwords.settle();
      if (outcome.failure !== undefined) throw passwordsFailed(this.prepared, outcome);
      return { statements: this.statements.length, roundTrips: session.trips - this.before, secrets: this.prepared.secrets };
    } catch (err) {
      throw await this.failure(err);
    } finally {
      session.warnings = [];
      await this.extra.close();
      // The apply lock is the session's: release it (a lost session has released it already).
      if (this.locked && this.pinned && session.client === this.pinned) await session.run(unlockSql, undefined, this.pinned).catch(() => session.dropSession());
    }
  }

  /**
   * The new logins, committed on their own. The first transaction, its COMMIT and the main
   * transaction's BEGIN ride with its statements: a failure before the COMMIT skips the rest of the
   * string and leaves the transaction aborted.
   */
  private async firstTransaction(pinned: PgClient): Promise<void> {
    const { session, held } = this;
    const firstTrips = batchStatements(this.prepared.logins, session.batchSize).map(batchSql);
    firstTrips[0] = `${beginSql(session.lockTimeoutSeconds, !held, this.statementLockTimeout)};\n${firstTrips[0]}`;
    firstTrips[firstTrips.length - 1] += this.batches.length > 0 ? `;\nCOMMIT;\n${beginSql(this.statementLockTimeout, false)}` : ';\nCOMMIT';
    // The first trip takes the lock and may fail after it: a session lock taken in a transaction
    // that is rolled back is still held, so it is released in any case (finally).
    this.locked = !held;
    for (const [i, sql] of firstTrips.entries()) {
      if (i === firstTrips.length - 1) this.loginsMaybeCommitted = true;
      if (this.signal?.aborted) throw interrupted();
      // The first trip waits for the apply lock first: who blocks it then is another apply (lockForApply says so).
      if (i === 0 && !held) await session.run(sql, undefined, pinned);
      else await this.send(sql, pinned);
      this.lockHeld = true;
      this.checkWarnings();
    }
    this.loginsCommitted = true;
    this.inTransaction = this.batches.length > 0;
    // The new logins' passwords are set on the extra sessions while the main transaction runs.
    for (const c of await this.extra.sessions) this.passwords.join(c);
    for (const index of this.inFirst) {
      const reported = this.report(index);
      if (reported) await reported;
    }
  }

  /**
   * One round trip of the transaction, watched: one that is still out after half the lock timeout may
   * be waiting for a lock, and the server is asked, meanwhile, who holds it (watchBlockers).
   */
  private async send(sql: string, pinned: PgClient): Promise<void> {
    const watch = watchBlockers(this.session, pinned, Math.max(200, this.statementLockTimeout * 500));
    try {
      await this.session.run(sql, undefined, pinned);
    } finally {
      const blocked = await watch.stop();
      if (blocked) this.blocked = blocked;
    }
  }

  /** Every other change, batch by batch, then COMMIT. Progress is reported after each round trip, once per statement it completed. */
  private async mainTransaction(pinned: PgClient): Promise<void> {
    const { session, inTransactionOrder } = this;
    let next = 0;
    let sent = 0;
    for (const batch of this.batches) {
      if (this.signal?.aborted) throw interrupted();
      await this.send(batchSql(batch), pinned);
      this.checkWarnings();
      sent += batch.length;
      while (next < inTransactionOrder.length && inTransactionOrder[next].last < sent) {
        const reported = this.report(inTransactionOrder[next++].index);
        if (reported) await reported;
      }
    }
    if (this.inTransaction) {
      if (this.signal?.aborted) throw interrupted();
      this.committing = true;
      await session.run('COMMIT', undefined, pinned);
      this.committing = false;
      this.inTransaction = false;
    }
  }

  /** The error an apply that failed at this point ends with: rolled back, its new logins dropped again, or what is left said. */
  private async failure(err: unknown): Promise<unknown> {
    if (err instanceof PartialApplyError) return err;
    const { session, pinned, prepared } = this;
    const alive = pinned !== undefined && session.client === pinned;
    if (this.inTransaction && alive) await session.run('ROLLBACK', undefined, pinned).catch(() => session.dropSession());
    this.passwords.stop();
    const { set, hidden } = await this.passwords.settle();
    const conflict = this.lockHeld && !this.committed && !this.committing && alive ? transientConflictOf(err) : undefined;
    // The main transaction failed: its new logins are dropped again, so that nothing is applied (early
    // passwords were set on those logins only).
    const undo = this.loginsCommitted && !this.committed && !(this.committing && isConnectionLost(err)) ? await dropNewLogins(prepared.newLogins, session.client === pinned ? pinned : undefined, await this.extra.sessions) : undefined;
    if (conflict && (this.loginsCommitted ? undo === undefined : set.size === 0)) {
      // Rolled back whole: nothing of this try is left, so it may be tried again.
      const on = this.blocked?.waitingOn;
      const what = conflict.lockWait ? `a lock${on ? ` on ${on}` : ''} was not granted within ${this.statementLockTimeout} s` : conflict.what;
      return new TransientConflict(what, conflict.lockWait ? (this.blocked?.blockers ?? []) : [], conflict.lockWait);
    }
    let message = messageOf(err, hidden);
    const logins = `${prepared.newLogins.length} new login${prepared.newLogins.length === 1 ? '' : 's'}`;
    if (this.committing && isConnectionLost(err)) {
      message = 'the connection was lost while committing, so the apply may or may not have been committed; plan again to see where the database stands';
    } else if (this.loginsCommitted && !this.committed) {
      if (undo === undefined) return err instanceof PmgrantsError ? new PmgrantsError(message, err.exitCode) : new PmgrantsError(message);
      message = `${message.replace(/\.$/, '')}; the ${logins} created before it could not be dropped again (${undo.replace(/\.$/, '')}), so they remain, without privileges, and the next apply continues from there`;
    } else if (this.loginsMaybeCommitted && isConnectionLost(err)) {
      message = `${message.replace(/\.$/, '')}; the ${logins} created first may or may not have been committed; plan again to see where the database stands`;
    }
    if (set.size > 0) return new PartialApplyError(message, set);
    return err instanceof PmgrantsError ? new PmgrantsError(message, err.exitCode) : isPgError(err) || isConnectionLost(err) ? new PmgrantsError(message) : err;
  }
}

/**
 * Drop the logins an apply created in its first transaction, after its main transaction failed, under
 * the apply lock: on the apply's own session, which holds it; when that session is lost (and the lock
 * with it), on an extra session that takes the lock again, unless another apply got it first.
 * Undefined when done; else why not.
 */
async function dropNewLogins(logins: readonly string[], pinned: PgClient | undefined, extra: readonly PgClient[]): Promise<string | undefined> {
  const drop = dropLoginsSql(logins);
  if (pinned) {
    try {
      await pinned.query(drop);
      return undefined;
    } catch (err) {
      return reasonOf(err, []);
    }
  }
  let reason = 'the session was lost, and no other was left';
  for (const c of extra) {
    try {
      const r = await c.query(`SELECT pg_try_advisory_lock(${APPLY_LOCK_KEY}) AS locked`);
      if (!r.rows[0]?.locked) return 'the session was lost, and another apply holds the lock now';
      try {
        await c.query(drop);
        return undefined;
      } catch (err) {
        if (!isConnectionLost(err)) return reasonOf(err, []);
        throw err;
      } finally {
        await c.query(unlockSql).catch(() => undefined);
      }
    } catch (err) {
      reason = reasonOf(err, []);
    }
  }
  return reason;
}
