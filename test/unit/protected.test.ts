/**
 * Protected roles (policy `protected`): validate refuses whatever would reach one, with positions; the
 * plan never changes one, in authoritative enforcement too, and says what it keeps; members the policy
 * does not name are warnings.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import { patternLike, protectedMatcher } from '../../provider/model/protected';
import { DesiredState, Permission, Policy } from '../../provider/model/types';
import { checkPolicy } from '../../provider/policy/check';
import { parseSource } from '../../provider/policy/source';
import { ActualState } from '../../provider/model/types';
import { diffState } from '../../provider/plan/diff';
import { asApplied } from '../support/states';

function diagnostics(text: string) {
  const parsed = parseSource('p.yaml', text);
  return parsed.source ? checkPolicy(parsed.source).diagnostics : parsed.diagnostics;
}

const base = (engine: string, extra: string) => `apiVersion: pmgrants/v1
warehouse: { engine: ${engine}, database: wh }
security: { mode: system_managed }
principals:
  analysts: { kind: database-role }
  internal: { kind: database-role, name: PM_Internal }
apps:
  p2p: { schema: p2p }
${extra}`;

describe('protected roles: matching', () => {
  it('names compare as the engine compares them; * and ? are wildcards, everything else literal', () => {
    const pg = protectedMatcher('postgres', [{ role: 'pm_internal' }, { role: 'svc_*' }, { role: 'rep?' }, { role: 'a.b' }]);
    expect(pg('pm_internal').map((m) => m.index)).toEqual([0]);
    expect(pg('PM_Internal')).toEqual([]);
    expect(pg('svc_monitor').map((m) => m.index)).toEqual([1]);
    expect(pg('svc')).toEqual([]);
    expect(pg('rep1').map((m) => m.index)).toEqual([2]);
    expect(pg('rep12')).toEqual([]);
    expect(pg('aXb')).toEqual([]);
    const ms = protectedMatcher('sqlserver', [{ role: 'PM_Internal' }, { role: 'SVC_*' }]);
    expect(ms('pm_internal').map((m) => m.index)).toEqual([0]);
    expect(ms('svc_backup').map((m) => m.index)).toEqual([1]);
  });

  it('entries that protect every name or PUBLIC never match (validate refuses them)', () => {
    const m = protectedMatcher('postgres', [{ role: '*' }, { role: '??' }, { role: 'public' }]);
    expect(m('anything')).toEqual([]);
    expect(m('ab')).toEqual([]);
    expect(m('public')).toEqual([]);
  });

  it('patternLike writes the LIKE operand with the wildcards of LIKE escaped', () => {
    expect(patternLike('svc_*')).toBe('svc\\_%');
    expect(patternLike('a%b?')).toBe('a\\%b_');
    expect(patternLike('x\\y')).toBe('x\\\\y');
  });
});

describe('protected roles: validate', () => {
  it('protected-role: a grant to a protected principal, at its position in to:', () => {
    const d = diagnostics(base('postgres', `grants:\n  - { persona: data_consumer, to: [analysts, internal], apps: [p2p] }\nprotected: [PM_Internal]\n`));
    const hit = d.filter((x) => x.code === 'protected-role');
    expect(hit).toHaveLength(1);
    expect(hit[0]).toMatchObject({ severity: 'error', line: 10, column: 46, path: '/grants/0/to/1' });
    expect(hit[0].message).toBe('grant 1 would make "PM_Internal" a member of data_consumer roles, but protected[0] protects it: a protected role is never granted anything');
  });

  it('protected-role: case-insensitive on SQL Server, exact on PostgreSQL', () => {
    const grant = `grants:\n  - { persona: data_consumer, to: [internal], apps: [p2p] }\nprotected: [pm_internal]\n`;
    expect(diagnostics(base('sqlserver', grant)).some((x) => x.code === 'protected-role')).toBe(true);
    expect(diagnostics(base('postgres', grant)).some((x) => x.code === 'protected-role')).toBe(false);
  });

  it('protected-role: an adopted role and a generated name that a pattern protects', () => {
    const text = base('postgres', `grants: []\nprotected: ["svc_*", { role: "pmg_p2p_o*" }]\n`).replace('p2p: { schema: p2p }', 'p2p: { schema: p2p, roles: { data_consumer: svc_monitor } }');
    const hit = diagnostics(text).filter((x) => x.code === 'protected-role');
    expect(hit.map((x) => [x.path, x.message])).toEqual([
      ['/apps/p2p', 'role "pmg_p2p_owner", which pmgrants generates, is protected by protected[1] ("pmg_p2p_o*"); pmgrants would create and change it'],
      ['/apps/p2p/roles/data_consumer', 'app "p2p" adopts "svc_monitor" as its data_consumer role, but protected[0] ("svc_*") protects it: pmgrants would grant to it and change its members'],
    ]);
  });

  it('protected-entry: every name, PUBLIC, or an entry twice; the schema checks the shape', () => {
    const d = diagnostics(base('postgres', `grants: []\nprotected: ["*", PUBLIC, svc, { role: svc, members: [a] }, { role: x, colour: red }]\n`));
    expect(d.filter((x) => x.code === 'unknown-property').map((x) => x.path)).toEqual(['/protected/4/colour']);
    const ok = diagnostics(base('postgres', `grants: []\nprotected: ["*", PUBLIC, svc, { role: svc, members: [a] }]\n`));
    expect(ok.filter((x) => x.code === 'protected-entry').map((x) => [x.path, x.message])).toEqual([
      ['/protected/0', '"*" protects every name, the policy\'s own roles included'],
      ['/protected/1', '"PUBLIC" stands for every principal and cannot be protected: pmgrants revokes what PUBLIC holds on app schemas'],
      ['/protected/3/role', '"svc" is already protected by protected[2]'],
    ]);
  });

  it('a control character in a protected name is name-character', () => {
    const d = diagnostics(base('postgres', `grants: []\nprotected: ["svc\\u001b"]\n`));
    expect(d.filter((x) => x.code === 'name-character').map((x) => x.path)).toEqual(['/protected/0']);
  });
});

const policy: Policy = {
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'postgres', database: 'w' },
  security: { mode: 'system_managed' },
  principals: { analysts: { kind: 'database-role' } },
  apps: { p2p: { schema: 'p2p', source: 'closed' } },
  grants: [{ persona: 'data_consumer', to: ['analysts'], apps: ['p2p'] }],
  protected: [{ role: 'pm_internal', members: ['pm_service'] }, 'svc_*'],
};

const desired: DesiredState = compilePolicy(policy);
const select = (grantee: string): Permission => ({ grantee, on: { type: 'schema', name: 'p2p' }, privilege: 'select', effect: 'GRANT', withGrantOption: false });

describe('protected roles: plan', () => {
  it('compile carries the entries, members sorted', () => {
    expect(compilePolicy({ ...policy, protected: [{ role: 'r', members: ['b', 'a', 'b'] }] }).protected).toEqual([{ role: 'r', members: ['a', 'b'] }]);
  });

  it('authoritative: a protected role keeps its privileges on app schemas and its memberships; the plan says so once per role', () => {
    const actual: ActualState = {
      ...asApplied(desired),
      permissions: [...desired.permissions, select('pm_internal'), select('svc_monitor'), select('stranger')],
      memberships: [...desired.memberships, { role: 'pmg_p2p_data_consumer', member: 'pm_internal' }],
    };
    const plan = diffState(desired, actual);
    expect(plan.changes).toEqual([{ kind: 'revoke', permission: select('stranger') }]);
    expect(plan.warnings).toEqual([
      'protected role "pm_internal" (protected[0]) keeps what the policy does not give: select on schema p2p held by pm_internal, membership of pm_internal in pmg_p2p_data_consumer; pmgrants never changes a protected role (change it by hand if it is wrong)',
      'protected role "svc_monitor" (protected[1] ("svc_*")) keeps what the policy does not give: select on schema p2p held by svc_monitor; pmgrants never changes a protected role (change it by hand if it is wrong)',
    ]);
  });

  it('without the entries the same drift is revoked (the test above can fail)', () => {
    const bare = compilePolicy({ ...policy, protected: undefined });
    const actual: ActualState = { ...asApplied(bare), permissions: [...bare.permissions, select('pm_internal')] };
    expect(diffState(bare, actual).changes).toEqual([{ kind: 'revoke', permission: select('pm_internal') }]);
  });

  it('members the entry does not name are warnings, never changes; named ones are not', () => {
    const actual: ActualState = {
      ...asApplied(desired),
      memberships: [
        ...desired.memberships,
        { role: 'pm_internal', member: 'pm_service' },
        { role: 'pm_internal', member: 'alice' },
        { role: 'pm_internal', member: 'pmg_p2p_app' },
        { role: 'svc_backup', member: 'bob' },
      ],
      managed: [...asApplied(desired).managed],
    };
    const plan = diffState(desired, actual);
    expect(plan.changes).toEqual([]);
    expect(plan.warnings).toEqual([
      'protected role "pm_internal" (protected[0]) keeps what the policy does not give: membership of pmg_p2p_app in pm_internal; pmgrants never changes a protected role (change it by hand if it is wrong)',
      'protected role "pm_internal" has 2 members the policy does not name (protected[0].members): alice, pmg_p2p_app; pmgrants leaves them as they are',
      'protected role "svc_backup" has a member the policy does not name (protected[1].members): bob; pmgrants leaves it as it is',
    ]);
  });

  it('a managed role that is protected is never dropped, nor a schema taken from a protected owner', () => {
    const actual: ActualState = {
      ...asApplied(desired),
      roles: [...desired.roles, { name: 'svc_old', purpose: 'persona' }],
      schemas: [{ name: 'p2p', owner: 'svc_owner', app: 'p2p' }],
      managed: [...asApplied(desired).managed, 'svc_old'],
    };
    const plan = diffState(desired, actual);
    expect(plan.changes.filter((c) => c.kind === 'drop-role' || c.kind === 'alter-schema-owner')).toEqual([]);
    expect(plan.warnings.join('\n')).toContain('protected role "svc_old" (protected[1] ("svc_*")) keeps what the policy does not give: the role itself (no longer in the policy)');
    expect(plan.warnings.join('\n')).toContain('protected role "svc_owner" (protected[1] ("svc_*")) keeps what the policy does not give: ownership of schema p2p');
  });

  it('a desired state that would add to a protected role (validation skipped) fails the plan', () => {
    const bad: DesiredState = { ...desired, permissions: [...desired.permissions, select('svc_x')] };
    expect(() => diffState(bad, asApplied(desired))).toThrow('the plan would change protected role "svc_x" (protected[1] ("svc_*")), which pmgrants never does; validate the policy (rule protected-role) and plan again');
  });
});
