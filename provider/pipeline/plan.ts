import { ApplyOptions, ApplyProgress, ApplyResult, EngineConnection, EngineDialect, PasswordLifetime } from '../engines/engine';
import { durationMs } from '../model/duration';
import { LockHolder } from '../engines/lock';
import { compilePolicy } from '../model/compile';
import { emptyState } from '../model/state';
import { Statement } from '../model/statement';
import { ActualState, DesiredState, Policy } from '../model/types';
import { Plan } from '../plan/change';
import { DiffOptions, diffState } from '../plan/diff';
import { PlanView } from '../plan/format';
import { inspectLive } from './inspect';

/**
 * The one pipeline the CLI and the Pulumi provider run: compile -> inspect -> (slice) -> diff -> render
 * -> apply. The CLI plans the whole warehouse; a Pulumi resource one part of it (a PartScope, inspect.ts).
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

/** The statements of each change; the plan learns which of them take strong locks (the engine says). */
function renderEach(dialect: EngineDialect, plan: Plan, desired: DesiredState): Statement[][] {
  const locks = dialect.locksOf?.(plan.changes) ?? [];
  if (locks.length > 0) plan.locks = locks;
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

/**
 * Apply a rendered plan. The passwords it sets get the policy's lifetime (passwordLifetimeOf) unless
 * `options.passwordLifetime` says otherwise.
 */
export async function applyRendered(conn: EngineConnection, rendered: RenderedPlan, progress?: ApplyProgress, options: ApplyOptions = {}): Promise<ApplyResult> {
  const all = rendered.statements.flat();
  if (all.length === 0) return { statements: 0, roundTrips: 0, secrets: new Map() };
  return conn.apply(all, progress, { ...options, passwordLifetime: options.passwordLifetime ?? passwordLifetimeOf(rendered.desired, new Date()) });
}

/**
 * The lifetime of the passwords an apply starting at `now` sets: security.rotation.validFor (or a
 * shorter one a checkout asks for) from `now`; no end without one. Counted from before the passwords
 * are delivered, so the destination and the server are told the same instant.
 */
export function passwordLifetimeOf(desired: Pick<DesiredState, 'passwordValidFor'>, now: Date, options: { validFor?: string; checkout?: boolean } = {}): PasswordLifetime {
  const validFor = options.validFor ?? desired.passwordValidFor;
  const ms = validFor !== undefined ? durationMs(validFor) : undefined;
  return { ...(ms !== undefined ? { validUntil: new Date(now.getTime() + ms) } : {}), ...(options.checkout ? { checkout: true } : {}) };
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
