import { isReservedSchema, names } from '../../model/names';
import { sortState } from '../../model/state';
import { DesiredState, Login, Membership, Permission, PrincipalKind, Role, Schema, Securable, User, UserSource, ActualState } from '../../model/types';
import { MANAGED_MARKER } from './options';
import { MANAGED_PERMISSIONS, OBJECT_KIND_PREFIX } from './privileges';

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
  grantee_principal_id: number;
  permission_name: string;
  state: string;
  /** class 1 (object): sys.objects.schema_id and name of the object; absent or null otherwise. */
  object_schema_id?: number | null;
  object_name?: string | null;
}

export interface SchemaRow {
  schema_id: number;
  name: string;
  principal_id: number;
}

/** The result sets inspect reads, exactly as the catalog queries return them. */
export interface SqlServerCatalogRows {
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

/**
 * Catalog result sets -> ActualState. Pure.
 *
 * Managed (may be altered or dropped by pmgrants): database users and roles whose name starts with the
 * prefix AND carry the extended property pmgrants:managed; SQL logins whose name starts with the prefix
 * and whose SID is the SID of such a managed user (logins cannot carry extended properties).
 * Permissions are reported only within the vocabulary pmgrants manages, so nothing else is ever revoked.
 */
export function inspectSqlServer(rows: SqlServerCatalogRows, context: InspectContext): ActualState {
  const { prefix, desired } = context;
  const contained = context.engine === 'azure-sql' && context.generatedLogins === 'contained';
  const byId = new Map(rows.principals.map((p) => [p.principal_id, p]));
  const loginBySid = new Map(rows.logins.map((l) => [l.sid.toLowerCase(), l]));
  const desiredUsers = new Map((desired?.users ?? []).map((u) => [u.name, u]));
  const desiredRoles = new Map((desired?.roles ?? []).map((r) => [r.name, r]));
  const desiredLogins = new Map((desired?.logins ?? []).map((l) => [l.name, l]));
  const desiredSchemas = new Map((desired?.schemas ?? []).map((s) => [s.name, s]));

  const isSystem = (p: DatabasePrincipalRow) => SYSTEM_PRINCIPALS.has(p.name.toLowerCase()) || truthy(p.is_fixed_role);
  const isMarked = (p: DatabasePrincipalRow) => p.pmgrants_marker === MANAGED_MARKER.value;
  const isManagedPrincipal = (p: DatabasePrincipalRow) => hasPrefix(p.name, prefix) && isMarked(p);

  const users: User[] = [];
  const roles: Role[] = [];
  const logins: Login[] = [];
  const managed = new Set<string>();
  const passwordSetAt: Record<string, string> = {};
  const managedUserSids = new Set<string>();

  const loginLabel = (name: string): Pick<Login, 'purpose' | 'app'> => {
    const want = desiredLogins.get(name);
    if (want) return { purpose: want.purpose, ...(want.app ? { app: want.app } : {}) };
    return { purpose: name === names.sharedLogin(prefix) ? 'shared-login' : 'app-login' };
  };

  for (const p of rows.principals) {
    if (isSystem(p)) continue;
    if (p.type === 'R' && desiredUsers.get(p.name)?.source.type === 'role') {
      // A database-role principal: the policy calls it a user (who gets personas), the catalog a role.
      users.push({ ...desiredUsers.get(p.name)!, name: p.name });
      if (isManagedPrincipal(p)) managed.add(p.name);
      continue;
    }
    if (p.type === 'R') {
      const want = desiredRoles.get(p.name);
      const ownsSchema = rows.schemas.some((s) => s.principal_id === p.principal_id);
      roles.push(
        want
          ? { ...want, name: p.name }
          : { name: p.name, purpose: ownsSchema && p.name.endsWith('_owner') ? 'schema-owner' : 'persona' },
      );
      if (isManagedPrincipal(p)) managed.add(p.name);
      continue;
    }
    if (!USER_TYPES.has(p.type)) continue;
    const want = desiredUsers.get(p.name);
    const source = userSource(p, loginBySid, want?.source);
    users.push({
      name: p.name,
      purpose: want?.purpose ?? (hasPrefix(p.name, prefix) ? 'app-login' : 'principal'),
      source,
      ...(want?.app ? { app: want.app } : {}),
    });
    if (!isManagedPrincipal(p)) continue;
    managed.add(p.name);
    if (p.type === 'S' && p.authentication_type === 1 && p.sid) managedUserSids.add(p.sid.toLowerCase());
    // A contained user WITH PASSWORD is also the generated "login" in contained mode.
    if (contained && p.type === 'S' && p.authentication_type === 2) {
      logins.push({ name: p.name, ...loginLabel(p.name), password: 'generated' });
      const at = isoTime(p.modify_date);
      if (at) passwordSetAt[p.name] = at;
    }
  }

  const foreign: Record<string, string> = {};
  if (!contained) {
    for (const l of rows.logins) {
      if (l.type !== 'S') continue;
      if (!hasPrefix(l.name, prefix) && !desiredLogins.has(l.name)) continue;
      const owner = otherWarehouse(l, context, managedUserSids.has(l.sid.toLowerCase()));
      if (owner !== undefined) {
        foreign[l.name] = owner;
        continue;
      }
      logins.push({ name: l.name, ...loginLabel(l.name), password: 'generated' });
      if (!hasPrefix(l.name, prefix) || !managedUserSids.has(l.sid.toLowerCase())) continue;
      managed.add(l.name);
      // Rotation by age is for the logins pmgrants generated; an adopted login's password is not its to set.
      const at = isoTime(l.password_last_set);
      if (at) passwordSetAt[l.name] = at;
    }
  }

  const memberships: Membership[] = [];
  for (const m of rows.roleMembers) {
    const role = byId.get(m.role_principal_id);
    const member = byId.get(m.member_principal_id);
    if (role && member) memberships.push({ role: role.name, member: member.name });
  }

  const schemaById = new Map(rows.schemas.map((s) => [s.schema_id, s]));
  const permissions: Permission[] = [];
  for (const row of rows.permissions) {
    const grantee = byId.get(row.grantee_principal_id);
    if (!grantee) continue;
    const on = securableOf(row, schemaById, byId);
    if (!on) continue;
    const effect = row.state === 'D' ? 'DENY' : row.state === 'G' || row.state === 'W' ? 'GRANT' : undefined;
    if (!effect) continue;
    // On the policy's app schemas (and their objects) every permission granted to anyone is read, public
    // included: their ACLs are the policy's (the diff decides). A DENY outside the vocabulary only takes
    // away, and is left alone. Elsewhere only the vocabulary pmgrants manages.
    const onAppSchema = on.type === 'schema' || on.type === 'engine' ? desiredSchemas.has(on.name) : false;
    if (on.type === 'engine' && !onAppSchema) continue;
    const vocabulary = on.type === 'engine' ? undefined : MANAGED_PERMISSIONS[on.type];
    if (!vocabulary?.has(row.permission_name) && !(onAppSchema && effect === 'GRANT')) continue;
    permissions.push({ grantee: grantee.name, on, privilege: row.permission_name, effect, withGrantOption: row.state === 'W' });
  }

  const schemas: Schema[] = [];
  for (const s of rows.schemas) {
    if (isReservedSchema('sqlserver', s.name)) continue;
    const owner = byId.get(s.principal_id);
    if (!owner) continue;
    schemas.push({ name: s.name, owner: owner.name, app: desiredSchemas.get(s.name)?.app ?? '' });
  }

  return {
    ...sortState({
      engine: context.engine,
      database: context.database,
      logins,
      users,
      roles,
      schemas,
      memberships,
      permissions,
    }),
    managed: [...managed].sort(),
    passwordSetAt,
    ...(Object.keys(foreign).length > 0 ? { foreign } : {}),
  };
}

/**
 * The warehouse another database's generated login belongs to, for a prefixed SQL login; undefined when
 * it is (or may be) this warehouse's. Logins are server-wide and carry no extended property, so: on SQL
 * Server, pmgrants creates a login WITH DEFAULT_DATABASE = its warehouse, and a default database other
 * than this one (and master) names its owner, even when a user of this database maps to it (a user an
 * earlier version created for another warehouse's login of the same name). On Azure SQL Database a
 * login cannot be given a default database, so a generated login of this policy that exists and that no
 * managed user of this database maps to may be another database's: it is never taken over ('' = owner
 * unknown). A login the policy adopted (apps.<app>.roles.app) is the policy's choice, never another's.
 */
function otherWarehouse(login: SqlLoginRow, context: InspectContext, mapped: boolean): string | undefined {
  if (!hasPrefix(login.name, context.prefix)) return undefined;
  const wanted = context.desired?.logins.find((l) => l.name.toLowerCase() === login.name.toLowerCase());
  if (wanted?.adopted) return undefined;
  const home = login.default_database_name ?? undefined;
  if (home !== undefined && home.toLowerCase() !== 'master' && home.toLowerCase() !== context.database.toLowerCase()) return home;
  if (context.engine === 'azure-sql' && wanted && !mapped) return '';
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
    case 1: {
      const schema = row.object_schema_id != null ? schemaById.get(row.object_schema_id) : undefined;
      return schema && row.object_name ? { type: 'engine', kind: `${OBJECT_KIND_PREFIX}${row.object_name}`, name: schema.name } : undefined;
    }
    default:
      return undefined;
  }
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
