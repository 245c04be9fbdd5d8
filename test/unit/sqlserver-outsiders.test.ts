/**
 * SQL Server: an app schema's ACLs are the policy's. Grants others made on an app schema or on its
 * objects, to public or to principals the policy does not name, are drift; a tolerated grantee, a DENY,
 * and anything outside the app schemas are left alone. Catalog rows shaped like sys.* results.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectSqlServer, SqlServerCatalogRows, sqlServerDialect } from '../../provider/engines/sqlserver';
import { compilePolicy } from '../../provider/model/compile';
import { diffState } from '../../provider/plan/diff';
import { describeChange } from '../../provider/plan/describe';
import { expectGolden, formatRendered } from '../fixtures/sqlserver/golden';
import { policyFromYaml, SYSTEM_MANAGED_YAML } from '../fixtures/sqlserver/policies';

const { _comment, ...rows } = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'sqlserver', 'outsiders-system-managed.sqlserver.json'), 'utf8')) as SqlServerCatalogRows & { _comment: string };
void _comment;
const desired = { ...sqlServerDialect.realize(compilePolicy(policyFromYaml('sm.yaml', SYSTEM_MANAGED_YAML))), tolerateGrantees: ['backup_reader'] };
const actual = inspectSqlServer(rows, { engine: 'sqlserver', database: desired.database, prefix: desired.prefix, desired });
const plan = diffState(desired, actual);

describe('SQL Server: grants outside the policy on app schemas and their objects', () => {
  it('reads grants to anyone on the app schemas and their objects (class 1 rows), public included; elsewhere only the managed vocabulary', () => {
    const outside = actual.permissions.filter((p) => ['public', 'bi_readers', 'backup_reader', 'finance-analysts'].includes(p.grantee) || p.on.type === 'engine');
    expect(outside.map((p) => `${p.grantee} ${p.effect} ${p.privilege} ${describeChange({ kind: 'grant', permission: p }).text.replace(/^grant \S+( \S+)? on /, '').replace(/ to .*/, '')}${p.withGrantOption ? ' (with grant option)' : ''}`)).toEqual([
      'backup_reader GRANT SELECT schema purchase_to_pay',
      'bi_readers GRANT SELECT schema dbo',
      'bi_readers GRANT SELECT schema order_to_cash',
      'bi_readers GRANT CONTROL schema purchase_to_pay',
      'finance-analysts GRANT SELECT object purchase_to_pay.cases (with grant option)',
      'pmg_p2p_app GRANT SELECT object order_to_cash.orders',
      'public GRANT EXECUTE object purchase_to_pay.usp_load_cases',
      'public GRANT SELECT schema purchase_to_pay',
    ]);
    // Not the object grant in dbo (not an app schema), nor the DENY to public on an app object.
    expect(actual.permissions.some((p) => p.effect === 'DENY' || (p.on.type === 'engine' && p.on.name === 'dbo'))).toBe(false);
  });

  it('plans a REVOKE for each (CASCADE where held WITH GRANT OPTION), leaves the tolerated grantee alone, and never alters a principal', () => {
    expect(plan.changes.every((c) => c.kind === 'revoke')).toBe(true);
    expect(JSON.stringify(plan.changes)).not.toContain('backup_reader');
    const rendered = plan.changes.map((change) => ({ change, statements: sqlServerDialect.render([change], desired) }));
    expect(rendered.flatMap((r) => r.statements.map((s) => s.sql))).toEqual([
      'REVOKE SELECT ON SCHEMA::[order_to_cash] FROM [bi_readers] AS [pmg_o2c_owner];',
      'REVOKE CONTROL ON SCHEMA::[purchase_to_pay] FROM [bi_readers] AS [pmg_p2p_owner];',
      'REVOKE SELECT ON OBJECT::[purchase_to_pay].[cases] FROM [finance-analysts] CASCADE AS [pmg_p2p_owner];',
      'REVOKE SELECT ON OBJECT::[order_to_cash].[orders] FROM [pmg_p2p_app] AS [pmg_o2c_owner];',
      'REVOKE EXECUTE ON OBJECT::[purchase_to_pay].[usp_load_cases] FROM [public] AS [pmg_p2p_owner];',
      'REVOKE SELECT ON SCHEMA::[purchase_to_pay] FROM [public] AS [pmg_p2p_owner];',
    ]);
    // The unmanaged role's SELECT on dbo is outside the app schemas: left alone.
    expectGolden('outsiders.sqlserver.sql', formatRendered(rendered));
  });

  it('converges: once the revokes are applied (the rows gone), nothing is left to do', () => {
    const revoked = new Set(plan.changes.map((c) => (c.kind === 'revoke' ? JSON.stringify([c.permission.grantee, c.permission.privilege, c.permission.on]) : '')));
    const after = inspectSqlServer(rows, { engine: 'sqlserver', database: desired.database, prefix: desired.prefix, desired });
    after.permissions = after.permissions.filter((p) => !revoked.has(JSON.stringify([p.grantee, p.privilege, p.on])));
    expect(diffState(desired, after).changes).toEqual([]);
  });

  it('additive enforcement revokes nothing; without tolerance the backup role is drift too; a name that is not upper-case words is never spliced', () => {
    expect(diffState({ ...desired, enforcement: 'additive' }, actual).changes).toEqual([]);
    const strict = diffState({ ...desired, tolerateGrantees: undefined }, actual).changes;
    expect(strict.some((c) => c.kind === 'revoke' && c.permission.grantee === 'backup_reader')).toBe(true);
    const hostile = { grantee: 'public', on: { type: 'engine' as const, kind: 'object:cases', name: 'purchase_to_pay' }, privilege: 'SELECT; DROP TABLE x', effect: 'GRANT' as const, withGrantOption: false };
    expect(() => sqlServerDialect.render([{ kind: 'revoke', permission: hostile }], desired)).toThrow();
  });
});
