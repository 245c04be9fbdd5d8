import { columnSecurable, securableKey, sortState } from '../../model/state';
import { DesiredState, Login, Membership, Permission, Role, Schema, UnreachableObject, User, ActualState } from '../../model/types';
import { quoteIdent } from './quote';
import { GLOBAL_DEFAULT_PREFIX, PUBLIC_GRANTEE } from '../../plan/diff';
import { principalsMentioned, type Part } from '../../plan/slice';
import { aclMasks, forEachPrivilege, HeldMask, mergeGrantable, PRIVILEGE_NAMES, privilegeBit } from './acl';
import { inspectQuery } from './catalog';
import { parseMarker } from './marker';
import { OBJECT_KINDS, objectCreators } from './realize';
import { PmgrantsError } from '../../model/errors';
import { isProtectable, patternLike } from '../../model/protected';
import { pushAll } from '../../model/collections';

/**
 * The catalog as inspect reads it: roles and memberships by name. Privileges come as whole ACLs (see
 * acl.ts): at 20,000 grants that is a tenth of the bytes and of the server's time of one row per
 * privilege.
 */
export interface CatalogRows {
  database: string;
  roles: { name: string; canLogin: boolean; comment: string | null; managed: boolean; validUntil?: string | null }[];
  /** [role, member, admin option] */
  memberships: [string, string, boolean][];
  schemas: { name: string; owner: string }[];
  /** [schema, owner, ACL items] of every schema with an explicit ACL. */
  'schema-acls': [string, string, string[]][];
  /** [owner, ACL items or null] of the current database. */
  'database-acl': [string, string[] | null] | null;
  /** [schema, kind, owner, ACL items or null, how many objects share them] */
  'object-acls': [string, string, string, string[] | null, number | string][];
  /** [schema, table, column, ACL items] of the columns with grants of their own (absent: none read). */
  'column-acls'?: [string, string, string, string[]][];
  /**
   * [schema, kind, name, owner, ALTER target or null] of the objects whose owner the connecting role
   * cannot act as (unreachable-objects.sql; absent: none read). Their ACLs are not in object-acls.
   */
  'unreachable-objects'?: [string, string, string, string, string | null][];
  /** [schema, for role, pg_default_acl object type letter, ACL items]; schema '' for a role's entry in every schema. */
  'default-acls': [string, string, string, string[]][];
  /** [role, databases where it holds privileges or owns objects] of the managed roles whose marker names no warehouse. */
  'legacy-role-databases'?: [string, string[]][];
  /**
   * Managed roles outside the scope that scoped memberships name (an inspect scoped to one part only):
   * another part's roles. Their memberships are that part's, as the whole inspect would find.
   */
  'outside-managed'?: [string, string | null][];
  /** [schema, name, relkind, comment, columns] of the relations of the schemas masking concerns (absent: none read). */
  'masking-relations'?: [string, string, string, string | null, string[]][];
}

/**
 * What the catalog query returns: one row, JSON columns named after the sql/*.sql files. Bulk columns
 * are arrays rather than objects, and memberships come as role oids, named here (catalogRowsOf).
 */
export interface CatalogWire extends Omit<CatalogRows, 'roles' | 'memberships'> {
  /** [oid, name, LOGIN, comment, managed, VALID UNTIL of a login (null: no end)] */
  roles: [number, string, boolean, string | null, boolean, (string | null)?][];
  /** [role oids, member oids, admin options], one position per pg_auth_members row. */
  memberships: [number[], number[], boolean[]];
  /** [oid, name] of the roles the memberships name that the roles column does not list. */
  'member-names': [number, string][];
}

/** The catalog query's row -> CatalogRows: roles named, memberships of several grantors merged (admin if any gave it). */
export function catalogRowsOf(wire: CatalogWire): CatalogRows {
  const names = new Map<number, string>();
  const roles: CatalogRows['roles'] = wire.roles.map(([oid, name, canLogin, comment, managed, validUntil]) => {
    names.set(oid, name);
    return { name, canLogin, comment, managed, ...(validUntil ? { validUntil } : {}) };
  });
  for (const [oid, name] of wire['member-names']) names.set(oid, name);
  const nameOf = (oid: number) => {
    const name = names.get(oid);
    if (name === undefined) throw new PmgrantsError(`the catalog named a membership of role oid ${oid}, which it did not list; plan again`);
    return name;
  };
  const [roleIds, memberIds, admins] = wire.memberships;
  const memberships: CatalogRows['memberships'] = [];
  const seen = new Map<number, Map<number, [string, string, boolean]>>();
  for (let i = 0; i < roleIds.length; i++) {
    let ofRole = seen.get(roleIds[i]);
    if (!ofRole) seen.set(roleIds[i], (ofRole = new Map()));
    const before = ofRole.get(memberIds[i]);
    if (before) before[2] ||= admins[i];
    else {
      const row: [string, string, boolean] = [nameOf(roleIds[i]), nameOf(memberIds[i]), admins[i]];
      ofRole.set(memberIds[i], row);
      memberships.push(row);
    }
  }
  const { 'member-names': _names, ...rest } = wire;
  return { ...rest, roles, memberships };
}

/** Which managed roles of the catalog this warehouse may change, and which belong to another one. */
export interface RoleOwnership {
  /** Roles another warehouse on the server owns, by name -> that warehouse (its database, or several). */
  foreign: Map<string, string>;
  /** Roles with a marker that names no warehouse and nothing that ties them to one: never changed or dropped. */
  unclaimed: Set<string>;
  warnings: string[];
}

/**
 * Roles are cluster-wide; a warehouse is one database (see marker.ts). A managed role whose marker
 * names a warehouse belongs to that database's warehouse. A marker without one (written before markers
 * recorded it) is claimed by the warehouse whose database holds the role's privileges or objects: by
 * this one when that is this database alone, or when the policy names the role and no database holds
 * any; by the other warehouse when only other databases do. Held in this database and others too, it is
 * this warehouse's if the policy names it, else left as it is; a warning either way. Pure.
 */
export function roleOwnership(rows: Pick<CatalogRows, 'database' | 'roles' | 'legacy-role-databases'>, desiredNames: ReadonlySet<string>): RoleOwnership {
  const evidence = new Map(rows['legacy-role-databases'] ?? []);
  const foreign = new Map<string, string>();
  const unclaimed = new Set<string>();
  const warnings: string[] = [];
  for (const r of rows.roles) {
    if (!r.managed) continue;
    const { warehouse } = parseMarker(r.comment);
    if (warehouse !== undefined) {
      if (warehouse !== rows.database) foreign.set(r.name, warehouse);
      continue;
    }
    const databases = evidence.get(r.name) ?? [];
    const others = databases.filter((d) => d !== rows.database).sort();
    if (others.length === 0) {
      if (databases.length === 0 && !desiredNames.has(r.name)) unclaimed.add(r.name);
      continue;
    }
    const shared = others.length < databases.length;
    const named = desiredNames.has(r.name);
    if (!shared || !named) foreign.set(r.name, others.join(', '));
    if (shared) {
      const where = `holds privileges in this database and in ${others.map((d) => `"${d}"`).join(', ')}`;
      warnings.push(
        named
          ? `role "${r.name}" has a pmgrants marker that names no warehouse and ${where}: this warehouse manages it because its policy names it, but if another warehouse's policy names it too, give each warehouse its own prefix`
          : `role "${r.name}" has a pmgrants marker that names no warehouse and ${where}: it may belong to another warehouse, so pmgrants leaves it as it is`,
      );
    }
  }
  if (unclaimed.size > 0) {
    const some = [...unclaimed].sort().slice(0, 3).map((n) => `"${n}"`).join(', ');
    warnings.push(
      `${unclaimed.size} role${unclaimed.size === 1 ? '' : 's'} (${some}${unclaimed.size > 3 ? ', ...' : ''}) carr${unclaimed.size === 1 ? 'ies' : 'y'} a pmgrants marker that names no warehouse and hold${unclaimed.size === 1 ? 's' : ''} nothing in any database: not claimed by this warehouse, so never dropped by it`,
    );
  }
  return { foreign, unclaimed, warnings };
}

/** pg_default_acl.defaclobjtype -> securable kind suffix. */
const DEFAULT_ACL_KINDS: Record<string, string> = { r: 'tables', S: 'sequences', f: 'functions', T: 'types', n: 'schemas' };

/**
 * What an inspect reads: the whole warehouse (every role under the prefix), or one part of it (the
 * roles and schemas the desired state names, and the managed roles whose marker names that part).
 * A part's inspect, sliced by claimOf/sliceActual, gives the same slice as the whole one.
 */
export type InspectScope = Part;

/** $4 of the inspect query: null for the whole warehouse, '' for the warehouse part, an app's marker text. */
function scopeParam(part: InspectScope | undefined): string | null {
  if (!part) return null;
  return part.scope === 'warehouse' ? '' : `"app":${JSON.stringify(part.app)}`;
}

/**
 * Parameters of the inspect query: $1 prefix, $2 every role name the desired state uses, $3 its schema
 * names, $4 the part it is scoped to (null: everything under the prefix), $5 the principals the desired
 * state itself holds (its logins, users and roles: scoped to one part, the roles that part owns, whose
 * memberships and grants on other parts' schemas it reads; the others in $2 it only refers to), $6 the
 * policy's protected roles as LIKE operands (their members are read, for the plan's findings).
 */
export function inspectParams(desired: DesiredState, part?: InspectScope): [string, string[], string[], string | null, string[], string[], string[]] {
  // Every principal the state names; a role a permission is ON is one of its roles (or, realized, a membership's).
  const roles = principalsMentioned(desired);
  const schemas = new Set(desired.schemas.map((s) => s.name));
  for (const p of desired.permissions) if (p.on.type === 'schema' || p.on.type === 'engine') schemas.add(p.on.name);
  const own = new Set([...desired.logins.map((l) => l.name), ...desired.users.map((u) => u.name), ...desired.roles.map((r) => r.name)]);
  const protectedRoles = (desired.protected ?? []).filter((e) => isProtectable(e.role)).map((e) => patternLike(e.role));
  return [desired.prefix, [...roles].sort(), [...schemas].sort(), scopeParam(part), [...own].sort(), protectedRoles, maskingSchemas(desired)];
}

/** $7: the schemas whose relations masking reads: the app schemas with personal columns, their companions, the key schema. */
export function maskingSchemas(desired: Pick<DesiredState, 'masking'>): string[] {
  const m = desired.masking;
  if (!m) return [];
  const schemas = new Set([m.keySchema]);
  for (const app of m.apps) {
    schemas.add(app.schema);
    for (const c of app.companions) schemas.add(c.schema);
  }
  return [...schemas].sort();
}

const heldOn = (grantee: string, on: Permission['on'], privilege: string, grantable: boolean): Permission => ({
  grantee,
  on,
  privilege,
  effect: 'GRANT',
  withGrantOption: grantable,
});

/** A securable -> the desired state's object of the same key, or itself when the desired state has none. */
function desiredSecurables(desired: DesiredState): (on: Permission['on']) => Permission['on'] {
  const seen = new Set<Permission['on']>();
  const byKey = new Map<string, Permission['on']>();
  for (const p of desired.permissions) {
    if (seen.has(p.on)) continue;
    seen.add(p.on);
    byKey.set(securableKey(p.on), p.on);
  }
  return (on) => byKey.get(securableKey(on)) ?? on;
}

/**
 * Catalog rows -> ActualState, keyed exactly like realizePostgres() keys the desired state. Pure.
 *
 * Principals: a role the policy names is reported in the categories the policy expects it in (so an
 * existing role is never "created" again); any other scoped role is a login (and its user) when it can
 * log in, else a role. Bulk object privileges: held on '<kind>' when the grantee holds it on every
 * object of that kind in the schema that it does not own (vacuously so when there is none and the
 * policy wants it), on 'some-<kind>' when it holds it on only part of them, so the diff revokes an
 * unwanted partial holding and completes a wanted one.
 */
export function actualFromCatalog(all: CatalogRows, desired: DesiredState): ActualState {
  const ownership = roleOwnership(all, desiredNamesOf(desired));
  // Another part's managed roles (a scoped inspect): managed, unless their marker names another warehouse.
  const outsideManaged: string[] = [];
  for (const [name, comment] of all['outside-managed'] ?? []) {
    const { warehouse } = parseMarker(comment);
    if (warehouse !== undefined && warehouse !== all.database) ownership.foreign.set(name, warehouse);
    else outsideManaged.push(name);
  }
  const rows = withoutForeign(all, ownership);
  const principals = principalsFromRows(rows, desired, ownership.unclaimed);
  const desiredApps = new Map(desired.schemas.map((s) => [s.name, s.app]));
  const schemas: Schema[] = rows.schemas.map((s) => ({ name: s.name, owner: s.owner, app: desiredApps.get(s.name) ?? '' }));
  const memberships: Membership[] = rows.memberships.map(([role, member, admin]) => (admin ? { role, member, admin: true } : { role, member }));

  // Privileges are reported for scoped roles only (those the roles column lists, and, an inspect scoped
  // to one part, the other parts' managed roles the scoped ACLs and memberships name), but on the
  // policy's app schemas for every grantee, PUBLIC ('') included: their ACLs are the policy's (diff decides).
  const scoped = new Set([...rows.roles.map((r) => r.name), ...outsideManaged]);
  const isScoped = (grantee: string) => scoped.has(grantee);
  const appSchemas = new Set(desiredApps.keys());
  // The pseudonym key's schema (personal data): anyone's privilege there is read, PUBLIC's too, so the diff revokes it.
  if (desired.masking) appSchemas.add(desired.masking.keySchema);
  const reading: AclReading = {
    rows,
    desired,
    isScoped,
    granteesOn: (schema: string) => (appSchemas.has(schema) ? anyone : isScoped),
    // Permissions on one securable share its (never mutated) `on` object: 69,000 permissions at 1,000
    // apps, and allocation is much of what inspect costs. Where the desired state has the securable, it
    // is the desired state's object: sorting and the diff tell equal securables apart by identity then.
    securable: desiredSecurables(desired),
    permissions: [],
  };
  schemaAndDatabasePermissions(reading);
  objectPermissions(reading);
  defaultPermissions(reading);
  const { logins, users, roles, managed } = principals;
  return {
    ...sortState({ engine: 'postgres', database: rows.database, logins, users, roles, schemas, memberships, permissions: reading.permissions }),
    managed: [...managed, ...outsideManaged].sort(),
    ...passwordFacts(rows),
    ...(ownership.foreign.size > 0 ? { foreign: Object.fromEntries([...ownership.foreign].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) } : {}),
    ...(ownership.warnings.length > 0 ? { warnings: ownership.warnings } : {}),
    ...unreachableObjects(rows, schemas, desired),
    ...(desired.masking ? { masking: { relations: (rows['masking-relations'] ?? []).map(([schema, name, kind, comment, columns]) => ({ schema, name, kind, comment, columns })) } } : {}),
  };
}

/**
 * The objects whose owner the connecting role cannot act as: the grants and revokes on their kind in
 * their schema leave them out, and the plan names them with the statement that hands each to the
 * schema's owner (the policy's owner; the live one for a schema outside the policy).
 */
function unreachableObjects(rows: CatalogRows, schemas: readonly Schema[], desired: DesiredState): Pick<ActualState, 'unreachable'> {
  const found = rows['unreachable-objects'] ?? [];
  if (found.length === 0) return {};
  const ownerOf = new Map(schemas.map((s) => [s.name, s.owner]));
  for (const s of desired.schemas) ownerOf.set(s.name, s.owner);
  const unreachable: UnreachableObject[] = found.map(([schema, kind, name, owner, target]) => {
    const schemaOwner = ownerOf.get(schema);
    return {
      schema,
      name,
      owner,
      coveredBy: [kind, `some-${kind}`],
      ...(target !== null && schemaOwner !== undefined ? { handOver: `ALTER ${target} OWNER TO ${quoteIdent(schemaOwner)}` } : {}),
    };
  });
  return { unreachable };
}

/** The scoped roles as logins, users and roles (the desired state's own objects where it names them), and their markers' facts. */
function principalsFromRows(rows: CatalogRows, desired: DesiredState, unclaimed: ReadonlySet<string>) {
  const desiredLogins = new Map(desired.logins.map((l) => [l.name, l]));
  const desiredUsers = new Map(desired.users.map((u) => [u.name, u]));
  const desiredRoles = new Map(desired.roles.map((r) => [r.name, r]));
  const logins: Login[] = [];
  const users: User[] = [];
  const roles: Role[] = [];
  const managed: string[] = [];
  for (const r of rows.roles) {
    const marker = parseMarker(r.comment);
    if (r.managed && !unclaimed.has(r.name)) managed.push(r.name);
    const named = desiredLogins.get(r.name) ?? desiredUsers.get(r.name) ?? desiredRoles.get(r.name);
    if (named) {
      const login = desiredLogins.get(r.name);
      const user = desiredUsers.get(r.name);
      const role = desiredRoles.get(r.name);
      if (login) logins.push(login);
      if (user) users.push(user);
      if (role) roles.push(role);
    } else if (r.canLogin) {
      const purpose = marker.purpose === 'shared-login' ? 'shared-login' : 'app-login';
      const app = marker.app ? { app: marker.app } : {};
      logins.push({ name: r.name, purpose, password: 'generated', ...app });
      users.push({ name: r.name, purpose, source: { type: 'login', login: r.name }, ...app });
    } else {
      roles.push({
        name: r.name,
        purpose: marker.purpose === 'schema-owner' ? 'schema-owner' : 'persona',
        ...(marker.app ? { app: marker.app } : {}),
        ...(marker.persona ? { persona: marker.persona } : {}),
      });
    }
  }
  return { logins, users, roles, managed };
}

/**
 * What the managed logins' markers and VALID UNTIL say of their passwords: when each was set, which
 * generation it is, when it stops being valid, whether a checkout took it, and which logins have none
 * yet (created by an apply whose password phase did not reach them, see prepareStatements).
 */
function passwordFacts(rows: CatalogRows): Pick<ActualState, 'passwordSetAt' | 'passwordMissing' | 'passwordGeneration' | 'passwordValidUntil' | 'checkedOut'> {
  const passwordSetAt: Record<string, string> = {};
  const passwordMissing: string[] = [];
  const passwordGeneration: Record<string, string> = {};
  const passwordValidUntil: Record<string, string> = {};
  const checkedOut: string[] = [];
  for (const r of rows.roles) {
    if (!r.managed || !r.canLogin) continue;
    const marker = parseMarker(r.comment);
    if (marker.passwordGeneration) passwordGeneration[r.name] = marker.passwordGeneration;
    if (marker.passwordSetAt) passwordSetAt[r.name] = marker.passwordSetAt;
    else if (marker.purpose === 'generated-login') passwordMissing.push(r.name);
    if (r.validUntil) passwordValidUntil[r.name] = new Date(r.validUntil).toISOString();
    if (marker.delivery === 'checkout') checkedOut.push(r.name);
  }
  return {
    ...(Object.keys(passwordSetAt).length > 0 ? { passwordSetAt } : {}),
    ...(passwordMissing.length > 0 ? { passwordMissing: passwordMissing.sort() } : {}),
    ...(Object.keys(passwordGeneration).length > 0 ? { passwordGeneration } : {}),
    ...(Object.keys(passwordValidUntil).length > 0 ? { passwordValidUntil } : {}),
    ...(checkedOut.length > 0 ? { checkedOut: checkedOut.sort() } : {}),
  };
}

/** The catalog's ACLs being read into permissions: which grantees count where, and the shared securables. */
interface AclReading {
  rows: CatalogRows;
  desired: DesiredState;
  isScoped: (grantee: string) => boolean;
  granteesOn: (schema: string) => (grantee: string) => boolean;
  securable: (on: Permission['on']) => Permission['on'];
  permissions: Permission[];
}

function schemaAndDatabasePermissions({ rows, isScoped, granteesOn, securable, permissions }: AclReading): void {
  for (const [schema, owner, acl] of rows['schema-acls']) {
    const on = securable({ type: 'schema', name: schema });
    for (const [grantee, mask] of aclMasks(acl, granteesOn(schema), 'any')) {
      if (grantee !== owner) forEachPrivilege(mask, (privilege, grantable) => permissions.push(heldOn(grantee, on, privilege, grantable)));
    }
  }
  const database = rows['database-acl'];
  if (database) {
    const [owner, acl] = database;
    const on = securable({ type: 'database' });
    for (const [grantee, mask] of aclMasks(acl, isScoped, 'any')) {
      if (grantee !== owner) forEachPrivilege(mask, (privilege, grantable) => permissions.push(heldOn(grantee, on, privilege, grantable)));
    }
  }
}

/** Per (schema, kind): objects by owner, and per grantee the privileges it holds on how many of them. */
type Holding = { mask: HeldMask; objects: number[] };
type ObjectGroup = { schema: string; kind: string; total: number; owners: Map<string, number>; held: Map<string, Holding> };

/**
 * Privileges on a schema's tables, views, sequences and functions: held on all of them, or on some.
 * Per (schema, kind): objects by owner (the denominator of "held on all of them"), and per grantee
 * the privileges it holds (bits, see acl.ts), on how many objects each (the owner's own ACL entry
 * does not count), and whether every holding carries the grant option.
 */
function objectPermissions({ rows, desired, granteesOn, securable, permissions }: AclReading): void {
  const objects = new Map<string, Map<string, ObjectGroup>>(); // schema -> kind -> group
  const groupOf = (schema: string, kind: string) => objects.get(schema)?.get(kind);
  for (const [schema, kind, owner, acl, countText] of rows['object-acls']) {
    const count = Number(countText);
    let kinds = objects.get(schema);
    if (!kinds) objects.set(schema, (kinds = new Map()));
    let group = kinds.get(kind);
    if (!group) kinds.set(kind, (group = { schema, kind, total: 0, owners: new Map(), held: new Map() }));
    group.total += count;
    group.owners.set(owner, (group.owners.get(owner) ?? 0) + count);
    for (const [grantee, mask] of aclMasks(acl, granteesOn(schema), 'all')) {
      if (grantee === owner) continue;
      let holding = group.held.get(grantee);
      if (!holding) group.held.set(grantee, (holding = { mask: { held: 0, grantable: 0 }, objects: new Array<number>(PRIVILEGE_NAMES.length).fill(0) }));
      holding.mask.grantable = mergeGrantable(holding.mask, mask, 'all');
      holding.mask.held |= mask.held;
      for (let bit = 0, held = mask.held; held !== 0; bit++, held >>>= 1) if (held & 1) holding.objects[bit] += count;
    }
  }
  const notOwnedBy = (group: ObjectGroup | undefined, grantee: string) => (group ? group.total - (group.owners.get(grantee) ?? 0) : 0);
  for (const kinds of objects.values()) {
    for (const group of kinds.values()) {
      const onAll = securable({ type: 'engine', kind: group.kind, name: group.schema });
      const onSome = securable({ type: 'engine', kind: `some-${group.kind}`, name: group.schema });
      for (const [grantee, holding] of group.held) {
        const all = notOwnedBy(group, grantee);
        forEachPrivilege(holding.mask, (privilege, grantable, bit) => {
          permissions.push(heldOn(grantee, holding.objects[bit] >= all ? onAll : onSome, privilege, grantable));
        });
      }
    }
  }
  pushAll(permissions, columnPermissions(rows, granteesOn, securable));
  // Where the grantee owns every object of the kind (or there is none), it holds the privilege on all
  // of them vacuously: report what the policy wants there, so the diff converges.
  const existingSchemas = new Set(rows.schemas.map((s) => s.name));
  const objectKinds: ReadonlySet<string> = new Set(OBJECT_KINDS);
  for (const want of desired.permissions) {
    const on = want.on;
    if (on.type !== 'engine' || !objectKinds.has(on.kind) || !existingSchemas.has(on.name)) continue;
    const group = groupOf(on.name, on.kind);
    if (notOwnedBy(group, want.grantee) !== 0) continue;
    const bit = privilegeBit(want.privilege);
    const held = group?.held.get(want.grantee);
    if (!held || bit === undefined || !((held.mask.held >>> bit) & 1)) permissions.push(want);
  }
}

/** Default privileges: per schema from the catalog, in every schema (no schema) through creatorDefaults. */
function defaultPermissions({ rows, desired, granteesOn, securable, permissions }: AclReading): void {
  const everySchema: CatalogRows['default-acls'] = [];
  for (const row of rows['default-acls']) {
    const [schema, forRole, objtype, acl] = row;
    if (schema === '') {
      everySchema.push(row);
      continue;
    }
    const on = securable({ type: 'engine', kind: `default-${DEFAULT_ACL_KINDS[objtype] ?? `objtype-${objtype}`}`, name: schema, forRole });
    for (const [grantee, mask] of aclMasks(acl, granteesOn(schema), 'any')) {
      if (grantee !== forRole) forEachPrivilege(mask, (privilege, grantable) => permissions.push(heldOn(grantee, on, privilege, grantable)));
    }
  }
  pushAll(permissions, creatorDefaults(rows, desired, everySchema));
}

function desiredNamesOf(desired: DesiredState): Set<string> {
  return new Set([...desired.logins.map((l) => l.name), ...desired.users.map((u) => u.name), ...desired.roles.map((r) => r.name)]);
}

/**
 * The catalog without what another warehouse owns: its roles, and the memberships in them or of them
 * in roles that are not this warehouse's. Its roles' privileges are not read either (privileges are
 * read for the roles the roles column lists), so nothing of theirs is ever revoked here.
 */
/**
 * Column grants: one permission per grantee, column and privilege, on the securable columnSecurable
 * names. Whoever holds them on an app schema, they are the policy's to revoke like table grants (diff).
 */
function columnPermissions(rows: CatalogRows, granteesOn: (schema: string) => (grantee: string) => boolean, securable: (on: Permission['on']) => Permission['on']): Permission[] {
  const out: Permission[] = [];
  for (const [schema, table, column, acl] of rows['column-acls'] ?? []) {
    const on = securable(columnSecurable(schema, table, column));
    for (const [grantee, mask] of aclMasks(acl, granteesOn(schema), 'any')) forEachPrivilege(mask, (privilege, grantable) => out.push(heldOn(grantee, on, privilege, grantable)));
  }
  return out;
}

function withoutForeign(rows: CatalogRows, ownership: RoleOwnership): CatalogRows {
  const { foreign } = ownership;
  if (foreign.size === 0) return rows;
  const ours = new Set(rows.roles.filter((r) => r.managed && !foreign.has(r.name) && !ownership.unclaimed.has(r.name)).map((r) => r.name));
  return {
    ...rows,
    roles: rows.roles.filter((r) => !foreign.has(r.name)),
    memberships: rows.memberships.filter(([role, member]) => !foreign.has(role) && (!foreign.has(member) || ours.has(role))),
  };
}

/**
 * The default privileges, in every schema, of the roles that create the app schemas' objects (their
 * owners and app logins) when pmgrants owns them: what the app schemas' future objects give. Every
 * grantee but the role itself; for functions, PostgreSQL's built-in default (PUBLIC EXECUTE) while the
 * role has no entry of its own, and for such a role pmgrants is about to create. Types are left out:
 * PUBLIC's USAGE on a type (its built-in default) reads no data. A per-schema entry cannot take away
 * what an entry for every schema or the built-in default gives (ALTER DEFAULT PRIVILEGES), hence these.
 */
function creatorDefaults(rows: CatalogRows, desired: DesiredState, everySchema: CatalogRows['default-acls']): Permission[] {
  const live = new Map(rows.roles.map((r) => [r.name, r]));
  const adopted = new Set<string>();
  for (const l of desired.logins) if (l.adopted) adopted.add(l.name);
  for (const r of desired.roles) if (r.adopted) adopted.add(r.name);
  const creators = new Set<string>();
  for (const schema of desired.schemas) {
    for (const role of objectCreators(schema, desired)) {
      if (!adopted.has(role) && (live.get(role)?.managed ?? true)) creators.add(role);
    }
  }
  const permissions: Permission[] = [];
  const ownFunctionsEntry = new Set<string>();
  for (const [, forRole, objtype, acl] of everySchema) {
    const kind = GLOBAL_DEFAULT_KINDS[objtype];
    if (!creators.has(forRole) || !kind) continue;
    if (objtype === 'f') ownFunctionsEntry.add(forRole);
    const on: Permission['on'] = { type: 'engine', kind, name: '', forRole };
    for (const [grantee, mask] of aclMasks(acl, anyone, 'any')) {
      if (grantee !== forRole) forEachPrivilege(mask, (privilege, grantable) => permissions.push(heldOn(grantee, on, privilege, grantable)));
    }
  }
  for (const forRole of creators) {
    if (!ownFunctionsEntry.has(forRole)) permissions.push(heldOn(PUBLIC_GRANTEE, { type: 'engine', kind: GLOBAL_DEFAULT_KINDS.f, name: '', forRole }, 'EXECUTE', false));
  }
  return permissions;
}

const anyone = () => true;

/** pg_default_acl.defaclobjtype -> securable kind of a role's default privileges in every schema (types are not managed). */
const GLOBAL_DEFAULT_KINDS: Record<string, string> = {
  r: `${GLOBAL_DEFAULT_PREFIX}tables`,
  S: `${GLOBAL_DEFAULT_PREFIX}sequences`,
  f: `${GLOBAL_DEFAULT_PREFIX}functions`,
  n: `${GLOBAL_DEFAULT_PREFIX}schemas`,
};

type CatalogQuery = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

/** The live catalog -> ActualState in ONE round trip. `query` runs one parameterized statement. */
export async function inspectPostgres(
  query: CatalogQuery,
  desired: DesiredState,
  part?: InspectScope,
): Promise<ActualState> {
  const [row] = await query(inspectQuery(), inspectParams(desired, part));
  return actualFromCatalog(catalogRowsOf(row as unknown as CatalogWire), desired);
}

/**
 * inspectPostgres started before realize: the query goes out with the parameters of the compiled
 * state (realize adds no role and no schema to them, so they are the same), and the rows are read for
 * the realized one. Should realize's parameters differ after all, the catalog is read again with them:
 * the rows of other parameters would scope other roles.
 */
export function inspectPostgresAhead(query: CatalogQuery, compiled: DesiredState): (desired: DesiredState) => Promise<ActualState> {
  const params = inspectParams(compiled);
  const rows = query(inspectQuery(), params);
  rows.catch(() => undefined); // awaited below; a failure meanwhile must not go unhandled
  return async (desired) => {
    if (!sameParams(params, inspectParams(desired))) {
      await rows.catch(() => undefined);
      return inspectPostgres(query, desired);
    }
    const [row] = await rows;
    return actualFromCatalog(catalogRowsOf(row as unknown as CatalogWire), desired);
  };
}

function sameParams(a: ReturnType<typeof inspectParams>, b: ReturnType<typeof inspectParams>): boolean {
  const sameList = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return a[0] === b[0] && sameList(a[1], b[1]) && sameList(a[2], b[2]) && a[3] === b[3] && sameList(a[4], b[4]) && sameList(a[5], b[5]) && sameList(a[6], b[6]);
}
