import { compilePolicy } from '../model/compile';
import { emptyState } from '../model/state';
import { DesiredState, Policy, ActualState } from '../model/types';
import { DiffOptions, diffState } from '../plan/diff';
import { Plan } from '../plan/change';
import { PlanView } from '../plan/format';
import { ApplyOptions, ApplyProgress, ApplyResult, EngineConnection, EngineDialect } from './engine';
import { LockHolder } from './lock';
import { PmgrantsError } from '../model/errors';
import { Statement } from '../model/statement';
import { nameKey } from '../model/names';

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

export async function planLive(conn: EngineConnection, policy: Policy, options: DiffOptions = {}): Promise<RenderedPlan & { actual: ActualState }> {
  const now = options.now ?? new Date();
  const compiled = compilePolicy(policy, { now });
  const inspected = conn.inspectAhead?.(compiled);
  const desired = conn.dialect.realize(compiled);
  const actual = await (inspected ? inspected(desired) : conn.inspect(desired));
  // The database name is the warehouse's identity on a shared server (the markers record it): a plan
  // computed for one database never runs against another.
  if (nameKey(policy.warehouse.engine, actual.database) !== nameKey(policy.warehouse.engine, desired.database)) {
    throw new PmgrantsError(
      `the database URL connects to database "${actual.database}", but the policy's warehouse is "${desired.database}"; point the URL at "${desired.database}" or fix warehouse.database`,
    );
  }
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
