/**
 * Expiring grants (grants[].expires): the instant a grant stops holding, compile and diff with a fixed
 * clock before and after it, how plans show it (text, markdown, json), validate's warnings and the
 * maxGrantDays guardrail, each at its exact position.
 */
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import { expiryInstant, isExpired } from '../../provider/model/expiry';
import { emptyState } from '../../provider/model/state';
import { Policy, ActualState } from '../../provider/model/types';
import { diffState } from '../../provider/plan/diff';
import { formatPlan, PlanView } from '../../provider/plan/format';
import { appPart, partitionDesired, sliceDesired, WAREHOUSE } from '../../provider/plan/slice';
import { maxGrantDaysViolation } from '../../provider/policy/guardrails';
import { loadPolicy } from '../../provider/policy/load';
import { runCliCaptured } from '../support/cli';
import { postgresDialect } from '../../provider/engines/postgres/dialect';
import { createSqlServerDialect } from '../../provider/engines/sqlserver';
import { roleApps } from '../../provider/pipeline/plan';
import planSchema from '../../schemas/plan.schema.json';
import { asApplied, policyArbitrary } from '../support/states';

const BEFORE = new Date('2027-03-31T23:59:59.999Z');
const AFTER = new Date('2027-04-01T00:00:00.000Z');

function policy(grants: Policy['grants'], enforcement: 'authoritative' | 'additive' = 'authoritative'): Policy {
  return {
    apiVersion: 'pmgrants/v1',
    warehouse: { engine: 'postgres', database: 'wh' },
    security: { mode: 'system_managed' },
    principals: { investigators: { kind: 'database-role' }, analysts: { kind: 'database-role' }, admins: { kind: 'database-role' } },
    apps: { p2p: { schema: 'p2p', source: 'closed' }, o2c: { schema: 'o2c', source: 'closed' } },
    grants,
    options: { enforcement },
  };
}

const TEMPORARY: Policy['grants'] = [
  { persona: 'app_admin', to: ['admins'] },
  { persona: 'data_consumer', to: ['analysts'], apps: ['p2p'] },
  { persona: 'data_consumer', to: ['investigators'], apps: ['p2p', 'o2c'], expires: '2027-03-31' },
];

describe('expires: when a grant stops holding', () => {
  it('a date holds through the end of that day, UTC; a date-time is that instant, in its zone', () => {
    expect(expiryInstant('2027-03-31')?.toISOString()).toBe('2027-04-01T00:00:00.000Z');
    expect(expiryInstant('2028-02-29')?.toISOString()).toBe('2028-03-01T00:00:00.000Z');
    expect(expiryInstant('2027-03-31T17:00:00Z')?.toISOString()).toBe('2027-03-31T17:00:00.000Z');
    expect(expiryInstant('2027-03-31T19:00+02:00')?.toISOString()).toBe('2027-03-31T17:00:00.000Z');
    expect(isExpired('2027-03-31', BEFORE)).toBe(false);
    expect(isExpired('2027-03-31', AFTER)).toBe(true);
    expect(isExpired('2027-03-31T17:00:00Z', new Date('2027-03-31T17:00:00Z'))).toBe(true);
  });
  it('a day that does not exist, or a time without a zone, is no expiry', () => {
    for (const bad of ['2027-02-29', '2027-13-01', '2027-04-31', '2027-03-31T24:00:00Z', '2027-03-31T17:00:00', '2027-03-31T17:00:00+25:00', '31.03.2027']) {
      expect(expiryInstant(bad), bad).toBeUndefined();
      expect(isExpired(bad, AFTER), bad).toBe(false);
    }
  });
});

describe('compile with a clock', () => {
  it('before expiry the grant is applied, its memberships carrying the expiry; after, they are listed as expired', () => {
    const before = compilePolicy(policy(TEMPORARY), { now: BEFORE });
    const of = (s: typeof before) => s.memberships.filter((m) => m.member === 'investigators');
    expect(of(before)).toEqual([
      { role: 'pmg_o2c_data_consumer', member: 'investigators', expires: '2027-03-31' },
      { role: 'pmg_p2p_data_consumer', member: 'investigators', expires: '2027-03-31' },
    ]);
    expect(before.expired).toBeUndefined();
    const after = compilePolicy(policy(TEMPORARY), { now: AFTER });
    expect(of(after)).toEqual([]);
    expect(after.expired).toEqual([
      { role: 'pmg_o2c_data_consumer', member: 'investigators', expires: '2027-03-31' },
      { role: 'pmg_p2p_data_consumer', member: 'investigators', expires: '2027-03-31' },
    ]);
    // Only the access goes: the principal keeps its user, the other grants are untouched.
    expect(after.users.map((u) => u.name)).toContain('investigators');
    expect(after.memberships.filter((m) => m.member !== 'investigators')).toEqual(before.memberships.filter((m) => m.member !== 'investigators'));
  });

  it('a membership expires only when every grant giving it does, at the latest of their expiries', () => {
    const two = (a: string | undefined, b: string | undefined): Policy['grants'] => [
      { persona: 'data_consumer', to: ['investigators'], apps: ['p2p'], ...(a ? { expires: a } : {}) },
      { persona: 'data_consumer', to: ['investigators'], apps: ['p2p'], ...(b ? { expires: b } : {}) },
    ];
    const m = (grants: Policy['grants'], now: Date) => {
      const s = compilePolicy(policy(grants), { now });
      return { memberships: s.memberships, expired: s.expired };
    };
    expect(m(two('2027-03-31', '2027-06-30'), BEFORE).memberships).toEqual([{ role: 'pmg_p2p_data_consumer', member: 'investigators', expires: '2027-06-30' }]);
    expect(m(two('2027-03-31', '2027-06-30'), AFTER)).toEqual({ memberships: [{ role: 'pmg_p2p_data_consumer', member: 'investigators', expires: '2027-06-30' }], expired: undefined });
    expect(m(two('2027-03-31', undefined), AFTER)).toEqual({ memberships: [{ role: 'pmg_p2p_data_consumer', member: 'investigators' }], expired: undefined });
    expect(m(two('2027-03-30', '2027-03-31'), AFTER)).toEqual({ memberships: [], expired: [{ role: 'pmg_p2p_data_consumer', member: 'investigators', expires: '2027-03-31' }] });
  });

  it('an expiring grant needs the clock: compile stays pure', () => {
    expect(() => compilePolicy(policy(TEMPORARY))).toThrow(/pass the clock/);
    expect(() => compilePolicy(policy(TEMPORARY.slice(0, 2)))).not.toThrow();
  });

  it('the same policy and clock give the same state', () => {
    expect(JSON.stringify(compilePolicy(policy(TEMPORARY), { now: AFTER }))).toBe(JSON.stringify(compilePolicy(policy(TEMPORARY), { now: AFTER })));
  });
});

/** The database as the plan at `now` left it, realised for PostgreSQL. */
function appliedAt(grants: Policy['grants'], now: Date, enforcement: 'authoritative' | 'additive' = 'authoritative'): ActualState {
  const applied = asApplied(postgresDialect.realize(compilePolicy(policy(grants, enforcement), { now })));
  // Inspect reads no expiry: the database does not know it.
  return { ...applied, memberships: applied.memberships.map(({ expires: _expires, ...m }) => m) };
}

function planAt(grants: Policy['grants'], now: Date, actual: ActualState, enforcement: 'authoritative' | 'additive' = 'authoritative') {
  const desired = postgresDialect.realize(compilePolicy(policy(grants, enforcement), { now }));
  return { desired, plan: diffState(desired, actual, { now }) };
}

describe('property: expiry between two plans', () => {
  const DAY = 86_400_000;
  const START = Date.UTC(2027, 0, 1);
  const day = (n: number) => new Date(START + n * DAY).toISOString().slice(0, 10);
  const arb = fc.record({
    policy: policyArbitrary({ kind: 'database-role' }),
    // Per grant: no expiry (undefined) or the last day it holds, within 20 days of START.
    ends: fc.array(fc.option(fc.nat({ max: 20 }), { nil: undefined }), { minLength: 8, maxLength: 8 }),
    t1: fc.nat({ max: 20 * 24 }),
    later: fc.nat({ max: 20 * 24 }),
    enforcement: fc.constantFrom('authoritative' as const, 'additive' as const),
  });

  it('applied at t1 and planned at t2 >= t1: exactly the memberships whose every grant expired in between are revoked, saying so; then it converges', () => {
    fc.assert(
      fc.property(arb, ({ policy: base, ends, t1, later, enforcement }) => {
        const p: Policy = { ...base, options: { enforcement }, grants: base.grants.map((g, i) => (ends[i] === undefined ? g : { ...g, expires: day(ends[i]!) })) };
        const at1 = new Date(START + t1 * 3_600_000);
        const at2 = new Date(at1.getTime() + later * 3_600_000);
        const d1 = compilePolicy(p, { now: at1 });
        const d2 = compilePolicy(p, { now: at2 });
        const key = (m: { role: string; member: string }) => `${m.role} ${m.member}`;
        const live = asApplied(d1);
        const plan = diffState(d2, { ...live, memberships: live.memberships.map(({ expires: _e, ...m }) => m) }, { now: at2 });
        const lapsed = d1.memberships.filter((m) => !d2.memberships.some((n) => key(n) === key(m)));
        const dropped = plan.changes.filter((c) => c.kind === 'drop-member');
        expect(dropped.map((c) => (c.kind === 'drop-member' ? `${key(c.membership)} ${c.expired}` : '')).sort()).toEqual(
          lapsed.map((m) => `${key(m)} ${d2.expired!.find((e) => key(e) === key(m))!.expires}`).sort(),
        );
        // Nothing else changes: the expiry revokes, it never adds.
        expect(plan.changes.length).toBe(dropped.length);
        const applied = asApplied(d2);
        expect(diffState(d2, applied, { now: at2 }).changes).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('diff: the next plan after expiry revokes the grant', () => {
  it('before expiry nothing changes; from the expiry on, exactly its memberships are revoked, saying so', () => {
    const live = appliedAt(TEMPORARY, BEFORE);
    expect(planAt(TEMPORARY, BEFORE, live).plan.changes).toEqual([]);
    const { plan } = planAt(TEMPORARY, AFTER, live);
    expect(plan.changes).toEqual([
      { kind: 'drop-member', membership: { role: 'pmg_o2c_data_consumer', member: 'investigators' }, expired: '2027-03-31' },
      { kind: 'drop-member', membership: { role: 'pmg_p2p_data_consumer', member: 'investigators' }, expired: '2027-03-31' },
    ]);
    // Applied, the plan converges.
    expect(planAt(TEMPORARY, AFTER, appliedAt(TEMPORARY, AFTER)).plan.changes).toEqual([]);
  });

  it('additive enforcement revokes nothing else, but an expired grant still goes', () => {
    const live = appliedAt(TEMPORARY, BEFORE, 'additive');
    // A membership the policy no longer names stays under additive enforcement...
    const fewer = TEMPORARY.filter((g) => g.persona !== 'app_admin');
    const { plan } = planAt(fewer, AFTER, live, 'additive');
    expect(plan.changes.map((c) => (c.kind === 'drop-member' ? `${c.membership.member} ${c.membership.role} ${c.expired}` : c.kind))).toEqual([
      'investigators pmg_o2c_data_consumer 2027-03-31',
      'investigators pmg_p2p_data_consumer 2027-03-31',
    ]);
  });

  it('SQL Server: the expired membership is dropped with ALTER ROLE ... DROP MEMBER, whatever the enforcement', () => {
    const dialect = createSqlServerDialect({ engine: 'sqlserver' });
    const sql = (grants: Policy['grants'], now: Date) => dialect.realize(compilePolicy({ ...policy(grants, 'additive'), warehouse: { engine: 'sqlserver', database: 'wh' } }, { now }));
    const live = asApplied(sql(TEMPORARY, BEFORE));
    const desired = sql(TEMPORARY, AFTER);
    const plan = diffState(desired, { ...live, memberships: live.memberships.map(({ expires: _e, ...m }) => m) }, { now: AFTER });
    expect(plan.changes.map((c) => dialect.render([c], desired).map((s) => s.display))).toEqual([
      ['ALTER ROLE [pmg_o2c_data_consumer] DROP MEMBER [investigators];'],
      ['ALTER ROLE [pmg_p2p_data_consumer] DROP MEMBER [investigators];'],
    ]);
  });

  it('a grant already expired when first planned is never added', () => {
    const empty: ActualState = { ...emptyState('postgres', 'wh'), managed: [] };
    const { plan } = planAt(TEMPORARY, AFTER, empty);
    expect(plan.changes.filter((c) => c.kind === 'add-member' && c.membership.member === 'investigators')).toEqual([]);
    expect(plan.changes.some((c) => c.kind === 'drop-member')).toBe(false);
  });

  it('text, markdown and json plans say which grant expired, and when; json validates against the plan schema', () => {
    const { desired, plan } = planAt(TEMPORARY, AFTER, appliedAt(TEMPORARY, BEFORE));
    const view: PlanView = { plan, roleApps: roleApps(desired), source: 'test' };
    expect(formatPlan('text', view)).toContain('  - member investigators of pmg_p2p_data_consumer (grant expired on 2027-03-31 (end of day UTC))\n');
    expect(formatPlan('markdown', view)).toContain('- member investigators of pmg_p2p_data_consumer (grant expired on 2027-03-31 (end of day UTC))');
    const json = JSON.parse(formatPlan('json', view));
    expect(json.changes.map((c: { kind: string; app: string; expired?: string }) => [c.kind, c.app, c.expired])).toEqual([
      ['drop-member', 'o2c', '2027-03-31'],
      ['drop-member', 'p2p', '2027-03-31'],
    ]);
    const validate = new Ajv2020({ strict: false }).compile(planSchema);
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
    // Before expiry the plan that adds the membership says until when.
    const fresh = planAt(TEMPORARY, BEFORE, { ...emptyState('postgres', 'wh'), managed: [] });
    expect(formatPlan('text', { plan: fresh.plan, roleApps: roleApps(fresh.desired), source: 'test' })).toContain(
      '  + member investigators of pmg_p2p_data_consumer (until 2027-03-31 (end of day UTC))\n',
    );
  });
});

describe('Pulumi slices: the clock is an input', () => {
  it('an expired membership lands in the part that owns its role, and only there', () => {
    const after = compilePolicy(policy(TEMPORARY), { now: AFTER });
    const parts = partitionDesired(after);
    expect(parts.get('app:p2p')!.expired).toEqual([{ role: 'pmg_p2p_data_consumer', member: 'investigators', expires: '2027-03-31' }]);
    expect(parts.get('app:o2c')!.expired).toEqual([{ role: 'pmg_o2c_data_consumer', member: 'investigators', expires: '2027-03-31' }]);
    expect(parts.get('warehouse')!.expired).toBeUndefined();
    expect(sliceDesired(after, WAREHOUSE).expired).toBeUndefined();
    // Before expiry the p2p slice has the membership; after, it has not: the resource's inputs change.
    const before = sliceDesired(compilePolicy(policy(TEMPORARY), { now: BEFORE }), appPart('p2p'));
    expect(before.memberships.some((m) => m.member === 'investigators')).toBe(true);
    expect(sliceDesired(after, appPart('p2p')).memberships.some((m) => m.member === 'investigators')).toBe(false);
  });
});

const dir = path.join(__dirname, '..', 'fixtures', 'expiry');
const policyFile = path.join(dir, 'policy.yaml');
const NOW = new Date('2027-03-20T12:00:00Z');
const lines = (options: Parameters<typeof loadPolicy>[1]) =>
  loadPolicy(policyFile, { stacksDir: path.join(dir, 'stacks'), now: NOW, ...options })
    .diagnostics.filter((d) => d.severity !== 'info')
    .map((d) => `${path.relative(dir, d.file)}:${d.line}:${d.column} ${d.severity} ${d.code} ${d.message} (at ${d.path})`);

describe('validate: expired and expiring grants, at their positions', () => {
  it('an expired grant is a warning, not an error; one within the warning window is a warning too', () => {
    const loaded = loadPolicy(policyFile, { now: NOW });
    expect(loaded.policy).toBeDefined();
    expect(lines({})).toEqual([
      'policy.yaml:15:81 warning grant-expired grant 2 (data_consumer to auditors) expired on 2027-03-15 (end of day UTC): it is not applied, and the next plan revokes it (at /grants/1/expires)',
      'policy.yaml:16:85 warning grant-expiring grant 3 (data_consumer to investigator) expires in 11 days, on 2027-03-31 (end of day UTC) (at /grants/2/expires)',
    ]);
  });

  it('within its last day a grant says how many hours it has left', () => {
    const late = loadPolicy(policyFile, { now: new Date('2027-03-31T19:30:00Z') }).diagnostics.filter((d) => d.code === 'grant-expiring');
    expect(late.map((d) => d.message)).toEqual(['grant 3 (data_consumer to investigator) expires in 4 hours, on 2027-03-31 (end of day UTC)']);
    const last = loadPolicy(policyFile, { now: new Date('2027-03-31T23:30:00Z') }).diagnostics.filter((d) => d.code === 'grant-expiring');
    expect(last.map((d) => d.message)).toEqual(['grant 3 (data_consumer to investigator) expires within the hour, on 2027-03-31 (end of day UTC)']);
  });

  it('validate --expiry-warning-days takes a whole number of days', async () => {
    const run = (args: string[]) => runCliCaptured(['validate', policyFile, ...args], { cwd: dir });
    expect(await run(['--expiry-warning-days', 'soon'])).toMatchObject({ code: 2, err: 'pmgrants: --expiry-warning-days must be a whole number of days (0 or more), not "soon"\n' });
    const ok = await run(['--expiry-warning-days', '36500']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/policy\.yaml:20:14 warning grant-expiring grant 4 \(process_admin to analysts\) expires in \d+ days/);
    expect((await run(['--help'])).out).toContain('--expiry-warning-days N');
  });

  it('--expiry-warning-days widens or narrows the window', () => {
    expect(lines({ expiryWarningDays: 0 }).map((l) => l.split(' ')[2])).toEqual(['grant-expired']);
    expect(lines({ expiryWarningDays: 36500 })).toContain(
      'policy.yaml:20:14 warning grant-expiring grant 4 (process_admin to analysts) expires in 26584 days, on 2099-12-31T17:00:00+01:00 (at /grants/3/expires)',
    );
  });

  it('a time without a zone fails the schema; a date that does not exist is an error at the date', () => {
    // The stack's only grant is refused; the rules still run on the rest, and say who it leaves without a grant.
    expect(lines({ stack: 'no-zone' }).filter((l) => !l.includes(' unused-principal '))).toEqual([
      'stacks/no-zone.yaml:5:83 error invalid-value grants.0.expires is "2027-03-31T17:00"; it must be a date (2027-03-31) or a date-time with a zone (2027-03-31T17:00:00Z) (at /grants/0/expires)',
    ]);
    expect(lines({ stack: 'invalid-date' }).filter((l) => l.includes(' error '))).toEqual([
      'stacks/invalid-date.yaml:5:83 error invalid-value "2027-02-30" is not a real date or date-time (at /grants/0/expires)',
    ]);
  });
});

describe('guardrail maxGrantDays', () => {
  it('refuses grants of the listed personas without expires, or running longer than allowed, at their positions', () => {
    expect(lines({ stack: 'temporary' }).filter((l) => l.includes(' error '))).toEqual([
      'policy.yaml:14:5 error guardrail-max-grant-days this stack allows app_admin only as temporary access: add expires, at most 90 days ahead (at /grants/0)',
      'policy.yaml:20:14 error guardrail-max-grant-days this grant of process_admin runs until 2099-12-31T17:00:00+01:00, 26585 days from now; this stack allows at most 90 (at /grants/3/expires)',
    ]);
  });

  it('an unknown persona in the guardrail is reported in the stack file', () => {
    expect(lines({ stack: 'typo' }).filter((l) => l.includes(' error '))).toEqual([
      'stacks/typo.yaml:6:16 error unknown-persona unknown persona "proces_admin" (at /guardrails/maxGrantDays/personas/0)',
    ]);
  });

  it('judges what the policy pack judges: listed personas only, expired grants not at all', () => {
    const g = { maxGrantDays: { days: 30, personas: ['process_admin'] } };
    expect(maxGrantDaysViolation(g, { persona: 'data_consumer' }, NOW)).toBeUndefined();
    expect(maxGrantDaysViolation(g, { persona: 'process_admin' }, NOW)).toMatch(/add expires, at most 30 days ahead/);
    expect(maxGrantDaysViolation(g, { persona: 'process_admin', expires: '2027-04-18' }, NOW)).toBeUndefined();
    expect(maxGrantDaysViolation(g, { persona: 'process_admin', expires: '2027-04-19' }, NOW)).toMatch(/31 days from now; this stack allows at most 30/);
    expect(maxGrantDaysViolation(g, { persona: 'process_admin', expires: '2027-01-01' }, NOW)).toBeUndefined();
    expect(maxGrantDaysViolation({ maxGrantDays: { days: 30 } }, { persona: 'data_consumer' }, NOW)).toMatch(/data_consumer only as temporary access/);
  });
});
