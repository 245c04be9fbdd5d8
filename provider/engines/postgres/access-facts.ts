import { pushAll } from '../../model/collections';
import { AccessFacts, AccessPath, ColumnAccess, FactMembership, FactPrincipal, HeldRight } from '../../model/access';
import { DesiredState, Right, RIGHTS } from '../../model/types';
import { parseAclItem } from './acl';
import { parseMarker } from './marker';

/**
 * PostgreSQL effective access, pure: the catalog rows of the access-*.sql queries -> what every role
 * can do on every app schema, object by object and column by column, and through which path.
 *
 * The rules (PostgreSQL documentation: "Role Membership", "Privileges", "Predefined Roles", GRANT,
 * ALTER TABLE, ALTER DEFAULT PRIVILEGES; https://www.postgresql.org/docs/current/):
 * - A role has the privileges of the roles it inherits from: up to 15 through every membership when the
 *   member role has INHERIT; from 16 through the memberships granted WITH INHERIT TRUE.
 * - It can SET ROLE to any role it is a member of (from 16: through memberships WITH SET TRUE), and then
 *   has that role's privileges, inherited ones included: reachable rights, reported as `set-role` paths.
 * - PUBLIC's privileges belong to every role. A superuser passes every check; SUPERUSER is not inherited,
 *   but SET ROLE to a superuser role makes the session one.
 * - pg_read_all_data / pg_write_all_data act as SELECT / INSERT, UPDATE, DELETE on every table, "and
 *   USAGE rights on all schemas" (Predefined Roles): with that USAGE, what PUBLIC or a role holds on a
 *   single object of a schema the member could not otherwise reach becomes usable.
 * - Using a table or function needs USAGE on its schema and the privilege on the object, or on the
 *   column ("GRANT ... (column)": a column privilege lets the role use that column only); creating needs
 *   CREATE on the schema; ALTER needs ownership of the object itself ("You must own the table"), not of
 *   the schema, and a role owns what the roles it has the privileges of own.
 * - Definitions of views and functions are readable by every role (pg_views, pg_proc).
 * ACLs come with defaults spelled out (acldefault), so a NULL ACL needs no special case here, and an
 * owner's implicit privileges are its own ACL entry (reported as `ownership`).
 */
export interface PostgresAccessRows {
  identity: { database: string; oid: number; version: string; versionNum: number; server: string };
  /** [name, superuser, inherit, login, bypassrls, comment, createrole, VALID UNTIL (ISO time; null: no end)] */
  roles: [string, boolean, boolean, boolean, boolean, string | null, boolean, (string | null)?][];
  /** [role, member, pg_auth_members row] */
  memberships: [string, string, { admin_option?: boolean; inherit_option?: boolean; set_option?: boolean }][];
  /** [schema, owner, ACL, default table ACL of the owner, default function ACL of the owner] */
  schemas: [string, string, string[], string[], string[]][];
  /** [schema, 'tables' | 'functions', owner, ACL, the objects sharing them (functions as name(arguments))] */
  objects: [string, 'tables' | 'functions', string, string[], string[]][];
  /** [schema, table, column, column ACL]: the columns that carry grants of their own (pg_attribute.attacl) */
  columns: [string, string, string, string[]][];
  /** [schema or null, creating role, 'r' | 'f', ACL] */
  defaultAcls: [string | null, string, string, string[]][];
  databaseAcl: string[];
}

/** What the policy names: the provisioning role's memberships in these roles are administration, not access the policy forgot. */
export interface AccessScope {
  /** Roles the policy creates or adopts: owners, personas, logins, principals. */
  policyRoles: readonly string[];
  /** The memberships the policy wants, as [role, member]. */
  policyMemberships: readonly (readonly [string, string])[];
}

const TABLE_PRIVILEGE: Partial<Record<Right, string>> = { select: 'SELECT', insert: 'INSERT', update: 'UPDATE', delete: 'DELETE', references: 'REFERENCES' };
/** Privileges a column can carry (GRANT: "SELECT, INSERT, UPDATE, REFERENCES" column lists). */
const COLUMN_PRIVILEGES = new Set(['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']);
const PREDEFINED_DATA_ROLES: Record<string, Set<Right>> = {
  pg_read_all_data: new Set<Right>(['select']),
  pg_write_all_data: new Set<Right>(['insert', 'update', 'delete']),
};

type Acl = Map<string, Set<string>>;

function parseAcl(items: readonly string[]): Acl {
  const out: Acl = new Map();
  for (const text of items) {
    const e = parseAclItem(text);
    const set = out.get(e.grantee) ?? new Set<string>();
    for (const p of e.privileges) set.add(p.privilege);
    out.set(e.grantee, set);
  }
  return out;
}

/** A membership edge from a member to a role, with what it passes on. */
interface Edge {
  role: string;
  inherit: boolean;
  set: boolean;
  /** The provisioning role's membership in a role of the policy: administration. */
  admin: boolean;
}

/** A role reached from a principal: the chain to it, and whether the chain runs through administration. */
interface Reached {
  via: string[];
  admin: boolean;
}

/**
 * Roles reachable from `start` along the edges `follow` allows, with the shortest chain to each: first
 * without administrative edges, then with them, so a role reached both ways counts as ordinary access.
 */
function reach(start: string, parents: Map<string, Edge[]>, follow: 'inherit' | 'set'): Map<string, Reached> {
  const out = new Map<string, Reached>([[start, { via: [], admin: false }]]);
  for (const allowAdmin of [false, true]) {
    const queue = [...out.keys()];
    while (queue.length) {
      const at = out.get(queue.shift()!)!;
      const from = at.via.length ? at.via[at.via.length - 1] : start;
      for (const edge of parents.get(from) ?? []) {
        if (!(follow === 'inherit' ? edge.inherit : edge.set) || out.has(edge.role) || (edge.admin && !allowAdmin)) continue;
        out.set(edge.role, { via: [...at.via, edge.role], admin: at.admin || edge.admin });
        queue.push(edge.role);
      }
    }
  }
  return out;
}

/** A role a principal can use the privileges of, and how it gets there. */
interface Holder {
  role: string; // '' = PUBLIC
  kind: 'direct' | 'public' | 'membership' | 'set-role';
  via: string[];
  admin: boolean;
}

/**
 * What a session can use: as the principal itself (its own and inherited privileges, PUBLIC's), or
 * after SET ROLE to a role it can reach (that role's own and inherited privileges, PUBLIC's). A right
 * needs USAGE and the object privilege in the same context: one statement runs as one role.
 */
interface Context {
  /** Chain of SET ROLE from the principal; [] for the principal itself. */
  chain: string[];
  superuser: boolean;
  holders: Holder[];
}

/** A role as access-roles.sql reads it. */
interface RoleRow {
  name: string;
  superuser: boolean;
  inherit: boolean;
  login: boolean;
  bypassrls: boolean;
  comment: string | null;
  createrole: boolean;
  /** VALID UNTIL: when the server stops accepting the role's password (null: no end). */
  validUntil?: string | null;
}

interface Catalog {
  pg16: boolean;
  roles: Map<string, RoleRow>;
  parents: Map<string, Edge[]>;
}

/** member -> the roles it is a member of, with whether each membership passes privileges on, allows SET ROLE, or is administration. */
function membershipEdges(rows: PostgresAccessRows, roles: Catalog['roles'], scope: AccessScope | undefined, pg16: boolean): Map<string, Edge[]> {
  const policyRoles = new Set(scope?.policyRoles ?? []);
  const wanted = new Set((scope?.policyMemberships ?? []).map(([role, member]) => `${role}\u0000${member}`));
  const parents = new Map<string, Edge[]>();
  for (const [role, member, m] of rows.memberships) {
    const inherit = pg16 ? m.inherit_option !== false : roles.get(member)?.inherit !== false;
    const set = pg16 ? m.set_option !== false : true;
    const who = roles.get(member);
    // An administrator (CREATEROLE, not superuser) in a role the policy names or pmgrants manages,
    // which the policy does not make it a member of: how pmgrants provisions (GRANT ... TO CURRENT_USER).
    const admin =
      who?.createrole === true && !who.superuser && (policyRoles.has(role) || Object.keys(parseMarker(roles.get(role)?.comment ?? null)).length > 0) && !wanted.has(`${role}\u0000${member}`);
    const list = parents.get(member) ?? [];
    const same = list.find((e) => e.role === role);
    if (same) {
      same.inherit ||= inherit;
      same.set ||= set;
    } else list.push({ role, inherit, set, admin });
    parents.set(member, list);
  }
  for (const list of parents.values()) list.sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
  return parents;
}

function contextsOf(name: string | null, cat: Catalog): Context[] {
  const publicHolder: Holder = { role: '', kind: 'public', via: [], admin: false };
  if (name === null) return [{ chain: [], superuser: false, holders: [publicHolder] }];
  const inherited = reach(name, cat.parents, 'inherit');
  const own: Context = {
    chain: [],
    superuser: cat.roles.get(name)?.superuser === true,
    holders: [...[...inherited].map(([role, r]): Holder => ({ role, kind: role === name ? 'direct' : 'membership', via: r.via, admin: r.admin })), publicHolder],
  };
  const out = [own];
  for (const [target, r] of reach(name, cat.parents, 'set')) {
    const superuser = cat.roles.get(target)?.superuser === true;
    // SET ROLE to a role the session already inherits adds nothing, unless that role is a superuser.
    if (target === name || (inherited.has(target) && !superuser)) continue;
    const holders = [...reach(target, cat.parents, 'inherit')].map(([role, rest]): Holder => ({ role, kind: 'set-role', via: [...r.via, ...rest.via], admin: r.admin || rest.admin }));
    out.push({ chain: r.via, superuser, holders: [...holders, { role: '', kind: 'set-role', via: r.via, admin: r.admin }] });
  }
  return out;
}

/** A table or function of an app schema, with its owner and ACL. */
interface Obj {
  name: string;
  owner: string;
  acl: Acl;
}

interface SchemaInfo {
  name: string;
  owner: string;
  acl: Acl;
  builtinDefaults: { tables: Acl; functions: Acl };
  objects: { tables: Obj[]; functions: Obj[] };
  /** table -> column -> the column's own ACL */
  columns: Map<string, Map<string, Acl>>;
}

/** One way a principal holds a right, with what it covers. */
interface Found {
  path: AccessPath;
  objects: string[];
  columns: ColumnAccess[];
  /** Through a bypass or the provisioning role's administration. */
  privileged: boolean;
  /** The engine's built-in default, for every role. */
  engine?: boolean;
}

const chainText = (via: string[]) => via.join(' → ');

/** How a holder's privileges reach the principal, as the end of a sentence. */
function howHeld(h: Holder): string {
  const chain = chainText(h.via);
  if (h.admin) return `, held through ${chain}: the provisioning role's membership in a role of the policy (pmgrants grants the roles it creates to the role that runs it)${h.kind === 'set-role' ? ', usable only after SET ROLE' : ''}`;
  switch (h.kind) {
    case 'direct':
    case 'public':
      return '';
    case 'membership':
      return `, inherited through ${chain}`;
    default:
      return `, usable only after SET ROLE (${chain}; not inherited)`;
  }
}

function pathKind(h: Holder, owns: boolean): AccessPath['kind'] {
  if (h.admin) return h.kind === 'set-role' ? 'set-role' : 'admin';
  if (owns && h.kind !== 'set-role') return 'ownership';
  return h.kind;
}

/** "all 3 tables", or "cases, vendors (2 of 3 tables)". */
function objectsText(names: string[], total: number, kind: string): string {
  if (names.length === total) return `all ${total} ${kind}`;
  return names.length <= 8 ? `${names.join(', ')} (${names.length} of ${total} ${kind})` : `${names.length} of ${total} ${kind}`;
}

/** The path of `names` through holder `h` (absent objects: every object of the kind). */
function foundOf(h: Holder, names: string[], total: number, columns: ColumnAccess[], detail: string, owns: boolean): Found {
  const whole = names.length === total && columns.length === 0;
  const path: AccessPath = { kind: pathKind(h, owns), via: h.via, detail, ...(whole ? {} : { objects: names, ...(columns.length ? { columns } : {}) }) };
  return { path, objects: names, columns, privileged: h.admin };
}

/** USAGE on the schema in a context: from its ACL, or through pg_read_all_data / pg_write_all_data ("USAGE rights on all schemas"). */
function usageIn(ctx: Context, schema: SchemaInfo): { ok: boolean; through?: string } {
  if (ctx.holders.some((h) => schema.acl.get(h.role)?.has('USAGE'))) return { ok: true };
  const predefined = ctx.holders.find((h) => h.role in PREDEFINED_DATA_ROLES);
  return predefined ? { ok: true, through: predefined.role } : { ok: false };
}

/** The columns of tables `role` does not hold `privilege` on as a whole, which carry it for `role`. */
function columnGrants(schema: SchemaInfo, tables: Obj[], role: string, privilege: string, right: Right): ColumnAccess[] {
  const out: ColumnAccess[] = [];
  for (const t of tables) {
    if (t.acl.get(role)?.has(privilege)) continue;
    for (const [column, acl] of schema.columns.get(t.name) ?? []) {
      // Every column is seen in clear today; masking may later say masked or hidden.
      if (acl.get(role)?.has(privilege)) out.push({ object: t.name, column, ...(right === 'select' ? { visibility: 'clear' as const } : {}) });
    }
  }
  return out.sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : a.column < b.column ? -1 : a.column > b.column ? 1 : 0));
}

/** "SELECT (id, name) on staff; SELECT (amount) on orders" */
function columnsText(privilege: string, columns: ColumnAccess[]): string {
  const byObject = new Map<string, string[]>();
  for (const c of columns) byObject.set(c.object, [...(byObject.get(c.object) ?? []), c.column]);
  return [...byObject].map(([object, cols]) => `${privilege} (${cols.join(', ')}) on ${object}`).join('; ');
}

/** A table or function right in one context: per holder, what it owns, what it was granted, which columns. */
function objectRight(ctx: Context, who: string, schema: SchemaInfo, right: Right, kind: 'tables' | 'functions', privilege: string): Found[] {
  const usage = usageIn(ctx, schema);
  if (!usage.ok) return [];
  const objs = schema.objects[kind];
  const note = usage.through ? `; USAGE on schema ${schema.name} through ${usage.through}` : '';
  const out: Found[] = [];
  for (const h of ctx.holders) {
    if (PREDEFINED_DATA_ROLES[h.role]?.has(right)) {
      const detail = `member of the predefined role ${h.role} (${chainText(h.via)}): ${right} on every table of every schema`;
      out.push({ path: { kind: h.kind === 'set-role' ? 'set-role' : 'bypass', via: h.via, detail }, objects: objs.map((o) => o.name), columns: [], privileged: true });
      continue;
    }
    const holder = h.kind === 'direct' ? who : h.role || 'PUBLIC';
    const owned: string[] = [];
    const granted: string[] = [];
    for (const o of objs) if (o.acl.get(h.role)?.has(privilege)) (o.owner === h.role ? owned : granted).push(o.name);
    for (const [names, owns] of [[owned, true], [granted, false]] as const) {
      if (!names.length) continue;
      const what = objectsText(names, objs.length, kind);
      const detail = owns ? `${holder} owns ${what} (${privilege})${howHeld(h)}${note}` : `${privilege} on ${what} granted to ${holder}${howHeld(h)}${note}`;
      out.push(foundOf(h, names, objs.length, [], detail, owns));
    }
    const columns = kind === 'tables' && schema.columns.size > 0 && COLUMN_PRIVILEGES.has(privilege) ? columnGrants(schema, objs, h.role, privilege, right) : [];
    if (columns.length) out.push(foundOf(h, [], objs.length, columns, `${columnsText(privilege, columns)} granted to ${holder}${howHeld(h)}${note}`, false));
  }
  return out;
}

/** The ACL a table or function the schema's owner creates there later gets, and which grantees come from the built-in default. */
interface FutureAcl {
  acl: Acl;
  builtin: Set<string>;
}

/** A right on a schema with no object of the kind yet: judged on what the owner's future objects get (default privileges). */
function futureRight(ctx: Context, who: string, schema: SchemaInfo, kind: 'tables' | 'functions', privilege: string, future: FutureAcl): Found[] {
  if (!usageIn(ctx, schema).ok) return [];
  const out: Found[] = [];
  for (const h of ctx.holders) {
    if (!future.acl.get(h.role)?.has(privilege)) continue;
    const holder = h.kind === 'direct' ? who : h.role || 'PUBLIC';
    if (h.role === '' && future.builtin.has('')) {
      const detail = `PostgreSQL's built-in default: PUBLIC may ${privilege} the ${kind} ${schema.owner} creates (none exist yet; no default privileges of ${schema.owner} take it away)`;
      out.push({ path: { kind: 'engine', via: h.kind === 'set-role' ? h.via : [], detail }, objects: [], columns: [], privileged: false, engine: true });
      continue;
    }
    const detail = `${privilege} on the ${kind} ${schema.owner} creates (default privileges; none exist yet) granted to ${holder}${howHeld(h)}`;
    out.push(foundOf(h, [], 0, [], detail, h.role === schema.owner));
  }
  return out;
}

/** ALTER: owning the object, through the roles the context has the privileges of; on an empty schema, owning the schema. */
function alterRight(ctx: Context, who: string, schema: SchemaInfo): Found[] {
  if (!usageIn(ctx, schema).ok) return [];
  const objs = [...schema.objects.tables, ...schema.objects.functions];
  const out: Found[] = [];
  for (const h of ctx.holders) {
    const holder = h.kind === 'direct' ? who : h.role || 'PUBLIC';
    if (objs.length === 0) {
      if (h.role === schema.owner) out.push(foundOf(h, [], 0, [], `${holder} owns schema ${schema.name}, and what it creates there${howHeld(h)}`, true));
      continue;
    }
    const names = objs.filter((o) => o.owner === h.role).map((o) => o.name).sort();
    if (names.length) out.push(foundOf(h, names, objs.length, [], `${holder} owns ${objectsText(names, objs.length, 'tables and functions')}${howHeld(h)}`, true));
  }
  return out;
}

/** CREATE on the schema: creating needs no USAGE (the holders of CREATE, each path the whole schema). */
function createRight(ctx: Context, who: string, schema: SchemaInfo): Found[] {
  return ctx.holders
    .filter((h) => schema.acl.get(h.role)?.has('CREATE'))
    .map((h) => foundOf(h, [], 0, [], `CREATE on schema ${schema.name} granted to ${h.kind === 'direct' ? who : h.role || 'PUBLIC'}${howHeld(h)}`, false));
}

/** What a set of paths covers: every object, or these objects and columns (object\0column). */
interface Cover {
  whole: boolean;
  objects: Set<string>;
  columns: Set<string>;
}
const columnKey = (c: ColumnAccess) => `${c.object}\u0000${c.column}`;

function coverOf(found: Found[], total: number): Cover {
  const cover: Cover = { whole: false, objects: new Set(), columns: new Set() };
  for (const f of found) {
    if (f.path.objects === undefined) cover.whole = true;
    for (const o of f.objects) cover.objects.add(o);
    for (const c of f.columns) cover.columns.add(columnKey(c));
  }
  if (total > 0 && cover.objects.size === total) cover.whole = true;
  return cover;
}

/** Whether `a` covers everything `b` does. */
function covers(a: Cover, b: Cover): boolean {
  if (a.whole) return true;
  if (b.whole) return false;
  return [...b.objects].every((o) => a.objects.has(o)) && [...b.columns].every((c) => a.columns.has(c) || a.objects.has(c.split('\u0000')[0]));
}

/** The paths found for one principal, schema and right -> what it holds (every path, each once). */
function heldOf(who: string, schema: string, right: Right, found: Found[], total: number, kind: string): HeldRight | undefined {
  const unique = new Map<string, Found>();
  for (const f of found) unique.set(JSON.stringify([f.path.kind, f.path.via, f.path.detail, f.path.objects ?? null, f.path.columns ?? null]), f);
  const list = [...unique.values()];
  if (!list.length) return undefined;
  const all = coverOf(list, total);
  const privileged = list.filter((f) => f.privileged);
  const others = list.filter((f) => !f.privileged && !f.engine);
  const held: HeldRight = { principal: who, schema, right, paths: list.map((f) => f.path) };
  if (privileged.length && covers(coverOf(privileged, total), coverOf(others, total))) held.bypass = true;
  if (list.every((f) => f.engine)) held.inherent = true;
  if (!all.whole) {
    const objects = [...all.objects].sort();
    const columns = list.flatMap((f) => f.columns).filter((c, i, cs) => !all.objects.has(c.object) && cs.findIndex((d) => columnKey(d) === columnKey(c)) === i);
    columns.sort((a, b) => (columnKey(a) < columnKey(b) ? -1 : columnKey(a) > columnKey(b) ? 1 : 0));
    held.objects = objects;
    if (columns.length) held.columns = columns;
    const parts = [...(objects.length ? [`on ${objectsText(objects, total, kind)}`] : []), ...(columns.length ? [`on columns ${columns.map((c) => `${c.object}.${c.column}`).join(', ')} only`] : [])];
    held.partial = parts.join(' and ');
  }
  return held;
}

/** view-definition's one path, shared by every role and schema (never changed). */
const DEFINITIONS_PATHS: AccessPath[] = [{ kind: 'engine', via: [], detail: 'PostgreSQL shows view and function definitions to every role (pg_views, pg_proc)' }];

/** Every right of one principal (null: PUBLIC) on one schema. */
function rightsOn(who: string, contexts: Context[], schema: SchemaInfo, future: (kind: 'tables' | 'functions') => FutureAcl): HeldRight[] {
  const out: HeldRight[] = [];
  const add = (h: HeldRight | undefined) => h && out.push(h);
  const superContext = contexts.find((c) => c.superuser);
  if (superContext) {
    const chain = superContext.chain;
    const detail = chain.length ? `SET ROLE to the superuser ${chain[chain.length - 1]} (${chainText(chain)})` : `${who} is a superuser: no privilege check applies`;
    for (const right of RIGHTS) out.push({ principal: who, schema: schema.name, right, paths: [{ kind: 'bypass', via: chain, detail }], bypass: true });
    return out;
  }
  // Using anything in the schema needs USAGE in the same context: most roles have it in no context of most
  // schemas, and are done after one look at the schema's ACL.
  const usable = contexts.filter((ctx) => usageIn(ctx, schema).ok);
  const each = (f: (ctx: Context) => Found[]) => usable.flatMap(f);
  const objectRights: [Right, 'tables' | 'functions', string][] = [...(Object.entries(TABLE_PRIVILEGE) as [Right, string][]).map(([r, p]): [Right, 'tables', string] => [r, 'tables', p]), ['execute', 'functions', 'EXECUTE']];
  for (const [right, kind, privilege] of objectRights) {
    const total = schema.objects[kind].length;
    const found = total === 0 ? each((ctx) => futureRight(ctx, who, schema, kind, privilege, future(kind))) : each((ctx) => objectRight(ctx, who, schema, right, kind, privilege));
    add(heldOf(who, schema.name, right, found, total, kind));
  }
  add(heldOf(who, schema.name, 'create-objects', contexts.flatMap((ctx) => createRight(ctx, who, schema)), 0, 'schemas'));
  const owned = schema.objects.tables.length + schema.objects.functions.length;
  add(heldOf(who, schema.name, 'alter', each((ctx) => alterRight(ctx, who, schema)), owned, 'tables and functions'));
  out.push({ principal: who, schema: schema.name, right: 'view-definition', paths: DEFINITIONS_PATHS, inherent: true });
  return out;
}

function schemaInfos(rows: PostgresAccessRows): SchemaInfo[] {
  return rows.schemas.map(([name, owner, acl, tableDefault, functionDefault]) => {
    const objects: SchemaInfo['objects'] = { tables: [], functions: [] };
    for (const [schema, kind, objOwner, objAcl, names] of rows.objects) {
      if (schema !== name) continue;
      const parsed = parseAcl(objAcl);
      for (const n of names) objects[kind].push({ name: n, owner: objOwner, acl: parsed });
    }
    for (const list of [objects.tables, objects.functions]) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const columns = new Map<string, Map<string, Acl>>();
    for (const [schema, table, column, colAcl] of rows.columns ?? []) {
      if (schema !== name) continue;
      columns.set(table, (columns.get(table) ?? new Map<string, Acl>()).set(column, parseAcl(colAcl)));
    }
    return { name, owner, acl: parseAcl(acl), builtinDefaults: { tables: parseAcl(tableDefault), functions: parseAcl(functionDefault) }, objects, columns };
  });
}

/** The ACL a table or function the schema's owner creates there later gets (ALTER DEFAULT PRIVILEGES), and which grantees the built-in default alone gives. */
function futureAclOf(rows: PostgresAccessRows, schema: SchemaInfo, kind: 'tables' | 'functions'): FutureAcl {
  const type = kind === 'tables' ? 'r' : 'f';
  const global = rows.defaultAcls.find(([s, role, t]) => s === null && role === schema.owner && t === type);
  const acl: Acl = global ? parseAcl(global[3]) : new Map([...schema.builtinDefaults[kind]].map(([k, v]) => [k, new Set(v)]));
  const builtin = new Set(global ? [] : [...acl.keys()]);
  for (const [s, role, t, items] of rows.defaultAcls) {
    if (s !== schema.name || role !== schema.owner || t !== type) continue;
    for (const [grantee, privileges] of parseAcl(items)) {
      acl.set(grantee, new Set([...(acl.get(grantee) ?? []), ...privileges]));
      builtin.delete(grantee);
    }
  }
  return { acl, builtin };
}

/** What a reviewer should know about a role: SUPERUSER (or reaching one), CREATEROLE, NOINHERIT, BYPASSRLS, no CONNECT. */
function principalNotes(role: RoleRow, superuser: boolean, canConnect: boolean, cat: Catalog, database: string): string[] {
  const notes: string[] = [];
  if (role.superuser) notes.push('SUPERUSER');
  else if (superuser) notes.push('can SET ROLE to a superuser');
  if (role.createrole && !role.superuser) notes.push('CREATEROLE: an administrator, which may create roles and grant the roles it administers');
  if (!role.inherit && !cat.pg16) notes.push('NOINHERIT: uses the privileges of its roles only after SET ROLE');
  if (role.bypassrls) notes.push('BYPASSRLS: row-level security policies do not apply');
  if (role.login && !canConnect) notes.push(`cannot CONNECT to ${database}`);
  return notes;
}

export function postgresAccessFacts(rows: PostgresAccessRows, scope?: AccessScope): AccessFacts {
  const pg16 = rows.identity.versionNum >= 160000;
  const roles: Catalog['roles'] = new Map(
    rows.roles.map(([name, superuser, inherit, login, bypassrls, comment, createrole, validUntil]) => [
      name,
      { name, superuser, inherit, login, bypassrls, comment, createrole: createrole === true, validUntil },
    ]),
  );
  const cat: Catalog = { pg16, roles, parents: membershipEdges(rows, roles, scope, pg16) };
  const databaseAcl = parseAcl(rows.databaseAcl);
  const schemas = schemaInfos(rows);
  const futures = new Map(schemas.map((s) => [s.name, { tables: futureAclOf(rows, s, 'tables'), functions: futureAclOf(rows, s, 'functions') }]));
  const held: HeldRight[] = [];
  const evaluate = (name: string | null) => {
    const contexts = contextsOf(name, cat);
    for (const s of schemas) pushAll(held, rightsOn(name ?? 'PUBLIC', contexts, s, (kind) => futures.get(s.name)![kind]));
    const superuser = contexts.some((c) => c.superuser);
    return { superuser, canConnect: superuser || contexts[0].holders.some((h) => databaseAcl.get(h.role)?.has('CONNECT')) };
  };
  evaluate(null);
  const principals: FactPrincipal[] = [{ name: 'PUBLIC', kind: 'public', canLogin: false, superuser: false, notes: ['every role has what PUBLIC has'] }];
  for (const role of roles.values()) {
    const internal = role.name.startsWith('pg_');
    const { superuser, canConnect } = internal ? { superuser: false, canConnect: false } : evaluate(role.name);
    const marker = parseMarker(role.comment);
    principals.push({
      name: role.name,
      kind: role.login ? 'login' : 'role',
      canLogin: role.login,
      superuser: role.superuser,
      notes: principalNotes(role, superuser, canConnect, cat, rows.identity.database),
      ...(role.createrole && !role.superuser ? { administrator: true } : {}),
      ...(Object.keys(marker).length ? { marker } : {}),
      ...(role.validUntil ? { validUntil: new Date(role.validUntil).toISOString() } : {}),
      ...(internal ? { internal: true } : {}),
    });
  }
  const memberships: FactMembership[] = [];
  for (const [member, edges] of cat.parents) for (const e of edges) memberships.push({ role: e.role, member, ...(e.admin ? { admin: true } : {}), ...(e.inherit || e.set ? {} : { inert: true }) });
  return {
    engine: 'postgres',
    identity: { database: rows.identity.database, server: rows.identity.server, version: `PostgreSQL ${rows.identity.version}`, id: `oid ${rows.identity.oid}` },
    principals,
    schemas: Object.fromEntries(schemas.map((s) => [s.name, s.owner])),
    held,
    memberships,
    raw: rows,
  };
}

/** The policy's roles and memberships, as the access evaluation needs them (see AccessScope). */
export function accessScopeOf(desired: DesiredState): AccessScope {
  return {
    policyRoles: [...desired.logins.map((l) => l.name), ...desired.users.map((u) => u.name), ...desired.roles.map((r) => r.name), ...desired.schemas.map((s) => s.owner)],
    policyMemberships: desired.memberships.map((m) => [m.role, m.member] as const),
  };
}
