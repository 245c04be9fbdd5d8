import { Right, RIGHTS } from '../../model/types';
import { parseAclItem } from './acl';
import { parseMarker } from './marker';
import { AccessFacts, AccessPath, FactPrincipal, HeldRight } from '../../model/access';

/**
 * PostgreSQL effective access, pure: the catalog rows of the access-*.sql queries -> what every role
 * can do on every app schema, and through which path.
 *
 * The rules (PostgreSQL documentation, "Role Membership", "Privileges", "Predefined Roles", GRANT):
 * - A role has the privileges of the roles it inherits from: up to 15 through every membership when the
 *   member role has INHERIT; from 16 through the memberships granted WITH INHERIT TRUE.
 * - It can SET ROLE to any role it is a member of (from 16: through memberships WITH SET TRUE), and then
 *   has that role's privileges, inherited ones included: reachable rights, reported as `set-role` paths.
 * - PUBLIC's privileges belong to every role. A superuser passes every check; SUPERUSER is not inherited,
 *   but SET ROLE to a superuser role makes the session one.
 * - pg_read_all_data / pg_write_all_data act as SELECT / INSERT, UPDATE, DELETE (and USAGE) everywhere.
 * - Using a table or function needs USAGE on its schema and the privilege on the object; creating needs
 *   CREATE on the schema; ALTER and DROP need ownership (pmgrants: membership in the schema's owner role).
 * - Definitions of views and functions are readable by every role (pg_views, pg_proc).
 * ACLs come with defaults spelled out (acldefault), so a NULL ACL needs no special case here.
 */
export interface PostgresAccessRows {
  identity: { database: string; oid: number; version: string; versionNum: number; server: string };
  /** [name, superuser, inherit, login, bypassrls, comment, VALID UNTIL (ISO time; null: no end)] */
  roles: [string, boolean, boolean, boolean, boolean, string | null, (string | null)?][];
  /** [role, member, pg_auth_members row] */
  memberships: [string, string, { admin_option?: boolean; inherit_option?: boolean; set_option?: boolean }][];
  /** [schema, owner, ACL, default table ACL of the owner, default function ACL of the owner] */
  schemas: [string, string, string[], string[], string[]][];
  /** [schema, 'tables' | 'functions', owner, ACL, objects] */
  objects: [string, 'tables' | 'functions', string, string[], number | string][];
  /** [schema or null, creating role, 'r' | 'f', ACL] */
  defaultAcls: [string | null, string, string, string[]][];
  databaseAcl: string[];
}

const TABLE_PRIVILEGE: Partial<Record<Right, string>> = { select: 'SELECT', insert: 'INSERT', update: 'UPDATE', delete: 'DELETE', references: 'REFERENCES' };
const PREDEFINED_DATA_ROLES: Record<string, Set<Right>> = {
  pg_read_all_data: new Set<Right>(['select']),
  pg_write_all_data: new Set<Right>(['insert', 'update', 'delete']),
};

/** A role a principal can use the privileges of, and how it gets there. */
interface Holder {
  role: string; // '' = PUBLIC
  kind: 'direct' | 'public' | 'membership' | 'set-role';
  via: string[];
}

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

/** Roles reachable from `start` along the edges `follow` allows, with the shortest chain to each. */
function reach(start: string, parents: Map<string, { role: string; inherit: boolean; set: boolean }[]>, follow: 'inherit' | 'set'): Map<string, string[]> {
  const out = new Map<string, string[]>([[start, []]]);
  const queue = [start];
  while (queue.length) {
    const at = queue.shift()!;
    for (const edge of parents.get(at) ?? []) {
      if (!(follow === 'inherit' ? edge.inherit : edge.set) || out.has(edge.role)) continue;
      out.set(edge.role, [...out.get(at)!, edge.role]);
      queue.push(edge.role);
    }
  }
  return out;
}

type Parents = Map<string, { role: string; inherit: boolean; set: boolean }[]>;
type RoleRow = { name: string; superuser: boolean; inherit: boolean; login: boolean; bypassrls: boolean; comment: string | null; validUntil?: string | null };
type SchemaFacts = { name: string; owner: string; acl: Acl; builtinDefaults: { tables: Acl; functions: Acl } };
type ObjectGroup = { schema: string; kind: 'tables' | 'functions'; owner: string; acl: Acl; objects: number };

/**
 * What a session can use: as the principal itself (its own and inherited privileges, PUBLIC's), or
 * after SET ROLE to each role it can reach (that role's own and inherited privileges, PUBLIC's). A
 * right needs USAGE and the object privilege in the same context: one statement runs as one role.
 */
interface Context {
  /** Chain of SET ROLE from the principal; [] for the principal itself. */
  chain: string[];
  superuser: boolean;
  holders: Holder[];
}

export function postgresAccessFacts(rows: PostgresAccessRows): AccessFacts {
  const evaluator = new AccessEvaluator(rows);
  const { roles, schemas, held, pg16 } = evaluator;
  const principals: FactPrincipal[] = [];
  evaluator.evaluate(null);
  principals.push({ name: 'PUBLIC', kind: 'public', canLogin: false, superuser: false, notes: ['every role has what PUBLIC has'] });
  for (const role of roles.values()) {
    const internal = role.name.startsWith('pg_');
    const { superuser, canConnect } = evaluator.evaluate(role.name);
    const notes: string[] = [];
    if (role.superuser) notes.push('SUPERUSER');
    else if (superuser) notes.push('can SET ROLE to a superuser');
    if (!role.inherit && !pg16) notes.push('NOINHERIT: uses the privileges of its roles only after SET ROLE');
    if (role.bypassrls) notes.push('BYPASSRLS: row-level security policies do not apply');
    if (role.login && !canConnect) notes.push(`cannot CONNECT to ${rows.identity.database}`);
    const marker = parseMarker(role.comment);
    principals.push({
      name: role.name,
      kind: role.login ? 'login' : 'role',
      canLogin: role.login,
      superuser: role.superuser,
      notes,
      ...(Object.keys(marker).length ? { marker } : {}),
      ...(role.validUntil ? { validUntil: new Date(role.validUntil).toISOString() } : {}),
      ...(internal ? { internal: true } : {}),
    });
  }
  return {
    engine: 'postgres',
    identity: { database: rows.identity.database, server: rows.identity.server, version: `PostgreSQL ${rows.identity.version}`, id: `oid ${rows.identity.oid}` },
    principals,
    schemas: Object.fromEntries(schemas.map((s) => [s.name, s.owner])),
    held: held.filter((h) => !roles.get(h.principal)?.name.startsWith('pg_')),
    memberships: rows.memberships.map(([role, member]) => ({ role, member })),
    raw: rows,
  };
}

/** The catalog rows read once into roles, memberships and ACLs; then each principal evaluated against every app schema. */
class AccessEvaluator {
  readonly pg16: boolean;
  readonly roles: Map<string, RoleRow>;
  /** member -> the roles it is a member of, with whether the membership passes privileges on and allows SET ROLE. */
  private readonly parents: Parents = new Map();
  readonly schemas: SchemaFacts[];
  private readonly objectRows: ObjectGroup[];
  private readonly databaseAcl: Acl;
  /** What every principal evaluated so far holds. */
  readonly held: HeldRight[] = [];

  constructor(private readonly rows: PostgresAccessRows) {
    this.pg16 = rows.identity.versionNum >= 160000;
    this.roles = new Map(rows.roles.map(([name, superuser, inherit, login, bypassrls, comment, validUntil]) => [name, { name, superuser, inherit, login, bypassrls, comment, validUntil }]));
    for (const [role, member, m] of rows.memberships) {
      const inherit = this.pg16 ? m.inherit_option !== false : this.roles.get(member)?.inherit !== false;
      const set = this.pg16 ? m.set_option !== false : true;
      const list = this.parents.get(member) ?? [];
      const same = list.find((e) => e.role === role);
      if (same) {
        same.inherit ||= inherit;
        same.set ||= set;
      } else list.push({ role, inherit, set });
      this.parents.set(member, list);
    }
    for (const list of this.parents.values()) list.sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
    this.databaseAcl = parseAcl(rows.databaseAcl);
    this.schemas = rows.schemas.map(([name, owner, acl, tableDefault, functionDefault]) => ({
      name,
      owner,
      acl: parseAcl(acl),
      builtinDefaults: { tables: parseAcl(tableDefault), functions: parseAcl(functionDefault) },
    }));
    this.objectRows = rows.objects.map(([schema, kind, owner, acl, objects]) => ({ schema, kind, owner, acl: parseAcl(acl), objects: Number(objects) }));
  }

  /** The ACL a table or function the schema's owner creates there later gets (ALTER DEFAULT PRIVILEGES). */
  private futureAcl(schema: SchemaFacts, kind: 'tables' | 'functions'): Acl {
    const type = kind === 'tables' ? 'r' : 'f';
    const global = this.rows.defaultAcls.find(([s, role, t]) => s === null && role === schema.owner && t === type);
    const acl: Acl = global ? parseAcl(global[3]) : new Map([...schema.builtinDefaults[kind]].map(([k, v]) => [k, new Set(v)]));
    for (const [s, role, t, items] of this.rows.defaultAcls) {
      if (s !== schema.name || role !== schema.owner || t !== type) continue;
      for (const [grantee, privileges] of parseAcl(items)) acl.set(grantee, new Set([...(acl.get(grantee) ?? []), ...privileges]));
    }
    return acl;
  }

  private contextsOf(name: string | null): Context[] {
    const { parents, roles } = this;
    const publicHolder: Holder = { role: '', kind: 'public', via: [] };
    if (name === null) return [{ chain: [], superuser: false, holders: [publicHolder] }];
    const own: Context = {
      chain: [],
      superuser: roles.get(name)?.superuser === true,
      holders: [...[...reach(name, parents, 'inherit')].map(([role, via]): Holder => ({ role, kind: role === name ? 'direct' : 'membership', via })), publicHolder],
    };
    const out = [own];
    for (const [target, chain] of reach(name, parents, 'set')) {
      if (target === name) continue;
      const holders = [...reach(target, parents, 'inherit')].map(([role, rest]): Holder => ({ role, kind: 'set-role', via: [...chain, ...rest] }));
      out.push({ chain, superuser: roles.get(target)?.superuser === true, holders: [...holders, { role: '', kind: 'set-role', via: chain }] });
    }
    return out;
  }

  /** What `name` (null: PUBLIC) holds on every app schema, added to `held`; whether it is a superuser and can connect. */
  evaluate(name: string | null): { superuser: boolean; canConnect: boolean } {
    const who = name ?? 'PUBLIC';
    const contexts = this.contextsOf(name);
    const superContext = contexts.find((c) => c.superuser);
    for (const schema of this.schemas) {
      const add = (right: Right, paths: AccessPath[], extra: Partial<HeldRight> = {}) => {
        if (paths.length) this.held.push({ principal: who, schema: schema.name, right, paths, ...extra });
      };
      if (superContext) {
        const chain = superContext.chain;
        const detail = chain.length ? `SET ROLE to the superuser ${chain[chain.length - 1]} (${chain.join(' → ')})` : `${who} is a superuser: no privilege check applies`;
        for (const right of RIGHTS) add(right, [{ kind: 'bypass', via: chain, detail }], { bypass: true });
        continue;
      }
      for (const [right, privilege] of Object.entries(TABLE_PRIVILEGE) as [Right, string][]) this.objectRight(who, contexts, schema, add, right, 'tables', privilege);
      this.objectRight(who, contexts, schema, add, 'execute', 'functions', 'EXECUTE');
      add(
        'create-objects',
        firstFull(contexts.map((ctx) => {
          const paths = holdersIn(ctx, schema.acl, 'CREATE').map((h) => pathOf(who, h, `CREATE on schema ${schema.name}`));
          return { paths, full: paths.length > 0 };
        })),
      );
      add('alter', firstFull(contexts.map((ctx) => ownershipOf(who, ctx, schema))));
      add('view-definition', [{ kind: 'engine', via: [], detail: 'PostgreSQL shows view and function definitions to every role (pg_views, pg_proc)' }], { inherent: true });
    }
    return { superuser: superContext !== undefined, canConnect: superContext !== undefined || holdersIn(contexts[0], this.databaseAcl, 'CONNECT').length > 0 };
  }

  /** A right on a schema's tables or functions: held on all of them in one context, through a predefined role, or on some only. */
  private objectRight(
    who: string,
    contexts: Context[],
    schema: SchemaFacts,
    add: (right: Right, paths: AccessPath[], extra?: Partial<HeldRight>) => void,
    right: Right,
    kind: 'tables' | 'functions',
    privilege: string,
  ): void {
    const groups = this.objectRows.filter((o) => o.schema === schema.name && o.kind === kind);
    const total = groups.reduce((n, g) => n + g.objects, 0);
    let best: { covered: number; paths: AccessPath[] } | undefined;
    const results = contexts.map((ctx) => {
      if (holdersIn(ctx, schema.acl, 'USAGE').length === 0) return { paths: [], full: false };
      const found = new Map<Holder, number>();
      let covered = 0;
      if (total === 0) for (const h of holdersIn(ctx, this.futureAcl(schema, kind), privilege)) found.set(h, 0);
      for (const g of groups) {
        const hs = holdersIn(ctx, g.acl, privilege);
        if (hs.length) covered += g.objects;
        for (const h of hs) found.set(h, (found.get(h) ?? 0) + g.objects);
      }
      const paths = [...found].map(([h, n]) =>
        pathOf(who, h, total === 0 ? `${privilege} on the ${kind} ${schema.owner} creates (default privileges; none exist yet)` : `${privilege} on ${n} of ${total} ${kind}`),
      );
      if (covered > 0 && (!best || covered > best.covered)) best = { covered, paths };
      return { paths, full: total === 0 ? paths.length > 0 : covered === total };
    });
    const full = firstFull(results);
    if (full.length) return add(right, full);
    const bypass = contexts.flatMap((ctx) =>
      ctx.holders
        .filter((h) => PREDEFINED_DATA_ROLES[h.role]?.has(right))
        .map((h) => ({ kind: 'bypass' as const, via: h.via, detail: `member of the predefined role ${h.role} (${h.via.join(' → ')}): ${right} on every table of every schema` })),
    );
    if (bypass.length) return add(right, bypass, { bypass: true });
    const partial = best as { covered: number; paths: AccessPath[] } | undefined;
    if (partial) add(right, partial.paths, { partial: `${privilege} on ${partial.covered} of ${total} ${kind}` });
  }
}

function holdersIn(ctx: Context, acl: Acl, privilege: string): Holder[] {
  return ctx.holders.filter((h) => acl.get(h.role)?.has(privilege));
}

function pathOf(who: string, h: Holder, what: string): AccessPath {
  const chain = h.via.join(' → ');
  switch (h.kind) {
    case 'direct':
      return { kind: 'direct', via: [], detail: `${what} granted to ${who}` };
    case 'public':
      return { kind: 'public', via: [], detail: `${what} granted to PUBLIC` };
    case 'membership':
      return { kind: 'membership', via: h.via, detail: `${what} granted to ${h.role}, inherited through ${chain}` };
    default:
      return { kind: 'set-role', via: h.via, detail: `${what} granted to ${h.role || 'PUBLIC'}, usable only after SET ROLE (${chain}; not inherited)` };
  }
}

/** Paths of the first context that holds it fully: the principal's own session first, then each SET ROLE. */
function firstFull(results: { paths: AccessPath[]; full: boolean }[]): AccessPath[] {
  const own = results[0];
  if (own?.full) return own.paths;
  const dedupe = new Map<string, AccessPath>();
  for (const r of results.slice(1)) if (r.full) for (const p of r.paths) dedupe.set(p.detail, p);
  return [...dedupe.values()];
}

/** ALTER and DROP need ownership: the schema's owner role, as the principal or reached in this context. */
function ownershipOf(who: string, ctx: Context, schema: SchemaFacts): { paths: AccessPath[]; full: boolean } {
  const owner = ctx.holders.find((h) => h.role === schema.owner);
  if (!owner) return { paths: [], full: false };
  const detail =
    owner.kind === 'direct'
      ? `${who} owns schema ${schema.name}`
      : `${schema.owner} owns schema ${schema.name}; ${owner.kind === 'set-role' ? 'usable only after SET ROLE' : 'inherited'} through ${owner.via.join(' → ')}`;
  return { paths: [{ kind: 'ownership' as const, via: owner.via, detail }], full: true };
}
