import { Membership, Permission, Securable, SecurityState } from './types';

/** One key scheme for desired and actual state, so the diff is set operations plus field deltas. */
export function securableKey(s: Securable): string {
  switch (s.type) {
    case 'database':
      return 'database';
    case 'schema':
      return `schema:${s.name}`;
    case 'role':
      return `role:${s.name}`;
    case 'engine':
      return `${s.kind}:${s.name}${s.forRole !== undefined ? `:for:${s.forRole}` : ''}`;
    default: {
      const never: never = s;
      throw new Error(`unknown securable ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Securable kind of one column of a table (or view), 'column:' + JSON [table, column], the securable's
 * name being its schema (as an object's 'object:<name>' on SQL Server). pmgrants never grants on
 * columns; an engine's inspect reports what others granted on an app schema's columns (PostgreSQL
 * pg_attribute.attacl, SQL Server sys.database_permissions with a column id), so the diff revokes it.
 */
export const COLUMN_KIND_PREFIX = 'column:';

export function columnSecurable(schema: string, table: string, column: string): Securable {
  return { type: 'engine', kind: `${COLUMN_KIND_PREFIX}${JSON.stringify([table, column])}`, name: schema };
}

/**
 * Several columns of one table as one securable (kind 'column:' + JSON [table, column, column, ...]):
 * the diff joins the column grants of one table, grantee and privilege into one (plan/diff.ts), so a
 * plan line and a statement say the table once.
 */
export function columnsSecurable(schema: string, table: string, columns: readonly string[]): Securable {
  return { type: 'engine', kind: `${COLUMN_KIND_PREFIX}${JSON.stringify([table, ...columns])}`, name: schema };
}

/** The table and column of a column securable, or undefined for any other (of several columns: the first). */
export function columnOf(on: Securable): { schema: string; table: string; column: string } | undefined {
  const of = columnsOf(on);
  return of ? { schema: of.schema, table: of.table, column: of.columns[0] } : undefined;
}

/** The table and columns of a column securable (columnSecurable, columnsSecurable), or undefined for any other. */
export function columnsOf(on: Securable): { schema: string; table: string; columns: string[] } | undefined {
  if (on.type !== 'engine' || !on.kind.startsWith(COLUMN_KIND_PREFIX)) return undefined;
  const [table, ...columns] = JSON.parse(on.kind.slice(COLUMN_KIND_PREFIX.length)) as string[];
  return { schema: on.name, table, columns };
}

/** Identity of a permission: who, on what, which privilege. Effect and grant option are its fields. */
export function permissionKey(p: Permission): string {
  return `${p.grantee}\u0000${securableKey(p.on)}\u0000${p.privilege}`;
}

export function membershipKey(m: Membership): string {
  return `${m.role}\u0000${m.member}`;
}

// ---------------------------------------------------------------------------------------------
// Key order without keys. States are sorted by the keys above, in code-unit order; a state holds some
// 70,000 permissions at 20,000 grants, and building and comparing their long keys was most of the time
// of a plan. The comparators below give the order of the keys from the parts they are joined from.
// ---------------------------------------------------------------------------------------------

/** Code-unit order of strings (what `<` does), not locale order. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What follows the last part of a key: nothing, which sorts before every code unit. */
const END = -1;
/** The separators: NUL between the parts of permission and membership keys, ':' inside securable keys. */
const NUL = 0;
const COLON = 0x3a;
/** A part whose order comparePart cannot tell without the rest of the keys. */
const UNDECIDED = 2;

/**
 * The order of two keys by one part of each, the keys being equal before it. `afterA` and `afterB` are
 * the code units that follow each part in its key (the separator's first, or END). Returns -1 or 1 when
 * this part decides; 0 when the keys are equal up to and including that separator, so the next parts
 * decide; UNDECIDED when one part is a proper prefix of the other and the longer one goes on with the
 * very separator that follows the shorter one (a name holding ':' or NUL): only the whole keys can tell.
 */
function comparePart(a: string, afterA: number, b: string, afterB: number): number {
  if (a === b) return afterA < afterB ? -1 : afterA > afterB ? 1 : 0;
  if (a < b) {
    if (!b.startsWith(a)) return -1;
    const next = b.charCodeAt(a.length);
    return afterA < next ? -1 : afterA > next ? 1 : UNDECIDED;
  }
  if (!a.startsWith(b)) return 1;
  const next = a.charCodeAt(b.length);
  return afterB < next ? 1 : afterB > next ? -1 : UNDECIDED;
}

/**
 * The parts of securableKey: a head word ('database', 'schema', 'role' or the engine kind), then, for
 * all but the database, ':' and the name, then ':for:' and the role it is for, if any. `end` is what
 * follows the key (NUL inside a permission key, END on its own).
 */
function compareSecurableParts(a: Securable, b: Securable, end: number): number {
  const forA = a.type === 'engine' ? a.forRole : undefined;
  const forB = b.type === 'engine' ? b.forRole : undefined;
  const head = comparePart(
    a.type === 'engine' ? a.kind : a.type,
    a.type === 'database' ? end : COLON,
    b.type === 'engine' ? b.kind : b.type,
    b.type === 'database' ? end : COLON,
  );
  // Equal heads followed by the same code unit: both are the database, or both have a name.
  if (head !== 0 || a.type === 'database' || b.type === 'database') return head;
  const name = comparePart(a.name, forA !== undefined ? COLON : end, b.name, forB !== undefined ? COLON : end);
  if (name !== 0 || forA === undefined || forB === undefined) return name;
  return comparePart(forA, end, forB, end);
}

/** securableKey(a) compared with securableKey(b), mostly without building either. */
export function compareSecurables(a: Securable, b: Securable): number {
  if (a === b) return 0;
  const order = compareSecurableParts(a, b, END);
  return order !== UNDECIDED ? order : compareCodeUnits(securableKey(a), securableKey(b));
}

/** permissionKey(a) compared with permissionKey(b), mostly without building either. */
export function comparePermissions(a: Permission, b: Permission): number {
  if (a === b) return 0;
  const order = comparePart(a.grantee, NUL, b.grantee, NUL);
  return orderOf(a, b, order !== 0 ? order : orderAfterGrantee(a, b), permissionKey);
}

function orderAfterGrantee(a: Permission, b: Permission): number {
  // States share securable objects where they can (realize, inspect): one object, one key.
  const order = a.on === b.on ? 0 : compareSecurableParts(a.on, b.on, NUL);
  return order !== 0 ? order : comparePart(a.privilege, END, b.privilege, END);
}

/** membershipKey(a) compared with membershipKey(b), mostly without building either. */
export function compareMemberships(a: Membership, b: Membership): number {
  const order = comparePart(a.role, NUL, b.role, NUL);
  return orderOf(a, b, order !== 0 ? order : compareCodeUnits(a.member, b.member), membershipKey);
}

/** The member is the last part of a membership's key: for the same role, the members decide. */
const compareSameRole = (a: Membership, b: Membership) => compareCodeUnits(a.member, b.member);

/** The order the parts gave, or when they could not tell, the order of the whole keys. */
function orderOf<T>(a: T, b: T, order: number, key: (t: T) => string): number {
  return order !== UNDECIDED ? order : compareCodeUnits(key(a), key(b));
}

const compareNames = (a: { name: string }, b: { name: string }) => compareCodeUnits(a.name, b.name);

/**
 * Items in the order of `compare` (stable) without exact duplicates: of the items that compare equal,
 * the first one of each identity is kept. `sameIdentity` tells two items of equal order apart (the
 * identity of a permission is its key and its effect); by default items of equal order are duplicates.
 *
 * Lists already in order, as lists built from a sorted state often are, are not sorted again. Others go
 * to `sortOutOfOrder` when given (a quicker way for large lists; undefined when it cannot tell the
 * order), else to a sort by `compare`.
 */
function sortedUnique<T>(
  items: readonly T[],
  compare: (a: T, b: T) => number,
  sameIdentity?: (a: T, b: T) => boolean,
  sortOutOfOrder?: (items: readonly T[]) => T[] | undefined,
): T[] {
  let inOrder = true;
  let hasTies = false;
  for (let i = 1; i < items.length && inOrder; i++) {
    const order = compare(items[i - 1], items[i]);
    inOrder = order <= 0;
    hasTies ||= order === 0;
  }
  if (inOrder) return hasTies ? appendUnique([], items, compare, sameIdentity) : items.slice();
  // Array.prototype.sort is stable: items of equal order keep their first-seen order.
  return sortOutOfOrder?.(items) ?? appendUnique([], items.slice().sort(compare), compare, sameIdentity);
}

/**
 * Memberships sorted by role, then by member: gathered by role in one pass, the distinct roles sorted
 * (a few thousand rather than 26,000 memberships), then the members of each role, without comparing
 * the role they share. NUL being the lowest code unit, roles order their keys as they order
 * themselves, unless one holds a NUL: undefined then (sort by the whole keys).
 */
function membershipsByRole(items: readonly Membership[]): Membership[] | undefined {
  const groups = new Map<string, Membership[]>();
  for (const item of items) {
    const members = groups.get(item.role);
    if (members) members.push(item);
    else groups.set(item.role, [item]);
  }
  const roles = [...groups.keys()];
  if (roles.some((role) => role.includes('\u0000'))) return undefined;
  const out: Membership[] = [];
  for (const role of roles.sort(compareCodeUnits)) {
    const members = groups.get(role)!;
    appendUnique(out, members.length > 1 ? members.sort(compareSameRole) : members, compareSameRole);
  }
  return out;
}

/**
 * Permissions sorted by numbers instead of comparisons. A permission's key is grantee, securable key
 * and privilege joined by NULs; when no grantee and no securable key holds a NUL (the lowest code unit),
 * the keys order as the triples of their parts do. So the distinct grantees, securables and privileges
 * are ranked (a few thousand strings each, where there are 70,000 permissions), each permission gets
 * one number from its three ranks and its position, and a typed array of those numbers is sorted
 * natively: the position keeps the sort stable. The securables of one inspect share their objects, so
 * most of them are looked up by identity. Undefined when a NUL or the size forbids it.
 */
function permissionsByRank(items: readonly Permission[]): Permission[] | undefined {
  const n = items.length;
  const granteeRank = new Map<string, number>();
  const privilegeRank = new Map<string, number>();
  const onKey = new Map<Securable, string>();
  for (const p of items) {
    granteeRank.set(p.grantee, 0);
    privilegeRank.set(p.privilege, 0);
    if (!onKey.has(p.on)) onKey.set(p.on, securableKey(p.on));
  }
  const keyRank = new Map<string, number>();
  for (const key of onKey.values()) keyRank.set(key, 0);
  const grantees = [...granteeRank.keys()];
  const keys = [...keyRank.keys()];
  if (grantees.some((g) => g.includes('\u0000')) || keys.some((k) => k.includes('\u0000'))) return undefined;
  const sizes = grantees.length * keys.length * privilegeRank.size;
  if (sizes * n >= Number.MAX_SAFE_INTEGER) return undefined;
  const rank = (sorted: string[], ranks: Map<string, number>) => sorted.forEach((value, i) => ranks.set(value, i));
  rank(grantees.sort(compareCodeUnits), granteeRank);
  rank(keys.sort(compareCodeUnits), keyRank);
  rank([...privilegeRank.keys()].sort(compareCodeUnits), privilegeRank);
  const onRank = new Map<Securable, number>();
  for (const [on, key] of onKey) onRank.set(on, keyRank.get(key)!);
  const order = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = items[i];
    order[i] = ((granteeRank.get(p.grantee)! * keys.length + onRank.get(p.on)!) * privilegeRank.size + privilegeRank.get(p.privilege)!) * n + i;
  }
  order.sort();
  // Equal keys are side by side, in first-seen order: keep the first of each effect (sameEffect).
  const out: Permission[] = [];
  let runKey = -1;
  let runStart = 0;
  for (let k = 0; k < n; k++) {
    const position = order[k] % n;
    const item = items[position];
    const key = (order[k] - position) / n;
    if (key !== runKey) {
      runKey = key;
      runStart = out.length;
      out.push(item);
      continue;
    }
    let seen = false;
    for (let j = runStart; j < out.length && !seen; j++) seen = sameEffect(out[j], item);
    if (!seen) out.push(item);
  }
  return out;
}

/** Appends `sorted` to `out` without duplicates, which sit in the same run of equal order: the first of each identity is kept. */
function appendUnique<T>(out: T[], sorted: readonly T[], compare: (a: T, b: T) => number, sameIdentity?: (a: T, b: T) => boolean): T[] {
  for (let start = 0; start < sorted.length; ) {
    let end = start + 1;
    while (end < sorted.length && compare(sorted[start], sorted[end]) === 0) end++;
    for (let i = start; i < end; i++) {
      let seen = false;
      for (let j = start; j < i && !seen; j++) seen = sameIdentity ? sameIdentity(sorted[j], sorted[i]) : true;
      if (!seen) out.push(sorted[i]);
    }
    start = end;
  }
  return out;
}

const sameEffect = (a: Permission, b: Permission) => a.effect === b.effect;

/** Sort every list (code-unit order of its key, not locale) and drop exact duplicates: deterministic output. */
export function sortState<T extends SecurityState>(state: T): T {
  return {
    ...state,
    logins: sortedUnique(state.logins, compareNames),
    users: sortedUnique(state.users, compareNames),
    roles: sortedUnique(state.roles, compareNames),
    schemas: sortedUnique(state.schemas, compareNames),
    memberships: sortedUnique(state.memberships, compareMemberships, undefined, membershipsByRole),
    permissions: sortedUnique(state.permissions, comparePermissions, sameEffect, permissionsByRank),
  };
}

export function emptyState(engine: SecurityState['engine'], database: string): SecurityState {
  return { engine, database, logins: [], users: [], roles: [], schemas: [], memberships: [], permissions: [] };
}
