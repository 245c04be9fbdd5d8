import { ApplyOptions, EngineConnection, EngineDialect } from '../engines/engine';
import { DesiredState } from '../model/types';
import { Plan } from '../plan/change';
import { diffState } from '../plan/diff';
import { unnamedMemberWarnings } from '../plan/protected';
import { pushAll } from '../model/collections';
import { DatabaseWording } from './database';
import { inspectLive, LiveState, PartScope } from './inspect';
import { passwordLifetimeOf } from './plan';

/** One part of the warehouse to bring to its desired slice: a Pulumi resource's create, update or delete. */
export interface PartRequest {
  /** The dialect the slice was realized with (its render writes the statements). */
  dialect: EngineDialect;
  /** The part's desired slice, realized (for a delete: the empty slice, authoritative and pruning). */
  desired: DesiredState;
  scope: PartScope;
  wording: DatabaseWording;
  /** A busy warehouse: lock timeout and retries (engines/busy.ts). */
  patience?: ApplyOptions['patience'];
  /** The logins whose password is set anew, decided from the live state (rotation, the delivery rule). */
  rotate(live: LiveState): string[];
}

export interface PartApplied {
  live: LiveState;
  plan: Plan;
  /** The passwords the apply set, by login (undefined: nothing to apply). */
  secrets?: Map<string, string>;
  /** The generation of each password the apply generated, handed over with it before the server saw it. */
  generations: Map<string, string>;
  /** When the apply started: the time of the passwords it set. */
  appliedAt: Date;
  /** When the passwords it set stop being valid (security.rotation.validFor from appliedAt); undefined: no end. */
  validUntil?: Date;
}

/**
 * Inspect the part (only what it can own: the cost does not grow with the number of apps), plan it
 * and apply the plan, all or nothing. The caller holds the apply lock (underApplyLock), so no other
 * apply changes the catalog between this inspect and this apply. Another database than the slice's is
 * refused with a WrongDatabaseError before anything changes.
 */
export async function applyPart(conn: EngineConnection, request: PartRequest): Promise<PartApplied> {
  const { dialect, desired } = request;
  const live = await inspectLive(conn, desired, { scope: request.scope, wording: request.wording });
  const plan = diffState(desired, live.actual, { now: new Date(), rotate: request.rotate(live) });
  // The members of protected roles are the warehouse part's to name: its inspect reads them, its slice does not hold them.
  if (request.scope.part.scope === 'warehouse') pushAll(plan.warnings, unnamedMemberWarnings(live.whole.memberships, desired));
  const statements = dialect.render(plan.changes, desired);
  const appliedAt = new Date();
  // The passwords' set time is the one the state records (PartApplied.appliedAt): a refresh then reads it back unchanged.
  const lifetime = { ...passwordLifetimeOf(desired, appliedAt), setAt: appliedAt };
  const generations = new Map<string, string>();
  const deliver = async (passwords: readonly { login: string; generation: string }[]) => {
    for (const p of passwords) generations.set(p.login, p.generation);
  };
  const result = statements.length > 0 ? await conn.apply(statements, undefined, { deliver, passwordLifetime: lifetime, ...(request.patience ? { patience: request.patience } : {}) }) : undefined;
  return { live, plan, ...(result ? { secrets: result.secrets } : {}), generations, appliedAt, ...(lifetime.validUntil ? { validUntil: lifetime.validUntil } : {}) };
}
