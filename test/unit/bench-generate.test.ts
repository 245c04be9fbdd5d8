import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { countGrants, DEFAULT_APP_COUNTS, generatePolicy, grantMix, prng, standardSize } from '../../bench/generate';
import { ldap2pgConfig, pgbedrockSpec } from '../../bench/peers';
import { compilePolicy } from '../../provider/model/compile';
import { postgresDialect } from '../../provider/engines/postgres';
import { checkPolicy } from '../../provider/policy/check';
import { parseSource } from '../../provider/policy/source';

const validated = (yaml: string) => {
  const parsed = parseSource('bench.yaml', yaml);
  expect(parsed.diagnostics).toEqual([]);
  return checkPolicy(parsed.source!);
};

describe('bench/generate: benchmark policies', () => {
  it('standard sizes: 20 grants and 2 principals per app (at least 50), up to 20,000 grants at 1,000 apps', () => {
    expect(DEFAULT_APP_COUNTS).toEqual([10, 50, 100, 1000]);
    expect(standardSize(1000)).toEqual({ name: '1000-apps', apps: 1000, principals: 2000, grants: 20_000 });
    expect(standardSize(10)).toEqual({ name: '10-apps', apps: 10, principals: 50, grants: 200 });
    expect(() => standardSize(0)).toThrow(/positive whole number/);
  });

  for (const apps of [10, 50, 100]) {
    it(`${apps} apps: exact counts, mostly data_consumer, every principal used, valid with no warning`, () => {
      const size = standardSize(apps);
      const g = generatePolicy(size);
      expect(Object.keys(g.policy.apps)).toHaveLength(apps);
      expect(Object.keys(g.policy.principals)).toHaveLength(size.principals);
      const counted = countGrants(g.policy);
      expect(counted.total).toBe(size.grants);
      expect({ app_admin: counted.app_admin, process_admin: counted.process_admin, data_consumer: counted.data_consumer }).toEqual(g.mix);
      expect(g.mix.data_consumer).toBeGreaterThan(0.8 * size.grants);
      expect(g.mix.process_admin).toBeGreaterThan(0);
      expect(g.mix.app_admin).toBeGreaterThanOrEqual(1);
      expect(g.mix.app_admin).toBeLessThanOrEqual(5);
      // The YAML says exactly what the object says.
      expect(parse(g.yaml)).toEqual(g.policy);
      const checked = validated(g.yaml);
      expect(checked.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
      expect(checked.policy!.warehouse.engine).toBe('postgres');
      expect(checked.policy!.security.mode).toBe('system_managed');
      // A grant is a membership of a principal in a persona role: one per grant, none twice.
      const desired = compilePolicy(checked.policy!);
      const principalMemberships = desired.memberships.filter((m) => m.member in g.policy.principals);
      expect(principalMemberships).toHaveLength(size.grants);
    });
  }

  it('1,000 apps: 20,000 grants, 2,000 principals, valid', () => {
    const g = generatePolicy(standardSize(1000));
    expect(countGrants(g.policy).total).toBe(20_000);
    expect(Object.keys(g.policy.principals)).toHaveLength(2000);
    const checked = validated(g.yaml);
    expect(checked.policy).toBeDefined();
    expect(checked.diagnostics.filter((d) => d.severity === 'error' || d.severity === 'warning')).toEqual([]);
  });

  it('is deterministic: the same size and seed give the same bytes; another seed differs', () => {
    const a = generatePolicy(standardSize(50), 7);
    const b = generatePolicy(standardSize(50), 7);
    expect(b.yaml).toBe(a.yaml);
    expect(b.policy).toEqual(a.policy);
    expect(generatePolicy(standardSize(50), 8).yaml).not.toBe(a.yaml);
    const r1 = prng(42);
    const r2 = prng(42);
    expect(Array.from({ length: 5 }, () => r1())).toEqual(Array.from({ length: 5 }, () => r2()));
  });

  it('no principal gets two personas on one app', () => {
    const g = generatePolicy(standardSize(100));
    for (const app of g.apps) {
      const holders = g.policy.grants.filter((x) => x.apps?.includes(app)).flatMap((x) => x.to);
      expect(new Set(holders).size).toBe(holders.length);
    }
  });

  it('refuses sizes it cannot meet', () => {
    expect(() => generatePolicy({ name: 'tight', apps: 2, principals: 5, grants: 40 })).toThrow(/need at least that many principals/);
    expect(() => generatePolicy({ name: 'sparse', apps: 10, principals: 500, grants: 100 })).toThrow(/cannot reach/);
    expect(grantMix({ name: 'x', apps: 1000, principals: 2000, grants: 20_000 })).toEqual({ app_admin: 5, process_admin: 2000, data_consumer: 17_995 });
  });
});

describe('bench/peers: the peers are asked for what pmgrants makes', () => {
  const g = generatePolicy(standardSize(10));
  const desired = postgresDialect.realize(compilePolicy(validated(g.yaml).policy!));

  it('ldap2pg: one role rule per role with its parents, grants per schema, managed roles limited to the benchmark prefixes', () => {
    const config = parse(ldap2pgConfig(desired)) as { version: number; postgres: { managed_roles_query: string; schemas_query: unknown[] }; sync_map: Record<string, unknown>[] };
    expect(config.version).toBe(5);
    expect(config.postgres.managed_roles_query).toContain("'^(pmg_|grp_|usr_|sql_)'");
    expect(config.postgres.schemas_query).toHaveLength(10);
    const roles = config.sync_map.filter((m) => 'role' in m).flatMap((m) => {
      const r = m.role as { name?: string; names?: string[] };
      return r.names ?? [r.name!];
    });
    const all = new Set([...desired.roles.map((r) => r.name), ...desired.logins.map((l) => l.name), ...desired.users.map((u) => u.name)]);
    expect(new Set(roles)).toEqual(all);
    const parents = config.sync_map.flatMap((m) => ((m.role as { parents?: string[] } | undefined)?.parents ?? []).map(() => 1)).length;
    expect(parents).toBe(desired.memberships.length);
  });

  it('pgbedrock: keeps the generated base roles, hands app schemas to their owner roles, adds every benchmark role', () => {
    const generated = 'postgres:\n  can_login: true\n  is_superuser: true\n  owns:\n    schemas: [public, app_0001]\n    tables: [app_0001.*]\npg_monitor:\n';
    const spec = parse(pgbedrockSpec(desired, generated)) as Record<string, { owns?: { schemas?: string[] }; member_of?: string[] } | null>;
    expect(spec.postgres!.owns!.schemas).toEqual(['public']);
    expect(spec.pg_monitor).toBeNull();
    expect(spec.pmg_app_0001_owner!.owns!.schemas).toEqual(['app_0001']);
    const memberships = Object.values(spec).reduce((n, c) => n + (c?.member_of?.length ?? 0), 0);
    expect(memberships).toBe(desired.memberships.length);
  });
});
