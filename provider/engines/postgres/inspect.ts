import { sortState, permissionKey } from '../../model/state';
import { DesiredState, Login, Membership, Permission, Role, Schema, User } from '../../model/types';
import { ActualState } from '../../plan/diff';
import { inspectQuery } from './catalog';
import { parseMarker } from './marker';
import { OBJECT_KINDS } from './realize';

/** What the catalog query returns (one row, JSON columns named after the sql/*.sql files). */
export interface CatalogRows {
  database: string;
  roles: { name: string; canLogin: boolean; comment: string | null; managed: boolean }[];
  memberships: { role: string; member: string; admin: boolean }[];
  schemas: { name: string; owner: string }[];
  'schema-privileges': { schema: string; grantee: string; privilege: string; grantable: boolean }[];
  'database-privileges': { grantee: string; privilege: string; grantable: boolean }[];
  'object-privileges': { schema: string; kind: string; grantee: string; privilege: string; objects: number; grantable: boolean }[];
  'object-owners': { schema: string; kind: string; owner: string; objects: number }[];
  'default-privileges': { schema: string; forRole: string; objtype: string; grantee: string; privilege: string; grantable: boolean }[];
}

/** pg_default_acl.defaclobjtype -> securable kind suffix. */
const DEFAULT_ACL_KINDS: Record<string, string> = { r: 'tables', S: 'sequences', f: 'functions', T: 'types', n: 'schemas' };

/** Parameters of the inspect query: $1 prefix, $2 every role name the desired state uses, $3 its schema names. */
export function inspectParams(desired: DesiredState): [string, string[], string[]] {
  const roles = new Set<string>();
  for (const l of desired.logins) roles.add(l.name);
  for (const u of desired.users) roles.add(u.name);
  for (const r of desired.roles) roles.add(r.name);
  for (const s of desired.schemas) roles.add(s.owner);
  for (const m of desired.memberships) roles.add(m.role).add(m.member);
  const schemas = new Set(desired.schemas.map((s) => s.name));
  for (const p of desired.permissions) {
    roles.add(p.grantee);
    if (p.on.type === 'schema') schemas.add(p.on.name);
    if (p.on.type === 'engine') {
      schemas.add(p.on.name);
      if (p.on.forRole !== undefined) roles.add(p.on.forRole);
    }
  }
  return [desired.prefix, [...roles].sort(), [...schemas].sort()];
}

const held = (grantee: string, on: Permission['on'], privilege: string, grantable: boolean): Permission => ({
  grantee,
  on,
  privilege,
  effect: 'GRANT',
  withGrantOption: grantable,
});

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
export function actualFromCatalog(rows: CatalogRows, desired: DesiredState): ActualState {
  const desiredLogins = new Map(desired.logins.map((l) => [l.name, l]));
  const desiredUsers = new Map(desired.users.map((u) => [u.name, u]));
  const desiredRoles = new Map(desired.roles.map((r) => [r.name, r]));
  const desiredApps = new Map(desired.schemas.map((s) => [s.name, s.app]));

  const logins: Login[] = [];
  const users: User[] = [];
  const roles: Role[] = [];
  const managed: string[] = [];
  const passwordSetAt: Record<string, string> = {};
  for (const r of rows.roles) {
    const marker = parseMarker(r.comment);
    if (r.managed) managed.push(r.name);
    if (r.managed && r.canLogin && marker.passwordSetAt) passwordSetAt[r.name] = marker.passwordSetAt;
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

  const schemas: Schema[] = rows.schemas.map((s) => ({ name: s.name, owner: s.owner, app: desiredApps.get(s.name) ?? '' }));
  const memberships: Membership[] = rows.memberships.map((m) => ({ role: m.role, member: m.member, ...(m.admin ? { admin: true } : {}) }));

  const permissions: Permission[] = [];
  for (const p of rows['schema-privileges']) permissions.push(held(p.grantee, { type: 'schema', name: p.schema }, p.privilege, p.grantable));
  for (const p of rows['database-privileges']) permissions.push(held(p.grantee, { type: 'database' }, p.privilege, p.grantable));

  // Objects per (schema, kind) by owner: the denominator of "held on all of them".
  const owners = new Map<string, Map<string, number>>();
  for (const o of rows['object-owners']) {
    const key = `${o.schema}\u0000${o.kind}`;
    const byOwner = owners.get(key) ?? new Map<string, number>();
    byOwner.set(o.owner, Number(o.objects));
    owners.set(key, byOwner);
  }
  const notOwnedBy = (schema: string, kind: string, grantee: string) => {
    let n = 0;
    for (const [owner, count] of owners.get(`${schema}\u0000${kind}`) ?? []) if (owner !== grantee) n += count;
    return n;
  };
  for (const p of rows['object-privileges']) {
    const all = Number(p.objects) >= notOwnedBy(p.schema, p.kind, p.grantee);
    permissions.push(held(p.grantee, { type: 'engine', kind: all ? p.kind : `some-${p.kind}`, name: p.schema }, p.privilege, p.grantable));
  }
  const reported = new Set(permissions.map(permissionKey));
  const existingSchemas = new Set(rows.schemas.map((s) => s.name));
  for (const want of desired.permissions) {
    const on = want.on;
    if (on.type !== 'engine' || !(OBJECT_KINDS as readonly string[]).includes(on.kind) || !existingSchemas.has(on.name)) continue;
    if (!reported.has(permissionKey(want)) && notOwnedBy(on.name, on.kind, want.grantee) === 0) permissions.push(want);
  }

  for (const d of rows['default-privileges']) {
    const kind = DEFAULT_ACL_KINDS[d.objtype] ?? `objtype-${d.objtype}`;
    permissions.push(held(d.grantee, { type: 'engine', kind: `default-${kind}`, name: d.schema, forRole: d.forRole }, d.privilege, d.grantable));
  }

  return {
    ...sortState({ engine: 'postgres', database: rows.database, logins, users, roles, schemas, memberships, permissions }),
    managed: managed.sort(),
    ...(Object.keys(passwordSetAt).length > 0 ? { passwordSetAt } : {}),
  };
}

/** The live catalog -> ActualState in ONE round trip. `query` runs one parameterized statement. */
export async function inspectPostgres(
  query: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>,
  desired: DesiredState,
): Promise<ActualState> {
  const [row] = await query(inspectQuery(), inspectParams(desired));
  return actualFromCatalog(row as unknown as CatalogRows, desired);
}
