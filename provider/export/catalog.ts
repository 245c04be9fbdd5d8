/**
 * `pmgrants export`: an existing database's security -> a starting policy. Engine-neutral and pure.
 *
 * Each engine reads its catalog into an ExportCatalog (provider/engines/<engine>/export.ts): principals,
 * memberships, schemas with owners, the schema-wide rights each principal holds in pmgrants' fixed
 * vocabulary, and one sentence for everything that vocabulary cannot say. buildExport() turns that into
 * a policy that adopts what exists (apps.<app>.roles, custom personas made from each role's actual
 * rights, enforcement additive, no built-in personas), plus the sentences, which the YAML carries as
 * comments: nothing is dropped silently.
 *
 * Personal data: the masks an engine found (PostgreSQL: the comments of pmgrants' masked views) become
 * apps.<app>.personalData.columns, one exact `table.column` pattern per column; a role that reads a
 * schema's tables through a companion schema of masked or hidden views becomes a persona that sees
 * personal data masked or hidden, and one that reads the tables themselves one that sees them clear.
 */
import { BUILTIN_PERSONAS, RESERVED_PERSONA_NAMES } from '../model/personas';
import { ColumnVisibility, MASKABLE_RIGHTS, MaskSpec, PersonalColumnSpec, REDACTED_TEXT } from '../model/masking';
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
  /**
   * Personal columns of the schemas' tables and the mask each has (PostgreSQL: what pmgrants' masked
   * views record). Absent: the engine reads none.
   */
  personalColumns?: ExportPersonalColumn[];
  /**
   * Schemas that show another schema's tables with its personal columns masked or left out (PostgreSQL:
   * pmgrants' companion schemas `<schema>_masked`, `<schema>_hidden`). They are not apps: rights on one
   * are rights on `of`, seen at that visibility.
   */
  companions?: ExportCompanion[];
  /**
   * Engines that mask the columns themselves (SQL Server's Dynamic Data Masking): who reads them
   * unmasked, on one schema or (no schema) the whole database. Present: a role that reads an app schema
   * with personal columns without being here sees them masked. Absent: masking is by companion schemas.
   */
  unmasked?: { grantee: string; schema?: string }[];
}

/** A column of `schema`.`table` that holds personal data, and its mask. */
export interface ExportPersonalColumn {
  schema: string;
  table: string;
  column: string;
  mask: MaskSpec;
}

/** A schema of views of `of`'s tables, personal columns masked or hidden. */
export interface ExportCompanion {
  schema: string;
  of: string;
  visibility: Exclude<ColumnVisibility, 'clear'>;
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
  const personal = exportPersonalData(x);
  exportPersonas(x);
  exportGrants(x);
  // What the vocabulary cannot say, on the exported schemas and their companions (or on no schema:
  // database-wide), sorted.
  const companionOf = new Map((catalog.companions ?? []).map((c) => [c.schema, c.of]));
  const onExported = (schema: string | undefined) => schema === undefined || schemaSet.has(schema) || (companionOf.has(schema) && schemaSet.has(companionOf.get(schema)!));
  const unexpressed = catalog.unexpressed.filter((u) => onExported(u.schema)).map((u) => u.text);
  pushAll(unexpressed, personal);
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

/** Names a `table.column` pattern cannot state exactly: glob characters, and the dot that splits it. */
const NOT_A_PATTERN = /[*?.]/;

/** A mask as the policy writes it: the kind alone when its options are the defaults. */
export function maskSpecOf(mask: MaskSpec): PersonalColumnSpec {
  if (mask.mask === 'redact') return mask.text === undefined || mask.text === REDACTED_TEXT ? 'redact' : { mask: 'redact', text: mask.text };
  if (mask.mask === 'partial') {
    const first = mask.first ?? 1;
    const last = mask.last ?? 1;
    return first === 1 && last === 1 ? 'partial' : { mask: 'partial', first, last };
  }
  return mask.mask;
}

/** A mask in words, for a note. */
function maskWords(mask: MaskSpec): string {
  const spec = maskSpecOf(mask);
  if (typeof spec === 'string') return spec;
  return spec.mask === 'redact' ? `redact as ${JSON.stringify(spec.text)}` : `partial, first ${spec.first} and last ${spec.last} kept`;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Personal columns: each app's as exact `table.column` patterns, sorted by table then column. A name
 * holding `*`, `?` or `.` cannot be one (it would be a glob, or split at the wrong dot): a sentence
 * instead. Returns the sentences.
 */
function exportPersonalData({ catalog, appOf, policy }: Exporting): string[] {
  const sentences: string[] = [];
  const byApp = new Map<string, ExportPersonalColumn[]>();
  for (const c of catalog.personalColumns ?? []) {
    const app = appOf.get(c.schema);
    if (app === undefined) continue;
    if (NOT_A_PATTERN.test(c.table) || NOT_A_PATTERN.test(c.column)) {
      sentences.push(
        `${c.schema}.${c.table}, column ${c.column}: personal (${maskWords(c.mask)}), but a "*", "?" or "." in its name keeps a table.column pattern from naming it exactly, so it is not in apps.${app}.personalData; until a pattern there covers it, the first apply remakes its masked views showing it in clear`,
      );
      continue;
    }
    const list = byApp.get(app);
    if (list) list.push(c);
    else byApp.set(app, [c]);
  }
  for (const [app, columns] of byApp) {
    columns.sort((a, b) => byString(a.table, b.table) || byString(a.column, b.column));
    const patterns: Record<string, PersonalColumnSpec> = {};
    for (const c of columns) patterns[`${c.table}.${c.column}`] ??= maskSpecOf(c.mask);
    policy.apps[app].personalData = { columns: patterns };
  }
  return sentences;
}

/** The rights a role holds on one app: on the app schema itself (clear) or through a companion schema (masked, hidden). */
interface HeldRights {
  /** Where they are held: the app schema or its companion. */
  schema: string;
  rights: Set<Right>;
}

/**
 * Personas: one per role holding rights on exactly one app schema, or reading it through exactly one
 * companion schema (then it sees personal data masked or hidden). On an app with personal columns a
 * persona says how it sees them (validation wants it): clear when it holds rights on the app schema.
 */
function exportPersonas({ catalog, notes, adoptable, schemas, appOf, policy, ownerOrLogin, personaOfRole }: Exporting): void {
  const schemaSet = new Set(schemas.map((s) => s.name));
  const companionOf = new Map((catalog.companions ?? []).map((c) => [c.schema, c]));
  // Masks on the columns themselves (SQL Server): rights on a schema with personal columns read them masked, but with UNMASK.
  const personalSchemas = new Set((catalog.personalColumns ?? []).map((c) => c.schema));
  const unmasked = catalog.unmasked;
  const seesInPlace = (grantee: string, schema: string): ColumnVisibility =>
    unmasked === undefined || !personalSchemas.has(schema) || unmasked.some((u) => u.grantee === grantee && (u.schema === undefined || u.schema === schema)) ? 'clear' : 'masked';
  // grantee -> app schema -> visibility -> the rights held there.
  const rightsOf = new Map<string, Map<string, Map<ColumnVisibility, HeldRights>>>();
  for (const r of catalog.rights) {
    const companion = companionOf.get(r.schema);
    const schema = companion?.of ?? r.schema;
    if (!schemaSet.has(schema)) continue;
    const visibility: ColumnVisibility = companion?.visibility ?? seesInPlace(r.grantee, schema);
    const bySchema = rightsOf.get(r.grantee) ?? new Map<string, Map<ColumnVisibility, HeldRights>>();
    const byVisibility = bySchema.get(schema) ?? new Map<ColumnVisibility, HeldRights>();
    const held = byVisibility.get(visibility) ?? { schema: r.schema, rights: new Set<Right>() };
    held.rights.add(r.right);
    byVisibility.set(visibility, held);
    bySchema.set(schema, byVisibility);
    rightsOf.set(r.grantee, bySchema);
  }
  // 'alter' = membership in the (adopted) owner role of the schema.
  for (const m of catalog.memberships) {
    const owned = schemas.filter((s) => s.owner === m.role && policy.apps[appOf.get(s.name)!].roles?.owner === m.role);
    for (const s of owned) {
      rightsOf.get(m.member)?.get(s.name)?.get('clear')?.rights.add('alter');
    }
  }
  const personaKeys = new Set<string>();
  const avoid = [...RESERVED_PERSONA_NAMES, ...Object.keys(BUILTIN_PERSONAS)];
  for (const grantee of [...rightsOf.keys()].sort()) {
    const bySchema = rightsOf.get(grantee)!;
    const held = [...bySchema.values()].flatMap((v) => [...v.values()]);
    const list = held.map((h) => `${h.schema}: ${ordered(h.rights).join(', ')}`).join('; ');
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
    const [schema, byVisibility] = [...bySchema.entries()][0];
    const app = appOf.get(schema)!;
    const personal = Object.keys(policy.apps[app].personalData?.columns ?? {}).length > 0;
    const seen = visibilityOf(grantee, schema, byVisibility, personal, notes);
    if (!seen) continue;
    const persona = keyFor(grantee, personaKeys, avoid);
    const spec: PersonaSpec = {
      scope: 'app',
      rights: ordered(seen.held.rights),
      ...(personal ? { personalData: seen.visibility } : {}),
      description: `adopted from role ${grantee}`,
    };
    policy.personas![persona] = spec;
    policy.apps[app].personas!.push(persona);
    policy.apps[app].roles![persona] = grantee;
    personaOfRole.set(grantee, { persona, app });
  }
}

/**
 * How a role sees an app's personal data, from where it holds its rights: the app schema (clear, what
 * it keeps when it also reads a companion), one companion schema (masked or hidden; only select, and
 * only when the app's personal columns are known, else a persona would read the tables themselves).
 * Undefined, with a note, when that cannot be told.
 */
function visibilityOf(
  grantee: string,
  schema: string,
  byVisibility: Map<ColumnVisibility, HeldRights>,
  personal: boolean,
  notes: string[],
): { visibility: ColumnVisibility; held: HeldRights } | undefined {
  const companions = [...byVisibility.entries()].filter(([v]) => v !== 'clear');
  const clear = byVisibility.get('clear');
  const names = companions.map(([, h]) => h.schema).join(' and ');
  if (clear) {
    if (companions.length > 0) {
      notes.push(`${grantee}: reads ${schema} itself and also ${names}; a persona sees personal data one way, so it is adopted as seeing it clear, and its rights on ${names} stay as they are`);
    }
    return { visibility: 'clear', held: clear };
  }
  if (companions.length > 1) {
    notes.push(`${grantee}: reads ${names}, the masked and the hidden views of ${schema}; a persona sees personal data one way, so it is not adopted`);
    return undefined;
  }
  const [visibility, held] = companions[0];
  // Where it reads: a companion schema of views, or (SQL Server) the schema itself without UNMASK.
  const where = held.schema === schema ? `${schema} without UNMASK (its masked columns ${visibility})` : `${held.schema}, pmgrants' ${visibility} views of ${schema},`;
  if (!personal) {
    notes.push(
      `${grantee}: reads ${where} but no personal column of ${schema} is known, and a persona on an app without personal columns reads its tables in clear; not adopted (declare the personal columns, then grant it a persona with personalData: ${visibility})`,
    );
    return undefined;
  }
  const beyond = ordered(held.rights).filter((r) => !MASKABLE_RIGHTS.includes(r));
  if (beyond.length > 0) {
    notes.push(`${grantee}: reads ${where} with ${beyond.join(', ')}, which a persona that sees personal data ${visibility} cannot have; not adopted`);
    return undefined;
  }
  return { visibility, held };
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
