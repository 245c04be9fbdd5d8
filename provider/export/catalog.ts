/**
 * `pmgrants export`: an existing database's security -> a starting policy. Engine-neutral and pure.
 *
 * Each engine reads its catalog into an ExportCatalog (provider/engines/<engine>/export.ts): principals,
 * memberships, schemas with owners, the schema-wide rights each principal holds in pmgrants' fixed
 * vocabulary, and one sentence for everything that vocabulary cannot say. buildExport() turns that into
 * a policy that adopts what exists (apps.<app>.roles, custom personas made from each role's actual
 * rights, enforcement additive, no built-in personas), plus the sentences, which the YAML carries as
 * comments: nothing is dropped silently.
 */
import { BUILTIN_PERSONAS, RESERVED_PERSONA_NAMES } from '../model/personas';
import { identifierLength, identifierLimit, isReservedPrincipal, isReservedSchema, nameKey } from '../model/names';
import { EngineName, GrantSpec, PersonaSpec, Policy, PrincipalKind, PrincipalSpec, Right, RIGHTS } from '../model/types';
import { pushAll } from '../model/collections';

export interface ExportPrincipal {
  /** Name in the database, exactly. */
  name: string;
  /** How the policy would declare it, were it granted a persona. */
  kind: PrincipalKind;
  /** Can log in (PostgreSQL LOGIN; SQL Server users of a login and contained users). */
  canLogin: boolean;
  objectId?: string;
  /** Why pmgrants must not adopt or grant to it (superuser, built-in, the provisioning role, managed by pmgrants). */
  notAdoptable?: string;
}

export interface ExportCatalog {
  engine: EngineName;
  database: string;
  principals: ExportPrincipal[];
  /** Direct memberships: `member` is a member of `role`. */
  memberships: { role: string; member: string }[];
  schemas: { name: string; owner: string }[];
  /** Rights held on every object of the schema the grantee does not own, in pmgrants' vocabulary. */
  rights: { grantee: string; schema: string; right: Right }[];
  /** What the vocabulary cannot say (object-level or column grants, other privileges), one sentence each. */
  unexpressed: { schema?: string; grantee?: string; text: string }[];
}

export interface ExportOptions {
  /** Only these schemas become apps (default: every schema that is not a system one). */
  schemas?: string[];
  prefix?: string;
}

export interface ExportResult {
  policy: Policy;
  /** Comments for the YAML: what was not adopted, and why. */
  notes: string[];
  /** App key -> schema, in order. */
  apps: Record<string, string>;
}

const KEY = /^[a-z][a-z0-9_-]*$/;

/** A policy key for a database name: lowercase, [a-z0-9_-], starting with a letter; unique within `taken`. */
export function keyFor(name: string, taken: Set<string>, avoid: readonly string[] = []): string {
  let base = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 90);
  if (!/^[a-z]/.test(base)) base = base ? `r_${base}` : 'r';
  if (!KEY.test(base)) base = 'r';
  let key = base;
  for (let i = 2; taken.has(key) || avoid.includes(key); i++) key = `${base}_${i}`;
  taken.add(key);
  return key;
}

/** Rights in the vocabulary's order. */
function ordered(rights: Iterable<Right>): Right[] {
  const set = new Set(rights);
  return RIGHTS.filter((r) => set.has(r));
}

export function buildExport(catalog: ExportCatalog, options: ExportOptions = {}): ExportResult {
  const engine = catalog.engine;
  const prefix = options.prefix ?? 'pmg_';
  const limit = identifierLimit(engine);
  const notes: string[] = [];
  const byName = new Map(catalog.principals.map((p) => [p.name, p]));
  const adoptable = (name: string): string | undefined => {
    const p = byName.get(name);
    if (p?.notAdoptable) return p.notAdoptable;
    if (isReservedPrincipal(engine, name)) return 'a built-in principal';
    if (name.toLowerCase().startsWith(prefix)) return `its name starts with the managed prefix "${prefix}"`;
    if (identifierLength(engine, name) > limit.max) return 'its name is too long';
    return undefined;
  };

  // Apps: the chosen schemas, or every schema that is not a system one.
  const wanted = options.schemas;
  const schemas = catalog.schemas
    .filter((s) => (wanted ? wanted.includes(s.name) : !isReservedSchema(engine, s.name)))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const s of catalog.schemas) {
    if (wanted || !isReservedSchema(engine, s.name)) continue;
    if (catalog.rights.some((r) => r.schema === s.name)) notes.push(`schema ${s.name}: a system schema, not exported as an app (its grants stay as they are)`);
  }
  const schemaSet = new Set(schemas.map((s) => s.name));
  const appKeys = new Set<string>();
  const appOf = new Map<string, string>();
  for (const s of schemas) appOf.set(s.name, keyFor(s.name, appKeys));

  const policy: Policy = {
    apiVersion: 'pmgrants/v1',
    warehouse: { engine, database: catalog.database },
    security: { mode: 'system_managed' },
    principals: {},
    apps: {},
    personas: {},
    grants: [],
    options: { enforcement: 'additive', builtinPersonas: false, ...(prefix !== 'pmg_' ? { prefix } : {}) },
  };

  const x: Exporting = { catalog, engine, prefix, notes, byName, adoptable, schemas, appOf, policy, ownerOrLogin: new Set(), personaOfRole: new Map() };
  exportApps(x);
  exportPersonas(x);
  exportGrants(x);
  // What the vocabulary cannot say, on the exported schemas (or on no schema: database-wide), sorted.
  const unexpressed = catalog.unexpressed.filter((u) => u.schema === undefined || schemaSet.has(u.schema)).map((u) => u.text);
  pushAll(notes, unexpressed.sort());
  const byKey = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  policy.principals = byKey(policy.principals);
  policy.personas = byKey(policy.personas ?? {});
  return { policy, notes, apps: Object.fromEntries([...appOf.entries()].map(([schema, app]) => [app, schema])) };
}

/** An export under way: the catalog, the apps chosen, and the policy and notes built so far. */
interface Exporting {
  catalog: ExportCatalog;
  engine: EngineName;
  prefix: string;
  notes: string[];
  byName: Map<string, ExportPrincipal>;
  /** Why a principal cannot be adopted, or undefined when it can. */
  adoptable: (name: string) => string | undefined;
  schemas: ExportCatalog['schemas'];
  appOf: Map<string, string>;
  policy: Policy;
  /** Adopted owners of app schemas and app logins. */
  ownerOrLogin: Set<string>;
  /** Adopted persona roles: their persona and app. */
  personaOfRole: Map<string, { persona: string; app: string }>;
}

/** Owners and app logins. */
function exportApps({ prefix, notes, byName, adoptable, schemas, appOf, policy, ownerOrLogin }: Exporting): void {
  // Owners and app logins.
  for (const s of schemas) {
    const app = appOf.get(s.name)!;
    const roles: Record<string, string> = {};
    const why = adoptable(s.owner);
    if (why) {
      notes.push(
        `schema ${s.name}: its owner ${s.owner} is not adopted (${why}); the first apply makes ${prefix}${app}_owner the owner and creates ${prefix}${app}_app, the login pmgrants generates for the app's transformations`,
      );
    } else {
      roles.owner = s.owner;
      ownerOrLogin.add(s.owner);
      if (byName.get(s.owner)?.canLogin) roles.app = s.owner;
      else notes.push(`schema ${s.name}: its owner ${s.owner} cannot log in, so the first apply creates ${prefix}${app}_app, the login pmgrants generates for the app's transformations`);
    }
    policy.apps[app] = { schema: s.name, source: 'closed', personas: [], roles };
  }
}

/** Personas: one per role holding rights on exactly one app schema. */
function exportPersonas({ catalog, notes, adoptable, schemas, appOf, policy, ownerOrLogin, personaOfRole }: Exporting): void {
  const schemaSet = new Set(schemas.map((s) => s.name));
  // Personas: one per role holding rights on exactly one app schema.
  const rightsOf = new Map<string, Map<string, Set<Right>>>();
  for (const r of catalog.rights) {
    if (!schemaSet.has(r.schema)) continue;
    const bySchema = rightsOf.get(r.grantee) ?? new Map<string, Set<Right>>();
    bySchema.set(r.schema, (bySchema.get(r.schema) ?? new Set<Right>()).add(r.right));
    rightsOf.set(r.grantee, bySchema);
  }
  // 'alter' = membership in the (adopted) owner role of the schema.
  for (const m of catalog.memberships) {
    const owned = schemas.filter((s) => s.owner === m.role && policy.apps[appOf.get(s.name)!].roles?.owner === m.role);
    for (const s of owned) {
      if (!rightsOf.has(m.member)) continue;
      const bySchema = rightsOf.get(m.member)!;
      if (bySchema.has(s.name)) bySchema.get(s.name)!.add('alter');
    }
  }
  const personaKeys = new Set<string>();
  const avoid = [...RESERVED_PERSONA_NAMES, ...Object.keys(BUILTIN_PERSONAS)];
  for (const grantee of [...rightsOf.keys()].sort()) {
    const bySchema = rightsOf.get(grantee)!;
    const list = [...bySchema.entries()].map(([schema, rights]) => `${schema}: ${ordered(rights).join(', ')}`).join('; ');
    if (ownerOrLogin.has(grantee)) {
      notes.push(`${grantee}: owns an app schema, so its own grants (${list}) are kept as they are, not made a persona`);
      continue;
    }
    const why = adoptable(grantee);
    if (why) {
      notes.push(`${grantee}: not adopted (${why}); its rights stay as they are (${list})`);
      continue;
    }
    if (bySchema.size > 1) {
      notes.push(`${grantee}: has rights on several app schemas (${list}); a persona is per app, so it is not adopted (split it into one role per app)`);
      continue;
    }
    const [schema, rights] = [...bySchema.entries()][0];
    const app = appOf.get(schema)!;
    const persona = keyFor(grantee, personaKeys, avoid);
    const spec: PersonaSpec = { scope: 'app', rights: ordered(rights), description: `adopted from role ${grantee}` };
    policy.personas![persona] = spec;
    policy.apps[app].personas!.push(persona);
    policy.apps[app].roles![persona] = grantee;
    personaOfRole.set(grantee, { persona, app });
  }
}

/** Principals: the members of adopted persona roles, granted their persona. */
function exportGrants({ catalog, engine, notes, byName, adoptable, policy, ownerOrLogin, personaOfRole }: Exporting): void {
  // Principals: the members of adopted persona roles.
  const principalKeys = new Set<string>();
  const principalKeyOf = new Map<string, string>();
  const principalFor = (name: string): string | undefined => {
    const known = principalKeyOf.get(name);
    if (known) return known;
    const p = byName.get(name);
    if (!p) return undefined;
    const key = keyFor(name, principalKeys);
    const spec: PrincipalSpec = { kind: p.kind, ...(key !== name ? { name } : {}), ...(p.objectId ? { objectId: p.objectId } : {}) };
    policy.principals[key] = spec;
    principalKeyOf.set(name, key);
    return key;
  };
  const adoptedRoleNames = new Set([...ownerOrLogin, ...personaOfRole.keys()].map((n) => nameKey(engine, n)));
  const membersOf = new Map<string, string[]>();
  for (const m of [...catalog.memberships].sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0))) {
    if (!personaOfRole.has(m.role)) continue;
    if (adoptedRoleNames.has(nameKey(engine, m.member))) {
      notes.push(`${m.member} is a member of ${m.role}, but is itself an adopted role; that membership stays as it is`);
      continue;
    }
    const why = adoptable(m.member);
    if (why) {
      notes.push(`${m.member} is a member of ${m.role}, but is not adopted (${why}); that membership stays as it is`);
      continue;
    }
    const key = principalFor(m.member);
    if (!key) continue;
    membersOf.set(m.role, [...(membersOf.get(m.role) ?? []), key]);
  }
  for (const [role, { persona, app }] of [...personaOfRole.entries()].sort((a, b) => (a[1].persona < b[1].persona ? -1 : 1))) {
    const to = [...new Set(membersOf.get(role) ?? [])].sort();
    if (to.length === 0) continue;
    const grant: GrantSpec = { persona, to, apps: [app] };
    policy.grants.push(grant);
  }
  for (const a of Object.values(policy.apps)) a.personas!.sort();
}
