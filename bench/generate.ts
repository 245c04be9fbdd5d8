/**
 * Deterministic benchmark policies: apps x principals x grants, PostgreSQL, system_managed.
 *
 * A *grant* is one principal getting one persona on one app (app_admin, a warehouse persona, counts
 * once per principal). The mix is mostly data_consumer, some process_admin and a few app_admin, and
 * every principal receives at least one grant, so validation reports no unused principal. The same
 * (size, seed) always gives the same policy and the same YAML bytes: a seeded PRNG, no clock, no
 * Math.random, keys in a fixed order.
 */
import { Policy, PrincipalKind, PrincipalSpec } from '../provider/model/types';

export interface BenchSize {
  /** Short name used in reports and file names, e.g. "100-apps". */
  name: string;
  apps: number;
  principals: number;
  grants: number;
}

/** The standard sizes: 20 grants per app, two principals per app (at least 50). */
export function standardSize(apps: number): BenchSize {
  if (!Number.isInteger(apps) || apps < 1) throw new Error(`a benchmark size needs a positive whole number of apps, not ${apps}`);
  return { name: `${apps}-apps`, apps, principals: Math.max(50, 2 * apps), grants: 20 * apps };
}

/** 10 / 50 / 100 / 1,000 apps; 50 apps is the peers' reference point (200 generated roles x 50 schemas). */
export const DEFAULT_APP_COUNTS = [10, 50, 100, 1000] as const;

/** Grants of each persona. */
export interface GrantMix {
  app_admin: number;
  process_admin: number;
  data_consumer: number;
}

export interface GeneratedPolicy {
  size: BenchSize;
  seed: number;
  /** The policy exactly as the YAML says it (before validation adds defaults). */
  policy: Policy;
  /** The policy as YAML text: what validate+compile is timed from. */
  yaml: string;
  mix: GrantMix;
  /** App keys in order; schema of app i is apps[i] too. */
  apps: string[];
  /** Principal keys (= database names) in order. */
  principals: string[];
}

/** Database name prefix of every principal the generator makes (its kind's short form + '_'). */
export const PRINCIPAL_PREFIXES = ['grp_', 'usr_', 'sql_'] as const;

/** mulberry32: a tiny, well-mixed 32-bit PRNG. Deterministic for a seed; not for secrets. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** A deterministic GUID-shaped object id from the PRNG (version 4 / variant 8 nibbles fixed). */
function objectId(random: () => number): string {
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
}

/** How many grants of each persona a size gets: a few app_admin, ~10% process_admin, the rest data_consumer. */
export function grantMix(size: BenchSize): GrantMix {
  const appAdmin = Math.max(1, Math.min(5, Math.round(size.grants / 4000)));
  const rest = size.grants - appAdmin;
  const processAdmin = Math.round(rest * 0.1);
  return { app_admin: appAdmin, process_admin: processAdmin, data_consumer: rest - processAdmin };
}

/** Split `total` over `parts` as evenly as possible; the first `total % parts` get one more. */
function spread(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const extra = total % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * One benchmark policy. Throws when the size cannot be met (more grants per app than principals, or
 * fewer grants than principals, since every principal gets at least one grant).
 */
export function generatePolicy(size: BenchSize, seed = 1): GeneratedPolicy {
  const { apps: appCount, principals: principalCount, grants } = size;
  const mix = grantMix(size);
  const perAppProcess = spread(mix.process_admin, appCount);
  const perAppConsumer = spread(mix.data_consumer, appCount);
  const perAppMax = Math.max(...perAppProcess.map((p, i) => p + perAppConsumer[i]));
  if (perAppMax > principalCount) {
    throw new Error(`${size.name}: ${perAppMax} grants on one app need at least that many principals, not ${principalCount}`);
  }
  if (grants < principalCount) throw new Error(`${size.name}: ${grants} grants cannot reach ${principalCount} principals`);
  const random = prng(seed);
  const width = Math.max(4, String(Math.max(appCount, principalCount)).length);

  const apps = Array.from({ length: appCount }, (_, i) => `app_${pad(i + 1, width)}`);
  // Principals: mostly Entra groups, some Entra users, some SQL logins (roles that log in on PostgreSQL).
  const principals: string[] = [];
  const principalSpecs: Record<string, PrincipalSpec> = {};
  for (let i = 0; i < principalCount; i++) {
    const r = random();
    const kind: PrincipalKind = r < 0.85 ? 'entra-group' : r < 0.93 ? 'entra-user' : 'sql-login';
    const key = `${kind === 'entra-group' ? 'grp' : kind === 'entra-user' ? 'usr' : 'sql'}_${pad(i + 1, width)}`;
    principals.push(key);
    principalSpecs[key] = kind === 'sql-login' ? { kind } : { kind, objectId: objectId(random) };
  }

  // Who gets what: principals are dealt from a deck of shuffled copies, so every principal is used
  // (grants >= principals) and no principal gets two personas on the same app.
  let deck: number[] = [];
  const draw = (taken: Set<number>): number => {
    if (deck.length === 0) deck = shuffle(Array.from({ length: principalCount }, (_, i) => i), random);
    // Take the first card not already on this app; the deck is refilled when it runs out.
    for (let i = deck.length - 1; i >= 0; i--) {
      if (!taken.has(deck[i])) {
        const card = deck[i];
        deck.splice(i, 1);
        return card;
      }
    }
    const fresh = shuffle(Array.from({ length: principalCount }, (_, i) => i), random).filter((p) => !taken.has(p));
    const card = fresh.pop()!;
    deck.push(...fresh);
    return card;
  };

  // App admins first (a few principals, warehouse-wide), then each app's process admins and consumers.
  const appAdmins = new Set<number>();
  while (appAdmins.size < mix.app_admin) appAdmins.add(draw(appAdmins));
  const grantList: { persona: string; to: string[]; apps?: string[] }[] = [
    { persona: 'app_admin', to: [...appAdmins].sort((a, b) => a - b).map((i) => principals[i]) },
  ];
  const appSpecs: Policy['apps'] = {};
  apps.forEach((app, i) => {
    appSpecs[app] = { schema: app, source: random() < 0.2 ? 'open' : 'closed' };
    const taken = new Set<number>();
    const pick = (n: number) => {
      const out: number[] = [];
      for (let k = 0; k < n; k++) {
        const p = draw(taken);
        taken.add(p);
        out.push(p);
      }
      return out.sort((a, b) => a - b).map((p) => principals[p]);
    };
    const admins = pick(perAppProcess[i]);
    const consumers = pick(perAppConsumer[i]);
    if (admins.length > 0) grantList.push({ persona: 'process_admin', to: admins, apps: [app] });
    if (consumers.length > 0) grantList.push({ persona: 'data_consumer', to: consumers, apps: [app] });
  });

  const policy: Policy = {
    apiVersion: 'pmgrants/v1',
    warehouse: { engine: 'postgres', database: 'warehouse' },
    security: { mode: 'system_managed', rotation: { maxAgeDays: 90 } },
    principals: principalSpecs,
    apps: appSpecs,
    grants: grantList,
  };
  return { size, seed, policy, yaml: toYaml(policy, size, seed), mix, apps, principals };
}

/** Flow-style YAML, one principal, app or grant per line (as a person would keep a large policy). */
function toYaml(policy: Policy, size: BenchSize, seed: number): string {
  const flowList = (items: readonly string[]) => `[${items.join(', ')}]`;
  const lines = [
    `# Generated by bench/generate.ts: ${size.apps} apps, ${size.principals} principals, ${size.grants} grants (seed ${seed}).`,
    'apiVersion: pmgrants/v1',
    `warehouse: { engine: ${policy.warehouse.engine}, database: ${policy.warehouse.database} }`,
    `security: { mode: ${policy.security.mode}, rotation: { maxAgeDays: ${policy.security.rotation!.maxAgeDays} } }`,
    'principals:',
  ];
  for (const [key, spec] of Object.entries(policy.principals)) {
    lines.push(`  ${key}: { kind: ${spec.kind}${spec.objectId ? `, objectId: ${spec.objectId}` : ''} }`);
  }
  lines.push('apps:');
  for (const [key, app] of Object.entries(policy.apps)) lines.push(`  ${key}: { schema: ${app.schema}, source: ${app.source} }`);
  lines.push('grants:');
  for (const g of policy.grants) {
    lines.push(`  - { persona: ${g.persona}, to: ${flowList(g.to)}${g.apps ? `, apps: ${flowList(g.apps)}` : ''} }`);
  }
  return lines.join('\n') + '\n';
}

/** Count grants the way the benchmark defines them: principal x persona x app (app_admin once per principal). */
export function countGrants(policy: Policy): GrantMix & { total: number } {
  const mix: GrantMix = { app_admin: 0, process_admin: 0, data_consumer: 0 };
  const appCount = Object.keys(policy.apps).length;
  for (const g of policy.grants) {
    const apps = g.apps === undefined ? 1 : g.apps.includes('*') ? appCount : g.apps.length;
    mix[g.persona as keyof GrantMix] += g.to.length * apps;
  }
  return { ...mix, total: mix.app_admin + mix.process_admin + mix.data_consumer };
}
