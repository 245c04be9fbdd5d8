import { emptyState, sortState } from '../model/state';
import { DesiredState, Membership, Permission, SecurityState, ActualState } from '../model/types';

/**
 * Slicing: which part of the warehouse each object belongs to, so that one Pulumi resource per app
 * (plus one for the warehouse) diffs and applies only what it owns. Pure.
 *
 * Ownership rules, the same for desired and live state:
 * - a login, user or role belongs to its app when it has one (app login, schema owner, app persona
 *   roles), else to the warehouse (shared login, warehouse-wide persona roles, the policy's principals);
 * - a schema belongs to its app;
 * - a membership belongs to the part that owns its role (else its member's part);
 * - a permission belongs to the part that owns what it is ON: a schema (or the engine's bulk objects in
 *   a schema) -> that schema's app, a role -> that role's part; on the database, or when the target is
 *   nobody's, it belongs to the grantee's part.
 * So pmg_app_admin's rights on app p2p's schema are p2p's: adding an app never changes the warehouse.
 */
export type Part = { scope: 'warehouse' } | { scope: 'app'; app: string };

export const WAREHOUSE: Part = { scope: 'warehouse' };

export const appPart = (app: string): Part => ({ scope: 'app', app });

/** 'warehouse' or 'app:<key>': a map key for a part. */
export type PartKey = string;

export function partKey(part: Part): PartKey {
  return part.scope === 'warehouse' ? 'warehouse' : `app:${part.app}`;
}

const ownerKey = (app: string | undefined): PartKey => (app ? `app:${app}` : 'warehouse');

/** Owner part of every principal and schema a state names (by the rules above). */
export interface Owners {
  principals: ReadonlyMap<string, PartKey>;
  schemas: ReadonlyMap<string, PartKey>;
}

export function ownersOf(state: SecurityState): Owners {
  const principals = new Map<string, PartKey>();
  // Roles first, then users and logins: a login's user is the same name and has the same app.
  for (const r of state.roles) principals.set(r.name, ownerKey(r.app));
  for (const u of state.users) if (!principals.has(u.name)) principals.set(u.name, ownerKey(u.app));
  for (const l of state.logins) if (!principals.has(l.name)) principals.set(l.name, ownerKey(l.app));
  const schemas = new Map<string, PartKey>();
  for (const s of state.schemas) schemas.set(s.name, ownerKey(s.app));
  return { principals, schemas };
}

/** The part that owns what a permission is on, when that is known. */
function locationOf(owners: Owners, p: Permission): PartKey | undefined {
  switch (p.on.type) {
    case 'schema':
      return owners.schemas.get(p.on.name);
    case 'engine':
      return owners.schemas.get(p.on.name);
    case 'role':
      return owners.principals.get(p.on.name);
    case 'database':
      return undefined;
    default: {
      const never: never = p.on;
      throw new Error(`slice: unknown securable ${JSON.stringify(never)}`);
    }
  }
}

export function permissionPart(owners: Owners, p: Permission): PartKey {
  return locationOf(owners, p) ?? owners.principals.get(p.grantee) ?? 'warehouse';
}

export function membershipPart(owners: Owners, m: Membership): PartKey {
  return owners.principals.get(m.role) ?? owners.principals.get(m.member) ?? 'warehouse';
}

/** Every app the desired state knows of, sorted. */
export function appsOf(desired: DesiredState): string[] {
  const apps = new Set<string>(Object.keys(desired.appLogins));
  for (const s of desired.schemas) apps.add(s.app);
  for (const r of desired.roles) if (r.app) apps.add(r.app);
  for (const l of desired.logins) if (l.app) apps.add(l.app);
  return [...apps].sort();
}

/**
 * DesiredState -> one DesiredState per part: the warehouse's and each app's. Every object lands in
 * exactly one part; the options (prefix, mode, enforcement, ...) are copied to each.
 */
export function partitionDesired(desired: DesiredState): Map<PartKey, DesiredState> {
  const owners = ownersOf(desired);
  const parts = new Map<PartKey, DesiredState>();
  const empty = (app?: string): DesiredState => emptySlice(desired, app);
  parts.set('warehouse', empty());
  for (const app of appsOf(desired)) parts.set(`app:${app}`, empty(app));
  const into = (key: PartKey): DesiredState => {
    let part = parts.get(key);
    if (!part) {
      // An object naming an app no schema or login names (only possible in hand-built states).
      part = empty(key.slice('app:'.length));
      parts.set(key, part);
    }
    return part;
  };
  for (const l of desired.logins) into(ownerKey(l.app)).logins.push(l);
  for (const u of desired.users) into(ownerKey(u.app)).users.push(u);
  for (const r of desired.roles) into(ownerKey(r.app)).roles.push(r);
  for (const s of desired.schemas) into(ownerKey(s.app)).schemas.push(s);
  for (const m of desired.memberships) into(membershipPart(owners, m)).memberships.push(m);
  for (const p of desired.permissions) into(permissionPart(owners, p)).permissions.push(p);
  // Expired grants' memberships go where the membership would be: the part that revokes them.
  for (const m of desired.expired ?? []) {
    const part = into(membershipPart(owners, m));
    (part.expired ??= []).push(m);
  }
  for (const [k, v] of parts) parts.set(k, sortState(v));
  return parts;
}

/** One part of the desired state (an empty slice when the part holds nothing). */
export function sliceDesired(desired: DesiredState, part: Part): DesiredState {
  const key = partKey(part);
  const slice = partitionDesired(desired).get(key);
  if (slice) return slice;
  return emptySlice(desired, part.scope === 'app' ? part.app : undefined);
}

/** A part's slice with nothing in it: the options (prefix, mode, enforcement, ...) and the app's login, if any. */
function emptySlice(desired: DesiredState, app: string | undefined): DesiredState {
  const { expired: _expired, masking, ...rest } = desired;
  // Personal data: every part knows the masking owner and key; an app's part only its own masked app.
  const masked = masking && (app === undefined ? { ...masking, apps: [] } : { ...masking, apps: masking.apps.filter((a) => a.app === app) });
  return {
    ...rest,
    ...emptyState(desired.engine, desired.database),
    appLogins: app !== undefined && desired.appLogins[app] !== undefined ? { [app]: desired.appLogins[app] } : {},
    ...(masked && (app === undefined || masked.apps.length > 0) ? { masking: masked } : {}),
  };
}

/** What a part may touch in the live database. */
export interface Claim {
  principals: ReadonlySet<string>;
  schemas: ReadonlySet<string>;
}

/**
 * A part claims every principal and schema its desired slices name (pass the new slice and, on update
 * or delete, the previous one, so what the policy dropped is still claimed), the managed roles whose
 * pmgrants marker names its app (the warehouse: managed persona roles without an app), and the schemas
 * its claimed roles own. Nothing else.
 */
export function claimOf(part: Part, slices: readonly (SecurityState & Pick<DesiredState, 'masking'>)[], actual: ActualState): Claim {
  const principals = new Set<string>();
  const schemas = new Set<string>();
  for (const s of slices) {
    for (const l of s.logins) principals.add(l.name);
    for (const u of s.users) principals.add(u.name);
    for (const r of s.roles) principals.add(r.name);
    for (const sc of s.schemas) schemas.add(sc.name);
  }
  const managed = new Set(actual.managed);
  for (const r of actual.roles) {
    if (!managed.has(r.name)) continue;
    if (part.scope === 'app' ? r.app === part.app : r.app === undefined && r.purpose === 'persona') principals.add(r.name);
  }
  // Personal data: the masking owner is the warehouse's, but the companion schemas it owns are their
  // apps' (each app's slice names its own); the warehouse claims the key's schema.
  const masker = slices.find((s) => s.masking)?.masking;
  if (masker && part.scope === 'warehouse') schemas.add(masker.keySchema);
  for (const s of actual.schemas) if (principals.has(s.owner) && s.owner !== masker?.owner) schemas.add(s.name);
  return { principals, schemas };
}

/**
 * The live state a part owns, to diff against its desired slice. Besides what the part owns by the
 * rules above, it includes every permission and membership held by (or, for default privileges, set
 * up for) a managed principal the part is about to drop, wherever that privilege is: a role that still
 * holds privileges cannot be dropped; and the schemas such a principal works in, whose owner inherits
 * what it owns (see diffState). `managed` stays whole (the diff's scope test needs it).
 */
export function sliceActual(actual: ActualState, claim: Claim, desiredSlice: SecurityState & { appLogins?: Record<string, string> }): ActualState {
  const managed = new Set(actual.managed);
  const wanted = new Set([...desiredSlice.logins.map((l) => l.name), ...desiredSlice.users.map((u) => u.name), ...desiredSlice.roles.map((r) => r.name)]);
  const dropping = new Set([...claim.principals].filter((n) => managed.has(n) && !wanted.has(n)));
  const knownSchemas = new Set(actual.schemas.map((s) => s.name));
  const appLogins = new Set(Object.values(desiredSlice.appLogins ?? {}));

  const ownsPermission = (p: Permission): boolean => {
    if (dropping.has(p.grantee) || (p.on.type === 'engine' && p.on.forRole !== undefined && dropping.has(p.on.forRole))) return true;
    // A role's default privileges in every schema (no schema name): the part of the role they are for,
    // and the apps whose login it is (single_account: the warehouse's shared login creates their objects).
    if (p.on.type === 'engine' && p.on.name === '' && p.on.forRole !== undefined) {
      return claim.principals.has(p.on.forRole) || appLogins.has(p.on.forRole);
    }
    switch (p.on.type) {
      case 'schema':
      case 'engine':
        if (claim.schemas.has(p.on.name)) return true;
        // A schema no part owns (outside the policy, e.g. public): the grantee's part answers for it.
        return !knownSchemas.has(p.on.name) && claim.principals.has(p.grantee);
      case 'role':
        if (claim.principals.has(p.on.name)) return true;
        return !managed.has(p.on.name) && claim.principals.has(p.grantee);
      case 'database':
        return claim.principals.has(p.grantee);
    }
  };
  const ownsMembership = (m: Membership): boolean =>
    claim.principals.has(m.role) || dropping.has(m.member) || (claim.principals.has(m.member) && !managed.has(m.role));

  const memberships = actual.memberships.filter(ownsMembership);
  const permissions = actual.permissions.filter(ownsPermission);
  // The schemas a dropping principal works in (holds a privilege there, or is a member of the owner):
  // their owners are who the diff hands its objects to, the same whichever part drops it.
  const heirSchemas = new Set<string>();
  const ownersJoined = new Set(memberships.filter((m) => dropping.has(m.member)).map((m) => m.role));
  for (const p of permissions) if (dropping.has(p.grantee) && (p.on.type === 'schema' || p.on.type === 'engine')) heirSchemas.add(p.on.name);
  const passwordSetAt = actual.passwordSetAt
    ? Object.fromEntries(Object.entries(actual.passwordSetAt).filter(([login]) => claim.principals.has(login)))
    : undefined;
  const passwordGeneration = actual.passwordGeneration
    ? Object.fromEntries(Object.entries(actual.passwordGeneration).filter(([login]) => claim.principals.has(login)))
    : undefined;
  const passwordValidUntil = actual.passwordValidUntil
    ? Object.fromEntries(Object.entries(actual.passwordValidUntil).filter(([login]) => claim.principals.has(login)))
    : undefined;
  const checkedOut = actual.checkedOut?.filter((login) => claim.principals.has(login));
  return {
    ...sortState({
      engine: actual.engine,
      database: actual.database,
      logins: actual.logins.filter((l) => claim.principals.has(l.name)),
      users: actual.users.filter((u) => claim.principals.has(u.name)),
      roles: actual.roles.filter((r) => claim.principals.has(r.name)),
      schemas: actual.schemas.filter((s) => claim.schemas.has(s.name) || heirSchemas.has(s.name) || ownersJoined.has(s.owner)),
      memberships,
      permissions,
    }),
    managed: [...actual.managed],
    ...(passwordSetAt && Object.keys(passwordSetAt).length > 0 ? { passwordSetAt } : {}),
    ...(actual.foreign ? { foreign: actual.foreign } : {}),
    ...(passwordGeneration && Object.keys(passwordGeneration).length > 0 ? { passwordGeneration } : {}),
    ...unreachableIn(actual, claim),
    ...(passwordValidUntil && Object.keys(passwordValidUntil).length > 0 ? { passwordValidUntil } : {}),
    ...(checkedOut && checkedOut.length > 0 ? { checkedOut } : {}),
    // The relations masking reads are compared per companion schema of the part's desired slice (plan/masking.ts).
    ...(actual.masking ? { masking: actual.masking } : {}),
  };
}

/** The objects of the part's schemas that the connecting principal cannot act as the owner of: its grants leave them out. */
function unreachableIn(actual: ActualState, claim: Claim): Pick<ActualState, 'unreachable'> {
  const unreachable = (actual.unreachable ?? []).filter((u) => claim.schemas.has(u.schema));
  return unreachable.length > 0 ? { unreachable } : {};
}

/** Principals a state mentions anywhere (as object, grantee, member, role, owner or default-privilege role). */
export function principalsMentioned(state: SecurityState): Set<string> {
  const names = new Set<string>();
  for (const l of state.logins) names.add(l.name);
  for (const u of state.users) names.add(u.name);
  for (const r of state.roles) names.add(r.name);
  for (const s of state.schemas) names.add(s.owner);
  for (const m of state.memberships) names.add(m.role).add(m.member);
  for (const p of state.permissions) {
    names.add(p.grantee);
    if (p.on.type === 'role') names.add(p.on.name);
    if (p.on.type === 'engine' && p.on.forRole !== undefined) names.add(p.on.forRole);
  }
  return names;
}
