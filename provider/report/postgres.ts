import { parseAclItem } from '../engines/postgres/acl';
import { parseMarker } from '../engines/postgres/marker';
import { Right, RIGHTS } from '../model/types';
import { AccessFacts, AccessPath, FactPrincipal, HeldRight } from './types';

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
  /** [name, superuser, inherit, login, bypassrls, comment] */
  roles: [string, boolean, boolean, boolean, boolean, string | null][];
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

export function postgresAccessFacts(rows: PostgresAccessRows): AccessFacts {
  const pg16 = rows.identity.versionNum >= 160000;
  const roles = new Map(rows.roles.map(([name, superuser, inherit, login, bypassrls, comment]) => [name, { name, superuser, inherit, login, bypassrls, comment }]));
  // member -> the roles it is a member of, with whether the membership passes privileges on and allows SET ROLE.
  const parents = new Map<string, { role: string; inherit: boolean; set: boolean }[]>();
  for (const [role, member, m] of rows.memberships) {
    const inherit = pg16 ? m.inherit_option !== false : roles.get(member)?.inherit !== false;
    const set = pg16 ? m.set_option !== false : true;
    const list = parents.get(member) ?? [];
    const same = list.find((e) => e.role === role);
    if (same) {
      same.inherit ||= inherit;
      same.set ||= set;
    } else list.push({ role, inherit, set });
    parents.set(member, list);
  }
  for (const list of parents.values()) list.sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));

  const databaseAcl = parseAcl(rows.databaseAcl);
  const schemas = rows.schemas.map(([name, owner, acl, tableDefault, functionDefault]) => ({
    name,
    owner,
    acl: parseAcl(acl),
    builtinDefaults: { tables: parseAcl(tableDefault), functions: parseAcl(functionDefault) },
  }));
  const objectRows = rows.objects.map(([schema, kind, owner, acl, objects]) => ({ schema, kind, owner, acl: parseAcl(acl), objects: Number(objects) }));
  /** The ACL a table or function the schema's owner creates there later gets (ALTER DEFAULT PRIVILEGES). */
  const futureAcl = (schema: (typeof schemas)[number], kind: 'tables' | 'functions'): Acl => {
    const type = kind === 'tables' ? 'r' : 'f';
    const global = rows.defaultAcls.find(([s, role, t]) => s === null && role === schema.owner && t === type);
    const acl: Acl = global ? parseAcl(global[3]) : new Map([...schema.builtinDefaults[kind]].map(([k, v]) => [k, new Set(v)]));
    for (const [s, role, t, items] of rows.defaultAcls) {
      if (s !== schema.name || role !== schema.owner || t !== type) continue;
      for (const [grantee, privileges] of parseAcl(items)) acl.set(grantee, new Set([...(acl.get(grantee) ?? []), ...privileges]));
    }
    return acl;
  };

  const principals: FactPrincipal[] = [];
  const held: HeldRight[] = [];
  const evaluate = (name: string | null) => {
    // null: PUBLIC itself (what every role can do).
    const holders: Holder[] = [{ role: '', kind: 'public', via: [] }];
    let superVia: string[] | undefined;
    if (name !== null) {
      const inherited = reach(name, parents, 'inherit');
      const settable = reach(name, parents, 'set');
      holders.unshift({ role: name, kind: 'direct', via: [] });
      for (const [role, via] of inherited) if (role !== name) holders.push({ role, kind: 'membership', via });
      if (roles.get(name)?.superuser) superVia = [];
      for (const [target, chain] of settable) {
        if (target === name) continue;
        if (roles.get(target)?.superuser && !superVia) superVia = chain;
        for (const [role, rest] of reach(target, parents, 'inherit')) {
          if (!inherited.has(role) && !holders.some((h) => h.role === role)) holders.push({ role, kind: 'set-role', via: [...chain, ...rest] });
        }
      }
    }
    const who = name ?? 'PUBLIC';
    const pathOf = (h: Holder, what: string): AccessPath => {
      const chain = h.via.join(' → ');
      switch (h.kind) {
        case 'direct':
          return { kind: 'direct', via: [], detail: `${what} granted to ${who}` };
        case 'public':
          return { kind: 'public', via: [], detail: `${what} granted to PUBLIC` };
        case 'membership':
          return { kind: 'membership', via: h.via, detail: `${what} granted to ${h.role}, inherited through ${chain}` };
        default:
          return { kind: 'set-role', via: h.via, detail: `${what} granted to ${h.role}, reachable only by SET ROLE (${chain}; not inherited)` };
      }
    };
    const holdersIn = (acl: Acl, privilege: string) => holders.filter((h) => acl.get(h.role)?.has(privilege));

    for (const schema of schemas) {
      const add = (right: Right, paths: AccessPath[], extra: Partial<HeldRight> = {}) => {
        if (paths.length) held.push({ principal: who, schema: schema.name, right, paths, ...extra });
      };
      if (superVia) {
        const detail = superVia.length ? `SET ROLE to the superuser ${superVia[superVia.length - 1]} (${superVia.join(' → ')})` : `${who} is a superuser: no privilege check applies`;
        for (const right of RIGHTS) add(right, [{ kind: 'bypass', via: superVia, detail }], { bypass: true });
        continue;
      }
      const usage = holdersIn(schema.acl, 'USAGE');
      const predefined = (right: Right): AccessPath[] =>
        holders
          .filter((h) => PREDEFINED_DATA_ROLES[h.role]?.has(right))
          .map((h) => ({ kind: 'bypass' as const, via: h.via, detail: `member of the predefined role ${h.role} (${h.via.join(' → ')}): ${right} on every table of every schema` }));
      const objectRight = (right: Right, kind: 'tables' | 'functions', privilege: string) => {
        const bypass = predefined(right);
        let paths: AccessPath[] = [];
        let partial: string | undefined;
        if (usage.length) {
          const groups = objectRows.filter((o) => o.schema === schema.name && o.kind === kind);
          const total = groups.reduce((n, g) => n + g.objects, 0);
          const found = new Map<Holder, number>();
          let covered = 0;
          if (total === 0) {
            for (const h of holdersIn(futureAcl(schema, kind), privilege)) found.set(h, 0);
          } else {
            for (const g of groups) {
              const hs = holdersIn(g.acl, privilege);
              if (hs.length) covered += g.objects;
              for (const h of hs) found.set(h, (found.get(h) ?? 0) + g.objects);
            }
            if (covered > 0 && covered < total) partial = `${privilege} on ${covered} of ${total} ${kind}`;
          }
          paths = [...found].map(([h, n]) =>
            pathOf(h, total === 0 ? `${privilege} on the ${kind} ${schema.owner} creates (default privileges; none exist yet)` : `${privilege} on ${n} of ${total} ${kind}`),
          );
          if (total > 0 && covered === 0) paths = [];
        }
        if (paths.length) add(right, paths, partial ? { partial } : {});
        else if (bypass.length) add(right, bypass, { bypass: true });
      };
      for (const [right, privilege] of Object.entries(TABLE_PRIVILEGE) as [Right, string][]) objectRight(right, 'tables', privilege);
      objectRight('execute', 'functions', 'EXECUTE');
      add('create-objects', holdersIn(schema.acl, 'CREATE').map((h) => pathOf(h, `CREATE on schema ${schema.name}`)));
      const owner = holders.find((h) => h.role === schema.owner);
      if (owner) {
        const detail =
          owner.kind === 'direct'
            ? `${who} owns schema ${schema.name}`
            : `${schema.owner} owns schema ${schema.name}; ${owner.kind === 'set-role' ? 'reachable only by SET ROLE' : 'inherited'} through ${owner.via.join(' → ')}`;
        add('alter', [{ kind: 'ownership', via: owner.via, detail }]);
      }
      add('view-definition', [{ kind: 'engine', via: [], detail: 'PostgreSQL shows view and function definitions to every role (pg_views, pg_proc)' }], { inherent: true });
    }
    return { superuser: superVia !== undefined, canConnect: holdersIn(databaseAcl, 'CONNECT').length > 0 || superVia !== undefined };
  };

  evaluate(null);
  principals.push({ name: 'PUBLIC', kind: 'public', canLogin: false, superuser: false, notes: ['every role has what PUBLIC has'] });
  for (const role of roles.values()) {
    const internal = role.name.startsWith('pg_');
    const { superuser, canConnect } = evaluate(role.name);
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
      ...(internal ? { internal: true } : {}),
    });
  }
  return {
    engine: 'postgres',
    identity: { database: rows.identity.database, server: rows.identity.server, version: `PostgreSQL ${rows.identity.version}`, id: `oid ${rows.identity.oid}` },
    principals,
    schemas: Object.fromEntries(schemas.map((s) => [s.name, s.owner])),
    held: held.filter((h) => !roles.get(h.principal)?.name.startsWith('pg_')),
    raw: rows,
  };
}
