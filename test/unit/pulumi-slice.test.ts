/**
 * provider/plan/slice.ts: how the desired and live states are cut into one part per app plus the
 * warehouse, so each Pulumi resource diffs and applies only what it owns. Pure; literal fixtures and
 * properties over generated policies.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import { membershipKey, permissionKey, sortState } from '../../provider/model/state';
import { DesiredState, Policy, SecurityState, ActualState } from '../../provider/model/types';
import { realizePostgres } from '../../provider/engines/postgres/realize';
import { diffState } from '../../provider/plan/diff';
import { Change } from '../../provider/plan/change';
import { asApplied, policyArbitrary } from '../support/states';
import { appPart, appsOf, claimOf, Part, partitionDesired, sliceActual, sliceDesired, WAREHOUSE } from '../../provider/plan/slice';

const policyArb = policyArbitrary({ kind: 'entra-group', objectId: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04' });

const POLICY: Policy = {
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'postgres', database: 'wh' },
  security: { mode: 'system_managed' },
  principals: {
    admins: { kind: 'entra-group', objectId: '2b6f1c3e-8d2a-4f0b-9a51-0c7e4d1f2a01' },
    analysts: { kind: 'entra-group', objectId: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04' },
  },
  apps: { p2p: { schema: 'p2p', source: 'closed' }, o2c: { schema: 'o2c', source: 'open' } },
  grants: [
    { persona: 'app_admin', to: ['admins'] },
    { persona: 'data_consumer', to: ['analysts'], apps: ['p2p'] },
  ],
};

/** Every object of a state as one string each (to compare states as multisets). */
function items(s: SecurityState): string[] {
  return [
    ...s.logins.map((l) => `login ${l.name}`),
    ...s.users.map((u) => `user ${u.name}`),
    ...s.roles.map((r) => `role ${r.name}`),
    ...s.schemas.map((x) => `schema ${x.name}`),
    ...s.memberships.map((m) => `member ${membershipKey(m)}`),
    ...s.permissions.map((p) => `perm ${permissionKey(p)}`),
  ].sort();
}

const changeKey = (c: Change): string => JSON.stringify(c);

function partsOf(desired: DesiredState): Part[] {
  return [WAREHOUSE, ...appsOf(desired).map(appPart)];
}

/** The plan of one part, as the provider computes it: the part's desired slice against the part's live slice. */
function partPlan(desired: DesiredState, actual: ActualState, part: Part, previous?: DesiredState): Change[] {
  const slice = sliceDesired(desired, part);
  const slices = previous ? [slice, sliceDesired(previous, part)] : [slice];
  return diffState(slice, sliceActual(actual, claimOf(part, slices, actual), slice)).changes;
}

describe('partitionDesired', () => {
  it('puts warehouse-wide roles, principals and their memberships in the warehouse; each app its own', () => {
    const parts = partitionDesired(compilePolicy(POLICY));
    expect([...parts.keys()]).toEqual(['warehouse', 'app:o2c', 'app:p2p']);
    const wh = parts.get('warehouse')!;
    expect(wh.roles.map((r) => r.name)).toEqual(['pmg_app_admin']);
    expect(wh.users.map((u) => u.name)).toEqual(['admins', 'analysts']);
    expect(wh.memberships).toEqual([{ role: 'pmg_app_admin', member: 'admins' }]);
    expect(wh.logins).toEqual([]);
    expect(wh.permissions).toEqual([]);
    const p2p = parts.get('app:p2p')!;
    expect(p2p.schemas.map((s) => s.name)).toEqual(['p2p']);
    expect(p2p.logins.map((l) => l.name)).toEqual(['pmg_p2p_app']);
    expect(p2p.roles.map((r) => r.name)).toEqual(['pmg_p2p_data_consumer', 'pmg_p2p_owner', 'pmg_p2p_process_admin']);
    expect(p2p.memberships).toEqual([{ role: 'pmg_p2p_data_consumer', member: 'analysts' }]);
    expect(p2p.appLogins).toEqual({ p2p: 'pmg_p2p_app' });
    // pmg_app_admin's rights on p2p's schema and roles belong to p2p, not to the warehouse.
    expect(p2p.permissions.filter((p) => p.grantee === 'pmg_app_admin').length).toBeGreaterThan(0);
    expect(p2p.permissions.every((p) => (p.on.type === 'schema' ? p.on.name === 'p2p' : p.on.type === 'role' && p.on.name.startsWith('pmg_p2p_')))).toBe(true);
  });

  it('single_account: the shared login is the warehouse\'s; its rights on each schema are the app\'s', () => {
    const parts = partitionDesired(compilePolicy({ ...POLICY, security: { mode: 'single_account' } }));
    expect(parts.get('warehouse')!.logins.map((l) => l.name)).toEqual(['pmg_shared']);
    expect(parts.get('app:p2p')!.logins).toEqual([]);
    expect(parts.get('app:p2p')!.permissions.some((p) => p.grantee === 'pmg_shared' && p.on.type === 'schema' && p.on.name === 'p2p')).toBe(true);
    expect(parts.get('app:p2p')!.appLogins).toEqual({ p2p: 'pmg_shared' });
  });

  it('property: every object lands in exactly one part, and the options are kept', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        for (const desired of [compilePolicy(policy), realizePostgres(compilePolicy(policy))]) {
          const parts = [...partitionDesired(desired).values()];
          expect(parts.flatMap(items).sort()).toEqual(items(desired));
          for (const p of parts) expect([p.prefix, p.mode, p.enforcement, p.prune, p.database]).toEqual([desired.prefix, desired.mode, desired.enforcement, desired.prune, desired.database]);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('property: adding an app never changes the warehouse part (resources grow with apps, the warehouse does not churn)', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const more: Policy = { ...policy, apps: { ...policy.apps, 'zz-new': { schema: 's_zz_new', source: 'closed' } } };
        expect(partitionDesired(compilePolicy(more)).get('warehouse')).toEqual(partitionDesired(compilePolicy(policy)).get('warehouse'));
      }),
      { numRuns: 100 },
    );
  });

  it('property: realizing each part equals the part of the realized whole (the provider realizes per resource)', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const neutral = compilePolicy(policy);
        const wholeParts = partitionDesired(realizePostgres(neutral));
        for (const [k, part] of partitionDesired(neutral)) {
          const realized = realizePostgres(part);
          expect(items(realized)).toEqual(items(wholeParts.get(k)!));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('an empty part for an app the state does not know', () => {
    const slice = sliceDesired(compilePolicy(POLICY), appPart('gone'));
    expect(items(slice)).toEqual([]);
    expect(slice.prefix).toBe('pmg_');
  });
});

describe('sliceActual', () => {
  it('property: the parts\' plans against an empty database are exactly the whole creation plan', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const desired = realizePostgres(compilePolicy(policy));
        const empty: ActualState = { engine: 'postgres', database: 'w', logins: [], users: [], roles: [], schemas: [], memberships: [], permissions: [], managed: [] };
        const whole = diffState(desired, empty).changes.map(changeKey).sort();
        const parts = partsOf(desired).flatMap((p) => partPlan(desired, empty, p)).map(changeKey).sort();
        expect(parts).toEqual(whole);
      }),
      { numRuns: 100 },
    );
  });

  it('property: once applied, every part plans nothing (no permanent diff per resource)', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const desired = realizePostgres(compilePolicy(policy));
        for (const part of partsOf(desired)) expect(partPlan(desired, asApplied(desired), part)).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it('property: after a policy change, the parts together do what the whole plan does', () => {
    fc.assert(
      fc.property(policyArb, policyArb, (before, after) => {
        const old = realizePostgres(compilePolicy(before));
        const desired = realizePostgres(compilePolicy(after));
        const actual = asApplied(old);
        const whole = new Set(diffState(desired, actual).changes.map(changeKey));
        const parts = [...new Set([...partsOf(desired), ...partsOf(old)].map((p) => JSON.stringify(p)))].map((p) => JSON.parse(p) as Part);
        const union = new Set(parts.flatMap((p) => partPlan(desired, actual, p, old)).map(changeKey));
        // Every change a part makes is one the whole plan makes, and every change of the whole plan is made by some part.
        expect([...union].filter((c) => !whole.has(c))).toEqual([]);
        expect([...whole].filter((c) => !union.has(c))).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it('a part that drops a role also revokes what that role holds in other parts\' schemas', () => {
    // Before: a custom warehouse persona "auditor" reads every app. After: it is gone from the policy.
    const withAuditor: Policy = {
      ...POLICY,
      personas: { auditor: { scope: 'warehouse', rights: ['select'] } },
      grants: [...POLICY.grants, { persona: 'auditor', to: ['analysts'] }],
    };
    const old = realizePostgres(compilePolicy(withAuditor));
    const desired = realizePostgres(compilePolicy(POLICY));
    const actual = asApplied(old);
    const plan = partPlan(desired, actual, WAREHOUSE, old);
    expect(plan.filter((c) => c.kind === 'drop-role')).toEqual([{ kind: 'drop-role', role: 'pmg_auditor' }]);
    const revoked = plan.filter((c) => c.kind === 'revoke').map((c) => (c.kind === 'revoke' ? c.permission : undefined)!);
    // Its rights on p2p's and o2c's schemas are revoked by the warehouse before the role is dropped.
    expect(new Set(revoked.map((p) => p.grantee))).toEqual(new Set(['pmg_auditor']));
    expect(new Set(revoked.filter((p) => p.on.type === 'schema').map((p) => (p.on.type === 'schema' ? p.on.name : '')))).toEqual(new Set(['o2c', 'p2p']));
  });

  it('never claims what is not pmgrants\' and revokes from an unmanaged grantee only on an app schema', () => {
    const desired = realizePostgres(compilePolicy(POLICY));
    const actual = asApplied(desired);
    const live: ActualState = {
      ...actual,
      roles: [...actual.roles, { name: 'bystander', purpose: 'persona' }],
      permissions: sortState({
        ...actual,
        permissions: [
          ...actual.permissions,
          { grantee: 'bystander', on: { type: 'schema', name: 'p2p' }, privilege: 'USAGE', effect: 'GRANT', withGrantOption: false },
          { grantee: 'pmg_p2p_data_consumer', on: { type: 'schema', name: 'public' }, privilege: 'CREATE', effect: 'GRANT', withGrantOption: false },
        ],
      }).permissions,
    };
    const part = appPart('p2p');
    const slice = sliceDesired(desired, part);
    const claim = claimOf(part, [slice], live);
    expect(claim.principals.has('bystander')).toBe(false);
    const owned = sliceActual(live, claim, slice);
    // The unmanaged grantee's privilege on p2p is in the part (it is on p2p's schema): an app schema's
    // ACL is the policy's, so it is revoked (the role itself is left alone), unless the policy tolerates it.
    const plan = diffState(slice, owned).changes;
    const bystanderUsage = { grantee: 'bystander', on: { type: 'schema', name: 'p2p' }, privilege: 'USAGE', effect: 'GRANT', withGrantOption: false } as const;
    const strayCreate = { grantee: 'pmg_p2p_data_consumer', on: { type: 'schema', name: 'public' }, privilege: 'CREATE', effect: 'GRANT', withGrantOption: false } as const;
    expect(plan).toEqual([
      { kind: 'revoke', permission: bystanderUsage },
      { kind: 'revoke', permission: strayCreate },
    ]);
    expect(diffState({ ...slice, tolerateGrantees: ['bystander'] }, owned).changes).toEqual([{ kind: 'revoke', permission: strayCreate }]);
    // The stray grant on a schema outside the policy is p2p's (its grantee's) and nobody else's.
    const o2c = sliceDesired(desired, appPart('o2c'));
    const o2cOwned = sliceActual(live, claimOf(appPart('o2c'), [o2c], live), o2c);
    expect(o2cOwned.permissions.some((p) => p.on.type === 'schema' && p.on.name === 'public')).toBe(false);
  });

  it('a removed app is claimed through its previous slice and through the markers of its roles', () => {
    const desired = realizePostgres(compilePolicy(POLICY));
    const actual = asApplied(desired);
    const previous = sliceDesired(desired, appPart('o2c'));
    const claimFromState = claimOf(appPart('o2c'), [previous], actual);
    expect([...claimFromState.principals].sort()).toEqual(['pmg_o2c_app', 'pmg_o2c_data_consumer', 'pmg_o2c_owner', 'pmg_o2c_process_admin']);
    // Without the previous slice, the managed roles whose marker names the app are still claimed (the login's marker does not name it).
    const claimFromMarkers = claimOf(appPart('o2c'), [], actual);
    expect([...claimFromMarkers.principals].sort()).toEqual(['pmg_o2c_data_consumer', 'pmg_o2c_owner', 'pmg_o2c_process_admin']);
    expect([...claimFromMarkers.schemas]).toEqual(['o2c']);
  });
});
