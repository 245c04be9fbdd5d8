import { createHash } from 'node:crypto';
import { AccessFacts, AccessPath, ColumnAccess, FactPrincipal, HeldRight } from '../model/access';
import { DEFAULT_EXPIRY_WARNING_DAYS, daysUntilExpiry, expiryInstant, isExpired } from '../model/expiry';
import { nameKey } from '../model/names';
import { DesiredState, Policy, Right, RIGHTS } from '../model/types';
import { AccessReport, CELL_STATUSES, CellStatus, ExpiringGrant, LoginAge, ReportCell, ReportPrincipal } from './types';
import { passwordExpiryOf } from '../model/duration';
import { protectedRolesOf, unnamedMembers } from './protected';
import { columnMask, PersonalColumnRule } from '../model/masking';

export interface ReportOptions {
  /** The compiled policy (compilePolicy, before an engine realizes it): what is expected. */
  desired: DesiredState;
  policy: Policy;
  policyFile?: string;
  asOf?: string;
  now: Date;
  /** Grants ending within this many days are listed in the summary (default: validate's, DEFAULT_EXPIRY_WARNING_DAYS). */
  expiryWarningDays?: number;
}

/** JSON with object keys sorted: the same catalog rows give the same bytes, whatever order a driver built them in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

export function catalogDigest(raw: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(raw)).digest('hex')}`;
}

/** Why the policy expects a right, and until when (undefined: for good). */
export interface Expectation {
  why: string;
  expires?: string;
  /** The policy principal a member of a group inherits the expectation from. */
  through?: string;
}

/** Of two expiries, the one access lasts until: undefined (for good) wins, else the later. */
function lasting(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || b === undefined) return undefined;
  return (expiryInstant(b)?.getTime() ?? Infinity) > (expiryInstant(a)?.getTime() ?? Infinity) ? b : a;
}

/** When a chain of memberships ends: at its first expiring one (undefined: never). */
function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return (expiryInstant(b)?.getTime() ?? Infinity) < (expiryInstant(a)?.getTime() ?? Infinity) ? b : a;
}

/**
 * Principal -> schema -> right -> why the policy grants it and until when. From the compiled policy:
 * memberships closed over (each chain expires with its first expiring membership), schema owners own.
 */
export function expectedAccess(desired: DesiredState, key: (name: string) => string): Map<string, Map<string, Map<Right, Expectation>>> {
  const parents = new Map<string, { role: string; expires?: string }[]>();
  for (const m of desired.memberships) parents.set(key(m.member), [...(parents.get(key(m.member)) ?? []), { role: m.role, expires: m.expires }]);
  const direct = new Map<string, { schema: string; right: Right }[]>();
  for (const p of desired.permissions) {
    if (p.effect !== 'GRANT' || p.on.type !== 'schema' || !(RIGHTS as readonly string[]).includes(p.privilege)) continue;
    direct.set(key(p.grantee), [...(direct.get(key(p.grantee)) ?? []), { schema: p.on.name, right: p.privilege as Right }]);
  }
  const owned = new Map<string, string[]>();
  for (const s of desired.schemas) owned.set(key(s.owner), [...(owned.get(key(s.owner)) ?? []), s.name]);
  const names = new Set([...desired.logins.map((l) => l.name), ...desired.users.map((u) => u.name), ...desired.roles.map((r) => r.name)]);
  const out = new Map<string, Map<string, Map<Right, Expectation>>>();
  for (const name of names) {
    const rights = new Map<string, Map<Right, Expectation>>();
    const put = (schema: string, right: Right, why: string, expires: string | undefined) => {
      const m = rights.get(schema) ?? new Map<Right, Expectation>();
      const before = m.get(right);
      m.set(right, before ? { ...before, expires: lasting(before.expires, expires) } : { why, ...(expires !== undefined ? { expires } : {}) });
      rights.set(schema, m);
    };
    // Every chain is walked (the graph is small and acyclic in practice; `seen` per chain stops a cycle),
    // so a right two grants give lasts as long as the longer one.
    const queue: { role: string; chain: string; seen: Set<string>; expires?: string }[] = [{ role: name, chain: name, seen: new Set([key(name)]) }];
    while (queue.length) {
      const { role, chain, seen, expires } = queue.shift()!;
      const how = role === name ? 'granted directly by the policy' : `through ${chain}`;
      for (const g of direct.get(key(role)) ?? []) put(g.schema, g.right, how, expires);
      for (const schema of owned.get(key(role)) ?? []) for (const right of RIGHTS) put(schema, right, `owner of the schema (${how})`, expires);
      for (const parent of parents.get(key(role)) ?? []) {
        if (seen.has(key(parent.role))) continue;
        const until = earliest(expires, parent.expires);
        queue.push({ role: parent.role, chain: `${chain} → ${parent.role}`, seen: new Set([...seen, key(parent.role)]), ...(until !== undefined ? { expires: until } : {}) });
      }
    }
    out.set(key(name), rights);
  }
  return out;
}

/**
 * The policy's principals each principal outside the policy is a member of (a person in a team role,
 * directly or through other roles), with the chain: memberships the policy names the team of but does
 * not manage. Administration (the provisioning role's memberships) and memberships that pass nothing
 * (`inert`) are not membership here.
 */
export function groupMemberships(facts: AccessFacts, policyPrincipals: Set<string>, known: Set<string>, key: (name: string) => string): Map<string, { group: string; via: string[] }[]> {
  const parents = new Map<string, string[]>();
  for (const m of facts.memberships ?? []) if (!m.admin && !m.inert) parents.set(key(m.member), [...(parents.get(key(m.member)) ?? []), m.role]);
  const out = new Map<string, { group: string; via: string[] }[]>();
  for (const p of facts.principals) {
    if (p.kind === 'public' || p.internal || known.has(key(p.name))) continue;
    const found: { group: string; via: string[] }[] = [];
    const seen = new Set([key(p.name)]);
    const queue: { role: string; via: string[] }[] = [{ role: p.name, via: [] }];
    while (queue.length) {
      const { role, via } = queue.shift()!;
      for (const parent of parents.get(key(role)) ?? []) {
        if (seen.has(key(parent))) continue;
        seen.add(key(parent));
        // A policy principal ends the chain: what it holds is its own expectation's business.
        if (policyPrincipals.has(key(parent))) found.push({ group: parent, via: [...via, parent] });
        else queue.push({ role: parent, via: [...via, parent] });
      }
    }
    if (found.length) out.set(key(p.name), found.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0)));
  }
  return out;
}

/** The expectation of a group member: its groups' (the first group that gives a right names it; expiries combine). */
function memberExpectation(groups: { group: string; via: string[] }[], expected: Map<string, Map<string, Map<Right, Expectation>>>, key: (name: string) => string): Map<string, Map<Right, Expectation>> {
  const out = new Map<string, Map<Right, Expectation>>();
  for (const { group, via } of groups) {
    for (const [schema, rights] of expected.get(key(group)) ?? []) {
      const m = out.get(schema) ?? new Map<Right, Expectation>();
      for (const [right, e] of rights) {
        const before = m.get(right);
        const why = `through ${group} (member by ${via.join(' → ')}, a membership managed outside the policy), which it is ${e.why.replace(/^granted directly by the policy$/, 'granted directly')}`;
        m.set(right, before ? { ...before, expires: lasting(before.expires, e.expires) } : { why, through: group, ...(e.expires !== undefined ? { expires: e.expires } : {}) });
      }
      out.set(schema, m);
    }
  }
  return out;
}

/** The memberships an expired grant gave (member\0role -> its expires): a path through one is access that expired. */
function expiredEdges(desired: DesiredState, key: (name: string) => string): Map<string, string> {
  return new Map((desired.expired ?? []).map((m) => [`${key(m.member)}\u0000${key(m.role)}`, m.expires]));
}

/** The expiry of the expired membership every non-privileged path of a held right runs through, if they all do. */
function expiredOn(principal: string, paths: AccessPath[], expired: Map<string, string>, key: (name: string) => string): string | undefined {
  if (expired.size === 0) return undefined;
  let found: string | undefined;
  for (const p of paths) {
    if (p.kind === 'bypass' || p.kind === 'admin' || p.kind === 'engine') continue;
    const chain = [principal, ...p.via];
    const edge = chain.slice(1).map((role, i) => expired.get(`${key(chain[i])}\u0000${key(role)}`)).find((e) => e !== undefined);
    if (edge === undefined) return undefined;
    found = lasting(found ?? edge, edge);
  }
  return found;
}

/** The grants ending within the warning window (not yet ended), one per grant and principal. */
export function expiringGrants(policy: Policy, now: Date, warningDays: number): ExpiringGrant[] {
  const out: ExpiringGrant[] = [];
  const allApps = Object.keys(policy.apps).sort();
  for (const g of policy.grants) {
    if (g.expires === undefined || isExpired(g.expires, now)) continue;
    const daysLeft = daysUntilExpiry(g.expires, now)!;
    if (daysLeft > warningDays) continue;
    const apps = !g.apps || g.apps.includes('*') ? allApps : [...g.apps].sort();
    for (const to of g.to) out.push({ principal: policy.principals[to]?.name ?? to, persona: g.persona, apps, expires: g.expires, daysLeft });
  }
  return out.sort((a, b) => a.daysLeft - b.daysLeft || (a.principal < b.principal ? -1 : 1));
}

const ORIGIN_RANK: Record<ReportPrincipal['origin'], number> = { policy: 0, member: 1, 'generated-login': 2, adopted: 3, unmanaged: 4, managed: 5, administrator: 6, superuser: 7, public: 8 };

interface RowContext {
  facts: AccessFacts;
  desired: DesiredState;
  policy: Policy;
  key: (name: string) => string;
  groups: Map<string, { group: string; via: string[] }[]>;
}

/** The report's rows: PUBLIC, generated and adopted logins and roles, the policy's principals, group members, and everyone else who holds something. */
function principalRows(ctx: RowContext, heldBy: Map<string, HeldRight[]>): ReportPrincipal[] {
  const { facts, desired, policy, key, groups } = ctx;
  const policyKeys = new Map<string, string>();
  for (const [k, spec] of Object.entries(policy.principals)) policyKeys.set(key(spec.name ?? k), k);
  const logins = new Map(desired.logins.map((l) => [key(l.name), l]));
  const adopted = new Set([...desired.roles.filter((r) => r.adopted).map((r) => key(r.name)), ...desired.logins.filter((l) => l.adopted).map((l) => key(l.name))]);
  const internalRoles = new Set(desired.roles.filter((r) => !r.adopted).map((r) => key(r.name)));
  const factOf = new Map(facts.principals.map((p) => [key(p.name), p]));
  const rows: ReportPrincipal[] = [];
  const origin = (name: string, f: FactPrincipal | undefined): ReportPrincipal['origin'] => {
    if (f?.kind === 'public') return 'public';
    if (logins.has(key(name)) && !adopted.has(key(name))) return 'generated-login';
    if (policyKeys.has(key(name))) return 'policy';
    if (adopted.has(key(name))) return 'adopted';
    if (f?.superuser) return 'superuser';
    if (f?.administrator) return 'administrator';
    if (groups.has(key(name))) return 'member';
    return f?.marker ? 'managed' : 'unmanaged';
  };
  const addRow = (name: string) => {
    if (rows.some((p) => key(p.name) === key(name))) return;
    const f = factOf.get(key(name));
    const k = policyKeys.get(key(name));
    const memberOf = groups.get(key(name));
    const notes = f ? [...f.notes] : ['not found in the database'];
    for (const g of memberOf ?? []) notes.push(`member of ${g.group} (a policy principal) through ${g.via.join(' → ')}: this membership is managed outside the policy`);
    rows.push({
      name: f?.name ?? name,
      kind: f?.kind ?? (logins.has(key(name)) ? 'login' : 'role'),
      origin: origin(name, f),
      ...(k ? { policyKey: k } : {}),
      ...(memberOf ? { memberOf: memberOf.map((g) => g.group) } : {}),
      canLogin: f?.canLogin ?? false,
      superuser: f?.superuser ?? false,
      notes,
    });
  };
  for (const p of facts.principals) if (p.kind === 'public') addRow(p.name);
  for (const l of desired.logins) addRow(l.name);
  for (const r of desired.roles) if (r.adopted) addRow(r.name);
  for (const u of desired.users) if (u.purpose === 'principal') addRow(u.name);
  for (const p of facts.principals) {
    if (p.internal || internalRoles.has(key(p.name)) || p.marker?.purpose === 'persona' || p.marker?.purpose === 'schema-owner') continue;
    if ((heldBy.get(key(p.name)) ?? []).some((h) => !h.inherent) || groups.has(key(p.name))) addRow(p.name);
  }
  return rows.sort((a, b) => ORIGIN_RANK[a.origin] - ORIGIN_RANK[b.origin] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** One cell's status and detail from what is held and what the policy expects. */
interface CellFacts {
  /** The DENY that cancels the right (SQL Server). */
  denial?: string;
  /** The expiry of the expired grant every path runs through. */
  expiredAt?: string;
  /** Of a group member's groups, the one its paths run through. */
  group?: string;
}

function cellOf(principal: ReportPrincipal, app: AccessReport['apps'][number], right: Right, h: HeldRight | undefined, want: Expectation | undefined, { denial, expiredAt, group }: CellFacts): ReportCell | undefined {
  const base = { principal: principal.name, app: app.key, schema: app.schema, right };
  const scope = !h?.partial ? {} : h.except ? { except: h.except } : { objects: h.objects ?? [], ...(h.columns?.length ? { columns: h.columns } : {}) };
  const until = want?.expires !== undefined ? { expires: want.expires } : {};
  const through = want?.through !== undefined ? { through: want.through } : {};
  if (h && want) {
    const status: CellStatus = h.partial ? 'missing' : 'expected';
    const detail = h.partial ? `only ${h.partial}; the policy grants it ${want.why}` : `the policy grants it ${want.why}`;
    return { ...base, status, paths: h.paths, ...scope, ...through, ...until, detail };
  }
  if (h) {
    // The engine's own defaults: view-definition for every role only on PUBLIC's row (9 x apps rows of it would bury the rest).
    if (h.inherent) return principal.origin === 'public' || right !== 'view-definition' ? { ...base, status: 'inherent', paths: h.paths, ...scope } : undefined;
    if (h.bypass) return { ...base, status: 'privileged', paths: h.paths, ...scope, ...(h.partial ? { detail: h.partial } : {}) };
    const what = h.partial ? `${h.partial}; ` : '';
    const detail = expiredAt ? `${what}expired on ${expiredAt}: the policy granted it until then, and the next plan revokes the membership` : `${what}not in the policy`;
    return { ...base, status: 'drift', paths: h.paths, ...scope, ...(group ? { through: group } : {}), ...(expiredAt ? { expired: expiredAt } : {}), detail };
  }
  if (!want) return undefined;
  const detail = app.present ? `${denial ? `${denial}; ` : ''}the policy grants it ${want.why}` : `schema ${app.schema} does not exist; the policy grants it ${want.why}`;
  return { ...base, status: 'missing', paths: [], ...through, ...until, detail };
}

/** A companion schema of an app with personal columns (compiled masking), with the app's rules. */
interface Companion {
  visibility: 'masked' | 'hidden';
  schema: string;
  /** The patterns and their masks, as the cell's personalData lists them. */
  columns: string[];
  rules: readonly PersonalColumnRule[];
}

/**
 * The cell of a masked or hidden reader on SQL Server or Azure SQL (Dynamic Data Masking,
 * engines/sqlserver/masking.ts): the policy wants SELECT on the app's companion schema, which is realized
 * as SELECT on the columns of each live table and view of the app schema (masked readers: every column,
 * read masked where a mask is; hidden readers: the columns that are not personal) and nothing on the
 * schema. Expected when that is what it holds. Missing when a column it should read is not granted: a
 * table or column made after the last apply is unreadable to it until the next apply (fail closed), which
 * the engine lists as its 'hidden' columns. Drift when it reads more than that: the whole schema or whole
 * tables (a table or column made later is readable before the next apply masks it), a personal column
 * clear, or (hidden) a personal column at all. Privileged when only a bypass gives it (it reads clear).
 */
function dynamicMaskingCell(cell: ReportCell, h: HeldRight | undefined, want: Expectation, view: Companion, schema: string): ReportCell {
  const personalData = { visibility: view.visibility, schema, columns: view.columns };
  const how = `the columns granted one by one, personal columns ${view.visibility === 'masked' ? 'masked by Dynamic Data Masking' : 'left out'} (${view.columns.join(', ')})`;
  const reads = `reads ${how}`;
  const policy = `the policy grants it ${want.why}`;
  const instead = (what: string): string => `${what}; the policy has it read ${how}, and grants it ${want.why}`;
  if (!h) return { ...cell, personalData, detail: `${reads}; ${cell.detail ?? policy}` };
  if (h.bypass) return { ...cell, status: 'privileged', personalData, detail: instead('only through a bypass, which reads every column clear') };
  const personal = (c: ColumnAccess) => columnMask(view.rules, c.object, c.column) !== undefined;
  const excess: string[] = [];
  if (h.partial === undefined || h.except) excess.push(`holds SELECT on the whole schema${h.except ? ` (but ${h.except.join(', ')})` : ''}, not column by column: a table or column made after the last apply is readable before the next apply masks it`);
  else {
    const columns = h.columns ?? [];
    if (h.objects?.length) excess.push(`holds SELECT on ${h.objects.map((o) => `${schema}.${o}`).join(', ')} as a whole, not column by column: a column added later is readable before the next apply masks it`);
    const overread = columns.filter((c) => personal(c) && c.visibility !== 'hidden' && (view.visibility === 'hidden' || c.visibility === 'clear'));
    if (overread.length) excess.push(`reads personal ${overread.length === 1 ? 'column' : 'columns'} ${overread.map((c) => `${c.object}.${c.column}${c.visibility ? ` ${c.visibility}` : ''}`).join(', ')}${view.visibility === 'hidden' ? ', which the policy leaves out' : ''}`);
    const unread = columns.filter((c) => c.visibility === 'hidden' && (view.visibility === 'masked' || !personal(c)));
    if (!excess.length && unread.length) {
      const byObject = new Map<string, string[]>();
      for (const c of unread) byObject.set(c.object, [...(byObject.get(c.object) ?? []), c.column]);
      const parts = [...byObject].map(([object, cols]) => `${schema}.${object} (${cols.join(', ')}${columns.every((c) => c.object !== object || c.visibility === 'hidden') ? '; no column of it granted' : ''})`);
      return {
        ...cell,
        status: 'missing',
        personalData,
        detail: `${reads}; not granted: ${parts.join(', ')}: a table or column made after the last apply stays unreadable to it until the next apply grants it (fail closed); ${policy}`,
      };
    }
  }
  if (excess.length) return { ...cell, status: 'drift', personalData, detail: instead(excess.join('; ')) };
  return { ...cell, status: 'expected', personalData, detail: `${reads}; ${policy}` };
}

/** Facts + policy -> the report: rows, cells with their status, password ages and validity, protected roles, summary. Pure. */
export function buildReport(facts: AccessFacts, options: ReportOptions): AccessReport {
  const { desired, policy } = options;
  const key = (name: string) => nameKey(facts.engine, name);
  const expected = expectedAccess(desired, key);
  const apps = Object.keys(policy.apps)
    .sort()
    .map((k) => ({ key: k, schema: policy.apps[k].schema, source: policy.apps[k].source, present: Object.keys(facts.schemas).some((s) => key(s) === key(policy.apps[k].schema)) }));
  const appOfSchema = new Set(apps.map((a) => key(a.schema)));
  const heldBy = new Map<string, HeldRight[]>();
  // Personal data: the companion schemas of views of each app, read as the app (personalData on the cell).
  const companions = new Map<string, Companion[]>();
  for (const m of desired.masking?.apps ?? []) {
    const appSchema = policy.apps[m.app]?.schema;
    if (appSchema === undefined) continue;
    companions.set(key(appSchema), m.companions.map((c) => ({ visibility: c.visibility, schema: c.schema, columns: m.rules.map((r) => `${r.pattern} (${r.mask.mask})`), rules: m.rules })));
  }
  const companionSchemas = new Set([...companions.values()].flat().map((c) => key(c.schema)));
  for (const h of facts.held) if (appOfSchema.has(key(h.schema)) || companionSchemas.has(key(h.schema))) heldBy.set(key(h.principal), [...(heldBy.get(key(h.principal)) ?? []), h]);
  const known = new Set([...expected.keys()]);
  const policyPrincipals = new Set(desired.users.filter((u) => u.purpose === 'principal').map((u) => key(u.name)));
  const groups = groupMemberships(facts, policyPrincipals, known, key);
  const principals = principalRows({ facts, desired, policy, key, groups }, heldBy);
  const expired = expiredEdges(desired, key);

  const cells: ReportCell[] = [];
  for (const p of principals) {
    const member = groups.get(key(p.name));
    const want = member ? memberExpectation(member, expected, key) : expected.get(key(p.name));
    const has = heldBy.get(key(p.name)) ?? [];
    for (const app of apps) {
      const wantHere = [...(want ?? [])].find(([s]) => key(s) === key(app.schema))?.[1];
      const views = companions.get(key(app.schema)) ?? [];
      for (const right of RIGHTS) {
        let h = has.find((x) => x.right === right && key(x.schema) === key(app.schema));
        let wanted = wantHere?.get(right);
        let personalData: ReportCell['personalData'];
        let dynamic: Companion | undefined;
        const wantOn = (schema: string) => [...(want ?? [])].find(([s]) => key(s) === key(schema))?.[1]?.get(right);
        if (facts.engine === 'postgres') {
          // Read through a companion schema: the cell of the app, saying the personal columns read masked or hidden.
          for (const view of h || wanted ? [] : views) {
            const hv = has.find((x) => x.right === right && key(x.schema) === key(view.schema));
            const wv = wantOn(view.schema);
            if (!hv && !wv) continue;
            h = hv;
            wanted = wv;
            personalData = { visibility: view.visibility, schema: view.schema, columns: view.columns };
            break;
          }
        } else if (!wanted) {
          // Dynamic Data Masking (SQL Server, Azure SQL): the policy's companion schema does not exist;
          // its masked and hidden readers are granted SELECT on the app schema's columns instead.
          dynamic = views.find((view) => wantOn(view.schema) !== undefined);
          if (dynamic) wanted = wantOn(dynamic.schema);
        }
        const denial = facts.denials?.find((d) => key(d.principal) === key(p.name) && key(d.schema) === key(app.schema) && d.right === right)?.detail;
        const about: CellFacts = {
          ...(denial ? { denial } : {}),
          ...(h ? { expiredAt: expiredOn(p.name, h.paths, expired, key), group: member?.find((g) => h.paths.some((x) => x.via.some((r) => key(r) === key(g.group))))?.group } : {}),
        };
        const cell = cellOf(p, app, right, h, wanted, about);
        if (cell && dynamic && wanted) cells.push(dynamicMaskingCell(cell, h, wanted, dynamic, app.schema));
        else if (cell && personalData) {
          const reads = `reads through the views of ${personalData.schema}, personal columns ${personalData.visibility === 'masked' ? 'masked' : 'left out'} (${personalData.columns.join(', ')})`;
          cells.push({ ...cell, personalData, detail: `${reads}; ${cell.detail ?? ''}`.replace(/; $/, '') });
        } else if (cell) cells.push(cell);
      }
    }
  }
  const logins = loginAges(facts, desired, options.now, key);
  const protectedRoles = protectedRolesOf(facts, desired);
  const unnamed = unnamedMembers(protectedRoles);
  const counts = Object.fromEntries(CELL_STATUSES.map((s) => [s, 0])) as Record<CellStatus, number>;
  for (const c of cells) counts[c.status]++;
  return {
    reportVersion: 1,
    asOf: options.asOf ?? null,
    generatedAt: options.now.toISOString(),
    engine: facts.engine,
    database: facts.identity,
    catalogDigest: catalogDigest(facts.raw),
    policy: { file: options.policyFile ?? null, prefix: desired.prefix, mode: desired.mode, rotationMaxAgeDays: desired.rotationMaxAgeDays ?? null },
    rights: [...RIGHTS],
    apps,
    principals,
    cells,
    logins,
    ...(protectedRoles ? { protected: protectedRoles } : {}),
    summary: {
      principals: principals.length,
      apps: apps.length,
      cells: counts,
      principalsWithDrift: [...new Set(cells.filter((c) => c.status === 'drift').map((c) => c.principal))],
      overdueLogins: logins.filter((l) => l.overdue).map((l) => l.login),
      expiringGrants: expiringGrants(policy, options.now, options.expiryWarningDays ?? DEFAULT_EXPIRY_WARNING_DAYS),
      ...(logins.some((l) => l.expired) ? { expiredLogins: logins.filter((l) => l.expired).map((l) => l.login) } : {}),
      ...(unnamed.length > 0 ? { unnamedProtectedMembers: unnamed } : {}),
    },
  };
}

/** Password age and validity of every generated login: set when, how old, rotation due, valid until. */
function loginAges(facts: AccessFacts, desired: DesiredState, now: Date, key: (name: string) => string): LoginAge[] {
  const maxAge = desired.rotationMaxAgeDays ?? null;
  const factOf = new Map(facts.principals.map((p) => [key(p.name), p]));
  return desired.logins.map((l) => {
    const fact = factOf.get(key(l.name));
    const at = fact?.marker?.passwordSetAt ?? null;
    const time = at ? Date.parse(at) : NaN;
    const ageDays = Number.isNaN(time) ? null : Math.floor((now.getTime() - time) / 86_400_000);
    const expiry = passwordExpiryOf(fact?.validUntil, Number.isNaN(time) ? undefined : at!, desired.passwordValidFor);
    return {
      login: l.name,
      ...(l.app ? { app: l.app } : {}),
      passwordSetAt: Number.isNaN(time) ? null : at,
      ageDays,
      maxAgeDays: maxAge,
      overdue: maxAge === null || ageDays === null ? null : ageDays > maxAge,
      validUntil: expiry?.toISOString() ?? null,
      expired: fact === undefined ? null : expiry !== undefined && expiry.getTime() <= now.getTime(),
    };
  });
}
