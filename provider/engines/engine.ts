import { Change } from '../plan/change';
import type { Part } from '../plan/slice';
import { ActualState, DesiredState, EngineName } from '../model/types';
import { Statement } from '../model/statement';
import type { LockHolder } from './lock';
import type { Patience } from './busy';
import type { ExportCatalog } from '../export/catalog';
import type { AccessFacts } from '../model/access';

/** The pure half of an engine: no I/O. */
export interface EngineDialect {
  name: EngineName;
  /** Neutral rights -> the engine's own privileges on its own securables. */
  realize(desired: DesiredState): DesiredState;
  /** Changes -> statements, in order. Exhaustive over Change kinds. */
  render(changes: readonly Change[], desired: DesiredState): Statement[];
  /**
   * The changes that take strong locks on objects others read (readers queue behind them), one line
   * each, for the plan: reviewers see them before merging. Absent or []: none.
   */
  locksOf?(changes: readonly Change[]): string[];
  /** Describe what realize() cannot express, for validate/plan output. */
  limitations?(desired: DesiredState): string[];
  /**
   * What an empty database holds for this desired state, as inspect would report it: the engine's
   * built-in defaults the plan reverts (PostgreSQL: PUBLIC's EXECUTE on the functions the roles it
   * creates will make). Absent: nothing.
   */
  emptyActual?(desired: DesiredState): ActualState;
  /** The statements as one script a DBA can run by hand (psql / sqlcmd); never contains a secret. */
  renderScript(statements: readonly Statement[], desired: DesiredState): string;
}

export interface ApplyProgress {
  (done: number, total: number, statement: Statement): void;
}

/** A password an apply generated, with its generation (see generation.ts). Never printed. */
export interface GeneratedPassword {
  login: string;
  password: string;
  generation: string;
  /** When it stops being valid (ApplyOptions.passwordLifetime), ISO time; absent: no end. */
  validUntil?: string;
}

/**
 * How long the passwords an apply sets are valid, and who takes them (security.rotation.validFor,
 * pmgrants checkout). The same for every password of one apply: the orchestrator computes it once
 * (pipeline/plan.ts passwordLifetimeOf), before the passwords are delivered.
 */
export interface PasswordLifetime {
  /**
   * The instant they stop being valid; absent: no end. PostgreSQL sets it as the role's VALID UNTIL
   * (and 'infinity' when absent, ending an earlier lifetime); SQL Server has no expiry time for a
   * login, so there it is only what the destination is told (docs/credentials.md).
   */
  validUntil?: Date;
  /** They go to a checkout's taker: the login's marker says so (PostgreSQL), and no other destination counts them undelivered. */
  checkout?: boolean;
  /**
   * The instant the caller records as their set time (a Pulumi resource's passwordSetAt): PostgreSQL's
   * marker says the same, so a refresh finds what the state holds. Absent: the apply's own clock.
   */
  setAt?: Date;
}

export interface ApplyOptions {
  /**
   * Write-ahead delivery: called once with every password the apply generated, and awaited, before the
   * first of them (before anything at all) reaches the server. When it throws, nothing is applied.
   */
  deliver?(passwords: readonly GeneratedPassword[]): Promise<void>;
  /**
   * Stop early (SIGINT, SIGTERM): an apply not yet committed rolls back (and drops the logins it
   * created); after the commit, no further password round trip starts. The apply then fails with an
   * ApplyInterrupted (or a PartialApplyError carrying the passwords that were set).
   */
  signal?: AbortSignal;
  /** How long the passwords this apply sets are valid (absent: no end), and whether a checkout takes them. */
  passwordLifetime?: PasswordLifetime;
  /**
   * A busy warehouse: how long a statement waits for a lock, how long a transaction rolled back by a
   * conflict with somebody else's work is tried again, and who is told (engines/busy.ts). Defaults 3 s
   * and 30 s.
   */
  patience?: Patience;
}

export interface ApplyResult {
  statements: number;
  roundTrips: number;
  /** Generated passwords by login name. Callers hand them to a secret store; never print them. */
  secrets: Map<string, string>;
}

export interface PreflightCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** The exact statement a DBA would run to fix a failed check. */
  fix?: string;
}

/** The I/O half: a live connection to one warehouse. */
export interface EngineConnection {
  dialect: EngineDialect;
  /**
   * Catalog -> ActualState in a constant number of round trips. With `part`, an engine may read only
   * what that part of the warehouse can own (see plan/slice.ts): sliced by claimOf/sliceActual, the
   * result is the same slice as the whole inspect's, at a cost that does not grow with the number of
   * apps (PostgreSQL; SQL Server reads the whole warehouse).
   */
  inspect(desired: DesiredState, part?: Part): Promise<ActualState>;
  /**
   * Inspect started from the compiled state before the engine realizes it: the catalog query goes out
   * at once, and the server runs it while realize runs here. The function it returns finishes the
   * inspect for the realized state, and reads the catalog again, in its place, if realize changed what
   * the query is scoped to. The same ActualState as inspect(desired). Optional.
   */
  inspectAhead?(compiled: DesiredState): (desired: DesiredState) => Promise<ActualState>;
  /**
   * Take the warehouse's apply lock and hold it until the returned function is called: inspect, plan,
   * confirm and apply in between, so that the plan applied is computed from the catalog as it is under
   * the lock (no other pmgrants apply can change it meanwhile). Waits up to the connection's lock
   * timeout, calling `onWait` once with the holder when another apply has it, then fails with one
   * sentence naming the holder. While it is held, inspect and apply run on the session that holds it,
   * and apply does not take the lock again; a session lost meanwhile fails them (the lock went with it).
   * The release never throws.
   */
  lockForApply(onWait?: (holder: LockHolder) => void): Promise<() => Promise<void>>;
  /**
   * Run statements under a lock, all or nothing (each engine documents how it keeps that: docs/postgres.md,
   * docs/sqlserver.md). Under lockForApply it keeps that lock; without it, it takes the lock itself for
   * its own duration (the statements were then planned outside it: callers that plan use lockForApply).
   */
  apply(statements: readonly Statement[], progress?: ApplyProgress, options?: ApplyOptions): Promise<ApplyResult>;
  preflight(desired: DesiredState): Promise<PreflightCheck[]>;
  /**
   * What tells this database apart from another of the same name (one made after it was dropped):
   * PostgreSQL the database's oid, SQL Server its database_id and create_date. One round trip. The
   * Pulumi resources record it, so a refresh notices a recreated database. Optional.
   */
  databaseIdentity?(): Promise<string>;
  /** The database's security as it is, for `pmgrants export`; a constant number of round trips. */
  exportCatalog(options: { prefix?: string }): Promise<ExportCatalog>;
  /** Effective access on the desired state's app schemas, for `pmgrants report`; a constant number of round trips. */
  readAccess?(desired: DesiredState): Promise<AccessFacts>;
  /** Round trips made so far (for benchmarks). */
  roundTrips(): number;
  close(): Promise<void>;
}
