import { ApplyOptions, ApplyProgress, ApplyResult, EngineConnection, EngineDialect } from '../engines/engine';
import { LockHolder } from '../engines/lock';
import { compilePolicy } from '../model/compile';
import { emptyState, sortState } from '../model/state';
import { Statement } from '../model/statement';
import { ActualState, DesiredState, Policy } from '../model/types';
import { Plan } from '../plan/change';
import { DiffOptions, diffState } from '../plan/diff';
import { PlanView } from '../plan/format';
import { claimOf, Part, sliceActual } from '../plan/slice';
import { checkConnectedDatabase, DatabaseWording, URL_WORDING } from './database';

/**
 * The one pipeline the CLI and the Pulumi provider run: compile -> inspect -> (slice) -> diff -> render
 * -> apply. The CLI plans the whole warehouse; a Pulumi resource one part of it (a PartScope).
 */

/** A plan with its statements, ready to print or apply. */
export interface RenderedPlan {
  desired: DesiredState;
  plan: Plan;
  /** statements[i] are the statements of plan.changes[i]. */
  statements: Statement[][];
}

export function roleApps(desired: DesiredState): Map<string, string> {
  const m = new Map<string, string>();
  for (const r of desired.roles) if (r.app) m.set(r.name, r.app);
  for (const u of desired.users) if (u.app) m.set(u.name, u.app);
  for (const l of desired.logins) if (l.app) m.set(l.name, l.app);
  for (const s of desired.schemas) m.set(`schema:${s.name}`, s.app);
  return m;
}

export function viewOf(rendered: RenderedPlan | { desired: DesiredState; plan: Plan; statements?: Statement[][] }, source: string): PlanView {
  return { plan: rendered.plan, ...(rendered.statements ? { statements: rendered.statements } : {}), roleApps: roleApps(rendered.desired), source };
}

function renderEach(dialect: EngineDialect, plan: Plan, desired: DesiredState): Statement[][] {
  return plan.changes.map((c) => dialect.render([c], desired));
}

/** The creation plan against an empty database; with a dialect, its statements too. */
export function planOffline(policy: Policy, dialect?: EngineDialect, now: Date = new Date()): RenderedPlan | { desired: DesiredState; plan: Plan } {
  const neutral = compilePolicy(policy, { now });
  const desired = dialect ? dialect.realize(neutral) : neutral;
  const empty: ActualState = dialect?.emptyActual?.(desired) ?? { ...emptyState(desired.engine, desired.database), managed: [] };
  const plan = diffState(desired, empty);
  if (!dialect) return { desired, plan };
  return { desired, plan, statements: renderEach(dialect, plan, desired) };
}

/** What a plan covers when it is not the whole warehouse: one part of it (a Pulumi resource, plan/slice.ts). */
export interface PartScope {
  part: Part;
  /** The desired slices whose objects the part claims: the new one and, on update or delete, the previous one. */
  claims: readonly DesiredState[];
}

/** The live state: what inspect read, and the part of it the plan compares (the whole of it, unscoped). */
export interface LiveState {
  /** What inspect read (with a scope: what the part can own, see EngineConnection.inspect). */
  whole: ActualState;
  /** What the plan compares with the desired state: `whole`, or its slice for the scope's part. */
  actual: ActualState;
}

export interface InspectOptions {
  scope?: PartScope;
  /** An inspect already under way (EngineConnection.inspectAhead), finished for `desired`. */
  ahead?: (desired: DesiredState) => Promise<ActualState>;
  /** How a connection to another database than desired.database is refused (default: the CLI's words). */
  wording?: DatabaseWording;
}

/** Inspect the live database for `desired` (realized), refuse another database than its own, slice to the scope. */
export async function inspectLive(conn: EngineConnection, desired: DesiredState, options: InspectOptions = {}): Promise<LiveState> {
  const { scope } = options;
  const scopeState = scope ? (scope.claims.length === 1 ? scope.claims[0] : scopeOf(scope.claims)) : desired;
  const whole = await (options.ahead ? options.ahead(desired) : scope ? conn.inspect(scopeState, scope.part) : conn.inspect(desired));
  checkConnectedDatabase(conn.dialect.name, whole.database, desired.database, options.wording ?? URL_WORDING);
  if (!scope) return { whole, actual: whole };
  return { whole, actual: sliceActual(whole, claimOf(scope.part, scope.claims, whole), desired) };
}

/** A state naming everything in `states`, for inspect's scope (the first state wins on a shared name). */
export function scopeOf(states: readonly DesiredState[]): DesiredState {
  const [first, ...rest] = states;
  return sortState({
    ...first,
    logins: states.flatMap((s) => s.logins),
    users: states.flatMap((s) => s.users),
    roles: states.flatMap((s) => s.roles),
    schemas: states.flatMap((s) => s.schemas),
    memberships: [...first.memberships, ...rest.flatMap((s) => s.memberships)],
    permissions: [...first.permissions, ...rest.flatMap((s) => s.permissions)],
  });
}

/** The whole warehouse's plan against the live database, its statements rendered change by change. */
export async function planLive(conn: EngineConnection, policy: Policy, options: DiffOptions = {}): Promise<RenderedPlan & { actual: ActualState }> {
  const now = options.now ?? new Date();
  const compiled = compilePolicy(policy, { now });
  const inspected = conn.inspectAhead?.(compiled);
  const desired = conn.dialect.realize(compiled);
  const { actual } = await inspectLive(conn, desired, inspected ? { ahead: inspected } : {});
  const plan = diffState(desired, actual, { ...options, now });
  return { desired, plan, actual, statements: renderEach(conn.dialect, plan, desired) };
}

export async function applyRendered(conn: EngineConnection, rendered: RenderedPlan, progress?: ApplyProgress, options?: ApplyOptions): Promise<ApplyResult> {
  const all = rendered.statements.flat();
  if (all.length === 0) return { statements: 0, roundTrips: 0, secrets: new Map() };
  return conn.apply(all, progress, options);
}

/**
 * Run `fn` holding the warehouse's apply lock (EngineConnection.lockForApply), and release it after, in
 * any case: what `fn` inspects, plans and applies is the catalog as no other apply can change it meanwhile.
 */
export async function underApplyLock<T>(conn: EngineConnection, onWait: ((holder: LockHolder) => void) | undefined, fn: () => Promise<T>): Promise<T> {
  const release = await conn.lockForApply(onWait);
  try {
    return await fn();
  } finally {
    await release();
  }
}
