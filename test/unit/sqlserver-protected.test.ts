/**
 * SQL Server: protected roles and password lifetimes, from catalog rows shaped like sys.* results.
 * A protected database role keeps what it holds on the app schemas and its members, in authoritative
 * enforcement; names compare case-insensitively. A login has no expiry time, so a password past
 * security.rotation.validFor (counted from LOGINPROPERTY's PasswordLastSetTime) is replaced by the plan,
 * and a checkout renders as the same server-side ALTER LOGIN.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectSqlServer, SqlServerCatalogRows, sqlServerDialect } from '../../provider/engines/sqlserver';
import { compilePolicy } from '../../provider/model/compile';
import { checkoutPlan } from '../../provider/plan/checkout';
import { diffState } from '../../provider/plan/diff';
import { expectGolden, formatRendered } from '../fixtures/sqlserver/golden';
import { policyFromYaml, SYSTEM_MANAGED_YAML } from '../fixtures/sqlserver/policies';

const { _comment, ...fixture } = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'sqlserver', 'outsiders-system-managed.sqlserver.json'), 'utf8')) as SqlServerCatalogRows & { _comment: string };
void _comment;

/** The outsiders catalog plus a platform role, PM_Internal, with its service user and a user nobody named. */
const rows: SqlServerCatalogRows = {
  ...fixture,
  principals: [
    ...fixture.principals,
    { ...fixture.principals.find((p) => p.name === 'bi_readers')!, principal_id: 40, name: 'PM_Internal' },
    { ...fixture.principals.find((p) => p.name === 'reporting_svc')!, principal_id: 41, name: 'PM_Service', sid: '0x00000000000000000000000000000041', pmgrants_marker: null },
    { ...fixture.principals.find((p) => p.name === 'reporting_svc')!, principal_id: 42, name: 'contractor', sid: '0x00000000000000000000000000000042', pmgrants_marker: null },
  ],
  roleMembers: [...fixture.roleMembers, { role_principal_id: 40, member_principal_id: 41 }, { role_principal_id: 40, member_principal_id: 42 }],
};

const protectedYaml = `${SYSTEM_MANAGED_YAML}protected:\n  - { role: pm_internal, members: [pm_service], description: the platform's own service role }\n  - "BI_*"\n`;
const desired = { ...sqlServerDialect.realize(compilePolicy(policyFromYaml('sm.yaml', protectedYaml))), tolerateGrantees: ['backup_reader'] };
const inspect = (d: typeof desired) => inspectSqlServer(rows, { engine: 'sqlserver', database: d.database, prefix: d.prefix, desired: d });

describe('SQL Server: protected roles', () => {
  const plan = diffState(desired, inspect(desired));

  it('the grants a protected role holds on app schemas are kept (compared case-insensitively), the rest of the drift is revoked', () => {
    const rendered = plan.changes.map((change) => ({ change, statements: sqlServerDialect.render([change], desired) }));
    const sql = rendered.flatMap((r) => r.statements.map((s) => s.sql));
    expect(sql.join('\n')).not.toMatch(/bi_readers|PM_Internal|PM_Service|contractor/i);
    expect(sql.some((line) => line.startsWith('REVOKE SELECT ON SCHEMA::[purchase_to_pay] FROM [public]'))).toBe(true);
    expectGolden('protected.sqlserver.sql', formatRendered(rendered));
  });

  it('the plan says what it keeps and which members the policy does not name', () => {
    expect(plan.warnings).toEqual([
      'protected role "bi_readers" (protected[1] ("BI_*")) keeps what the policy does not give: UPDATE on column purchase_to_pay.cases.amount held by bi_readers, SELECT on schema order_to_cash held by bi_readers, CONTROL on schema purchase_to_pay held by bi_readers and 1 more; pmgrants never changes a protected role (change it by hand if it is wrong)',
      'protected role "PM_Internal" has a member the policy does not name (protected[0].members): contractor; pmgrants leaves it as it is',
    ]);
  });

  it('without the entries the same catalog revokes from bi_readers (the test above can fail)', () => {
    const bare = { ...desired, protected: undefined };
    expect(diffState(bare, inspect(bare)).changes.some((c) => c.kind === 'revoke' && c.permission.grantee === 'bi_readers')).toBe(true);
  });
});

describe('SQL Server: password lifetime without an expiry time', () => {
  const yaml = SYSTEM_MANAGED_YAML.replace('rotation: { maxAgeDays: 30 }', 'rotation: { validFor: 8h }');
  const lifetime = sqlServerDialect.realize(compilePolicy(policyFromYaml('sm.yaml', yaml)));
  const actual = inspectSqlServer(fixture, { engine: 'sqlserver', database: lifetime.database, prefix: lifetime.prefix, desired: lifetime });

  it('past validFor from PasswordLastSetTime, the plan replaces the password (reason expired); before it, nothing', () => {
    const rotations = (now: string) => diffState(lifetime, actual, { now: new Date(now) }).changes.filter((c) => c.kind === 'rotate-password');
    expect(rotations('2026-01-01T08:00:01.500Z')).toEqual([{ kind: 'rotate-password', login: 'pmg_o2c_app', reason: 'expired' }]);
    expect(rotations('2026-01-01T07:59:00Z')).toEqual([]);
    const both = rotations('2026-01-02T00:00:00Z');
    expect(both.map((c) => c.kind === 'rotate-password' && c.login)).toEqual(['pmg_o2c_app', 'pmg_p2p_app']);
    const rendered = both.map((change) => ({ change, statements: sqlServerDialect.render([change], lifetime) }));
    const checkout = checkoutPlan(lifetime, actual, 'pmg_p2p_app').changes.map((change) => ({ change, statements: sqlServerDialect.render([change], lifetime) }));
    expectGolden('password-lifetime.sqlserver.sql', formatRendered([...rendered, ...checkout]));
  });
});
