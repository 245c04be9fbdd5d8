import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import { emptyState } from '../../provider/model/state';
import { Policy } from '../../provider/model/types';
import { diffState } from '../../provider/plan/diff';
import { CHANGE_ORDER } from '../../provider/plan/change';
import { asApplied, policyArbitrary } from '../support/states';

const policyArb = policyArbitrary({ kind: 'sql-login' });

describe('diffState', () => {
  it('property: diff(s, applied(s)) is empty — plans converge', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const desired = compilePolicy(policy);
        expect(diffState(desired, asApplied(desired)).changes).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('property: from empty, every desired object is created, in phase order, and nothing is dropped', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const desired = compilePolicy(policy);
        const plan = diffState(desired, { ...emptyState('neutral', 'w'), managed: [] });
        const count = (k: string) => plan.changes.filter((c) => c.kind === k).length;
        expect(count('create-login')).toBe(desired.logins.length);
        expect(count('create-role')).toBe(desired.roles.length);
        expect(count('grant')).toBe(desired.permissions.length);
        expect(count('add-member')).toBe(desired.memberships.length);
        const ranks = plan.changes.map((c) => CHANGE_ORDER.indexOf(c.kind));
        expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
        expect(plan.changes.some((c) => c.kind.startsWith('drop') || c.kind === 'revoke')).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('property: removing a grant from the policy revokes exactly its membership', () => {
    fc.assert(
      fc.property(
        policyArb.filter((p) => p.grants.length > 0),
        (policy) => {
          const before = compilePolicy(policy);
          const after = compilePolicy({ ...policy, grants: policy.grants.slice(1) });
          const plan = diffState(after, asApplied(before));
          const dropped = plan.changes.filter((c) => c.kind === 'drop-member').map((c) => (c.kind === 'drop-member' ? c.membership : null));
          const expected = before.memberships.filter((m) => !after.memberships.some((n) => n.role === m.role && n.member === m.member));
          expect(dropped).toEqual(expected);
          expect(plan.changes.filter((c) => c.kind === 'add-member')).toEqual([]);
        },
      ),
      { numRuns: 100 },
    );
  });

  const policy: Policy = {
    apiVersion: 'pmgrants/v1',
    warehouse: { engine: 'postgres', database: 'w' },
    security: { mode: 'system_managed', rotation: { maxAgeDays: 30 } },
    principals: { analysts: { kind: 'sql-login' } },
    apps: { p2p: { schema: 'p2p', source: 'closed' } },
    grants: [{ persona: 'data_consumer', to: ['analysts'], apps: ['p2p'] }],
  };
  const desired = compilePolicy(policy);

  it('reverts drift on managed principals and leaves unmanaged ones alone outside the app schemas', () => {
    const actual = asApplied(desired);
    actual.permissions = [
      ...actual.permissions,
      { grantee: 'pmg_p2p_data_consumer', on: { type: 'schema', name: 'p2p' }, privilege: 'insert', effect: 'GRANT', withGrantOption: false },
      { grantee: 'someone_else', on: { type: 'schema', name: 'reporting' }, privilege: 'select', effect: 'GRANT', withGrantOption: false },
      { grantee: 'someone_else', on: { type: 'database' }, privilege: 'CONNECT', effect: 'GRANT', withGrantOption: false },
    ];
    actual.roles = [...actual.roles, { name: 'pmg_lookalike', purpose: 'persona' }];
    const plan = diffState(desired, actual);
    expect(plan.changes).toEqual([
      { kind: 'revoke', permission: { grantee: 'pmg_p2p_data_consumer', on: { type: 'schema', name: 'p2p' }, privilege: 'insert', effect: 'GRANT', withGrantOption: false } },
    ]);
  });

  it('additive enforcement never revokes or drops', () => {
    const actual = asApplied(desired);
    actual.memberships = [...actual.memberships, { role: 'pmg_p2p_data_consumer', member: 'intruder' }];
    actual.roles = [...actual.roles, { name: 'pmg_old_owner', purpose: 'schema-owner' }];
    actual.managed = [...actual.managed, 'pmg_old_owner'];
    expect(diffState({ ...desired, enforcement: 'additive' }, actual).changes).toEqual([]);
    const authoritative = diffState(desired, actual).changes.map((c) => c.kind);
    expect(authoritative).toEqual(['drop-member', 'drop-role']);
  });

  it('never drops a managed role that still owns a schema; says why instead', () => {
    const actual = asApplied(desired);
    actual.roles = [...actual.roles, { name: 'pmg_gone_owner', purpose: 'schema-owner' }];
    actual.schemas = [...actual.schemas, { name: 'gone', owner: 'pmg_gone_owner', app: 'gone' }];
    actual.managed = [...actual.managed, 'pmg_gone_owner'];
    const plan = diffState(desired, actual);
    expect(plan.changes).toEqual([]);
    expect(plan.warnings).toEqual(['role "pmg_gone_owner" is no longer in the policy but still owns schema "gone"; it is kept (move or drop the schema, then plan again)']);
  });

  it('hands what a dropped principal owns to the owner of the one app schema it works in; none to the shared login of several', () => {
    const two: Policy = { ...policy, apps: { ...policy.apps, o2c: { schema: 'o2c', source: 'open' } } };
    const before = compilePolicy(two);
    const drops = diffState(desired, asApplied(before)).changes.filter((c) => c.kind.startsWith('drop-') && c.kind !== 'drop-member');
    // o2c's login and persona roles go; each is handed to o2c's owner, which stays (it owns the schema).
    expect(drops).toEqual([
      { kind: 'drop-role', role: 'pmg_o2c_data_consumer', handTo: 'pmg_o2c_owner' },
      { kind: 'drop-role', role: 'pmg_o2c_process_admin', handTo: 'pmg_o2c_owner' },
      { kind: 'drop-user', user: 'pmg_o2c_app', handTo: 'pmg_o2c_owner' },
      { kind: 'drop-login', login: 'pmg_o2c_app', handTo: 'pmg_o2c_owner' },
    ]);
    // single_account -> system_managed: the shared login worked in both schemas, so nobody inherits.
    const shared = compilePolicy({ ...two, security: { mode: 'single_account' } });
    const modeChange = diffState(before, asApplied(shared)).changes.filter((c) => c.kind === 'drop-login');
    expect(modeChange).toEqual([{ kind: 'drop-login', login: 'pmg_shared' }]);
  });

  it('rotates passwords by age (clock passed in) and on request', () => {
    const actual = { ...asApplied(desired), passwordSetAt: { pmg_p2p_app: '2026-01-01T00:00:00Z' } };
    expect(diffState(desired, actual, { now: new Date('2026-01-20T00:00:00Z') }).changes).toEqual([]);
    expect(diffState(desired, actual, { now: new Date('2026-02-15T00:00:00Z') }).changes).toEqual([{ kind: 'rotate-password', login: 'pmg_p2p_app', reason: 'age' }]);
    expect(diffState(desired, asApplied(desired), { rotate: ['pmg_p2p_app'] }).changes).toEqual([{ kind: 'rotate-password', login: 'pmg_p2p_app', reason: 'forced' }]);
  });

  it('a changed effect revokes the old permission before granting the new one', () => {
    const actual = asApplied(desired);
    actual.permissions = actual.permissions.map((p) => (p.grantee === 'pmg_p2p_data_consumer' ? { ...p, effect: 'DENY' as const } : p));
    const kinds = diffState(desired, actual).changes.map((c) => c.kind);
    expect(kinds).toEqual(['revoke', 'grant']);
  });

  it('changes the owner of a schema that exists with another owner', () => {
    const actual = asApplied(desired);
    actual.schemas = [{ name: 'p2p', owner: 'dbo', app: 'p2p' }];
    expect(diffState(desired, actual).changes).toEqual([{ kind: 'alter-schema-owner', schema: 'p2p', from: 'dbo', to: 'pmg_p2p_owner' }]);
  });
});
