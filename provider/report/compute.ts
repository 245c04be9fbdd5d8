import { createHash } from 'node:crypto';
import { nameKey } from '../model/names';
import { DesiredState, Policy, Right, RIGHTS } from '../model/types';
import { AccessFacts, AccessPath, FactPrincipal, HeldRight } from '../model/access';
import { AccessReport, CELL_STATUSES, CellStatus, LoginAge, ReportCell, ReportPrincipal } from './types';
import { passwordExpiryOf } from '../model/duration';
import { protectedRolesOf, unnamedMembers } from './protected';

export interface ReportOptions {
  /** The compiled policy (compilePolicy, before an engine realizes it): what is expected. */
  desired: DesiredState;
  policy: Policy;
  policyFile?: string;
  asOf?: string;
  now: Date;
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

/** Principal -> schema -> right -> why the policy grants it. From the compiled policy: memberships closed over, schema owners own. */
export function expectedAccess(desired: DesiredState, key: (name: string) => string): Map<string, Map<string, Map<Right, string>>> {
  const parents = new Map<string, string[]>();
  for (const m of desired.memberships) parents.set(key(m.member), [...(parents.get(key(m.member)) ?? []), m.role]);
  const direct = new Map<string, { schema: string; right: Right }[]>();
  for (const p of desired.permissions) {
    if (p.effect !== 'GRANT' || p.on.type !== 'schema' || !(RIGHTS as readonly string[]).includes(p.privilege)) continue;
    direct.set(key(p.grantee), [...(direct.get(key(p.grantee)) ?? []), { schema: p.on.name, right: p.privilege as Right }]);
  }
  const owned = new Map<string, string[]>();
  for (const s of desired.schemas) owned.set(key(s.owner), [...(owned.get(key(s.owner)) ?? []), s.name]);
  const names = new Set([...desired.logins.map((l) => l.name), ...desired.users.map((u) => u.name), ...desired.roles.map((r) => r.name)]);
  const out = new Map<string, Map<string, Map<Right, string>>>();
  for (const name of names) {
    const rights = new Map<string, Map<Right, string>>();
    const put = (schema: string, right: Right, why: string) => {
      const m = rights.get(schema) ?? new Map<Right, string>();
      if (!m.has(right)) m.set(right, why);
      rights.set(schema, m);
    };
    const seen = new Set<string>([key(name)]);
    const queue: [string, string][] = [[name, name]];
    while (queue.length) {
      const [role, chain] = queue.shift()!;
      const how = role === name ? 'granted directly by the policy' : `through ${chain}`;
      for (const g of direct.get(key(role)) ?? []) put(g.schema, g.right, how);
      for (const schema of owned.get(key(role)) ?? []) for (const right of RIGHTS) put(schema, right, `owner of the schema (${how})`);
      for (const parent of parents.get(key(role)) ?? []) {
        if (seen.has(key(parent))) continue;
        seen.add(key(parent));
        queue.push([parent, `${chain} → ${parent}`]);
      }
    }
    out.set(key(name), rights);
  }
  return out;
}

/** Facts + policy -> the report: rows, cells with their status, password ages, summary. Pure. */
export function buildReport(facts: AccessFacts, options: ReportOptions): AccessReport {
  const { desired, policy } = options;
  const key = (name: string) => nameKey(facts.engine, name);
  const expected = expectedAccess(desired, key);
  const apps = Object.keys(policy.apps)
    .sort()
    .map((k) => ({ key: k, schema: policy.apps[k].schema, source: policy.apps[k].source, present: Object.keys(facts.schemas).some((s) => key(s) === key(policy.apps[k].schema)) }));
  const appOfSchema = new Map(apps.map((a) => [key(a.schema), a]));

  const policyKeys = new Map<string, string>();
  for (const [k, spec] of Object.entries(policy.principals)) policyKeys.set(key(spec.name ?? k), k);
  const logins = new Map(desired.logins.map((l) => [key(l.name), l]));
  const internalRoles = new Set(desired.roles.map((r) => key(r.name)));
  const factOf = new Map(facts.principals.map((p) => [key(p.name), p]));

  const heldBy = new Map<string, HeldRight[]>();
  for (const h of facts.held) {
    if (!appOfSchema.has(key(h.schema))) continue;
    heldBy.set(key(h.principal), [...(heldBy.get(key(h.principal)) ?? []), h]);
  }

  const principals = reportPrincipals({ facts, desired, key, policyKeys, logins, factOf, internalRoles, heldBy });
  const cells = reportCells({ facts, principals, apps, expected, heldBy, key });
  const maxAge = desired.rotationMaxAgeDays ?? null;
  const loginAges = loginAgesOf(desired, (name) => factOf.get(key(name)), options.now);
  const protectedRoles = protectedRolesOf(facts, desired);

  const counts = Object.fromEntries(CELL_STATUSES.map((s) => [s, 0])) as Record<CellStatus, number>;
  for (const c of cells) counts[c.status]++;
  return {
    reportVersion: 1,
    asOf: options.asOf ?? null,
    generatedAt: options.now.toISOString(),
    engine: facts.engine,
    database: facts.identity,
    catalogDigest: catalogDigest(facts.raw),
    policy: { file: options.policyFile ?? null, prefix: desired.prefix, mode: desired.mode, rotationMaxAgeDays: maxAge },
    rights: [...RIGHTS],
    apps,
    principals,
    cells,
    logins: loginAges,
    ...(protectedRoles ? { protected: protectedRoles } : {}),
    summary: {
      principals: principals.length,
      apps: apps.length,
      cells: counts,
      principalsWithDrift: [...new Set(cells.filter((c) => c.status === 'drift').map((c) => c.principal))],
      overdueLogins: loginAges.filter((l) => l.overdue).map((l) => l.login),
      ...(loginAges.some((l) => l.expired) ? { expiredLogins: loginAges.filter((l) => l.expired).map((l) => l.login) } : {}),
      ...(unnamedMembers(protectedRoles).length > 0 ? { unnamedProtectedMembers: unnamedMembers(protectedRoles) } : {}),
    },
  };
}

/** The report's rows: PUBLIC, the generated logins, the policy's principals, then whoever else holds a right; by origin, then name. */
function reportPrincipals(r: {
  facts: AccessFacts;
  desired: DesiredState;
  key: (name: string) => string;
  policyKeys: Map<string, string>;
  logins: Map<string, DesiredState['logins'][number]>;
  factOf: Map<string, FactPrincipal>;
  internalRoles: Set<string>;
  heldBy: Map<string, HeldRight[]>;
}): ReportPrincipal[] {
  const { facts, desired, key, policyKeys, logins, factOf, internalRoles, heldBy } = r;
  const principals: ReportPrincipal[] = [];
  const addRow = (name: string) => {
    if (principals.some((p) => key(p.name) === key(name))) return;
    const f = factOf.get(key(name));
    const origin: ReportPrincipal['origin'] =
      f?.kind === 'public'
        ? 'public'
        : logins.has(key(name))
          ? 'generated-login'
          : policyKeys.has(key(name))
            ? 'policy'
            : f?.superuser
              ? 'superuser'
              : f?.marker
                ? 'managed'
                : 'unmanaged';
    const k = policyKeys.get(key(name));
    principals.push({
      name: f?.name ?? name,
      kind: f?.kind ?? (logins.has(key(name)) ? 'login' : 'role'),
      origin,
      ...(k ? { policyKey: k } : {}),
      canLogin: f?.canLogin ?? false,
      superuser: f?.superuser ?? false,
      notes: f ? f.notes : ['not found in the database'],
    });
  };
  for (const p of facts.principals) if (p.kind === 'public') addRow(p.name);
  for (const l of desired.logins) addRow(l.name);
  for (const u of desired.users) if (u.purpose === 'principal') addRow(u.name);
  for (const p of facts.principals) {
    if (p.internal || internalRoles.has(key(p.name)) || p.marker?.purpose === 'persona' || p.marker?.purpose === 'schema-owner') continue;
    if ((heldBy.get(key(p.name)) ?? []).some((h) => !h.inherent)) addRow(p.name);
  }
  const rank: Record<ReportPrincipal['origin'], number> = { policy: 0, 'generated-login': 1, unmanaged: 2, managed: 3, superuser: 4, public: 5 };
  principals.sort((a, b) => rank[a.origin] - rank[b.origin] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return principals;
}

/** Each principal x app x right that is held or expected, with its status and paths. */
function reportCells(r: {
  facts: AccessFacts;
  principals: ReportPrincipal[];
  apps: AccessReport['apps'];
  expected: ReturnType<typeof expectedAccess>;
  heldBy: Map<string, HeldRight[]>;
  key: (name: string) => string;
}): ReportCell[] {
  const { facts, principals, apps, expected, heldBy, key } = r;
  const cells: ReportCell[] = [];
  for (const p of principals) {
    const want = expected.get(key(p.name));
    const has = heldBy.get(key(p.name)) ?? [];
    for (const app of apps) {
      const wantHere = [...(want ?? new Map<string, Map<Right, string>>())].find(([s]) => key(s) === key(app.schema))?.[1];
      for (const right of RIGHTS) {
        const h = has.find((x) => x.right === right && key(x.schema) === key(app.schema));
        const why = wantHere?.get(right);
        let status: CellStatus | undefined;
        let detail: string | undefined;
        let paths: AccessPath[] = h?.paths ?? [];
        if (h && why) {
          status = h.partial ? 'missing' : 'expected';
          detail = h.partial ? `only ${h.partial}; the policy grants it ${why}` : `the policy grants it ${why}`;
        } else if (h) {
          if (h.inherent) status = p.origin === 'public' ? 'inherent' : undefined;
          else status = h.bypass ? 'privileged' : 'drift';
          detail = h.partial ? `${h.partial}; not in the policy` : status === 'drift' ? 'not in the policy' : undefined;
        } else if (why) {
          status = 'missing';
          const denied = facts.denials?.find((d) => key(d.principal) === key(p.name) && key(d.schema) === key(app.schema) && d.right === right);
          detail = app.present ? `${denied ? `${denied.detail}; ` : ''}the policy grants it ${why}` : `schema ${app.schema} does not exist; the policy grants it ${why}`;
          paths = [];
        }
        if (status) cells.push({ principal: p.name, app: app.key, schema: app.schema, right, status, paths, ...(detail ? { detail } : {}) });
      }
    }
  }
  return cells;
}

/** Password age and validity of every generated login: set when, how old, rotation due, valid until. */
function loginAgesOf(desired: DesiredState, factOf: (name: string) => FactPrincipal | undefined, now: Date): LoginAge[] {
  const maxAge = desired.rotationMaxAgeDays ?? null;
  return desired.logins.map((l) => {
    const fact = factOf(l.name);
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
