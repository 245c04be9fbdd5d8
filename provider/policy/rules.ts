import { Diagnostic, LISTED_PER_RULE, NameSuggester, RuleId, Severity, didYouMean } from '../diagnostics/diagnostic';
import { BUILTIN_PERSONAS, RESERVED_PERSONA_NAMES, personaCatalogue } from '../model/personas';
import { appRoleNames, identifierLength, identifierLimit, isReservedPrincipal, isReservedSchema, nameKey, names, reservedPrincipalReason, ROLE_SLOTS } from '../model/names';
import { DEFAULT_OPTIONS, DEMO_DATABASE, EngineName, PersonaSpec, Policy, PrincipalSpec } from '../model/types';
import { principalDbName } from '../model/compile';
import { checkGuardrails, guardrailFacts } from './guardrails';
import { ExpiryCheckOptions } from './rules-expiry';
import { Locator } from './schema';
import { isRejectedKey, NOTHING_REJECTED, RejectedParts } from './prune';
import { PathSegment } from './source';
import { pushAll } from '../model/collections';

/**
 * Semantic rules over a schema-valid policy: references, names, limits and guardrails, as a table in the
 * manner of spectral's rulesets. A rule is `{ id, severity, description, check }`: `check` reads the
 * context and reports; it never stops the others. Adding a rule is adding an entry to a table: this
 * module's CORE_RULES, or a table of another module joined in ruleset.ts.
 */
export interface PolicyRule {
  /** The rule id its diagnostics carry (also the id docs/policy.md lists). */
  id: RuleId;
  /** The severity of its diagnostics unless a report says otherwise. */
  severity: Severity;
  description: string;
  check(ctx: RuleContext): void;
}

/** One adopted role (apps.<app>.roles.<slot>) and whether its slot is one the app has. */
export interface AdoptedRole {
  app: string;
  slot: string;
  name: string;
  path: PathSegment[];
  /** Why the slot is refused (rule adopted-role), or undefined when the role is adopted. */
  refused?: { message: string; hint?: string };
}

/** A name pmgrants generates, where validation points for it, and what it is. */
export interface GeneratedName {
  name: string;
  path: PathSegment[];
  what: 'role' | 'login';
  atKey: boolean;
}

/** One principal: its key, spec, database name, and where validation points for its name. */
export interface PrincipalEntry {
  key: string;
  spec: PrincipalSpec;
  dbName: string;
  path: PathSegment[];
  atKey: boolean;
}

/** What every rule reads: the policy, facts derived from it once, and report(). */
export interface RuleContext {
  policy: Policy;
  engine: EngineName;
  prefix: string;
  apps: Policy['apps'];
  appKeys: string[];
  principals: Record<string, PrincipalSpec>;
  customPersonas: Record<string, PersonaSpec>;
  /** Built-in (unless switched off) and custom personas. */
  catalogue: Record<string, PersonaSpec>;
  /** The app-scoped personas, sorted. */
  appPersonaKeys: string[];
  /** The app personas an app has: apps.<app>.personas, or all of them. */
  personasOn(app: string): string[];
  /** The engine's identifier limit. */
  limit: { max: number; unit: string };
  /** Every apps.<app>.roles entry, in policy order. */
  adoptedRoles(): readonly AdoptedRole[];
  /** Every name pmgrants would generate, in a fixed order (warehouse personas, shared login, then per app). */
  generatedNames(): readonly GeneratedName[];
  /** The principals in policy order with their database names, listed once for every rule. */
  principalList(): readonly PrincipalEntry[];
  /** The clock and horizon of the expiry rules (rules-expiry.ts); empty: no grant counts as expired. */
  expiry: ExpiryCheckOptions;
  /** Where a path is in the files, for a rule that builds its diagnostics itself. */
  locate: Locator;
  /** What the schema refused and was cut out before the rules ran (prune.ts): not to be reported again. */
  rejected: RejectedParts;
  /** Add diagnostics a rule built itself (a module whose rules predate the table); any number of them. */
  push(diagnostics: readonly Diagnostic[]): void;
  /** Report a problem at `path`; `severity` defaults to the rule's. */
  report(code: RuleId, path: PathSegment[], message: string, options?: { hint?: string; atKey?: boolean; severity?: Severity }): void;
}

/**
 * Run a rule table over a schema-valid policy, or over what the schema accepted of one (`rejected`
 * says what was cut out). Every problem of every rule is reported. On a cut policy a rule that still
 * meets a shape it does not expect reports what it found before, not a crash: the schema's errors
 * about that part are reported already.
 */
export function semanticDiagnostics(
  policy: Policy,
  locate: Locator,
  rules: readonly PolicyRule[],
  expiry: ExpiryCheckOptions = {},
  rejected: RejectedParts = NOTHING_REJECTED,
  /** Let a rule's exception through on a cut policy too (tests prove no rule needs the guard). */
  strict = false,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const base = ruleContextBase(policy);
  for (const rule of rules) {
    const ctx: RuleContext = {
      ...base,
      expiry,
      locate,
      rejected,
      push: (diagnostics) => void pushAll(out, diagnostics),
      report(code, path, message, options = {}) {
        const loc = locate(path, options.atKey ?? false);
        const severity = options.severity ?? (code === rule.id ? rule.severity : 'error');
        out.push({ code, severity, message, file: loc.file, line: loc.line, column: loc.column, path: '/' + path.join('/'), ...(options.hint ? { hint: options.hint } : {}) });
      },
    };
    if (strict || rejected === NOTHING_REJECTED) rule.check(ctx);
    else {
      try {
        rule.check(ctx);
      } catch {
        // A part the schema refused; its diagnostics are the schema's.
      }
    }
  }
  return out;
}

function ruleContextBase(policy: Policy): Omit<RuleContext, 'report' | 'push' | 'locate' | 'expiry' | 'rejected'> {
  const engine: EngineName = policy.warehouse.engine;
  const apps = policy.apps ?? {};
  const customPersonas = policy.personas ?? {};
  const catalogue = personaCatalogue(customPersonas, policy.options?.builtinPersonas ?? DEFAULT_OPTIONS.builtinPersonas);
  const appPersonaKeys = Object.keys(catalogue)
    .filter((p) => catalogue[p].scope === 'app')
    .sort();
  const personasOn = (app: string) => {
    const only = apps[app].personas;
    return only ? appPersonaKeys.filter((p) => only.includes(p)) : appPersonaKeys;
  };
  const prefix = policy.options?.prefix ?? DEFAULT_OPTIONS.prefix;
  const appKeys = Object.keys(apps);
  let adopted: AdoptedRole[] | undefined;
  let generated: GeneratedName[] | undefined;
  let principalList: PrincipalEntry[] | undefined;
  const principals = policy.principals ?? {};
  return {
    policy,
    engine,
    prefix,
    apps,
    appKeys,
    principals,
    customPersonas,
    catalogue,
    appPersonaKeys,
    personasOn,
    limit: identifierLimit(engine),
    adoptedRoles: () => (adopted ??= listAdoptedRoles(policy, appKeys, personasOn)),
    generatedNames: () => (generated ??= listGeneratedNames(policy, prefix, appKeys, catalogue, customPersonas, personasOn)),
    principalList: () =>
      (principalList ??= Object.keys(principals).map((key) => {
        const spec = principals[key];
        return { key, spec, dbName: principalDbName(key, spec), ...principalAt(key, spec) };
      })),
  };
}

function listAdoptedRoles(policy: Policy, appKeys: readonly string[], personasOn: (app: string) => string[]): AdoptedRole[] {
  const out: AdoptedRole[] = [];
  for (const key of appKeys) {
    for (const [slot, name] of Object.entries(policy.apps[key].roles ?? {})) {
      const path: PathSegment[] = ['apps', key, 'roles', slot];
      let refused: AdoptedRole['refused'];
      if (!(ROLE_SLOTS as readonly string[]).includes(slot) && !personasOn(key).includes(slot)) {
        const near = didYouMean(slot, [...ROLE_SLOTS, ...personasOn(key)]);
        refused = { message: `"${slot}" is not owner, app or a persona of app "${key}"${near ? ` (did you mean "${near}"?)` : ''}` };
      } else if (slot === 'app' && policy.security.mode !== 'system_managed') {
        refused = { message: 'roles.app adopts the login of one app, which only system_managed mode has', hint: 'remove it, or use security.mode system_managed' };
      }
      out.push({ app: key, slot, name, path, ...(refused ? { refused } : {}) });
    }
  }
  return out;
}

function listGeneratedNames(
  policy: Policy,
  prefix: string,
  appKeys: readonly string[],
  catalogue: Record<string, PersonaSpec>,
  customPersonas: Record<string, PersonaSpec>,
  personasOn: (app: string) => string[],
): GeneratedName[] {
  const out: GeneratedName[] = [];
  const scoped = (scope: 'app' | 'warehouse') =>
    Object.keys(catalogue)
      .filter((p) => catalogue[p].scope === scope)
      .sort();
  for (const p of scoped('warehouse')) {
    out.push({ name: names.warehousePersona(prefix, p), path: p in customPersonas ? ['personas', p] : ['grants'], what: 'role', atKey: p in customPersonas });
  }
  if (policy.security.mode === 'single_account') out.push({ name: names.sharedLogin(prefix), path: ['security', 'mode'], what: 'login', atKey: false });
  const appPersonas = scoped('app');
  for (const key of [...appKeys].sort()) {
    // Adopted roles exist already and are checked as such; only generated names are listed here.
    const named = appRoleNames(prefix, key, policy.apps[key]);
    const at = { path: ['apps', key], atKey: true };
    if (!named.isAdopted('owner')) out.push({ name: named.owner, what: 'role', ...at });
    for (const p of appPersonas) if (personasOn(key).includes(p) && !named.isAdopted(p)) out.push({ name: named.persona(p), what: 'role', ...at });
    if (policy.security.mode === 'system_managed' && !named.isAdopted('app')) out.push({ name: named.login, what: 'login', ...at });
  }
  return out;
}

/**
 * "Did you mean" for the first LISTED_PER_RULE unknown names a rule meets, the ones listed one by one
 * (summarizeRepeated sums up the rest); none after them, so 100,000 unknown names against 2,000
 * declared ones cost 20 lookups, not 200 million edit distances. The candidates are indexed once.
 */
function boundedSuggestions(candidates: () => Iterable<string>): (name: string) => string | undefined {
  let suggester: NameSuggester | undefined;
  let left = LISTED_PER_RULE;
  return (name) => (left-- > 0 ? (suggester ??= new NameSuggester(candidates())).suggest(name) : undefined);
}

/** "unknown persona "x" (did you mean "y"?)", for the rules that resolve persona references. */
function unknownPersona(name: string, suggest: (name: string) => string | undefined): { message: string; near?: string } {
  const near = suggest(name);
  return { message: `unknown persona "${name}"${near ? ` (did you mean "${near}"?)` : ''}`, ...(near ? { near } : {}) };
}

/** The custom personas that do not redefine a built-in one (those are reported by builtin-persona only). */
function customPersonaEntries(ctx: RuleContext): [string, PersonaSpec][] {
  return Object.entries(ctx.customPersonas).filter(([name]) => !(name in BUILTIN_PERSONAS));
}

/** Where a principal's database name is written: its name, or its key when it has none. */
function principalAt(key: string, spec: PrincipalSpec): { path: PathSegment[]; atKey: boolean } {
  return spec.name !== undefined ? { path: ['principals', key, 'name'], atKey: false } : { path: ['principals', key], atKey: true };
}

const noApps: PolicyRule = {
  id: 'no-apps',
  severity: 'warning',
  description: 'the policy defines no app',
  check(ctx) {
    if (ctx.appKeys.length === 0) ctx.report('no-apps', ['apps'], 'the policy defines no app, so it grants nothing');
  },
};

const builtinPersona: PolicyRule = {
  id: 'builtin-persona',
  severity: 'error',
  description: 'a custom persona redefines a built-in one',
  check(ctx) {
    for (const name of Object.keys(ctx.customPersonas)) {
      if (name in BUILTIN_PERSONAS) ctx.report('builtin-persona', ['personas', name], `persona "${name}" is built in and cannot be redefined`, { hint: 'pick another name', atKey: true });
    }
  },
};

const emptyPersona: PolicyRule = {
  id: 'empty-persona',
  severity: 'error',
  description: 'a persona that grants nothing',
  check(ctx) {
    for (const [name, spec] of customPersonaEntries(ctx)) {
      if ((spec.rights ?? []).length === 0 && (spec.openSourceRights ?? []).length === 0 && (spec.manages ?? []).length === 0) {
        ctx.report('empty-persona', ['personas', name], `persona "${name}" grants nothing: give it rights or personas it manages`, { atKey: true });
      }
    }
  },
};

const unknownPersonaRule: PolicyRule = {
  id: 'unknown-persona',
  severity: 'error',
  description: 'a grant or persona names a persona that does not exist',
  check(ctx) {
    const suggest = boundedSuggestions(() => Object.keys(ctx.catalogue));
    const known = (p: string) => p in ctx.catalogue || isRejectedKey(ctx.rejected, 'personas', p);
    for (const [name, spec] of customPersonaEntries(ctx)) {
      (spec.manages ?? []).forEach((m, i) => {
        if (!known(m)) ctx.report('unknown-persona', ['personas', name, 'manages', i], unknownPersona(m, suggest).message);
      });
    }
    for (const key of ctx.appKeys) {
      (ctx.apps[key].personas ?? []).forEach((p, i) => {
        if (!known(p)) ctx.report('unknown-persona', ['apps', key, 'personas', i], unknownPersona(p, suggest).message);
      });
    }
    ctx.policy.grants.forEach((grant, gi) => {
      if (known(grant.persona)) return;
      const u = unknownPersona(grant.persona, suggest);
      ctx.report('unknown-persona', ['grants', gi, 'persona'], u.message, u.near ? {} : { hint: `known personas: ${Object.keys(ctx.catalogue).sort().join(', ')}` });
    });
    (ctx.policy.guardrails?.forbidWildcardFor ?? []).forEach((p, i) => {
      if (!known(p)) ctx.report('unknown-persona', ['guardrails', 'forbidWildcardFor', i], `unknown persona "${p}"`);
    });
  },
};

const personaScope: PolicyRule = {
  id: 'persona-scope',
  severity: 'error',
  description: 'a grant does not fit the persona scope',
  check(ctx) {
    for (const [name, spec] of customPersonaEntries(ctx)) {
      (spec.manages ?? []).forEach((m, i) => {
        if (m in ctx.catalogue && ctx.catalogue[m].scope !== 'app') {
          ctx.report('persona-scope', ['personas', name, 'manages', i], `persona "${m}" is warehouse-wide; only app personas can be managed`);
        }
      });
    }
    for (const key of ctx.appKeys) {
      (ctx.apps[key].personas ?? []).forEach((p, i) => {
        if (p in ctx.catalogue && ctx.catalogue[p].scope !== 'app') {
          ctx.report('persona-scope', ['apps', key, 'personas', i], `persona "${p}" is warehouse-wide; an app lists only app personas`);
        }
      });
    }
    ctx.policy.grants.forEach((grant, gi) => {
      const persona = ctx.catalogue[grant.persona];
      if (persona?.scope === 'warehouse' && grant.apps !== undefined) {
        ctx.report('persona-scope', ['grants', gi, 'apps'], `${grant.persona} applies to every app; remove "apps" from this grant`);
      }
      if (persona?.scope === 'app' && grant.apps === undefined) {
        ctx.report('persona-scope', ['grants', gi], `${grant.persona} is granted per app; add apps: [...] or apps: ["*"]`);
      }
    });
  },
};

const duplicateSchema: PolicyRule = {
  id: 'duplicate-schema',
  severity: 'error',
  description: 'two apps use the same schema',
  check(ctx) {
    const owners = new Map<string, string>();
    for (const key of ctx.appKeys) {
      const schema = ctx.apps[key].schema;
      const k = nameKey(ctx.engine, schema);
      const other = owners.get(k);
      if (other !== undefined) {
        ctx.report('duplicate-schema', ['apps', key, 'schema'], `schema "${schema}" is already used by app "${other}"`, { hint: 'every app needs its own schema' });
      } else owners.set(k, key);
    }
  },
};

const reservedName: PolicyRule = {
  id: 'reserved-name',
  severity: 'error',
  description: 'a name the engine or pmgrants reserves',
  check(ctx) {
    const { engine, prefix } = ctx;
    for (const [name] of customPersonaEntries(ctx)) {
      if (RESERVED_PERSONA_NAMES.includes(name)) {
        ctx.report('reserved-name', ['personas', name], `persona name "${name}" is reserved (it would collide with generated role names)`, { atKey: true });
      }
    }
    for (const key of ctx.appKeys) {
      const schema = ctx.apps[key].schema;
      if (isReservedSchema(engine, schema)) {
        ctx.report('reserved-name', ['apps', key, 'schema'], `schema "${schema}" is reserved by ${engine}; an app needs a schema of its own`);
      }
    }
    for (const role of ctx.adoptedRoles()) {
      if (!role.refused && isReservedPrincipal(engine, role.name)) {
        ctx.report('reserved-name', role.path, `"${role.name}" is a built-in principal of ${engine}; pmgrants does not adopt it`, { hint: 'give the app a role of its own' });
      }
    }
    // Generated names: a reserved prefix makes every one of them reserved; say it once, at the prefix.
    const prefixReason = reservedPrincipalReason(engine, `${prefix}x`);
    if (prefixReason) {
      ctx.report('reserved-name', ['options', 'prefix'], `prefix "${prefix}" makes every name pmgrants generates ${prefixReason}`, { hint: 'choose another prefix, e.g. pmg_' });
    } else {
      for (const g of ctx.generatedNames()) {
        const reason = reservedPrincipalReason(engine, g.name);
        if (reason) ctx.report('reserved-name', g.path, `${g.what} "${g.name}" would be ${reason}`, { hint: 'rename the app or persona', atKey: g.atKey });
      }
    }
    for (const { dbName, path, atKey } of ctx.principalList()) {
      const reason = reservedPrincipalReason(engine, dbName);
      if (reason) ctx.report('reserved-name', path, `principal name "${dbName}" is ${reason}`, { atKey });
      else if (dbName.toLowerCase().startsWith(prefix)) {
        ctx.report('reserved-name', path, `principal name "${dbName}" starts with the managed prefix "${prefix}", which is reserved for names pmgrants generates`, { atKey });
      }
    }
  },
};

const nameTooLong: PolicyRule = {
  id: 'name-too-long',
  severity: 'error',
  description: 'a name exceeds the engine identifier limit',
  check(ctx) {
    const { engine, limit } = ctx;
    const tooLong = (name: string) => identifierLength(engine, name) > limit.max;
    const size = (name: string) => `${identifierLength(engine, name)} ${limit.unit}; ${engine} allows ${limit.max}`;
    for (const key of ctx.appKeys) {
      const schema = ctx.apps[key].schema;
      if (tooLong(schema)) ctx.report('name-too-long', ['apps', key, 'schema'], `schema "${schema}" is ${size(schema)}`);
    }
    for (const role of ctx.adoptedRoles()) {
      if (!role.refused && tooLong(role.name)) ctx.report('name-too-long', role.path, `role name "${role.name}" is ${size(role.name)}`);
    }
    for (const g of ctx.generatedNames()) {
      if (tooLong(g.name)) ctx.report('name-too-long', g.path, `${g.what} "${g.name}" would be ${size(g.name)}`, { hint: 'use a shorter app or persona key, or a shorter prefix', atKey: g.atKey });
    }
    for (const { dbName, path, atKey } of ctx.principalList()) {
      if (tooLong(dbName)) ctx.report('name-too-long', path, `principal name "${dbName}" is ${size(dbName)}`, { atKey });
    }
  },
};

const unknownPrincipal: PolicyRule = {
  id: 'unknown-principal',
  severity: 'error',
  description: 'a grant names a principal the policy does not define',
  check(ctx) {
    const suggest = boundedSuggestions(() => Object.keys(ctx.principals));
    for (const key of ctx.appKeys) {
      const team = ctx.apps[key].ownerTeam;
      if (team !== undefined && !Object.hasOwn(ctx.principals, team) && !isRejectedKey(ctx.rejected, 'principals', team)) {
        const near = suggest(team);
        ctx.report('unknown-principal', ['apps', key, 'ownerTeam'], `unknown principal "${team}"${near ? ` (did you mean "${near}"?)` : ''}`);
      }
    }
    ctx.policy.grants.forEach((grant, gi) => {
      grant.to.forEach((p, i) => {
        if (Object.hasOwn(ctx.principals, p) || isRejectedKey(ctx.rejected, 'principals', p)) return;
        const near = suggest(p);
        ctx.report('unknown-principal', ['grants', gi, 'to', i], `unknown principal "${p}"${near ? ` (did you mean "${near}"?)` : ''}`, near ? {} : { hint: 'declare it under principals' });
      });
    });
  },
};

const adoptedRole: PolicyRule = {
  id: 'adopted-role',
  severity: 'error',
  description: 'apps.<app>.roles adopts a role for something that is not owner, app or a persona of the app',
  check(ctx) {
    for (const role of ctx.adoptedRoles()) {
      if (role.refused) ctx.report('adopted-role', role.path, role.refused.message, { atKey: true, ...(role.refused.hint ? { hint: role.refused.hint } : {}) });
    }
  },
};

const duplicateName: PolicyRule = {
  id: 'duplicate-name',
  severity: 'error',
  description: 'two objects would get the same database name',
  check(ctx) {
    const { engine } = ctx;
    // Adopted roles: one role serves one slot of an app (the owner may also be the app's login).
    const adoptedNames = new Map<string, AdoptedRole>();
    const slotsSeen = new Map<string, string>();
    let app: string | undefined;
    for (const role of ctx.adoptedRoles()) {
      if (role.refused) continue;
      if (role.app !== app) {
        app = role.app;
        slotsSeen.clear();
      }
      const k = nameKey(engine, role.name);
      const other = slotsSeen.get(k);
      const isPersona = !(ROLE_SLOTS as readonly string[]).includes(role.slot);
      const ownerAndLogin = other !== undefined && !isPersona && (ROLE_SLOTS as readonly string[]).includes(other);
      if (other !== undefined && !ownerAndLogin) ctx.report('duplicate-name', role.path, `role "${role.name}" is already adopted for "${other}" of app "${role.app}"`);
      slotsSeen.set(k, role.slot);
      adoptedNames.set(k, role);
    }
    // Generated names: collisions with each other.
    const generated = new Map<string, GeneratedName>();
    for (const g of ctx.generatedNames()) {
      const k = nameKey(engine, g.name);
      const prev = generated.get(k);
      if (prev && prev.name !== g.name) ctx.report('duplicate-name', g.path, `${g.what} "${g.name}" collides with "${prev.name}"`, { atKey: g.atKey });
      else if (prev) ctx.report('duplicate-name', g.path, `${g.what} "${g.name}" is generated twice; rename the app or persona`, { atKey: g.atKey });
      generated.set(k, g);
    }
    // Principals: with adopted roles and with each other.
    const principalNames = new Map<string, string>();
    for (const { key, dbName, path, atKey } of ctx.principalList()) {
      const k = nameKey(engine, dbName);
      const adopted = adoptedNames.get(k);
      if (adopted) {
        ctx.report('duplicate-name', path, `principal name "${dbName}" is also adopted as a role of an app (at /${adopted.path.join('/')})`, {
          hint: "a role is either a persona's role or a principal that receives personas",
          atKey,
        });
      }
      const prev = principalNames.get(k);
      if (prev !== undefined) ctx.report('duplicate-name', path, `principals "${prev}" and "${key}" have the same database name "${dbName}"`, { atKey });
      else principalNames.set(k, key);
    }
  },
};

const missingObjectId: PolicyRule = {
  id: 'missing-object-id',
  severity: 'error',
  description: 'an Entra principal without objectId',
  check(ctx) {
    if (ctx.engine === 'postgres') return;
    for (const { key, spec } of ctx.principalList()) {
      if (spec.kind.startsWith('entra-') && !spec.objectId) {
        ctx.report('missing-object-id', ['principals', key], `${spec.kind} "${key}" needs an objectId`, {
          hint: "find it in the Entra admin center: the Object ID of the user or group, or of the app's service principal under Enterprise applications",
          atKey: true,
        });
      }
    }
  },
};

const principalKindEngine: PolicyRule = {
  id: 'principal-kind-engine',
  severity: 'error',
  description: 'a principal kind the engine cannot express',
  check(ctx) {
    if (ctx.engine === 'sqlserver') return;
    for (const { key, spec } of ctx.principalList()) {
      if (spec.kind.startsWith('windows-')) ctx.report('principal-kind-engine', ['principals', key, 'kind'], `${spec.kind} principals exist only on sqlserver, not on ${ctx.engine}`);
    }
  },
};

const unknownApp: PolicyRule = {
  id: 'unknown-app',
  severity: 'error',
  description: 'a grant names an app the policy does not define',
  check(ctx) {
    const suggest = boundedSuggestions(() => [...ctx.appKeys].sort());
    ctx.policy.grants.forEach((grant, gi) => {
      (grant.apps ?? []).forEach((a, i) => {
        if (a === '*' || Object.hasOwn(ctx.apps, a) || isRejectedKey(ctx.rejected, 'apps', a)) return;
        const near = suggest(a);
        ctx.report('unknown-app', ['grants', gi, 'apps', i], `unknown app "${a}"${near ? ` (did you mean "${near}"?)` : ''}`);
      });
    });
  },
};

const personaNotOnApp: PolicyRule = {
  id: 'persona-not-on-app',
  severity: 'error',
  description: 'a grant gives an app a persona that apps.<app>.personas leaves out',
  check(ctx) {
    ctx.policy.grants.forEach((grant, gi) => {
      if (ctx.catalogue[grant.persona]?.scope !== 'app') return;
      (grant.apps ?? []).forEach((a, i) => {
        if (a !== '*' && Object.hasOwn(ctx.apps, a) && !ctx.personasOn(a).includes(grant.persona)) {
          ctx.report('persona-not-on-app', ['grants', gi, 'apps', i], `app "${a}" does not have persona ${grant.persona}`, { hint: `add it to apps.${a}.personas` });
        }
      });
    });
  },
};

const duplicateGrant: PolicyRule = {
  id: 'duplicate-grant',
  severity: 'warning',
  description: 'the same persona is granted to the same principal on the same app twice',
  check(ctx) {
    const seen = new Map<string, number>();
    const sortedApps = [...ctx.appKeys].sort();
    ctx.policy.grants.forEach((grant, gi) => {
      const persona = ctx.catalogue[grant.persona];
      if (!persona) return;
      const targets = persona.scope === 'warehouse' ? ['*'] : (grant.apps ?? []).flatMap((a) => (a === '*' ? sortedApps : [a]));
      for (const t of targets) {
        for (const p of grant.to) {
          const k = `${grant.persona}\u0000${p}\u0000${t}`;
          const first = seen.get(k);
          if (first !== undefined && first !== gi) {
            ctx.report('duplicate-grant', ['grants', gi], `${grant.persona} is already granted to "${p}"${t === '*' ? '' : ` on "${t}"`} by grant ${first + 1}`);
          } else seen.set(k, gi);
        }
      }
    });
  },
};

const unusedPrincipal: PolicyRule = {
  id: 'unused-principal',
  severity: 'warning',
  description: 'a principal that no grant uses',
  check(ctx) {
    const used = new Set(ctx.policy.grants.flatMap((g) => g.to));
    // One pass over the apps, not one per principal: 2,000 principals x 1,000 apps took 0.3 s.
    const ownerTeams = new Set(ctx.appKeys.map((a) => ctx.apps[a].ownerTeam));
    for (const { key } of ctx.principalList()) {
      if (!used.has(key) && !ownerTeams.has(key) && !ctx.rejected.mentioned.has(key)) ctx.report('unused-principal', ['principals', key], `principal "${key}" is granted nothing`, { atKey: true });
    }
  },
};

const singleAccountSharedData: PolicyRule = {
  id: 'single-account-shared-data',
  severity: 'warning',
  description: 'single_account lets every editor read every app',
  check(ctx) {
    if (ctx.policy.security.mode !== 'single_account') return;
    ctx.report('single-account-shared-data', ['security', 'mode'], "single_account: one login reads and writes every app schema, so anyone editing transformations can query every app's data", {
      hint: "use system_managed to keep each app's data to its own login",
    });
  },
};

const closedSourceUnenforced: PolicyRule = {
  id: 'closed-source-unenforced',
  severity: 'info',
  description: 'the engine cannot hide definitions of a closed-source app',
  check(ctx) {
    if (ctx.engine !== 'postgres') return;
    const closed = [...ctx.appKeys].sort().filter((a) => (ctx.apps[a].source ?? 'closed') === 'closed');
    if (closed.length === 0) return;
    ctx.report(
      'closed-source-unenforced',
      ['apps', closed[0], 'source'],
      `PostgreSQL shows view and function definitions to every role (pg_views, pg_proc), so closed source on ${closed.length} app${closed.length === 1 ? '' : 's'} limits nothing beyond data rights`,
    );
  },
};

/**
 * Told at validate time, before plan refuses it: logins (SQL Server) and roles (PostgreSQL) belong to the
 * whole server, so two warehouses with the default prefix generate the same names there, and the second
 * one's plan stops (plan/diff.ts, ownedElsewhere). The demo's database is alone on its private server.
 */
const defaultPrefix: PolicyRule = {
  id: 'default-prefix',
  severity: 'info',
  description: 'the policy keeps the default prefix, which a second warehouse on the same server cannot share',
  check(ctx) {
    if (ctx.policy.options?.prefix !== undefined || ctx.policy.warehouse.database === DEMO_DATABASE) return;
    if (ctx.rejected.pointers.has('/options') || ctx.rejected.pointers.has('/options/prefix')) return;
    ctx.report(
      'default-prefix',
      ['warehouse', 'database'],
      `names are generated with the default prefix "${DEFAULT_OPTIONS.prefix}": only one warehouse per server can use it, and plan refuses a second one`,
      { hint: 'give each warehouse on a server its own options.prefix (e.g. "pmg_prod_"), in the policy or in its stack overlay' },
    );
  },
};

/** The guardrails: the same functions the Pulumi policy pack runs (guardrails.ts), located here. */
const guardrails: PolicyRule = {
  id: 'guardrail-mode',
  severity: 'error',
  description: 'a stack guardrail is violated (guardrail-mode, guardrail-groups-only, guardrail-wildcard, guardrail-owner-team)',
  check(ctx) {
    for (const v of checkGuardrails(ctx.policy.guardrails, guardrailFacts(ctx.policy))) {
      const at = v.at;
      const hint = v.hint ? { hint: v.hint } : {};
      if ('mode' in at) ctx.report(v.rule, ['security', 'mode'], v.message, hint);
      else if ('app' in at) ctx.report(v.rule, ['apps', at.app], v.message, { ...hint, atKey: true });
      else if (at.principal !== undefined) ctx.report(v.rule, ['grants', at.grant, 'to', at.principal], v.message, hint);
      else ctx.report(v.rule, ['grants', at.grant, 'apps', Math.max(0, ctx.policy.grants[at.grant].apps?.indexOf('*') ?? 0)], v.message, hint);
    }
  },
};

/** The rules of the policy language itself. ruleset.ts joins them with the tables of other modules. */
export const CORE_RULES: readonly PolicyRule[] = [
  noApps,
  builtinPersona,
  emptyPersona,
  unknownPersonaRule,
  personaScope,
  duplicateSchema,
  reservedName,
  nameTooLong,
  unknownPrincipal,
  adoptedRole,
  duplicateName,
  missingObjectId,
  principalKindEngine,
  unknownApp,
  personaNotOnApp,
  duplicateGrant,
  unusedPrincipal,
  singleAccountSharedData,
  closedSourceUnenforced,
  defaultPrefix,
  guardrails,
];
