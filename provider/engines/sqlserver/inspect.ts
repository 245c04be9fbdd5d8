import { isReservedSchema, names } from '../../model/names';
import { columnSecurable, compareCodeUnits, sortState } from '../../model/state';
import type { LiveMasking, LiveRelation } from '../../model/masking';
import { DesiredState, Login, Membership, Permission, PrincipalKind, Role, Schema, Securable, User, UserSource, ActualState } from '../../model/types';
import { MANAGED_MARKER } from './options';
import { MANAGED_PERMISSIONS, OBJECT_KIND_PREFIX } from './privileges';
import { isGeneratedLoginSid } from './sid';

/** A row of SQL_LOGINS_SQL / SQL_LOGINS_AZURE_SQL (sys.sql_logins). */
export interface SqlLoginRow {
  name: string;
  principal_id: number;
  /** '0x…' (CONVERT binary style 1). */
  sid: string;
  type: string;
  is_disabled: boolean | number;
  /** ISO 8601 without zone (CONVERT style 126), server time; null when unknown. */
  password_last_set: string | null;
  /** The login's default database (sys.server_principals.default_database_name); absent in older fixtures. */
  default_database_name?: string | null;
}

/** A row of DATABASE_PRINCIPALS_SQL (sys.database_principals + marker). */
export interface DatabasePrincipalRow {
  principal_id: number;
  name: string;
  /** S SQL user, U Windows user, G Windows group, E Entra user/app, X Entra group, R role, A application role, C/K certificate/key users. */
  type: string;
  /** 0 none, 1 instance (login), 2 database (contained, password), 3 Windows. */
  authentication_type: number | null;
  sid: string | null;
  is_fixed_role: boolean | number;
  entra_object_id: string | null;
  modify_date: string | null;
  pmgrants_marker: string | null;
}

export interface DatabaseRoleMemberRow {
  role_principal_id: number;
  member_principal_id: number;
}

/** A row of DATABASE_PERMISSIONS_SQL (sys.database_permissions, class 0/1/3/4, state G/W/D). */
export interface DatabasePermissionRow {
  class: number;
  major_id: number;
  /** class 1: the column id of a column permission, 0 for the object itself (absent in older fixtures: 0). */
  minor_id?: number;
  grantee_principal_id: number;
  permission_name: string;
  state: string;
  /** class 1 (object): sys.objects.schema_id and name of the object; absent or null otherwise. */
  object_schema_id?: number | null;
  object_name?: string | null;
  /** class 1: sys.objects.principal_id, the object's own owner when it is not the schema's; null otherwise. */
  object_owner_id?: number | null;
  /** class 1 with a column id: sys.columns.name of that column. */
  column_name?: string | null;
}

export interface SchemaRow {
  schema_id: number;
  name: string;
  principal_id: number;
}

/** The session that reads the catalog (SESSION_SQL): its user and whether it may change fixed roles' members. */
export interface SessionRow {
  user_name: string | null;
  /** IS_ROLEMEMBER('db_owner'): ALTER ROLE on a fixed database role needs db_owner (ALTER ROLE, Permissions). */
  is_db_owner: number | null;
}

/** A row of MASKING_COLUMNS_SQL: a column of a table (U) or view (V) of a schema with personal data, and its mask. */
export interface MaskingColumnRow {
  schema_name: string;
  object_name: string;
  /** sys.objects.type: 'U' a table, 'V' a view (char(2): may come back space-padded). */
  object_type: string;
  column_id: number;
  column_name: string;
  /** TYPE_NAME(system_type_id): the column's system type. */
  type_name: string;
  /** sys.masked_columns.masking_function; null when the column is not masked. */
  masking_function: string | null;
  /** sys.columns.is_computed (absent in older fixtures: not computed). */
  is_computed?: boolean | number | null;
}

/** The result sets inspect reads, exactly as the catalog queries return them. */
export interface SqlServerCatalogRows {
  /** MASKING_COLUMNS_SQL, read only when the policy declares personal columns; absent: not read. */
  maskingColumns?: MaskingColumnRow[];
  /** Absent in fixtures written before it was read: then fixed roles are treated as changeable. */
  session?: SessionRow;
  /** sys.sql_logins; empty in contained mode, where no login is read. */
  logins: SqlLoginRow[];
  principals: DatabasePrincipalRow[];
  roleMembers: DatabaseRoleMemberRow[];
  permissions: DatabasePermissionRow[];
  schemas: SchemaRow[];
}

export interface InspectContext {
  engine: 'sqlserver' | 'azure-sql';
  database: string;
  /** The managed prefix: with the marker, how pmgrants recognises what it owns. */
  prefix: string;
  /** 'contained' (azure-sql): generated logins are contained users WITH PASSWORD. */
  generatedLogins?: 'server' | 'contained';
  /** The desired state, to label what was found (purpose, app, persona); never to decide what exists. */
  desired?: DesiredState;
}

const SYSTEM_PRINCIPALS = new Set(['dbo', 'guest', 'information_schema', 'sys', 'public']);
const USER_TYPES = new Set(['S', 'U', 'G', 'E', 'X']);

const truthy = (v: boolean | number | null | undefined) => v === true || v === 1;
const hasPrefix = (name: string, prefix: string) => prefix.length > 0 && name.toLowerCase().startsWith(prefix.toLowerCase());

/** Catalog times are server-local ISO 8601 without a zone; read them as UTC (a skew of hours, not days). */
function isoTime(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const t = new Date(withZone);
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
}

/** The policy's principals and schemas by name: they label what inspect finds, never decide what exists. */
interface Wanted {
  users: ReadonlyMap<string, User>;
  roles: ReadonlyMap<string, Role>;
  logins: ReadonlyMap<string, Login>;
  schemas: ReadonlyMap<string, Schema>;
}

/** What inspect gathers from the principals and logins, step by step. */
interface Found {
  users: User[];
  roles: Role[];
  logins: Login[];
  managed: Set<string>;
  passwordSetAt: Record<string, string>;
  /** SIDs of managed SQL users that map to a login: the mark of a login made before SIDs were derived. */
  managedUserSids: Set<string>;
  /** Logins another warehouse owns, by name -> that warehouse ('' = unknown). */
  foreign: Record<string, string>;
}

/**
 * Catalog result sets -> ActualState. Pure.
 *
 * Managed (may be altered or dropped by pmgrants): database users and roles whose name starts with the
 * prefix AND carry the extended property pmgrants:managed; SQL logins whose name starts with the prefix
 * and whose SID is the one pmgrants derives for this warehouse (sid.ts) or, for a login made before SIDs
 * were derived, the SID of such a managed user (logins cannot carry extended properties).
 * Permissions are reported only within the vocabulary pmgrants manages, so nothing else is ever revoked.
 */
export function inspectSqlServer(rows: SqlServerCatalogRows, context: InspectContext): ActualState {
  const { desired } = context;
  const byId = new Map(rows.principals.map((p) => [p.principal_id, p]));
  const wanted: Wanted = {
    users: new Map((desired?.users ?? []).map((u) => [u.name, u])),
    roles: new Map((desired?.roles ?? []).map((r) => [r.name, r])),
    logins: new Map((desired?.logins ?? []).map((l) => [l.name, l])),
    schemas: new Map((desired?.schemas ?? []).map((s) => [s.name, s])),
  };
  const found: Found = { users: [], roles: [], logins: [], managed: new Set(), passwordSetAt: {}, managedUserSids: new Set(), foreign: {} };
  readPrincipals(rows, context, wanted, found);
  if (!isContained(context)) readLogins(rows, context, wanted, found);
  const warnings: string[] = [];
  const memberships = readMemberships(rows, byId, found.managed, warnings);
  return {
    ...sortState({
      engine: context.engine,
      database: context.database,
      logins: found.logins,
      users: found.users,
      roles: found.roles,
      schemas: readSchemas(rows, byId, wanted),
      memberships,
      permissions: readPermissions(rows, byId, wanted),
    }),
    managed: [...found.managed].sort(),
    passwordSetAt: found.passwordSetAt,
    ...(Object.keys(found.foreign).length > 0 ? { foreign: found.foreign } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(rows.maskingColumns ? { masking: readMaskingColumns(rows.maskingColumns) } : {}),
  };
}

/** The columns of the schemas with personal data, a relation each (tables 'r', views 'v', as PostgreSQL's relkind), in column order. */
export function readMaskingColumns(rows: readonly MaskingColumnRow[]): LiveMasking {
  const relations = new Map<string, LiveRelation & { columnTypes: string[]; columnMasks: (string | null)[]; columnComputed: boolean[] }>();
  const ordered = [...rows].sort((a, b) => compareCodeUnits(a.schema_name, b.schema_name) || compareCodeUnits(a.object_name, b.object_name) || a.column_id - b.column_id);
  for (const row of ordered) {
    const key = JSON.stringify([row.schema_name, row.object_name]);
    let r = relations.get(key);
    if (!r) {
      r = { schema: row.schema_name, name: row.object_name, kind: row.object_type.trim() === 'V' ? 'v' : 'r', comment: null, columns: [], columnTypes: [], columnMasks: [], columnComputed: [] };
      relations.set(key, r);
    }
    r.columns.push(row.column_name);
    r.columnTypes.push(row.type_name);
    r.columnMasks.push(row.masking_function ?? null);
    r.columnComputed.push(truthy(row.is_computed));
  }
  return { relations: [...relations.values()] };
}

/** Azure SQL with contained logins: the generated "logins" are contained users WITH PASSWORD, no SQL login is read. */
function isContained(context: InspectContext): boolean {
  return context.engine === 'azure-sql' && context.generatedLogins === 'contained';
}

/** A generated login's purpose and app: the policy's when it names the login, else read from the name. */
function loginLabel(name: string, prefix: string, wanted: Wanted): Pick<Login, 'purpose' | 'app'> {
  const want = wanted.logins.get(name);
  if (want) return { purpose: want.purpose, ...(want.app ? { app: want.app } : {}) };
  return { purpose: name === names.sharedLogin(prefix) ? 'shared-login' : 'app-login' };
}

/** Database users and roles (system principals and fixed roles left out), which of them are managed, and contained logins. */
function readPrincipals(rows: SqlServerCatalogRows, context: InspectContext, wanted: Wanted, found: Found): void {
  const { prefix } = context;
  const loginBySid = new Map(rows.logins.map((l) => [l.sid.toLowerCase(), l]));
  const isSystem = (p: DatabasePrincipalRow) => SYSTEM_PRINCIPALS.has(p.name.toLowerCase()) || truthy(p.is_fixed_role);
  const isManagedPrincipal = (p: DatabasePrincipalRow) => hasPrefix(p.name, prefix) && p.pmgrants_marker === MANAGED_MARKER.value;
  for (const p of rows.principals) {
    if (isSystem(p)) continue;
    if (p.type === 'R' && wanted.users.get(p.name)?.source.type === 'role') {
      // A database-role principal: the policy calls it a user (who gets personas), the catalog a role.
      found.users.push({ ...wanted.users.get(p.name)!, name: p.name });
      if (isManagedPrincipal(p)) found.managed.add(p.name);
      continue;
    }
    if (p.type === 'R') {
      const want = wanted.roles.get(p.name);
      const ownsSchema = rows.schemas.some((s) => s.principal_id === p.principal_id);
      found.roles.push(want ? { ...want, name: p.name } : { name: p.name, purpose: ownsSchema && p.name.endsWith('_owner') ? 'schema-owner' : 'persona' });
      if (isManagedPrincipal(p)) found.managed.add(p.name);
      continue;
    }
    if (!USER_TYPES.has(p.type)) continue;
    const want = wanted.users.get(p.name);
    found.users.push({
      name: p.name,
      purpose: want?.purpose ?? (hasPrefix(p.name, prefix) ? 'app-login' : 'principal'),
      source: userSource(p, loginBySid, want?.source),
      ...(want?.app ? { app: want.app } : {}),
    });
    if (!isManagedPrincipal(p)) continue;
    found.managed.add(p.name);
    if (p.type === 'S' && p.authentication_type === 1 && p.sid) found.managedUserSids.add(p.sid.toLowerCase());
    // A contained user WITH PASSWORD is also the generated "login" in contained mode.
    if (isContained(context) && p.type === 'S' && p.authentication_type === 2) {
      found.logins.push({ name: p.name, ...loginLabel(p.name, prefix, wanted), password: 'generated' });
      const at = isoTime(p.modify_date);
      if (at) found.passwordSetAt[p.name] = at;
    }
  }
}

/** SQL logins with the prefix or named by the policy: this warehouse's (managed when ours) or another's (foreign). */
function readLogins(rows: SqlServerCatalogRows, context: InspectContext, wanted: Wanted, found: Found): void {
  const { prefix } = context;
  for (const l of rows.logins) {
    if (l.type !== 'S') continue;
    if (!hasPrefix(l.name, prefix) && !wanted.logins.has(l.name)) continue;
    const owner = otherWarehouse(l, context, found.managedUserSids.has(l.sid.toLowerCase()));
    if (owner !== undefined) {
      found.foreign[l.name] = owner;
      continue;
    }
    found.logins.push({ name: l.name, ...loginLabel(l.name, prefix, wanted), password: 'generated' });
    // Managed: the SID pmgrants derives for this warehouse (sid.ts), or, for a login made before SIDs
    // were derived, the SID of a managed user here.
    const ours = isGeneratedLoginSid(context.engine, context.database, l.name, l.sid) || found.managedUserSids.has(l.sid.toLowerCase());
    if (!hasPrefix(l.name, prefix) || !ours) continue;
    found.managed.add(l.name);
    // Rotation by age is for the logins pmgrants generated; an adopted login's password is not its to set.
    const at = isoTime(l.password_last_set);
    if (at) found.passwordSetAt[l.name] = at;
  }
}

/** Permissions on what pmgrants manages: every grant on the policy's app schemas, elsewhere only its vocabulary. */
function readPermissions(rows: SqlServerCatalogRows, byId: ReadonlyMap<number, DatabasePrincipalRow>, wanted: Wanted): Permission[] {
  const schemaById = new Map(rows.schemas.map((s) => [s.schema_id, s]));
  const permissions: Permission[] = [];
  for (const row of rows.permissions) {
    const grantee = byId.get(row.grantee_principal_id);
    if (!grantee) continue;
    const on = securableOf(row, schemaById, byId);
    if (!on) continue;
    const effect = row.state === 'D' ? 'DENY' : row.state === 'G' || row.state === 'W' ? 'GRANT' : undefined;
    if (!effect) continue;
    // On the policy's app schemas (and their objects and columns) every permission granted to anyone is
    // read, public included: their ACLs are the policy's (the diff decides). A DENY outside the
    // vocabulary (on an object or a column among them) only takes away, and is left alone: revoking it
    // could only widen access. Elsewhere only the vocabulary pmgrants manages.
    const onAppSchema = on.type === 'schema' || on.type === 'engine' ? wanted.schemas.has(on.name) : false;
    if (on.type === 'engine' && !onAppSchema) continue;
    const vocabulary = on.type === 'engine' ? undefined : MANAGED_PERMISSIONS[on.type];
    if (!vocabulary?.has(row.permission_name) && !(onAppSchema && effect === 'GRANT')) continue;
    permissions.push({ grantee: grantee.name, on, privilege: row.permission_name, effect, withGrantOption: row.state === 'W' });
  }
  return permissions;
}

/** The warehouse's schemas (reserved ones left out) with their owners, labelled with the policy's app. */
function readSchemas(rows: SqlServerCatalogRows, byId: ReadonlyMap<number, DatabasePrincipalRow>, wanted: Wanted): Schema[] {
  const schemas: Schema[] = [];
  for (const s of rows.schemas) {
    if (isReservedSchema('sqlserver', s.name)) continue;
    const owner = byId.get(s.principal_id);
    if (!owner) continue;
    schemas.push({ name: s.name, owner: owner.name, app: wanted.schemas.get(s.name)?.app ?? '' });
  }
  return schemas;
}

/**
 * Role memberships by name, fixed roles included (a managed user added to db_datareader by hand is
 * drift). Changing a fixed database role's members needs db_owner (ALTER ROLE, Permissions), which the
 * seed's provisioning login does not have: unless the session is db_owner, such a membership of a
 * managed principal is left out of the actual state (so no plan tries to change it, which would fail
 * the whole apply) and reported with the statement a db_owner would run.
 */
function readMemberships(rows: SqlServerCatalogRows, byId: ReadonlyMap<number, DatabasePrincipalRow>, managed: ReadonlySet<string>, warnings: string[]): Membership[] {
  const mayAlterFixedRoles = rows.session === undefined || truthy(rows.session.is_db_owner);
  const memberships: Membership[] = [];
  for (const m of rows.roleMembers) {
    const role = byId.get(m.role_principal_id);
    const member = byId.get(m.member_principal_id);
    if (!role || !member) continue;
    if (!mayAlterFixedRoles && truthy(role.is_fixed_role) && managed.has(member.name)) {
      warnings.push(
        `${member.name} is a member of the fixed database role ${role.name}, which the policy does not give it; only db_owner may change a fixed role's members, so pmgrants leaves it: ALTER ROLE ${bracket(role.name)} DROP MEMBER ${bracket(member.name)};`,
      );
      continue;
    }
    memberships.push({ role: role.name, member: member.name });
  }
  return memberships;
}

/** QUOTENAME for a warning's statement (names read from the catalog are sysname). */
function bracket(name: string): string {
  return `[${name.replace(/]/g, ']]')}]`;
}

/**
 * The warehouse another database's generated login belongs to, for a prefixed SQL login; undefined when
 * it is (or may be) this warehouse's. Logins are server-wide and carry no extended property, so: a login
 * whose SID is the one pmgrants derives for this warehouse (sid.ts) is this warehouse's, whatever its
 * default database. Otherwise, on SQL Server a default database other than this one (and master) names
 * its owner, even when a user of this database maps to it (a user an earlier version created for another
 * warehouse's login of the same name); and a generated login of this policy that no managed user of this
 * database maps to may be another database's, or made by hand: it is never taken over ('' = owner
 * unknown). A login the policy adopted (apps.<app>.roles.app) is the policy's choice, never another's.
 */
function otherWarehouse(login: SqlLoginRow, context: InspectContext, mapped: boolean): string | undefined {
  if (!hasPrefix(login.name, context.prefix)) return undefined;
  const wanted = context.desired?.logins.find((l) => l.name.toLowerCase() === login.name.toLowerCase());
  if (wanted?.adopted) return undefined;
  // The SID pmgrants derived for this warehouse: ours, whatever its default database says now.
  if (isGeneratedLoginSid(context.engine, context.database, login.name, login.sid)) return undefined;
  const home = login.default_database_name ?? undefined;
  if (home !== undefined && home.toLowerCase() !== 'master' && home.toLowerCase() !== context.database.toLowerCase()) return home;
  // Neither derived for this warehouse nor mapped by a managed user here: made by hand, by another
  // warehouse, or by an earlier version for a user since dropped. Never taken over.
  if (wanted && !mapped) return '';
  return undefined;
}

function securableOf(
  row: DatabasePermissionRow,
  schemaById: ReadonlyMap<number, SchemaRow>,
  byId: ReadonlyMap<number, DatabasePrincipalRow>,
): Securable | undefined {
  switch (row.class) {
    case 0:
      return { type: 'database' };
    case 3: {
      const schema = schemaById.get(row.major_id);
      return schema ? { type: 'schema', name: schema.name } : undefined;
    }
    case 4: {
      const target = byId.get(row.major_id);
      return target && target.type === 'R' ? { type: 'role', name: target.name } : undefined;
    }
    case 1:
      return objectSecurable(row, schemaById, byId);
    default:
      return undefined;
  }
}

/**
 * An object (class 1, minor_id 0) or one of its columns (minor_id its column id, named by sys.columns)
 * in a schema, with the object's own owner when it has one (sys.objects.principal_id): REVOKE on an
 * object AS a principal needs that principal to own it (REVOKE Object Permissions, Permissions). A
 * column permission whose column is not named is not read.
 */
function objectSecurable(row: DatabasePermissionRow, schemaById: ReadonlyMap<number, SchemaRow>, byId: ReadonlyMap<number, DatabasePrincipalRow>): Securable | undefined {
  const schema = row.object_schema_id != null ? schemaById.get(row.object_schema_id) : undefined;
  if (!schema || !row.object_name) return undefined;
  const owner = row.object_owner_id != null ? byId.get(row.object_owner_id)?.name : undefined;
  const ownedBy = owner !== undefined ? { owner } : {};
  if (!row.minor_id) return { type: 'engine', kind: `${OBJECT_KIND_PREFIX}${row.object_name}`, name: schema.name, ...ownedBy };
  return row.column_name ? { ...columnSecurable(schema.name, row.object_name, row.column_name), ...ownedBy } : undefined;
}

function userSource(p: DatabasePrincipalRow, loginBySid: ReadonlyMap<string, SqlLoginRow>, wanted: UserSource | undefined): UserSource {
  switch (p.type) {
    case 'E':
    case 'X': {
      const kind: PrincipalKind = wanted?.type === 'external' ? wanted.kind : p.type === 'X' ? 'entra-group' : 'entra-user';
      return { type: 'external', kind, ...(p.entra_object_id ? { objectId: p.entra_object_id.toLowerCase() } : {}) };
    }
    case 'U':
      return { type: 'windows', kind: 'windows-user' };
    case 'G':
      return { type: 'windows', kind: 'windows-group' };
    default: {
      const login = p.authentication_type === 1 && p.sid ? (loginBySid.get(p.sid.toLowerCase())?.name ?? p.name) : p.name;
      return wanted?.type === 'sql-login' ? { type: 'sql-login', login } : { type: 'login', login };
    }
  }
}
