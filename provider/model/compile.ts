import { managedPersonas, personaCatalogue } from './personas';
import { appRoleNames, names } from './names';
import {
  DEFAULT_OPTIONS,
  DesiredState,
  ExpiredMembership,
  Membership,
  PersonaSpec,
  Policy,
  PrincipalSpec,
  RIGHTS,
  Right,
  SecurityState,
  UserSource,
} from './types';
import { compareMemberships, emptyState, membershipKey, sortState } from './state';
import { isExpired, laterExpiry } from './expiry';
import { compileProtected } from './protected';
import { CompanionSchema, MaskedApp, MaskingState, maskingNames, personaVisibility, personalColumnRules } from './masking';

export interface CompileOptions {
  /**
   * The clock expiring grants are judged by (grants[].expires). Required when a grant has `expires`:
   * compile stays pure, so the caller says what time it is.
   */
  now?: Date;
}

/** The login an app's transformations run as has every right, on that app's schema only. */
export const APP_LOGIN_RIGHTS: readonly Right[] = RIGHTS;

function userSource(spec: PrincipalSpec, dbName: string): UserSource {
  switch (spec.kind) {
    case 'sql-login':
      return { type: 'sql-login', login: dbName };
    case 'entra-user':
    case 'entra-group':
    case 'entra-app':
      return { type: 'external', kind: spec.kind, ...(spec.objectId ? { objectId: spec.objectId.toLowerCase() } : {}) };
    case 'windows-user':
    case 'windows-group':
      return { type: 'windows', kind: spec.kind };
    case 'database-role':
      return { type: 'role' };
    default: {
      const never: never = spec.kind;
      throw new Error(`unknown principal kind ${String(never)}`);
    }
  }
}

export function principalDbName(key: string, spec: PrincipalSpec): string {
  return spec.name ?? key;
}

/**
 * Policy -> DesiredState. Pure and deterministic: the same policy gives the same bytes.
 * Assumes the policy passed validation (references resolve); it throws only on bugs.
 */
export function compilePolicy(policy: Policy, compileOptions: CompileOptions = {}): DesiredState {
  const options = { ...DEFAULT_OPTIONS, ...(policy.options ?? {}) };
  const prefix = options.prefix;
  const catalogue = personaCatalogue(policy.personas, options.builtinPersonas);
  const appKeys = Object.keys(policy.apps).sort();
  const appPersonas = Object.keys(catalogue)
    .filter((p) => catalogue[p].scope === 'app')
    .sort();
  const appNames = new Map(appKeys.map((a) => [a, appRoleNames(prefix, a, policy.apps[a])]));
  /** The app personas an app has: its own list (apps.<app>.personas) or every app persona. */
  const personasOf = (app: string) => {
    const only = policy.apps[app].personas;
    return only ? appPersonas.filter((p) => only.includes(p)) : appPersonas;
  };
  const warehousePersonas = Object.keys(catalogue)
    .filter((p) => catalogue[p].scope === 'warehouse')
    .sort();
  // Role names, made once (20,000 grants name the same few thousand roles): app -> its personas -> the
  // role of each, adopted or generated; warehouse persona -> its role.
  const personaRoles = new Map(appKeys.map((a) => [a, new Map(personasOf(a).map((p) => [p, appNames.get(a)!.persona(p)]))]));
  const warehouseRoles = new Map(warehousePersonas.map((p) => [p, names.warehousePersona(prefix, p)]));

  const masking = compileMasking(policy, catalogue, appKeys, personaRoles, warehouseRoles, prefix);
  const b: Compiling = { ...emptyState('neutral', policy.warehouse.database), policy, catalogue, appKeys, appNames, personaRoles, warehouseRoles, appLogins: {}, masking };
  addMasking(b);
  addWarehousePersonas(b);
  addApps(b);
  addAppLogins(b, prefix);
  const expiredGrants = addGrants(b, compileOptions);
  const { logins, users, roles, schemas, memberships, permissions, appLogins } = b;
  const merged = mergeExpiries(memberships, expiredGrants);

  return sortState({
    engine: 'neutral',
    database: policy.warehouse.database,
    prefix,
    mode: policy.security.mode,
    enforcement: options.enforcement,
    prune: options.prune,
    ...(options.tolerateGrantees?.length ? { tolerateGrantees: [...new Set(options.tolerateGrantees)].sort() } : {}),
    ...(policy.security.rotation?.maxAgeDays !== undefined ? { rotationMaxAgeDays: policy.security.rotation.maxAgeDays } : {}),
    ...(policy.security.rotation?.validFor !== undefined ? { passwordValidFor: policy.security.rotation.validFor } : {}),
    ...(policy.protected?.length ? { protected: compileProtected(policy) } : {}),
    appLogins,
    ...(merged.expired.length > 0 ? { expired: merged.expired } : {}),
    ...(masking ? { masking } : {}),
    logins,
    users,
    roles,
    schemas,
    memberships: merged.memberships,
    permissions,
  });
}

/** A compile under way: the policy, its persona catalogue and role names, and the state built so far. */
interface Compiling extends SecurityState {
  policy: Policy;
  catalogue: Record<string, PersonaSpec>;
  appKeys: string[];
  appNames: Map<string, ReturnType<typeof appRoleNames>>;
  /** app -> its personas -> the role of each, adopted or generated. */
  personaRoles: Map<string, Map<string, string>>;
  /** warehouse persona -> its role. */
  warehouseRoles: Map<string, string>;
  appLogins: Record<string, string>;
  masking: MaskingState | undefined;
}

function grantRights(b: Compiling, grantee: string, schema: string, rights: readonly Right[]): void {
  for (const right of rights) {
    b.permissions.push({ grantee, on: { type: 'schema', name: schema }, privilege: right, effect: 'GRANT', withGrantOption: false });
  }
}

/** A persona that manages another's membership: manage-membership on that persona's role. */
function grantManageMembership(b: Compiling, grantee: string, role: string): void {
  b.permissions.push({ grantee, on: { type: 'role', name: role }, privilege: 'manage-membership', effect: 'GRANT', withGrantOption: false });
}

function rightsOn(b: Compiling, persona: string, app: string): Right[] {
  const spec = b.catalogue[persona];
  const extra = b.policy.apps[app].source === 'open' ? (spec.openSourceRights ?? []) : [];
  return [...new Set([...spec.rights, ...extra])];
}

/**
 * A persona's rights on an app. On an app with personal columns, a persona that sees them masked or
 * hidden gets no right on the app's schema: it reads the companion schema of its visibility (views
 * that mask or leave out those columns), so a table made after the last apply is never readable to it.
 */
function grantPersonaRights(b: Compiling, role: string, persona: string, app: string): void {
  const schema = b.policy.apps[app].schema;
  const rights = rightsOn(b, persona, app);
  const masked = b.masking?.apps.find((a) => a.app === app);
  const visibility = personaVisibility(persona, b.catalogue[persona]);
  if (!masked || visibility === 'clear') return grantRights(b, role, schema, rights);
  const companion = masked.companions.find((c) => c.visibility === visibility);
  if (companion && rights.includes('select')) grantRights(b, role, companion.schema, ['select']);
}

/**
 * Personal data: per app with personal columns, the companion schemas its masked and hidden personas
 * read (one per visibility some persona on the app has, with select), and the warehouse's masking
 * owner role. Undefined when no app declares personal columns.
 */
function compileMasking(
  policy: Policy,
  catalogue: Record<string, PersonaSpec>,
  appKeys: readonly string[],
  personaRoles: Map<string, Map<string, string>>,
  warehouseRoles: Map<string, string>,
  prefix: string,
): MaskingState | undefined {
  const apps: MaskedApp[] = [];
  for (const app of appKeys) {
    const spec = policy.apps[app];
    const rules = personalColumnRules(spec.personalData);
    if (rules.length === 0) continue;
    const readers: Record<'clear' | 'masked' | 'hidden', string[]> = { clear: [], masked: [], hidden: [] };
    const personas: [string, string][] = [...personaRoles.get(app)!, ...warehouseRoles];
    for (const [persona, role] of personas) {
      const visibility = personaVisibility(persona, catalogue[persona]);
      const rights = [...catalogue[persona].rights, ...(spec.source === 'open' ? (catalogue[persona].openSourceRights ?? []) : [])];
      if (rights.includes('select')) readers[visibility].push(role);
    }
    const companions: CompanionSchema[] = (['hidden', 'masked'] as const)
      .filter((v) => readers[v].length > 0)
      .map((visibility) => ({ visibility, schema: maskingNames.companion(spec.schema, visibility), readers: readers[visibility].sort() }));
    apps.push({ app, schema: spec.schema, rules, companions, clearReaders: readers.clear.sort() });
  }
  if (apps.length === 0) return undefined;
  return { owner: maskingNames.owner(prefix), keySchema: maskingNames.keySchema(prefix), apps };
}

/** The masking owner role: reads the app schemas with personal columns, owns their companion schemas. */
function addMasking(b: Compiling): void {
  if (!b.masking) return;
  const owner = b.masking.owner;
  b.roles.push({ name: owner, purpose: 'schema-owner' });
  for (const app of b.masking.apps) {
    grantRights(b, owner, app.schema, ['select']);
    for (const c of app.companions) b.schemas.push({ name: c.schema, owner, app: app.app, purpose: 'masked-views' });
  }
}

/** Warehouse-wide personas: one role with rights on every app. */
function addWarehousePersonas(b: Compiling): void {
  const { policy, catalogue, appKeys, personaRoles, warehouseRoles, roles } = b;
  for (const [persona, role] of warehouseRoles) {
    roles.push({ name: role, purpose: 'persona', persona });
    for (const app of appKeys) {
      grantPersonaRights(b, role, persona, app);
      for (const managed of managedPersonas(catalogue[persona], catalogue)) {
        const managedRole = personaRoles.get(app)!.get(managed);
        if (managedRole === undefined) continue;
        grantManageMembership(b, role, managedRole);
      }
    }
  }
}

/** Each app: its schema and owner role, and its persona roles with their rights. */
function addApps(b: Compiling): void {
  const { policy, catalogue, appKeys, appNames, personaRoles, roles, schemas } = b;
  for (const app of appKeys) {
    const spec = policy.apps[app];
    const named = appNames.get(app)!;
    const owner = named.owner;
    // An adopted owner that is also the app's login is that login (and its user), not a role besides.
    const ownerIsLogin = policy.security.mode === 'system_managed' && named.isAdopted('app') && named.login === owner;
    if (!ownerIsLogin) roles.push({ name: owner, purpose: 'schema-owner', app, ...(named.isAdopted('owner') ? { adopted: true } : {}) });
    schemas.push({ name: spec.schema, owner, app });
    const rolesOfApp = personaRoles.get(app)!;
    for (const [persona, role] of rolesOfApp) {
      roles.push({ name: role, purpose: 'persona', app, persona, ...(named.isAdopted(persona) ? { adopted: true } : {}) });
      grantPersonaRights(b, role, persona, app);
      for (const managed of managedPersonas(catalogue[persona], catalogue)) {
        const managedRole = rolesOfApp.get(managed);
        if (managed === persona || managedRole === undefined) continue;
        grantManageMembership(b, role, managedRole);
      }
    }
  }
}

/** Seed 000: the login transformations run as. */
function addAppLogins(b: Compiling, prefix: string): void {
  const { policy, appKeys, appNames, logins, users, appLogins } = b;
  if (policy.security.mode === 'system_managed') {
    for (const app of appKeys) {
      const named = appNames.get(app)!;
      const login = named.login;
      const adopted = named.isAdopted('app') ? { adopted: true } : {};
      logins.push({ name: login, purpose: 'app-login', app, password: 'generated', ...adopted });
      users.push({ name: login, purpose: 'app-login', app, source: { type: 'login', login } });
      // An adopted login that owns the app schema holds every right through ownership.
      if (login !== named.owner) grantRights(b, login, policy.apps[app].schema, APP_LOGIN_RIGHTS);
      appLogins[app] = login;
    }
  } else {
    const login = names.sharedLogin(prefix);
    logins.push({ name: login, purpose: 'shared-login', password: 'generated' });
    users.push({ name: login, purpose: 'shared-login', source: { type: 'login', login } });
    for (const app of appKeys) {
      grantRights(b, login, policy.apps[app].schema, APP_LOGIN_RIGHTS);
      appLogins[app] = login;
    }
  }
}

/**
 * Grants: principals become members of persona roles; an expired grant's memberships are listed
 * apart, for the diff to revoke (its principals keep their users: only the access goes). Returns those.
 */
function addGrants(b: Compiling, compileOptions: CompileOptions): Membership[] {
  const { policy, catalogue, appKeys, personaRoles, warehouseRoles, users, memberships } = b;
  const granted = new Set<string>();
  const expiredGrants: Membership[] = [];
  for (const grant of policy.grants) {
    const expires = grant.expires;
    if (expires !== undefined && !compileOptions.now) throw new Error('compile: the policy has expiring grants; pass the clock (now)');
    const expired = expires !== undefined && isExpired(expires, compileOptions.now!);
    const persona = catalogue[grant.persona];
    if (!persona) throw new Error(`compile: unknown persona ${grant.persona} (validate first)`);
    const targetRoles =
      persona.scope === 'warehouse'
        ? [warehouseRoles.get(grant.persona)!]
        : (grant.apps ?? [])
            .flatMap((a) => (a === '*' ? appKeys : [a]))
            .map((a) => personaRoles.get(a)?.get(grant.persona))
            .filter((role) => role !== undefined);
    for (const principal of grant.to) {
      const spec = policy.principals[principal];
      if (!spec) throw new Error(`compile: unknown principal ${principal} (validate first)`);
      const dbName = principalDbName(principal, spec);
      if (!granted.has(dbName)) {
        granted.add(dbName);
        users.push({ name: dbName, purpose: 'principal', source: userSource(spec, dbName) });
      }
      for (const role of targetRoles) (expired ? expiredGrants : memberships).push({ role, member: dbName, ...(expires !== undefined ? { expires } : {}) });
    }
  }
  return expiredGrants;
}

/**
 * One membership per (role, member): it expires only when every grant giving it does (then at the
 * latest of their expiries). Expired ones that a grant in force still gives are not expired.
 */
function mergeExpiries(memberships: Membership[], expiredGrants: Membership[]): { memberships: Membership[]; expired: ExpiredMembership[] } {
  if (!memberships.some((m) => m.expires !== undefined) && expiredGrants.length === 0) return { memberships, expired: [] };
  const byKey = new Map<string, Membership>();
  for (const m of memberships) {
    const k = membershipKey(m);
    const prev = byKey.get(k);
    if (!prev) byKey.set(k, m);
    else {
      const expires = laterExpiry(prev.expires, m.expires);
      byKey.set(k, { role: m.role, member: m.member, ...(expires !== undefined ? { expires } : {}) });
    }
  }
  const expired = new Map<string, ExpiredMembership>();
  for (const m of expiredGrants) {
    const k = membershipKey(m);
    if (byKey.has(k)) continue;
    const prev = expired.get(k);
    expired.set(k, { role: m.role, member: m.member, expires: prev ? laterExpiry(prev.expires, m.expires)! : m.expires! });
  }
  return { memberships: [...byKey.values()], expired: [...expired.values()].sort(compareMemberships) };
}
