import { EngineName, Right, RIGHTS } from '../../model/types';
import { AccessFacts, AccessPath, FactPrincipal, HeldRight } from '../../model/access';
import { SCHEMA_PERMISSION_OF } from './privileges';

/**
 * SQL Server / Azure SQL effective access, pure: rows shaped like the sys.* result sets of
 * ACCESS_SQL (sql/access-*.sql) -> what every database principal can do on every app
 * schema, and through which path. The rules, each from Microsoft's documentation (docs/sqlserver.md,
 * "Access report"):
 * - Role membership nests and always passes permissions on; every user is a member of public.
 * - A schema permission is implied by CONTROL on the schema, by the same permission on the database
 *   (ALTER: by ALTER ANY SCHEMA, itself implied by ALTER on the database), and by CONTROL on the
 *   database (GRANT Schema Permissions, "Implied by ...").
 * - db_owner holds CONTROL on the database; db_datareader SELECT; db_datawriter INSERT, UPDATE, DELETE;
 *   db_ddladmin any DDL (ALTER ANY SCHEMA, CREATE TABLE ...); db_denydatareader / db_denydatawriter deny
 *   them (Database-level roles).
 * - The owner of a schema holds CONTROL on it.
 * - DENY anywhere on the path (on the schema or the database, of the permission or of CONTROL, to the
 *   user or any of its roles, public included) wins over every GRANT, except for object owners and
 *   members of sysadmin (DENY). db_owner members are not exempt. dbo and sysadmin logins pass every check.
 * - db_securityadmin holds VIEW DEFINITION and db_ddladmin REFERENCES on the database (the figure of
 *   fixed database roles' permissions, Database-level roles).
 * - Server permissions of a principal's login, granted or through server roles, reach every database it
 *   can enter: CONTROL SERVER implies CONTROL on every database, VIEW ANY DEFINITION VIEW DEFINITION,
 *   ALTER ANY DATABASE ALTER (GRANT Database Permissions, "Implied by server permission"); SELECT ALL USER
 *   SECURABLES lets a login read the data of every database it can connect to (Permissions (Database Engine)).
 *   Fixed server roles' permissions are not in sys.server_permissions (sys.server_permissions): they are
 *   expanded here (Server-level roles; ##MS_DatabaseManager## ALTER ANY DATABASE, ##MS_DefinitionReader##
 *   VIEW ANY DEFINITION).
 * - guest: with CONNECT granted, every login without a user here enters as guest (CREATE USER, "guest").
 * - Permissions on one object or column of an app schema hold the right on that part only; "a table-level
 *   DENY doesn't take precedence over a column-level GRANT" (DENY Object Permissions, caution).
 */
export interface SqlServerAccessRows {
  identity: { database_name: string; server_name: string | null; product_version: string | null; edition: string | null; database_id: number }[];
  principals: {
    principal_id: number;
    name: string;
    type: string;
    is_fixed_role: boolean | number;
    pmgrants_marker: string | null;
    password_last_set: string | null;
    is_sysadmin: number | null;
  }[];
  members: { role_name: string; member_name: string }[];
  /**
   * class 0 = database, 3 = schema, 1 = object (object_name) or one of its columns (column_name); state G,
   * W (grant option) or D (deny).
   */
  permissions: { class: number; schema_name: string | null; grantee_name: string; permission_name: string; state: string; object_name?: string | null; column_name?: string | null }[];
  schemas: { name: string; owner_name: string }[];
  /** SQL Server: the server roles of each database principal's login (absent in older rows; empty on Azure SQL Database). */
  serverRoles?: { principal_name: string; role_name: string }[];
  /** SQL Server: server permissions (class 100) of each database principal's login, direct or through a user-defined server role. */
  serverPermissions?: { principal_name: string; permission_name: string; state: string; via_role: string | null }[];
}

/** Server permissions that reach the database, and the database permission each implies. */
const SERVER_IMPLIES: Record<string, string> = {
  'CONTROL SERVER': 'CONTROL',
  'ALTER ANY DATABASE': 'ALTER',
  'VIEW ANY DEFINITION': 'VIEW DEFINITION',
  'SELECT ALL USER SECURABLES': 'SELECT',
};
/** The server permissions of fixed server roles that reach user data (Server-level roles). */
const FIXED_SERVER_GRANTS: Record<string, string[]> = {
  '##MS_DatabaseManager##': ['ALTER ANY DATABASE'],
  '##MS_DefinitionReader##': ['VIEW ANY DEFINITION'],
};

/** Database permissions that imply a schema permission (besides CONTROL on the database). */
const DATABASE_IMPLIES: Record<string, string[]> = {
  SELECT: ['SELECT'],
  INSERT: ['INSERT'],
  UPDATE: ['UPDATE'],
  DELETE: ['DELETE'],
  EXECUTE: ['EXECUTE'],
  REFERENCES: ['REFERENCES'],
  'VIEW DEFINITION': ['VIEW DEFINITION'],
  ALTER: ['ALTER ANY SCHEMA', 'ALTER'],
  'CREATE TABLE': ['CREATE TABLE', 'ALTER'],
};
/** What the fixed database roles hold and deny on the database (Database-level roles). */
const FIXED_GRANTS: Record<string, string[]> = {
  db_owner: ['CONTROL'],
  db_securityadmin: ['VIEW DEFINITION'],
  db_datareader: ['SELECT'],
  db_datawriter: ['INSERT', 'UPDATE', 'DELETE'],
  db_ddladmin: ['ALTER ANY SCHEMA', 'CREATE TABLE', 'CREATE VIEW', 'CREATE PROCEDURE', 'CREATE FUNCTION', 'REFERENCES'],
};
const FIXED_DENIES: Record<string, string[]> = {
  db_denydatareader: ['SELECT'],
  db_denydatawriter: ['INSERT', 'UPDATE', 'DELETE'],
};
const INTERNAL_USERS = new Set(['sys', 'INFORMATION_SCHEMA']);

/** A principal whose permissions another holds: itself, one of its roles (nested), or public. */
interface Holder {
  name: string;
  kind: 'direct' | 'public' | 'membership';
  via: string[];
}

/** A database- or schema-level permission of one grantee; `on` is 'database' or 'schema:<name>'. */
interface Grant {
  on: string;
  permission: string;
  deny: boolean;
}

/** The rows indexed once for every principal: role parents, grants by grantee, schema owners, guest. */
interface AccessIndex {
  parents: Map<string, string[]>;
  grants: Map<string, Grant[]>;
  owners: Map<string, string>;
  guestEnabled: boolean;
}

/** One principal looked at on one schema: the holders of its permissions, and the schema's owner among them. */
interface PrincipalOnSchema {
  principal: string;
  schema: string;
  holders: readonly Holder[];
  owner: string;
  ownerHolder: Holder | undefined;
}

/** The grants and denials that decide one schema-level permission. */
interface Decision {
  grants: AccessPath[];
  denies: string[];
}

/** What the evaluation collects: rights held, and rights granted but cancelled by a DENY. */
interface Results {
  held: HeldRight[];
  denials: NonNullable<AccessFacts['denials']>;
}

const key = (s: string) => s.toLowerCase();

/** Append to the list under `k`, creating it. */
function addTo<T>(map: Map<string, T[]>, k: string, item: T): void {
  const list = map.get(k);
  if (list) list.push(item);
  else map.set(k, [item]);
}

export function sqlServerAccessFacts(rows: SqlServerAccessRows, engine: EngineName = 'sqlserver'): AccessFacts {
  const id = rows.identity[0];
  const index = indexAccessRows(rows);
  const principals: FactPrincipal[] = [];
  const out: Results = { held: [], denials: [] };
  for (const p of rows.principals) {
    const { fact, bypassBy } = factPrincipal(p, index.guestEnabled);
    principals.push(fact);
    if (fact.internal) continue;
    const holders = holdersOf(p, index.parents);
    for (const schema of rows.schemas) {
      const owner = index.owners.get(key(schema.name))!;
      const at: PrincipalOnSchema = { principal: p.name, schema: schema.name, holders, owner, ownerHolder: holders.find((h) => key(h.name) === key(owner)) };
      evaluateSchema(rows, index, at, bypassBy, out);
    }
  }
  return {
    engine,
    identity: {
      database: id?.database_name ?? '',
      server: id?.server_name ?? 'unknown server',
      version: `SQL Server ${id?.product_version ?? ''}${id?.edition ? ` (${id.edition})` : ''}`.trim(),
      id: `database_id ${id?.database_id ?? '?'}`,
    },
    principals,
    schemas: Object.fromEntries(rows.schemas.map((s) => [s.name, s.owner_name])),
    held: out.held,
    denials: out.denials,
    memberships: rows.members.map((m) => ({ role: m.role_name, member: m.member_name })),
    raw: rows,
  };
}

/** Role parents by member, database- and schema-level grants (server permissions included) by grantee, schema owners. */
function indexAccessRows(rows: SqlServerAccessRows): AccessIndex {
  const parents = new Map<string, string[]>();
  for (const m of rows.members) addTo(parents, key(m.member_name), m.role_name);
  for (const roles of parents.values()) roles.sort();
  const grants = new Map<string, Grant[]>();
  for (const p of rows.permissions) {
    if (p.class !== 0 && p.class !== 3) continue;
    const on = p.class === 0 ? 'database' : `schema:${key(p.schema_name ?? '')}`;
    addTo(grants, key(p.grantee_name), { on, permission: p.permission_name, deny: p.state === 'D' });
  }
  addServerPermissions(rows, grants);
  return {
    parents,
    grants,
    owners: new Map(rows.schemas.map((s) => [key(s.name), s.owner_name])),
    guestEnabled: rows.permissions.some((p) => p.class === 0 && key(p.grantee_name) === 'guest' && p.permission_name === 'CONNECT' && p.state !== 'D'),
  };
}

/** A database principal as the report lists it, and why no permission check applies to it (dbo, sysadmin), if so. */
function factPrincipal(p: SqlServerAccessRows['principals'][number], guestEnabled: boolean): { fact: FactPrincipal; bypassBy?: string } {
  const fixed = p.is_fixed_role === true || p.is_fixed_role === 1;
  const isPublic = p.principal_id === 0;
  const internal = fixed || INTERNAL_USERS.has(p.name) || (key(p.name) === 'guest' && !guestEnabled);
  const bypassBy = p.principal_id === 1 ? 'the database owner: no permission check applies' : p.is_sysadmin === 1 ? 'its login is a member of sysadmin: no permission check applies' : undefined;
  const kind: FactPrincipal['kind'] = isPublic ? 'public' : p.type === 'R' || p.type === 'A' ? 'role' : p.type === 'G' || p.type === 'X' ? 'group' : 'user';
  const notes: string[] = [];
  if (bypassBy) notes.push(p.principal_id === 1 ? 'dbo: the database owner; sysadmin logins enter as dbo' : 'sysadmin');
  if (key(p.name) === 'guest' && guestEnabled) notes.push('guest has CONNECT: every login without a user in this database enters as guest');
  const fact: FactPrincipal = {
    name: p.name,
    kind,
    canLogin: ['S', 'U', 'E'].includes(p.type),
    superuser: bypassBy !== undefined,
    notes,
    ...(p.pmgrants_marker !== null || p.password_last_set ? { marker: { ...(p.password_last_set ? { passwordSetAt: `${p.password_last_set.replace(/Z?$/, '')}Z` } : {}) } } : {}),
    ...(internal ? { internal: true } : {}),
  };
  return { fact, ...(bypassBy ? { bypassBy } : {}) };
}

/** The principals whose permissions `p` holds: itself, its roles (nested, breadth first), public. */
function holdersOf(p: SqlServerAccessRows['principals'][number], parents: ReadonlyMap<string, string[]>): Holder[] {
  const isPublic = p.principal_id === 0;
  const holders: Holder[] = [{ name: p.name, kind: isPublic ? 'public' : 'direct', via: [] }];
  const seen = new Set([key(p.name)]);
  const queue: Holder[] = [holders[0]];
  while (queue.length) {
    const at = queue.shift()!;
    for (const role of parents.get(key(at.name)) ?? []) {
      if (seen.has(key(role))) continue;
      seen.add(key(role));
      const h: Holder = { name: role, kind: 'membership', via: [...at.via, role] };
      holders.push(h);
      queue.push(h);
    }
  }
  if (!isPublic) holders.push({ name: 'public', kind: 'public', via: [] });
  return holders;
}

/** Every right one principal holds on one schema, and each one a DENY cancels, into `out`. */
function evaluateSchema(rows: SqlServerAccessRows, index: AccessIndex, at: PrincipalOnSchema, bypassBy: string | undefined, out: Results): void {
  const add = (right: Right, paths: AccessPath[], extra: Partial<HeldRight> = {}) => {
    if (paths.length) out.held.push({ principal: at.principal, schema: at.schema, right, paths, ...extra });
  };
  if (bypassBy) {
    for (const right of RIGHTS) add(right, [{ kind: 'bypass', via: [], detail: `${at.principal}: ${bypassBy}` }], { bypass: true });
    return;
  }
  const ownership: AccessPath = { kind: 'ownership', via: [], detail: `${at.principal} owns schema ${at.schema} (CONTROL; DENY does not apply to owners)` };
  const directOwner = at.ownerHolder?.kind === 'direct';
  const settle = (right: Right, d: Decision) => {
    if (d.denies.length) {
      if (d.grants.length) out.denials.push({ principal: at.principal, schema: at.schema, right, detail: `granted but denied: ${d.denies.join('; ')}` });
      return;
    }
    const paths = d.grants.filter((g, i) => d.grants.findIndex((x) => x.detail === g.detail) === i);
    add(right, paths, paths.every((g) => g.kind === 'bypass') ? { bypass: true } : {});
  };
  const objects = objectLevel(rows, at.schema, at.holders);
  for (const right of RIGHTS) {
    if (right === 'create-objects') {
      // CREATE TABLE on the database, and ALTER on the schema to create in it.
      const create = decide(index, at, 'CREATE TABLE');
      const alter = directOwner ? { grants: [ownership], denies: [] } : decide(index, at, 'ALTER');
      if (create.grants.length && alter.grants.length) settle(right, { grants: [...create.grants, ...alter.grants], denies: [...create.denies, ...alter.denies] });
      continue;
    }
    if (directOwner) {
      add(right, [ownership]);
      continue;
    }
    const schemaLevel = decide(index, at, SCHEMA_PERMISSION_OF[right]);
    const partial = objects(SCHEMA_PERMISSION_OF[right], schemaLevel);
    if (!partial) settle(right, schemaLevel);
    else if (partial.paths.length) add(right, partial.paths, { partial: partial.partial });
    else if (partial.denied) out.denials.push({ principal: at.principal, schema: at.schema, right, detail: `denied on ${partial.denied}` });
  }
}

/** The grants and denials that decide one schema-level permission (or CREATE TABLE) for one principal on one schema. */
function decide(index: AccessIndex, at: PrincipalOnSchema, permission: string): Decision {
  const grants: AccessPath[] = [];
  const denies: string[] = [];
  const databaseLevel = DATABASE_IMPLIES[permission] ?? [permission];
  const schemaLevel = permission === 'CREATE TABLE' ? [] : [permission, 'CONTROL'];
  const onSchema = `schema:${key(at.schema)}`;
  const { ownerHolder } = at;
  if (ownerHolder && permission !== 'CREATE TABLE') {
    grants.push({ kind: 'ownership', via: ownerHolder.via, detail: `${at.owner} owns schema ${at.schema} (CONTROL), a role of ${at.principal} through ${ownerHolder.via.join(' → ')}` });
  }
  for (const h of at.holders) {
    for (const g of index.grants.get(key(h.name)) ?? []) {
      const hit = (g.on === onSchema && schemaLevel.includes(g.permission)) || (g.on === 'database' && (databaseLevel.includes(g.permission) || g.permission === 'CONTROL'));
      if (!hit) continue;
      const what = `${g.deny ? 'DENY ' : ''}${g.permission} on ${g.on === 'database' ? 'the database' : `schema ${at.schema}`}`;
      if (g.deny) denies.push(`${what} to ${h.name}`);
      else {
        const path = pathThrough(at.principal, h, what);
        grants.push(g.on === 'database' ? { ...path, kind: h.kind === 'membership' || h.kind === 'public' ? 'database' : path.kind } : path);
      }
    }
    const through = h.via.length > 1 ? ` through ${h.via.join(' → ')}` : '';
    const fixed = FIXED_GRANTS[key(h.name)];
    if (fixed && (fixed.includes('CONTROL') || fixed.some((x) => databaseLevel.includes(x)))) {
      grants.push({ kind: key(h.name) === 'db_owner' ? 'bypass' : 'database', via: h.via, detail: `member of ${h.name} (${fixed.join(', ')} on the database)${through}` });
    }
    const denied = FIXED_DENIES[key(h.name)];
    if (denied?.some((x) => databaseLevel.includes(x))) denies.push(`member of ${h.name} (DENY ${denied.join(', ')} on the database)${through}`);
  }
  return { grants, denies };
}

/** The path of a grant `what` made to holder `h` of `principal`. */
function pathThrough(principal: string, h: Holder, what: string): AccessPath {
  if (h.kind === 'direct') return { kind: 'direct', via: [], detail: `${what} granted to ${principal}` };
  if (h.kind === 'public') return { kind: 'public', via: [], detail: `${what} granted to public` };
  return { kind: 'membership', via: h.via, detail: `${what} granted to ${h.name}, a role of ${principal} through ${h.via.join(' → ')}` };
}

/** Server permissions of each principal's login (direct, user-defined server roles, fixed server roles) as database-level holdings. */
function addServerPermissions(rows: SqlServerAccessRows, grants: Map<string, Grant[]>): void {
  const add = (principal: string, serverPermission: string, deny: boolean) => {
    const implied = SERVER_IMPLIES[serverPermission];
    if (implied) addTo(grants, key(principal), { on: 'database', permission: implied, deny });
  };
  for (const r of rows.serverRoles ?? []) for (const sp of FIXED_SERVER_GRANTS[r.role_name] ?? []) add(r.principal_name, sp, false);
  for (const sp of rows.serverPermissions ?? []) add(sp.principal_name, sp.permission_name, sp.state === 'D');
}


/**
 * Object- and column-level permissions (class 1) on one app schema, for one principal's holders:
 * returns a function that, given the schema-level decision for a permission, says whether only part of
 * the schema is reachable (granted on some objects or columns, the schema itself not) or the schema
 * right is held except where an object DENY takes it away. A column GRANT beats a table DENY (DENY Object
 * Permissions), a DENY on the schema or database beats both. undefined: objects change nothing.
 */
function objectLevel(rows: SqlServerAccessRows, schema: string, holders: readonly Holder[]) {
  const mine = new Map(holders.map((h) => [key(h.name), h]));
  const rowsHere = rows.permissions.filter((p) => p.class === 1 && key(p.schema_name ?? '') === key(schema) && mine.has(key(p.grantee_name)));
  return (permission: string, schemaLevel: Decision): { paths: AccessPath[]; partial: string; denied?: string } | undefined => {
    const relevant = rowsHere.filter((p) => p.permission_name === permission || p.permission_name === 'CONTROL');
    if (relevant.length === 0) return undefined;
    const target = (p: (typeof relevant)[number]) => `${schema}.${p.object_name ?? '?'}${p.column_name ? ` (${p.column_name})` : ''}`;
    const tableDenied = new Set(relevant.filter((p) => p.state === 'D' && !p.column_name).map((p) => key(p.object_name ?? '')));
    const grants = relevant.filter((p) => p.state !== 'D' && (p.column_name || !tableDenied.has(key(p.object_name ?? ''))));
    if (schemaLevel.grants.length && !schemaLevel.denies.length) {
      if (tableDenied.size === 0) return undefined;
      const except = relevant.filter((p) => p.state === 'D' && !p.column_name).map(target);
      return { paths: schemaLevel.grants, partial: `${permission} on the schema except ${except.join(', ')} (DENY on the object)` };
    }
    if (schemaLevel.denies.length || grants.length === 0) {
      const denied = relevant.filter((p) => p.state === 'D').map(target);
      return denied.length ? { paths: [], partial: '', denied: denied.join(', ') } : undefined;
    }
    const paths = grants.map((g): AccessPath => {
      const h = mine.get(key(g.grantee_name))!;
      const what = `${g.permission_name} on ${target(g)}${g.column_name && tableDenied.has(key(g.object_name ?? '')) ? ' (a column GRANT beats the table DENY)' : ''}`;
      if (h.kind === 'direct') return { kind: 'direct', via: [], detail: `${what} granted to ${g.grantee_name}` };
      if (h.kind === 'public') return { kind: 'public', via: [], detail: `${what} granted to public` };
      return { kind: 'membership', via: h.via, detail: `${what} granted to ${h.name}, through ${h.via.join(' → ')}` };
    });
    return { paths, partial: `${permission} on ${grants.map(target).join(', ')}` };
  };
}
