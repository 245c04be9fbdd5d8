import { columnsOf, columnsSecurable, compareCodeUnits, compareMemberships, comparePermissions, membershipKey, permissionKey } from '../model/state';
import { ActualState, DesiredState, Login, Membership, Permission, UnreachableObject } from '../model/types';
import { CHANGE_ORDER, Change, ExceptedObject, Plan } from './change';
import { DeliveredPasswords, heldPassword, undeliveredPassword } from './delivery';
import { PmgrantsError } from '../model/errors';
import { pushAll } from '../model/collections';
import { passwordExpired, supersededCheckouts } from './password-expiry';
import { unnamedMemberWarnings, withoutProtected } from './protected';
import { diffDynamicMaskGrants, diffMasking } from './masking';

export interface DiffOptions {
  /** Clock for rotation by age; a parameter so the diff stays pure. */
  now?: Date;
  /** Logins whose password must be rotated now (pmgrants rotate). */
  rotate?: string[];
  /**
   * The secrets file's generations: a login whose marker names a generation the file holds neither as
   * current nor as pending has a password nobody was given (rotate-password, reason 'undelivered').
   * Absent: delivery is not checked (no secrets file at hand, e.g. a pull-request plan in CI).
   */
  delivered?: DeliveredPasswords;
}

/**
 * (desired, actual) -> ordered changes. Pure. Authoritative within the managed scope: a grant or
 * membership is revoked only when it concerns a principal pmgrants manages; additive enforcement
 * never revokes or drops. Principals pmgrants did not create are never altered or dropped.
 */
export function diffState(desired: DesiredState, actual: ActualState, options: DiffOptions = {}): Plan {
  const taken = ownedElsewhere(desired, actual);
  if (taken) throw new PmgrantsError(taken);
  // Dynamic Data Masking: the masked and hidden readers' column grants follow the live tables (per table, plan/masking.ts).
  const columnGrants = diffDynamicMaskGrants(desired, actual);
  const d: DiffContext = {
    desired,
    actual,
    options,
    changes: [],
    warnings: [...(actual.warnings ?? [])],
    managed: new Set(actual.managed),
    authoritative: desired.enforcement === 'authoritative',
  };
  diffPrincipals(d);
  pushAll(d.warnings, unreachableFindings(actual));
  diffPermissions(d, columnGrants.held);
  pushAll(d.changes, columnGrants.changes);
  diffMemberships(d);
  const masking = diffMasking(desired, actual);
  pushAll(d.changes, masking.changes);
  pushAll(d.warnings, masking.warnings);
  // Drops: only managed principals, only when pruning.
  if (d.authoritative && desired.prune) diffDrops(d);
  // A protected role is never changed (plan/protected.ts); what it keeps, and who its members are, is said.
  const kept = withoutProtected(d.changes, desired);
  for (const more of [kept.warnings, unnamedMemberWarnings(actual.memberships, desired), supersededCheckouts(kept.changes, actual, desired, options.now)]) pushAll(d.warnings, more);
  return { database: desired.database, engine: desired.engine, changes: orderChanges(joinColumnChanges(kept.changes)), warnings: d.warnings };
}

/**
 * The grants (or revokes) of one privilege on columns of one table to one grantee, as one change on
 * those columns (columnsSecurable), where the first of them was: a table is one plan line and one
 * statement, not one per column.
 */
export function joinColumnChanges(changes: readonly Change[]): Change[] {
  const out: Change[] = [];
  const joined = new Map<string, { at: number; columns: string[] }>();
  for (const c of changes) {
    const of = (c.kind === 'grant' || c.kind === 'revoke') && !c.except ? columnsOf(c.permission.on) : undefined;
    if (!of || (c.kind !== 'grant' && c.kind !== 'revoke')) {
      out.push(c);
      continue;
    }
    const p = c.permission;
    const owner = p.on.type === 'engine' ? p.on.owner : undefined;
    const key = JSON.stringify([c.kind, p.grantee, p.privilege, p.effect, p.withGrantOption, of.schema, of.table, owner ?? null]);
    const seen = joined.get(key);
    if (seen) {
      pushAll(seen.columns, of.columns);
      continue;
    }
    joined.set(key, { at: out.length, columns: [...of.columns] });
    out.push(c);
  }
  for (const { at, columns } of joined.values()) {
    const c = out[at] as Extract<Change, { kind: 'grant' | 'revoke' }>;
    if (columns.length === 1) continue;
    const on = c.permission.on;
    const of = columnsOf(on)!;
    const securable = columnsSecurable(of.schema, of.table, columns);
    const owned = on.type === 'engine' && on.owner !== undefined && securable.type === 'engine' ? { ...securable, owner: on.owner } : securable;
    out[at] = { ...c, permission: { ...c.permission, on: owned } };
  }
  return out;
}

/** One diff under way: its inputs, the principals pmgrants manages, and the changes and warnings so far. */
interface DiffContext {
  desired: DesiredState;
  actual: ActualState;
  options: DiffOptions;
  changes: Change[];
  warnings: string[];
  managed: Set<string>;
  authoritative: boolean;
}

/** Logins (created, or their password set anew), users, roles and schemas (created, or their owner changed). */
function diffPrincipals({ desired, actual, options, changes, warnings, managed }: DiffContext): void {
  const actualLogins = new Map(actual.logins.map((l) => [l.name, l]));
  const actualUsers = new Map(actual.users.map((u) => [u.name, u]));
  const actualRoles = new Map(actual.roles.map((r) => [r.name, r]));
  const actualSchemas = new Map(actual.schemas.map((s) => [s.name, s]));
  const passwordMissing = new Set(actual.passwordMissing);
  for (const login of desired.logins) {
    if (!actualLogins.has(login.name)) changes.push({ kind: 'create-login', login });
    else if (login.password === 'generated' && passwordMissing.has(login.name)) {
      changes.push({ kind: 'rotate-password', login: login.name, reason: 'missing' });
    } else if (needsRotation(login, actual, desired, options)) {
      changes.push({ kind: 'rotate-password', login: login.name, reason: options.rotate?.includes(login.name) ? 'forced' : 'age' });
    } else if (login.password === 'generated' && !login.adopted && passwordExpired(login.name, actual, desired, options.now)) {
      changes.push({ kind: 'rotate-password', login: login.name, reason: 'expired' });
    } else if (login.password === 'generated' && !login.adopted && options.delivered && undeliveredPassword(heldPassword(actual, login.name), options.delivered[login.name])) {
      changes.push({ kind: 'rotate-password', login: login.name, reason: 'undelivered' });
    }
  }
  for (const user of desired.users) {
    if (!actualUsers.has(user.name)) changes.push({ kind: 'create-user', user });
  }
  for (const role of desired.roles) {
    if (!actualRoles.has(role.name)) {
      if (actualUsers.has(role.name) && !managed.has(role.name)) {
        warnings.push(`"${role.name}" exists as a principal pmgrants does not manage; not creating role over it`);
        continue;
      }
      changes.push({ kind: 'create-role', role });
    }
  }
  for (const schema of desired.schemas) {
    const live = actualSchemas.get(schema.name);
    if (!live) changes.push({ kind: 'create-schema', schema });
    else if (live.owner !== schema.owner) changes.push({ kind: 'alter-schema-owner', schema: schema.name, from: live.owner, to: schema.owner });
  }
}

/**
 * Permissions: keyed by grantee+securable+privilege; effect and grant option are fields. In scope:
 * what managed principals hold anywhere, and what anyone outside the policy holds on an app schema,
 * but for another warehouse's roles on this server (actual.foreign): never changed by this plan.
 */
function diffPermissions({ desired, actual, changes, managed, authoritative }: DiffContext, maskGrant: (p: Permission) => boolean): void {
  const outsider = outsiderOnAppSchemas(desired);
  const foreign = actual.foreign ?? {};
  const inScope = (p: Permission) => managed.has(p.grantee) || (outsider(p) && !Object.prototype.hasOwnProperty.call(foreign, p.grantee));
  const except = exceptionsOf(actual);
  const grant = (permission: Permission): Change => withExcept({ kind: 'grant', permission }, except(permission));
  const revoke = (permission: Permission): Change => withExcept({ kind: 'revoke', permission }, except(permission));
  const perms = matchByKey(desired.permissions, actual.permissions, permissionKey, comparePermissions);
  for (const [want, have] of perms.pairs) {
    if (!have) changes.push(grant(want));
    else if (have.effect !== want.effect || have.withGrantOption !== want.withGrantOption) {
      if (authoritative) changes.push(revoke(have));
      changes.push(grant(want));
    }
  }
  // Personal data fails closed: what a masked or hidden persona's role holds on the app schema itself
  // (its tables in clear) goes, under additive enforcement too.
  const maskedBase = maskedReadersOnBase(desired);
  for (const have of perms.unmatched) {
    if (maskGrant(have)) continue; // a masked or hidden reader's column grant: compared per table (plan/masking.ts)
    if ((authoritative && inScope(have)) || maskedBase(have)) changes.push(revoke(have));
  }
}

/**
 * A privilege on an app schema with personal columns (or its objects) held by a role that reads it
 * masked or hidden, or anyone's privilege on the pseudonym key's schema (its owner holds none: it owns it).
 */
function maskedReadersOnBase(desired: DesiredState): (p: Permission) => boolean {
  const keySchema = desired.masking?.keySchema;
  const readers = new Map<string, Set<string>>();
  for (const app of desired.masking?.apps ?? []) {
    for (const c of app.companions) {
      for (const role of c.readers) {
        let schemas = readers.get(role);
        if (!schemas) readers.set(role, (schemas = new Set()));
        schemas.add(app.schema);
      }
    }
  }
  if (keySchema === undefined) return () => false;
  return (p) => (p.on.type === 'schema' || p.on.type === 'engine') && (p.on.name === keySchema || (readers.get(p.grantee)?.has(p.on.name) ?? false));
}

function withExcept<C extends Extract<Change, { kind: 'grant' | 'revoke' }>>(change: C, except: ExceptedObject[] | undefined): C {
  return except ? { ...change, except } : change;
}

/**
 * The objects a grant or revoke on a securable must leave out: those of ActualState.unreachable in
 * the securable's schema that it covers (their owner is out of the connecting principal's reach, so
 * the engine could neither grant nor revoke on them, and an engine's bulk statement would fail).
 */
function exceptionsOf(actual: ActualState): (p: Permission) => ExceptedObject[] | undefined {
  const bySchema = new Map<string, UnreachableObject[]>();
  for (const u of actual.unreachable ?? []) {
    const list = bySchema.get(u.schema);
    if (list) list.push(u);
    else bySchema.set(u.schema, [u]);
  }
  return (p) => {
    if (bySchema.size === 0 || p.on.type !== 'engine') return undefined;
    const kind = p.on.kind;
    const covered = (bySchema.get(p.on.name) ?? []).filter((u) => u.coveredBy.includes(kind));
    return covered.length > 0 ? covered.map(({ name, owner }) => ({ name, owner })) : undefined;
  };
}

/** How many objects a finding names before it counts the rest, and how many hand-over statements it suggests. */
const FINDING_NAMES = 5;
const FINDING_FIXES = 2;

/**
 * What the plan says of the objects it leaves alone, per schema and owner: who owns them, that
 * pmgrants neither grants nor revokes on them while the rest of the plan is applied, and how to hand
 * them over. The same finding every plan until they are handed over: a warning, never a change.
 */
export function unreachableFindings(actual: Pick<ActualState, 'unreachable'>): string[] {
  const groups = new Map<string, UnreachableObject[]>();
  for (const u of actual.unreachable ?? []) {
    const k = `${u.schema}\u0000${u.owner}`;
    const list = groups.get(k);
    if (list) list.push(u);
    else groups.set(k, [u]);
  }
  const findings: string[] = [];
  for (const k of [...groups.keys()].sort(compareCodeUnits)) {
    const objects = groups.get(k)!.slice().sort((a, b) => compareCodeUnits(a.name, b.name));
    const { owner, schema } = objects[0];
    const one = objects.length === 1;
    const names = objects.slice(0, FINDING_NAMES).map((o) => o.name).join(', ') + (objects.length > FINDING_NAMES ? ` and ${objects.length - FINDING_NAMES} more` : '');
    const fixes = objects.flatMap((o) => (o.handOver ? [o.handOver] : []));
    const handOver = fixes.length > 0 ? ` (${fixes.slice(0, FINDING_FIXES).join('; ')}${fixes.length > FINDING_FIXES ? '; ...' : ''})` : '';
    findings.push(
      `${names} ${one ? 'is' : 'are'} owned by ${owner}, a role the provisioning login cannot act as: pmgrants neither grants nor revokes on ${one ? 'it' : 'them'} and applies the rest of the plan; hand ${one ? 'it' : 'them'} to the owner of schema ${schema}${handOver}, or grant on ${one ? 'it' : 'them'} as ${owner}`,
    );
  }
  return findings;
}

/** Memberships: authoritative on managed roles, and on managed members' membership anywhere. */
function diffMemberships({ desired, actual, changes, managed, authoritative }: DiffContext): void {
  const members = matchByKey(desired.memberships, actual.memberships, membershipKey, compareMemberships);
  for (const [want, have] of members.pairs) {
    if (!have) changes.push({ kind: 'add-member', membership: want });
    else if (Boolean(have.admin) !== Boolean(want.admin)) {
      if (authoritative) changes.push({ kind: 'drop-member', membership: have });
      changes.push({ kind: 'add-member', membership: want });
    }
  }
  // A membership an expired grant gave goes whatever the enforcement: the policy said until when.
  const expired = new Map((desired.expired ?? []).map((m) => [membershipKey(m), m.expires]));
  for (const have of members.unmatched) {
    const expires = expired.size > 0 ? expired.get(membershipKey(have)) : undefined;
    if (expires !== undefined) changes.push({ kind: 'drop-member', membership: have, expired: expires });
    else if (authoritative && (managed.has(have.role) || managed.has(have.member))) {
      changes.push({ kind: 'drop-member', membership: have });
    }
  }
}

/**
 * Drops: only managed principals the policy no longer names, never a role that still owns a schema.
 * What a dropped principal owns (tables its sessions created) is handed to its app's schema owner first.
 */
function diffDrops({ desired, actual, changes, warnings, managed }: DiffContext): void {
  const desiredLogins = new Set(desired.logins.map((l) => l.name));
  const desiredUsers = new Set(desired.users.map((u) => u.name));
  const desiredRoles = new Set(desired.roles.map((r) => r.name));
  const heirOf = heirs(desired, actual);
  const handTo = (name: string) => {
    const heir = heirOf(name);
    return heir ? { handTo: heir } : {};
  };
  for (const role of actual.roles) {
    if (desiredRoles.has(role.name) || !managed.has(role.name)) continue;
    const owned = actual.schemas.find((s) => s.owner === role.name);
    if (owned) {
      warnings.push(`role "${role.name}" is no longer in the policy but still owns schema "${owned.name}"; it is kept (move or drop the schema, then plan again)`);
      continue;
    }
    changes.push({ kind: 'drop-role', role: role.name, ...handTo(role.name) });
  }
  for (const user of actual.users) {
    if (desiredUsers.has(user.name) || !managed.has(user.name)) continue;
    changes.push({ kind: 'drop-user', user: user.name, ...handTo(user.name) });
  }
  for (const login of actual.logins) {
    if (desiredLogins.has(login.name) || !managed.has(login.name)) continue;
    changes.push({ kind: 'drop-login', login: login.name, ...handTo(login.name) });
  }
}

/**
 * The one-sentence error when principals the policy names belong to another warehouse on the same
 * server (a role or login of the same name that its marker, or its default database, ties to another
 * database), or undefined. pmgrants never takes another warehouse's principal over: with the same
 * prefix, two warehouses generate the same names, so the fix is a prefix per warehouse.
 */
export function ownedElsewhere(desired: DesiredState, actual: Pick<ActualState, 'foreign'>): string | undefined {
  const foreign = actual.foreign;
  if (!foreign) return undefined;
  const taken: string[] = [];
  const seen = new Set<string>();
  const check = (name: string, what: string) => {
    if (seen.has(name) || !Object.prototype.hasOwnProperty.call(foreign, name)) return;
    seen.add(name);
    const owner = foreign[name];
    taken.push(
      owner === ''
        ? `${what} "${name}" exists on this server but no managed user of database "${desired.database}" maps to it, so it may belong to another warehouse (or was left by an apply of this one that failed: then drop it and apply again)`
        : `${what} "${name}" belongs to warehouse ${owner.split(', ').map((w) => `"${w}"`).join(' and ')}`,
    );
  };
  for (const l of desired.logins) check(l.name, 'login');
  for (const r of desired.roles) check(r.name, 'role');
  for (const u of desired.users) check(u.name, u.source.type === 'login' ? 'login' : 'principal');
  if (taken.length === 0) return undefined;
  const more = taken.length > 1 ? ` (and ${taken.length - 1} more of this policy's names belong to other warehouses)` : '';
  return `${taken[0]}${taken[0].includes(' on this server') ? '' : ' on this server'}${more}, and pmgrants never changes another warehouse's principals: give this warehouse its own prefix (options.prefix, e.g. "${suggestedPrefix(desired)}" in the policy or its stack overlay) and plan again`;
}

/** A prefix derived from the database name, as an example in ownedElsewhere's message. */
function suggestedPrefix(desired: DesiredState): string {
  const word = desired.database.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').split('_').pop() || 'db';
  return `${desired.prefix}${word}_`;
}

/**
 * The grantee PostgreSQL's PUBLIC stands for in a state (every role, present and future). No role can
 * have this name: a role name is never empty. SQL Server's public is a real role and keeps its name.
 */
export const PUBLIC_GRANTEE = '';

/**
 * Securable kinds an engine reports for the default privileges of a role the policy makes, in every
 * schema (PostgreSQL's ALTER DEFAULT PRIVILEGES FOR ROLE r without IN SCHEMA): they decide what the
 * app schemas' future objects give, so they count as the app schemas' own.
 */
export const GLOBAL_DEFAULT_PREFIX = 'global-default-';

/**
 * Whether a permission is held on an app schema (itself, its objects, their default privileges) by
 * a grantee outside the policy that it does not tolerate (options.tolerateGrantees): PUBLIC, a role
 * or user someone else made, or one of the policy's principals (people, groups, applications: they
 * get rights through persona roles, never directly). An app schema's ACLs are the policy's: such a
 * permission is revoked in authoritative enforcement, whoever granted it. The grantee itself is never
 * altered. The policy's own roles and logins (generated or adopted) keep the rule for managed ones:
 * a slice of the state (one app's, see slice.ts) names them as the whole state does.
 */
export function outsiderOnAppSchemas(desired: DesiredState): (p: Permission) => boolean {
  // Made on first use: a plan without drift asks nothing.
  let sets: { appSchemas: Set<string>; named: Set<string> } | undefined;
  const made = () => {
    const named = new Set<string>(desired.tolerateGrantees);
    for (const l of desired.logins) named.add(l.name);
    for (const u of desired.users) if (u.purpose !== 'principal') named.add(u.name);
    for (const r of desired.roles) named.add(r.name);
    for (const s of desired.schemas) named.add(s.owner);
    for (const p of desired.permissions) named.add(p.grantee);
    // The pseudonym key's schema (personal data) is the policy's like an app schema: nobody but its owner holds anything there.
    const appSchemas = new Set(desired.schemas.map((s) => s.name));
    if (desired.masking) appSchemas.add(desired.masking.keySchema);
    return { appSchemas, named };
  };
  return (p) => {
    const { appSchemas, named } = (sets ??= made());
    if (named.has(p.grantee)) return false;
    const on = p.on;
    if (on.type === 'schema') return appSchemas.has(on.name);
    return on.type === 'engine' && (appSchemas.has(on.name) || on.kind.startsWith(GLOBAL_DEFAULT_PREFIX));
  };
}

/**
 * Desired and actual items paired by key, as two Maps would pair them (for each key the last item
 * wins; keys in first-seen order): `pairs` for every desired key, with the actual item or undefined,
 * then the actual items whose key is not desired. compile, realize and inspect give lists sorted by
 * key (sortState), and then this is a linear merge without building a Map of 70,000 strings per side.
 * `compare` orders items as their keys do, without building them (comparePermissions; by default it
 * compares the keys). The merge compares every item with the next one, so it also notices a list out
 * of order, and then takes the Map path, with the same result.
 */
export function matchByKey<T>(
  desired: readonly T[],
  actual: readonly T[],
  key: (t: T) => string,
  compare: (a: T, b: T) => number = (a, b) => compareCodeUnits(key(a), key(b)),
): { pairs: [T, T | undefined][]; unmatched: T[] } {
  const pairs: [T, T | undefined][] = [];
  const unmatched: T[] = [];
  let i = 0;
  let j = 0;
  while (i < desired.length || j < actual.length) {
    const order = i >= desired.length ? 1 : j >= actual.length ? -1 : compare(desired[i], actual[j]);
    const wantEnd = order <= 0 ? endOfRun(desired, i, compare) : i;
    const haveEnd = order >= 0 ? endOfRun(actual, j, compare) : j;
    if (wantEnd === OUT_OF_ORDER || haveEnd === OUT_OF_ORDER) return matchWithMaps(desired, actual, key);
    // Equal keys are adjacent: the last of each run stands for the key.
    if (order <= 0) pairs.push([desired[wantEnd - 1], order === 0 ? actual[haveEnd - 1] : undefined]);
    else unmatched.push(actual[haveEnd - 1]);
    i = wantEnd;
    j = haveEnd;
  }
  return { pairs, unmatched };
}

const OUT_OF_ORDER = -1;

/** The index after the run of items equal to items[start], or OUT_OF_ORDER if the item after the run sorts before it. */
function endOfRun<T>(items: readonly T[], start: number, compare: (a: T, b: T) => number): number {
  let end = start + 1;
  while (end < items.length) {
    const order = compare(items[end - 1], items[end]);
    if (order > 0) return OUT_OF_ORDER;
    if (order < 0) break;
    end++;
  }
  return end;
}

function matchWithMaps<T>(desired: readonly T[], actual: readonly T[], key: (t: T) => string): { pairs: [T, T | undefined][]; unmatched: T[] } {
  const actualByKey = new Map<string, T>();
  for (const have of actual) actualByKey.set(key(have), have);
  const desiredByKey = new Map<string, T>();
  for (const want of desired) desiredByKey.set(key(want), want);
  const pairs: [T, T | undefined][] = [];
  const unmatched: T[] = [];
  for (const [k, want] of desiredByKey) pairs.push([want, actualByKey.get(k)]);
  for (const [k, have] of actualByKey) if (!desiredByKey.has(k)) unmatched.push(have);
  return { pairs, unmatched };
}

/**
 * The role that inherits what a dropped principal owns: the owner of the one app schema the principal
 * works in (it holds a privilege there, or is a member of that schema's owner role). That owner stays,
 * since it owns the schema (the policy's owner when the plan changes it). A principal working in no
 * schema or in several (the shared login of single_account) has no heir: its drop is refused while it
 * owns objects.
 */
function heirs(desired: DesiredState, actual: ActualState): (name: string) => string | undefined {
  const wantedOwner = new Map(desired.schemas.map((s) => [s.name, s.owner]));
  const ownerOf = new Map(actual.schemas.map((s) => [s.name, wantedOwner.get(s.name) ?? s.owner]));
  const owners = new Set(ownerOf.values());
  const ownersFor = new Map<string, Set<string>>();
  const add = (who: string, owner: string | undefined) => {
    if (owner === undefined || owner === who) return;
    let set = ownersFor.get(who);
    if (!set) ownersFor.set(who, (set = new Set()));
    set.add(owner);
  };
  for (const p of actual.permissions) if (p.on.type === 'schema' || p.on.type === 'engine') add(p.grantee, ownerOf.get(p.on.name));
  for (const m of actual.memberships) if (owners.has(m.role)) add(m.member, m.role);
  return (name) => {
    const found = ownersFor.get(name);
    return found && found.size === 1 ? [...found][0] : undefined;
  };
}

function needsRotation(login: Login, actual: ActualState, desired: DesiredState, options: DiffOptions): boolean {
  if (options.rotate?.includes(login.name)) return true;
  const setAt = actual.passwordSetAt?.[login.name];
  if (!desired.rotationMaxAgeDays || !setAt || !options.now) return false;
  const ageDays = (options.now.getTime() - new Date(setAt).getTime()) / 86_400_000;
  return ageDays > desired.rotationMaxAgeDays;
}

/** Stable order: by phase, then by the order the diff produced them (itself sorted by key). */
export function orderChanges(changes: Change[]): Change[] {
  const rank = new Map(CHANGE_ORDER.map((k, i) => [k, i]));
  return changes
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank.get(a.c.kind)! - rank.get(b.c.kind)! || a.i - b.i)
    .map((x) => x.c);
}

export function summarize(changes: readonly Change[]): { create: number; update: number; drop: number } {
  let create = 0;
  let update = 0;
  let drop = 0;
  for (const c of changes) {
    if (c.kind.startsWith('create') || c.kind === 'grant' || c.kind === 'add-member' || (c.kind === 'mask-columns' && c.newTable)) create++;
    else if (c.kind.startsWith('drop') || c.kind === 'revoke') drop++;
    else update++;
  }
  return { create, update, drop };
}

export type { Membership, Permission };
