import { EngineConnection } from '../engines/engine';
import { sortState } from '../model/state';
import { ActualState, DesiredState } from '../model/types';
import { claimOf, Part, sliceActual } from '../plan/slice';
import { checkConnectedDatabase, DatabaseWording, URL_WORDING } from './database';

/**
 * The inspect step of the pipeline: the live state for a desired one, from the database the policy
 * governs (any other is refused), and, for one part of the warehouse, its slice.
 */

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
