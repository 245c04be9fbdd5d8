import { Diagnostic, RuleId, Severity, didYouMean } from '../diagnostics/diagnostic';
import { BUILTIN_PERSONAS, RESERVED_PERSONA_NAMES, personaCatalogue } from '../model/personas';
import { appRoleNames, identifierLength, identifierLimit, isReservedPrincipal, isReservedSchema, nameKey, names, ROLE_SLOTS } from '../model/names';
import { DEFAULT_OPTIONS, EngineName, Policy } from '../model/types';
import { principalDbName } from '../model/compile';
import { checkGuardrails, guardrailFacts } from './guardrails';
import { ExpiryCheckOptions, expiryDiagnostics } from './rules-expiry';
import { Locator } from './schema';
import { PathSegment } from './source';

/**
 * Semantic rules over a schema-valid policy: references, names, limits and guardrails.
 * Every problem is reported, none stops the others.
 */
export function semanticDiagnostics(policy: Policy, locate: Locator, expiry: ExpiryCheckOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [];
  const report = (severity: Severity, code: RuleId, path: PathSegment[], message: string, hint?: string, atKey = false) => {
    const loc = locate(path, atKey);
    out.push({ code, severity, message, file: loc.file, line: loc.line, column: loc.column, path: '/' + path.join('/'), ...(hint ? { hint } : {}) });
  };
  const engine: EngineName = policy.warehouse.engine;
  const prefix = policy.options?.prefix ?? DEFAULT_OPTIONS.prefix;
  const apps = policy.apps ?? {};
  const principals = policy.principals ?? {};
  const customPersonas = policy.personas ?? {};
  const catalogue = personaCatalogue(customPersonas, policy.options?.builtinPersonas ?? DEFAULT_OPTIONS.builtinPersonas);
  const appKeys = Object.keys(apps);
  const limit = identifierLimit(engine);

  if (appKeys.length === 0) report('warning', 'no-apps', ['apps'], 'the policy defines no app, so it grants nothing');

  // Custom personas.
  for (const [name, spec] of Object.entries(customPersonas)) {
    if (name in BUILTIN_PERSONAS) {
      report('error', 'builtin-persona', ['personas', name], `persona "${name}" is built in and cannot be redefined`, 'pick another name', true);
      continue;
    }
    if (RESERVED_PERSONA_NAMES.includes(name)) {
      report('error', 'reserved-name', ['personas', name], `persona name "${name}" is reserved (it would collide with generated role names)`, undefined, true);
    }
    if ((spec.rights ?? []).length === 0 && (spec.openSourceRights ?? []).length === 0 && (spec.manages ?? []).length === 0) {
      report('error', 'empty-persona', ['personas', name], `persona "${name}" grants nothing: give it rights or personas it manages`, undefined, true);
    }
    (spec.manages ?? []).forEach((m, i) => {
      if (!(m in catalogue)) {
        const near = didYouMean(m, Object.keys(catalogue));
        report('error', 'unknown-persona', ['personas', name, 'manages', i], `unknown persona "${m}"${near ? ` (did you mean "${near}"?)` : ''}`);
      } else if (catalogue[m].scope !== 'app') {
        report('error', 'persona-scope', ['personas', name, 'manages', i], `persona "${m}" is warehouse-wide; only app personas can be managed`);
      }
    });
  }

  const appPersonaKeys = Object.keys(catalogue).filter((p) => catalogue[p].scope === 'app').sort();
  /** The app personas an app has: apps.<app>.personas, or all of them. */
  const personasOn = (app: string) => {
    const only = apps[app].personas;
    return only ? appPersonaKeys.filter((p) => only.includes(p)) : appPersonaKeys;
  };
  /** Names of adopted roles (apps.<app>.roles), which principals may not take. */
  const adoptedNames = new Map<string, { name: string; path: PathSegment[] }>();

  // Apps: schemas unique, not reserved, within limits; owner teams known.
  const schemaOwners = new Map<string, string>();
  for (const key of appKeys) {
    const app = apps[key];
    const k = nameKey(engine, app.schema);
    const other = schemaOwners.get(k);
    if (other !== undefined) {
      report('error', 'duplicate-schema', ['apps', key, 'schema'], `schema "${app.schema}" is already used by app "${other}"`, 'every app needs its own schema');
    } else schemaOwners.set(k, key);
    if (isReservedSchema(engine, app.schema)) {
      report('error', 'reserved-name', ['apps', key, 'schema'], `schema "${app.schema}" is reserved by ${engine}; an app needs a schema of its own`);
    }
    if (identifierLength(engine, app.schema) > limit.max) {
      report('error', 'name-too-long', ['apps', key, 'schema'], `schema "${app.schema}" is ${identifierLength(engine, app.schema)} ${limit.unit}; ${engine} allows ${limit.max}`);
    }
    if (app.ownerTeam !== undefined && !Object.hasOwn(principals, app.ownerTeam)) {
      const near = didYouMean(app.ownerTeam, Object.keys(principals));
      report('error', 'unknown-principal', ['apps', key, 'ownerTeam'], `unknown principal "${app.ownerTeam}"${near ? ` (did you mean "${near}"?)` : ''}`);
    }
    (app.personas ?? []).forEach((p, i) => {
      if (!(p in catalogue)) {
        const near = didYouMean(p, Object.keys(catalogue));
        report('error', 'unknown-persona', ['apps', key, 'personas', i], `unknown persona "${p}"${near ? ` (did you mean "${near}"?)` : ''}`);
      } else if (catalogue[p].scope !== 'app') {
        report('error', 'persona-scope', ['apps', key, 'personas', i], `persona "${p}" is warehouse-wide; an app lists only app personas`);
      }
    });
    // Adopted roles: owner, app (the transformations' login) or a persona this app has.
    const slotsSeen = new Map<string, string>();
    for (const [slot, name] of Object.entries(app.roles ?? {})) {
      const path: PathSegment[] = ['apps', key, 'roles', slot];
      const isPersona = !(ROLE_SLOTS as readonly string[]).includes(slot);
      if (isPersona && !personasOn(key).includes(slot)) {
        const near = didYouMean(slot, [...ROLE_SLOTS, ...personasOn(key)]);
        report('error', 'adopted-role', path, `"${slot}" is not owner, app or a persona of app "${key}"${near ? ` (did you mean "${near}"?)` : ''}`, undefined, true);
        continue;
      }
      if (slot === 'app' && policy.security.mode !== 'system_managed') {
        report('error', 'adopted-role', path, 'roles.app adopts the login of one app, which only system_managed mode has', 'remove it, or use security.mode system_managed', true);
        continue;
      }
      if (identifierLength(engine, name) > limit.max) {
        report('error', 'name-too-long', path, `role name "${name}" is ${identifierLength(engine, name)} ${limit.unit}; ${engine} allows ${limit.max}`);
      }
      if (isReservedPrincipal(engine, name)) {
        report('error', 'reserved-name', path, `"${name}" is a built-in principal of ${engine}; pmgrants does not adopt it`, 'give the app a role of its own');
      }
      const k = nameKey(engine, name);
      const other = slotsSeen.get(k);
      // The owner may also be the app's login (the role its transformations run as owns the schema).
      const ownerAndLogin = other !== undefined && !isPersona && (ROLE_SLOTS as readonly string[]).includes(other);
      if (other !== undefined && !ownerAndLogin) {
        report('error', 'duplicate-name', path, `role "${name}" is already adopted for "${other}" of app "${key}"`);
      }
      slotsSeen.set(k, slot);
      adoptedNames.set(k, { name, path });
    }
  }

  // Generated names: length and collisions with each other and with principals.
  const generated = new Map<string, { name: string; path: PathSegment[] }>();
  const claim = (name: string, path: PathSegment[], what: string, atKey: boolean) => {
    if (identifierLength(engine, name) > limit.max) {
      report('error', 'name-too-long', path, `${what} "${name}" would be ${identifierLength(engine, name)} ${limit.unit}; ${engine} allows ${limit.max}`, 'use a shorter app or persona key, or a shorter prefix', atKey);
    }
    const k = nameKey(engine, name);
    const prev = generated.get(k);
    if (prev && prev.name !== name) {
      report('error', 'duplicate-name', path, `${what} "${name}" collides with "${prev.name}"`, undefined, atKey);
    } else if (prev) {
      report('error', 'duplicate-name', path, `${what} "${name}" is generated twice; rename the app or persona`, undefined, atKey);
    }
    generated.set(k, { name, path });
  };
  const appPersonas = Object.keys(catalogue).filter((p) => catalogue[p].scope === 'app').sort();
  for (const p of Object.keys(catalogue).filter((p) => catalogue[p].scope === 'warehouse').sort()) {
    claim(names.warehousePersona(prefix, p), p in customPersonas ? ['personas', p] : ['grants'], 'role', p in customPersonas);
  }
  if (policy.security.mode === 'single_account') claim(names.sharedLogin(prefix), ['security', 'mode'], 'login', false);
  for (const key of appKeys.sort()) {
    // Adopted roles exist already and are checked above; only generated names are claimed here.
    const named = appRoleNames(prefix, key, apps[key]);
    if (!named.isAdopted('owner')) claim(named.owner, ['apps', key], 'role', true);
    for (const p of appPersonas) if (personasOn(key).includes(p) && !named.isAdopted(p)) claim(named.persona(p), ['apps', key], 'role', true);
    if (policy.security.mode === 'system_managed' && !named.isAdopted('app')) claim(named.login, ['apps', key], 'login', true);
  }

  // Principals.
  const principalNames = new Map<string, string>();
  for (const [key, spec] of Object.entries(principals)) {
    const dbName = principalDbName(key, spec);
    const path = spec.name !== undefined ? ['principals', key, 'name'] : ['principals', key];
    const atKey = spec.name === undefined;
    if (identifierLength(engine, dbName) > limit.max) {
      report('error', 'name-too-long', path, `principal name "${dbName}" is ${identifierLength(engine, dbName)} ${limit.unit}; ${engine} allows ${limit.max}`, undefined, atKey);
    }
    if (isReservedPrincipal(engine, dbName)) {
      report('error', 'reserved-name', path, `principal name "${dbName}" is reserved by ${engine}`, undefined, atKey);
    } else if (dbName.toLowerCase().startsWith(prefix)) {
      report('error', 'reserved-name', path, `principal name "${dbName}" starts with the managed prefix "${prefix}", which is reserved for names pmgrants generates`, undefined, atKey);
    }
    const k = nameKey(engine, dbName);
    if (adoptedNames.has(k)) {
      report('error', 'duplicate-name', path, `principal name "${dbName}" is also adopted as a role of an app (at /${adoptedNames.get(k)!.path.join('/')})`, 'a role is either a persona\'s role or a principal that receives personas', atKey);
    }
    const prev = principalNames.get(k);
    if (prev !== undefined) report('error', 'duplicate-name', path, `principals "${prev}" and "${key}" have the same database name "${dbName}"`, undefined, atKey);
    else principalNames.set(k, key);
    if (spec.kind.startsWith('entra-') && engine !== 'postgres' && !spec.objectId) {
      report('error', 'missing-object-id', ['principals', key], `${spec.kind} "${key}" needs an objectId`, 'find it in the Entra admin center: the Object ID of the user or group, or of the app\'s service principal under Enterprise applications', true);
    }
    if (spec.kind.startsWith('windows-') && engine !== 'sqlserver') {
      report('error', 'principal-kind-engine', ['principals', key, 'kind'], `${spec.kind} principals exist only on sqlserver, not on ${engine}`);
    }
  }

  // Grants.
  const seen = new Map<string, number>();
  const used = new Set<string>();
  policy.grants.forEach((grant, gi) => {
    const persona = catalogue[grant.persona];
    if (!persona) {
      const near = didYouMean(grant.persona, Object.keys(catalogue));
      report('error', 'unknown-persona', ['grants', gi, 'persona'], `unknown persona "${grant.persona}"${near ? ` (did you mean "${near}"?)` : ''}`, near ? undefined : `known personas: ${Object.keys(catalogue).sort().join(', ')}`);
    }
    grant.to.forEach((p, i) => {
      used.add(p);
      if (!Object.hasOwn(principals, p)) {
        const near = didYouMean(p, Object.keys(principals));
        report('error', 'unknown-principal', ['grants', gi, 'to', i], `unknown principal "${p}"${near ? ` (did you mean "${near}"?)` : ''}`, near ? undefined : 'declare it under principals');
      }
    });
    if (persona?.scope === 'warehouse' && grant.apps !== undefined) {
      report('error', 'persona-scope', ['grants', gi, 'apps'], `${grant.persona} applies to every app; remove "apps" from this grant`);
    }
    if (persona?.scope === 'app' && grant.apps === undefined) {
      report('error', 'persona-scope', ['grants', gi], `${grant.persona} is granted per app; add apps: [...] or apps: ["*"]`);
    }
    (grant.apps ?? []).forEach((a, i) => {
      if (a === '*') return;
      if (!Object.hasOwn(apps, a)) {
        const near = didYouMean(a, appKeys);
        report('error', 'unknown-app', ['grants', gi, 'apps', i], `unknown app "${a}"${near ? ` (did you mean "${near}"?)` : ''}`);
      } else if (persona?.scope === 'app' && !personasOn(a).includes(grant.persona)) {
        report('error', 'persona-not-on-app', ['grants', gi, 'apps', i], `app "${a}" does not have persona ${grant.persona}`, `add it to apps.${a}.personas`);
      }
    });
    if (persona) {
      const targets = persona.scope === 'warehouse' ? ['*'] : (grant.apps ?? []).flatMap((a) => (a === '*' ? appKeys : [a]));
      for (const t of targets) {
        for (const p of grant.to) {
          const k = `${grant.persona}\u0000${p}\u0000${t}`;
          const first = seen.get(k);
          if (first !== undefined && first !== gi) {
            report('warning', 'duplicate-grant', ['grants', gi], `${grant.persona} is already granted to "${p}"${t === '*' ? '' : ` on "${t}"`} by grant ${first + 1}`);
          } else seen.set(k, gi);
        }
      }
    }
  });
  // One pass over the apps, not one per principal: 2,000 principals x 1,000 apps took 0.3 s.
  const ownerTeams = new Set(appKeys.map((a) => apps[a].ownerTeam));
  for (const key of Object.keys(principals)) {
    const isOwner = ownerTeams.has(key);
    if (!used.has(key) && !isOwner) report('warning', 'unused-principal', ['principals', key], `principal "${key}" is granted nothing`, undefined, true);
  }

  // Modes and what the engine can enforce.
  if (policy.security.mode === 'single_account') {
    report('warning', 'single-account-shared-data', ['security', 'mode'], 'single_account: one login reads and writes every app schema, so anyone editing transformations can query every app\'s data', 'use system_managed to keep each app\'s data to its own login');
  }
  if (engine === 'postgres') {
    const closed = appKeys.filter((a) => (apps[a].source ?? 'closed') === 'closed');
    if (closed.length > 0) {
      report('info', 'closed-source-unenforced', ['apps', closed[0], 'source'], `PostgreSQL shows view and function definitions to every role (pg_views, pg_proc), so closed source on ${closed.length} app${closed.length === 1 ? '' : 's'} limits nothing beyond data rights`);
    }
  }

  // Guardrails: the same functions the Pulumi policy pack runs (guardrails.ts), located here.
  const g = policy.guardrails;
  for (const v of checkGuardrails(g, guardrailFacts(policy))) {
    const at = v.at;
    if ('mode' in at) report('error', v.rule, ['security', 'mode'], v.message, v.hint);
    else if ('app' in at) report('error', v.rule, ['apps', at.app], v.message, v.hint, true);
    else if (at.principal !== undefined) report('error', v.rule, ['grants', at.grant, 'to', at.principal], v.message, v.hint);
    else report('error', v.rule, ['grants', at.grant, 'apps', Math.max(0, policy.grants[at.grant].apps?.indexOf('*') ?? 0)], v.message, v.hint);
  }
  (g?.forbidWildcardFor ?? []).forEach((p, i) => {
    if (!(p in catalogue)) report('error', 'unknown-persona', ['guardrails', 'forbidWildcardFor', i], `unknown persona "${p}"`);
  });
  out.push(...expiryDiagnostics(policy, locate, expiry));
  return out;
}
