import { EngineName, Right, RIGHTS } from '../../model/types';
import { AccessFacts, AccessPath, ColumnAccess, FactPrincipal, HeldRight } from '../../model/access';
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
 * - An object can have an owner of its own, "if different from the schema owner", set by ALTER
 *   AUTHORIZATION (sys.objects, principal_id): that owner, and the members of an owning role, hold every
 *   permission on the object (CONTROL "confers ownership-like capabilities", Permissions (Database Engine))
 *   and no DENY applies to it (DENY). The schema's owner keeps CONTROL on it too ("the schema owner always
 *   retains CONTROL permission on objects within the schema", Create a database schema).
 * - db_securityadmin "can modify role membership for custom roles only and manage permissions" and
 *   db_accessadmin "can add or remove access to the database" (Database-level roles): the two database
 *   roles of the provisioning login (seed 000, docs/sqlserver.md). A member of either is an
 *   administrator; what db_securityadmin holds on the database (VIEW DEFINITION) reaches it as
 *   administration (path `admin`), privileged rather than drift.
 * - Personal data (Dynamic Data Masking): "Users with SELECT permission on a table can view the table data.
 *   Columns that are defined as masked, will display the masked data", unless UNMASK reaches them; "The
 *   CONTROL permission on the database includes both the ALTER ANY MASK and UNMASK permission"; UNMASK
 *   can be granted "at the database-level, schema-level, table-level or at the column-level" (granular
 *   permissions, SQL Server 2022 and Azure SQL) (Dynamic Data Masking, Permissions and Granular
 *   permissions). So a column a principal reads is 'masked' when sys.masked_columns masks it and no UNMASK
 *   reaches the principal (itself, its roles, public; class 0, 3 or 1 with the object or the column), else
 *   'clear'. dbo and sysadmin logins bypass the checks: clear. CONTROL on the schema (its owner) or on
 *   an object (an owner of its own) is taken to imply UNMASK there, as pmgrants' apply does when it grants
 *   UNMASK AS the schema owner (docs/sqlserver.md, Unverified inferences). A DENY of UNMASK or CONTROL
 *   wins as any DENY does, except for direct owners, and a column GRANT beats a table DENY (DENY,
 *   DENY Object Permissions). A view's columns show the masks of the columns they read, which these
 *   rows do not tell: their visibility is left unsaid.
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
  /** Objects with an owner of their own, not the schema's (sys.objects.principal_id; absent in older rows). */
  objectOwners?: { schema_name: string; object_name: string; owner_name: string }[];
  /**
   * Every column of the user tables (object_type U) and views (V) with its Dynamic Data Masking function
   * (sys.masked_columns.masking_function, null: not masked), sql/access-masked-columns.sql. Absent in
   * older rows: no column is known to be masked, and the columns a reader of some columns misses are not listed.
   */
  columns?: { schema_name: string; object_name: string; object_type: string; column_id: number; column_name: string; masking_function: string | null }[];
}

/** The fixed database roles of the provisioning login (seed 000): their members are administrators. */
const ADMINISTRATION_ROLES = new Set(['db_securityadmin', 'db_accessadmin']);

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
  const inventory = rows.columns ? columnsBySchema(rows.columns) : undefined;
  const principals: FactPrincipal[] = [];
  const out: Results = { held: [], denials: [] };
  for (const p of rows.principals) {
    const { fact, bypassBy } = factPrincipal(p, index.guestEnabled);
    principals.push(fact);
    if (fact.internal) continue;
    const holders = holdersOf(p, index.parents);
    const administration = holders.find((h) => ADMINISTRATION_ROLES.has(key(h.name)));
    if (administration && !bypassBy) {
      fact.administrator = true;
      fact.notes.push(`member of ${administration.name}: an administrator (the provisioning login's role)`);
    }
    for (const schema of rows.schemas) {
      const owner = index.owners.get(key(schema.name))!;
      const at: PrincipalOnSchema = { principal: p.name, schema: schema.name, holders, owner, ownerHolder: holders.find((h) => key(h.name) === key(owner)) };
      const before = out.held.length;
      evaluateSchema(rows, index, at, bypassBy, out);
      if (!bypassBy) {
        addObjectOwnership(rows, at, out, before);
        readPersonalColumns(rows, index, at, out.held.slice(before), inventory);
      }
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
    // Role membership always passes permissions on (Database-level roles): every row is usable access.
    memberships: rows.members.map((m) => ({ role: m.role_name, member: m.member_name })),
    denials: out.denials,
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
    add(right, paths, paths.every((g) => g.kind === 'bypass' || g.kind === 'admin') ? { bypass: true } : {});
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
    else if (partial.paths.length) add(right, partial.paths, partial.scope);
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
      const kind = key(h.name) === 'db_owner' ? 'bypass' : ADMINISTRATION_ROLES.has(key(h.name)) ? 'admin' : 'database';
      grants.push({ kind, via: h.via, detail: `member of ${h.name} (${fixed.join(', ')} on the database)${through}` });
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
  return (permission: string, schemaLevel: Decision): { paths: AccessPath[]; scope: Partial<HeldRight>; denied?: string } | undefined => {
    const relevant = rowsHere.filter((p) => p.permission_name === permission || p.permission_name === 'CONTROL');
    if (relevant.length === 0) return undefined;
    const target = (p: (typeof relevant)[number]) => `${schema}.${p.object_name ?? '?'}${p.column_name ? ` (${p.column_name})` : ''}`;
    const tableDenied = new Set(relevant.filter((p) => p.state === 'D' && !p.column_name).map((p) => key(p.object_name ?? '')));
    const grants = relevant.filter((p) => p.state !== 'D' && (p.column_name || !tableDenied.has(key(p.object_name ?? ''))));
    if (schemaLevel.grants.length && !schemaLevel.denies.length) {
      if (tableDenied.size === 0) return undefined;
      const denied = relevant.filter((p) => p.state === 'D' && !p.column_name);
      const except = [...new Set(denied.map((p) => p.object_name ?? '?'))].sort();
      return { paths: schemaLevel.grants, scope: { partial: `${permission} on the schema except ${denied.map(target).join(', ')} (DENY on the object)`, except } };
    }
    if (schemaLevel.denies.length || grants.length === 0) {
      const denied = relevant.filter((p) => p.state === 'D').map(target);
      return denied.length ? { paths: [], scope: {}, denied: denied.join(', ') } : undefined;
    }
    // One path per grantee, permission and object: its column grants together ("SELECT on s.t (a, b)").
    const groups = new Map<string, { grant: (typeof grants)[number]; columns: string[] }>();
    for (const g of grants) {
      const k = [key(g.grantee_name), g.permission_name, key(g.object_name ?? ''), g.column_name ? 'columns' : 'object'].join('\u0000');
      const group = groups.get(k) ?? { grant: g, columns: [] };
      if (g.column_name) group.columns.push(g.column_name);
      groups.set(k, group);
    }
    const paths = [...groups.values()].map(({ grant, columns }) => objectGrantPath(grant, columns, schema, mine.get(key(grant.grantee_name))!, tableDenied.has(key(grant.object_name ?? ''))));
    return { paths, scope: { partial: `${permission} on ${targetsOf(schema, grants)}`, ...scopeOfPaths(paths) } };
  };
}

/** The objects and columns grants cover, one entry per object: "s.cases, s.vendors (vendor_id, amount)". */
function targetsOf(schema: string, grants: readonly SqlServerAccessRows['permissions'][number][]): string {
  const byObject = new Map<string, { name: string; whole: boolean; columns: string[] }>();
  for (const g of grants) {
    const name = g.object_name ?? '?';
    const entry = byObject.get(key(name)) ?? { name, whole: false, columns: [] };
    if (!g.column_name) entry.whole = true;
    else if (!entry.columns.some((c) => key(c) === key(g.column_name!))) entry.columns.push(g.column_name);
    byObject.set(key(name), entry);
  }
  return [...byObject.values()].map((o) => `${schema}.${o.name}${o.whole || o.columns.length === 0 ? '' : ` (${o.columns.join(', ')})`}`).join(', ');
}

/**
 * The path of one object grant, or of the column grants of one grantee on one object (`columns`), with
 * the part of the schema it covers (the visibility of the columns read: readPersonalColumns).
 */
function objectGrantPath(g: SqlServerAccessRows['permissions'][number], columns: string[], schema: string, h: Holder, tableDenied: boolean): AccessPath {
  const object = g.object_name ?? '?';
  const what = `${g.permission_name} on ${schema}.${object}${columns.length ? ` (${columns.join(', ')})` : ''}${columns.length && tableDenied ? ' (a column GRANT beats the table DENY)' : ''}`;
  const scope: Pick<AccessPath, 'objects' | 'columns'> = columns.length ? { objects: [], columns: columns.map((column) => ({ object, column })) } : { objects: [object] };
  if (h.kind === 'direct') return { kind: 'direct', via: [], detail: `${what} granted to ${g.grantee_name}`, ...scope };
  if (h.kind === 'public') return { kind: 'public', via: [], detail: `${what} granted to public`, ...scope };
  return { kind: 'membership', via: h.via, detail: `${what} granted to ${h.name}, through ${h.via.join(' → ')}`, ...scope };
}

/** What paths that each cover part of a schema hold together: their objects, and the columns of the other objects. */
function scopeOfPaths(paths: AccessPath[]): { objects: string[]; columns?: ColumnAccess[] } {
  const objects = [...new Set(paths.flatMap((p) => p.objects ?? []))].sort();
  const seen = new Set<string>();
  const columns: ColumnAccess[] = [];
  for (const c of paths.flatMap((p) => p.columns ?? [])) {
    const k = `${key(c.object)}\u0000${key(c.column)}`;
    if (objects.some((o) => key(o) === key(c.object)) || seen.has(k)) continue;
    seen.add(k);
    columns.push(c);
  }
  return { objects, ...(columns.length ? { columns } : {}) };
}

/**
 * Objects of the schema with an owner of their own (sys.objects.principal_id): their owner holds every
 * right on them, whatever DENY says; a member of an owning role too, unless a DENY reaches it (as for a
 * role that owns a schema: the exemption is documented for owners). Added to what `out.held` (from index
 * `from`) already says for this principal and schema: a path on a right it holds, or the right on those objects.
 */
function addObjectOwnership(rows: SqlServerAccessRows, at: PrincipalOnSchema, out: Results, from: number): void {
  const held = out.held;
  const mine = new Set(at.holders.map((h) => key(h.name)));
  const deniedOn = (right: Right, object: string) =>
    out.denials.some((d) => d.principal === at.principal && key(d.schema) === key(at.schema) && d.right === right) ||
    rows.permissions.some((p) => p.class === 1 && p.state === 'D' && !p.column_name && key(p.schema_name ?? '') === key(at.schema) && key(p.object_name ?? '') === key(object) && mine.has(key(p.grantee_name)) && (p.permission_name === SCHEMA_PERMISSION_OF[right] || p.permission_name === 'CONTROL'));
  const owned = new Map<string, { holder: Holder; objects: string[] }>();
  for (const o of rows.objectOwners ?? []) {
    if (key(o.schema_name) !== key(at.schema)) continue;
    const holder = at.holders.find((h) => key(h.name) === key(o.owner_name));
    if (!holder) continue;
    const entry = owned.get(key(holder.name)) ?? { holder, objects: [] };
    entry.objects.push(o.object_name);
    owned.set(key(holder.name), entry);
  }
  for (const { holder, objects } of owned.values()) {
    const names = [...new Set(objects)].sort();
    const detail = holder.kind === 'direct' ? `${at.principal} owns ${names.map((n) => `${at.schema}.${n}`).join(', ')} (an owner of its own, not the schema's)` : `${holder.name} owns ${names.map((n) => `${at.schema}.${n}`).join(', ')}, a role of ${at.principal} through ${holder.via.join(' → ')}`;
    const path: AccessPath = { kind: 'ownership', via: holder.via, detail, objects: names };
    for (const right of RIGHTS) {
      if (right === 'create-objects') continue;
      if (holder.kind !== 'direct' && names.some((n) => deniedOn(right, n))) continue;
      const existing = held.slice(from).find((h) => h.right === right);
      if (!existing) held.push({ principal: at.principal, schema: at.schema, right, paths: [path], objects: names, partial: `on ${names.join(', ')} (owned)` });
      else if (existing.partial === undefined) existing.paths.push(path);
      else if (existing.except) {
        // A DENY on an object does not reach its owner: what it owns is no longer an exception.
        existing.paths.push(path);
        existing.except = existing.except.filter((o) => !names.some((n) => key(n) === key(o)));
        if (existing.except.length === 0) {
          delete existing.except;
          delete existing.partial;
        }
      } else {
        existing.paths.push(path);
        Object.assign(existing, scopeOfPaths(existing.paths), { partial: `${existing.partial}; owns ${names.join(', ')}` });
      }
      delete existing?.bypass;
    }
  }
}

/** One column of an app schema's table or view (rows.columns), with whether Dynamic Data Masking masks it. */
interface SchemaColumn {
  object: string;
  view: boolean;
  column: string;
  masked: boolean;
}

/** rows.columns by schema, each schema's in object then column order. */
function columnsBySchema(columns: NonNullable<SqlServerAccessRows['columns']>): Map<string, SchemaColumn[]> {
  const sorted = [...columns].sort((a, b) => (key(a.object_name) < key(b.object_name) ? -1 : key(a.object_name) > key(b.object_name) ? 1 : a.column_id - b.column_id));
  const out = new Map<string, SchemaColumn[]>();
  for (const c of sorted) addTo(out, key(c.schema_name), { object: c.object_name, view: c.object_type.trim() === 'V', column: c.column_name, masked: c.masking_function !== null && c.masking_function !== undefined });
  return out;
}

/** Permissions that unmask: UNMASK itself, and CONTROL, which includes it (Dynamic Data Masking, Permissions). */
const UNMASKING = new Set(['UNMASK', 'CONTROL']);

/**
 * Whether UNMASK reaches one principal (not dbo, not sysadmin) on a column of one schema: granted to it,
 * one of its roles or public on the database, the schema, the table or the column (Dynamic Data
 * Masking, granular permissions), or held through CONTROL there: db_owner and CONTROL SERVER (CONTROL on
 * the database), the schema's owner, an object's own owner. A DENY of UNMASK or CONTROL on the database
 * or schema, or on the column, or on the table without a GRANT on the column, wins, except for a direct
 * owner (DENY; DENY Object Permissions).
 */
function unmaskOf(rows: SqlServerAccessRows, index: AccessIndex, at: PrincipalOnSchema): (object: string, column: string) => boolean {
  if (at.ownerHolder?.kind === 'direct') return () => true;
  const mine = new Map(at.holders.map((h) => [key(h.name), h]));
  const onSchema = `schema:${key(at.schema)}`;
  let wide = at.ownerHolder !== undefined;
  let wideDeny = false;
  for (const h of at.holders) {
    for (const g of index.grants.get(key(h.name)) ?? []) {
      if ((g.on !== 'database' && g.on !== onSchema) || !UNMASKING.has(g.permission)) continue;
      if (g.deny) wideDeny = true;
      else wide = true;
    }
    if (FIXED_GRANTS[key(h.name)]?.includes('CONTROL')) wide = true;
  }
  const objectRows = rows.permissions.filter((p) => p.class === 1 && key(p.schema_name ?? '') === key(at.schema) && mine.has(key(p.grantee_name)) && UNMASKING.has(p.permission_name));
  const owned = (rows.objectOwners ?? []).filter((o) => key(o.schema_name) === key(at.schema) && mine.has(key(o.owner_name)));
  return (object, column) => {
    const owners = owned.filter((o) => key(o.object_name) === key(object));
    if (owners.some((o) => mine.get(key(o.owner_name))!.kind === 'direct')) return true;
    if (wideDeny) return false;
    const on = objectRows.filter((p) => key(p.object_name ?? '') === key(object) && (!p.column_name || key(p.column_name) === key(column)));
    if (on.some((p) => p.state === 'D' && p.column_name)) return false;
    const columnGrant = on.some((p) => p.state !== 'D' && p.column_name);
    if (on.some((p) => p.state === 'D' && !p.column_name) && !columnGrant) return false;
    return wide || owners.length > 0 || on.some((p) => p.state !== 'D');
  };
}

/**
 * What one principal's SELECT on one schema (in `held`, the rights evaluateSchema and addObjectOwnership
 * found for it there) reads of the masked columns: each column it is granted is 'masked' or 'clear'
 * (a view's, unsaid); a path that reads whole tables or the whole schema says which masked columns it
 * reads masked. A reader of columns one by one (Dynamic Data Masking's masked and hidden readers) also
 * gets the columns of the schema it cannot read listed, 'hidden': the part of a table it is not granted,
 * and every column of a table it is granted nothing on (one made after the last apply, say).
 */
function readPersonalColumns(rows: SqlServerAccessRows, index: AccessIndex, at: PrincipalOnSchema, held: HeldRight[], inventory: Map<string, SchemaColumn[]> | undefined): void {
  const h = held.find((x) => x.right === 'select');
  if (!h || h.bypass) return;
  const here = inventory?.get(key(at.schema)) ?? [];
  const unmasked = unmaskOf(rows, index, at);
  const ck = (object: string, column: string) => `${key(object)}\u0000${key(column)}`;
  const views = new Set(here.filter((c) => c.view).map((c) => key(c.object)));
  const masked = new Set(here.filter((c) => c.masked).map((c) => ck(c.object, c.column)));
  const visibility = (object: string, column: string): ColumnAccess['visibility'] =>
    views.has(key(object)) ? undefined : masked.has(ck(object, column)) && !unmasked(object, column) ? 'masked' : 'clear';
  const except = new Set((h.except ?? []).map(key));
  const readMasked = (objects: readonly string[] | undefined) =>
    here.filter((c) => c.masked && (objects ? objects.some((o) => key(o) === key(c.object)) : !except.has(key(c.object))) && !unmasked(c.object, c.column)).map((c) => `${c.object}.${c.column}`);
  h.paths = h.paths.map((p) => {
    if (p.kind === 'bypass' || p.kind === 'admin') return p;
    if (p.columns?.length) return { ...p, columns: p.columns.map((c) => ({ object: c.object, column: c.column, ...withVisibility(visibility(c.object, c.column)) })) };
    const read = readMasked(p.objects);
    return read.length ? { ...p, detail: `${p.detail}; reads ${read.join(', ')} masked (Dynamic Data Masking: no UNMASK reaches ${at.principal})` } : p;
  });
  if (h.partial === undefined || h.except) return;
  Object.assign(h, scopeOfPaths(h.paths));
  if (!inventory || !h.paths.some((p) => p.columns?.length)) return;
  // Granted column by column: list every column of the schema it does not read as a whole object, hidden or not.
  const whole = new Set((h.objects ?? []).map(key));
  const granted = new Map((h.columns ?? []).map((c) => [ck(c.object, c.column), c]));
  const columns: ColumnAccess[] = [];
  for (const c of here) {
    if (whole.has(key(c.object))) continue;
    columns.push(granted.get(ck(c.object, c.column)) ?? { object: c.object, column: c.column, visibility: 'hidden' });
    granted.delete(ck(c.object, c.column));
  }
  h.columns = [...columns, ...granted.values()];
}

function withVisibility(v: ColumnAccess['visibility']): Pick<ColumnAccess, 'visibility'> {
  return v ? { visibility: v } : {};
}
