import { sortState } from '../../model/state';
import { DesiredState, Membership, Permission, Right, RIGHTS, Schema } from '../../model/types';

/**
 * Object kinds pmgrants grants on in bulk, per schema. Each has a live form (GRANT ... ON ALL <objects>
 * IN SCHEMA) and a default-privileges form (ALTER DEFAULT PRIVILEGES ... ON <objects>) for objects
 * created later. Securable kinds: '<kind>' and 'default-<kind>'; inspect adds 'some-<kind>' for a
 * privilege held on only part of the schema's objects.
 */
export const OBJECT_KINDS = ['tables', 'sequences', 'functions'] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];

/** Which privileges each neutral right needs, per object kind. Views, materialized views and foreign tables are 'tables'. */
const OBJECT_PRIVILEGES: Record<Right, Partial<Record<ObjectKind, string>>> = {
  select: { tables: 'SELECT' },
  insert: { tables: 'INSERT', sequences: 'USAGE' },
  update: { tables: 'UPDATE' },
  delete: { tables: 'DELETE' },
  references: { tables: 'REFERENCES' },
  execute: { functions: 'EXECUTE' },
  // PostgreSQL shows view and function definitions to every role (pg_views, pg_proc): nothing to grant.
  'view-definition': {},
  // Only an owner may ALTER or DROP: realized as membership in the schema's owner role.
  alter: {},
  // CREATE on the schema.
  'create-objects': {},
};

const grant = (grantee: string, on: Permission['on'], privilege: string): Permission => ({ grantee, on, privilege, effect: 'GRANT', withGrantOption: false });

/**
 * The roles whose future objects in a schema need default privileges: its owner, and the login the
 * app's transformations run as (not in a companion schema of masked views: only its owner makes those).
 */
export function objectCreators(schema: Schema, desired: DesiredState): string[] {
  const login = schema.purpose === undefined ? desired.appLogins[schema.app] : undefined;
  return [...new Set([schema.owner, ...(login ? [login] : [])])].sort();
}

const NEUTRAL_RIGHTS: ReadonlySet<string> = new Set(RIGHTS);

/** The securables of one schema: itself, its objects of each kind, their default privileges per creator. */
interface SchemaSecurables {
  schema: Permission['on'];
  objects: Record<ObjectKind, Permission['on']>;
  defaultsFor(kind: ObjectKind, forRole: string): Permission['on'];
}

function schemaSecurables(name: string): SchemaSecurables {
  const defaults: Record<ObjectKind, Map<string, Permission['on']>> = { tables: new Map(), sequences: new Map(), functions: new Map() };
  return {
    schema: { type: 'schema', name },
    objects: {
      tables: { type: 'engine', kind: 'tables', name },
      sequences: { type: 'engine', kind: 'sequences', name },
      functions: { type: 'engine', kind: 'functions', name },
    },
    defaultsFor(kind, forRole) {
      let on = defaults[kind].get(forRole);
      if (!on) defaults[kind].set(forRole, (on = { type: 'engine', kind: `default-${kind}`, name, forRole }));
      return on;
    },
  };
}

/**
 * Neutral rights -> PostgreSQL privileges, memberships and default privileges. Pure.
 * Principals, roles and schemas are kept as they are (a login and its user are one LOGIN role).
 * The lists come out in no particular order: sortState sorts them (every permission it makes is a
 * plain GRANT, so the order of equal ones does not matter).
 */
export function realizePostgres(desired: DesiredState): DesiredState {
  const schemas = new Map(desired.schemas.map((s) => [s.name, s]));
  const permissions: Permission[] = [];
  // Role -> member -> membership: one per pair, WITH ADMIN OPTION when any source of it asks for it.
  const memberships = new Map<string, Map<string, Membership>>();
  const addMembership = (m: Membership) => {
    let ofRole = memberships.get(m.role);
    if (!ofRole) memberships.set(m.role, (ofRole = new Map()));
    const prev = ofRole.get(m.member);
    ofRole.set(m.member, prev && (prev.admin || m.admin) ? { ...m, admin: true } : (prev ?? m));
  };
  desired.memberships.forEach(addMembership);

  // Neutral schema rights per grantee and schema.
  const rightsOf = new Map<string, Map<string, Set<Right>>>();
  for (const p of desired.permissions) {
    if (p.effect !== 'GRANT') throw new Error(`realize: PostgreSQL has no DENY (${p.grantee} ${p.privilege})`);
    if (p.on.type === 'schema' && NEUTRAL_RIGHTS.has(p.privilege)) {
      let bySchema = rightsOf.get(p.grantee);
      if (!bySchema) rightsOf.set(p.grantee, (bySchema = new Map()));
      let rights = bySchema.get(p.on.name);
      if (!rights) bySchema.set(p.on.name, (rights = new Set()));
      rights.add(p.privilege as Right);
    } else if (p.on.type === 'role' && p.privilege === 'manage-membership') {
      addMembership({ role: p.on.name, member: p.grantee, admin: true });
    } else {
      throw new Error(`realize: unexpected neutral permission ${p.privilege} on ${p.on.type}`);
    }
  }

  // The securables of a schema, made once: the permissions on one securable share its (never mutated)
  // object, which is what sortState ranks them by (70,000 permissions, some 15,000 securables).
  const DATABASE: Permission['on'] = { type: 'database' };
  const securablesBySchema = new Map<string, SchemaSecurables>();
  const securablesOf = (name: string) => {
    let securables = securablesBySchema.get(name);
    if (!securables) securablesBySchema.set(name, (securables = schemaSecurables(name)));
    return securables;
  };
  // The same few creators for every grantee of a schema: computed once per schema.
  const creatorsBySchema = new Map<string, string[]>();
  const creatorsOf = (schema: Schema) => {
    let creators = creatorsBySchema.get(schema.name);
    if (!creators) creatorsBySchema.set(schema.name, (creators = objectCreators(schema, desired)));
    return creators;
  };
  for (const [grantee, bySchema] of rightsOf) {
    for (const [name, rights] of bySchema) {
      const schema = schemas.get(name);
      const securables = securablesOf(name);
      const on = securables.schema;
      permissions.push(grant(grantee, on, 'USAGE'));
      if (rights.has('create-objects')) permissions.push(grant(grantee, on, 'CREATE'));
      if (rights.has('alter') && schema && schema.owner !== grantee) addMembership({ role: schema.owner, member: grantee });
      const creators = schema ? creatorsOf(schema) : [];
      for (const right of rights) {
        for (const kind of OBJECT_KINDS) {
          const privilege = OBJECT_PRIVILEGES[right][kind];
          if (!privilege) continue;
          permissions.push(grant(grantee, securables.objects[kind], privilege));
          // A role needs no default privileges on what it creates itself.
          for (const forRole of creators) {
            if (forRole !== grantee) permissions.push(grant(grantee, securables.defaultsFor(kind, forRole), privilege));
          }
        }
      }
    }
  }

  // Every role a person or a transformation connects through may CONNECT, even where PUBLIC may not.
  // Adopted roles (apps.<app>.roles) connect as they did before pmgrants: that is not its to grant.
  for (const login of desired.logins) if (!login.adopted) permissions.push(grant(login.name, DATABASE, 'CONNECT'));
  for (const role of desired.roles) if (role.purpose === 'persona' && !role.adopted) permissions.push(grant(role.name, DATABASE, 'CONNECT'));

  const membershipList: Membership[] = [];
  for (const ofRole of memberships.values()) for (const m of ofRole.values()) membershipList.push(m);
  return sortState({ ...desired, engine: 'postgres', memberships: membershipList, permissions });
}

/** What the neutral model says that PostgreSQL cannot enforce, for validate/plan output. */
export function postgresLimitations(desired: DesiredState): string[] {
  const rights = new Map<string, Set<string>>();
  for (const p of desired.permissions) {
    if (p.on.type !== 'schema') continue;
    const key = `${p.grantee}\u0000${p.on.name}`;
    rights.set(key, (rights.get(key) ?? new Set()).add(p.privilege));
  }
  // A grantee that may read data but not definitions: "closed" source in the policy.
  const closedReaders = [...rights.values()].some((r) => r.has('select') && !r.has('view-definition'));
  return closedReaders
    ? ['PostgreSQL shows view and function definitions to every role that can connect (pg_views, pg_proc): "closed" source keeps data readers from the data of other apps, not from reading transformation code']
    : [];
}
