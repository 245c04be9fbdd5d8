import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  SqlServerCatalogRows,
  azureSqlDialect,
  createSqlServerDialect,
  generateSqlServerPassword,
  inspectSqlServer,
  sqlServerDialect,
} from '../../provider/engines/sqlserver';
import { compilePolicy } from '../../provider/model/compile';
import { emptyState } from '../../provider/model/state';
import { DesiredState, ActualState } from '../../provider/model/types';
import { diffState } from '../../provider/plan/diff';
import { CatalogSimulator } from '../fixtures/sqlserver/catalog-simulator';
import { SINGLE_ACCOUNT_YAML, SYSTEM_MANAGED_YAML, policyFromYaml } from '../fixtures/sqlserver/policies';

const FIXTURES = join(__dirname, '..', 'fixtures', 'sqlserver');
const readRows = (file: string): SqlServerCatalogRows => {
  const { _comment, ...rows } = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as SqlServerCatalogRows & { _comment?: string };
  void _comment;
  return rows;
};

describe('inspectSqlServer on catalog rows', () => {
  const rows = readRows('inspect-mixed.json');
  const actual = inspectSqlServer(rows, { engine: 'sqlserver', database: 'pm_warehouse', prefix: 'pmg_' });

  it('reports users with their sources, matched to logins by SID (case-insensitive hex)', () => {
    expect(actual.users).toEqual([
      { name: 'CONTOSO\\PM Admins', purpose: 'principal', source: { type: 'windows', kind: 'windows-group' } },
      { name: 'analysts', purpose: 'principal', source: { type: 'external', kind: 'entra-group', objectId: '0a0b0c0d-1111-4222-8333-944455556666' } },
      { name: 'pmg_p2p_app', purpose: 'app-login', source: { type: 'login', login: 'pmg_p2p_app' } },
      { name: 'reporting_svc', purpose: 'principal', source: { type: 'login', login: 'reporting_svc' } },
    ]);
  });

  it('reports user-defined roles only (no public, no fixed roles) and schemas without the system ones', () => {
    expect(actual.roles.map((r) => r.name)).toEqual(['pmg_lookalike', 'pmg_p2p_data_consumer', 'pmg_p2p_owner', 'pmg_p2p_process_admin', 'report_reader']);
    expect(actual.roles.find((r) => r.name === 'pmg_p2p_owner')?.purpose).toBe('schema-owner');
    expect(actual.schemas).toEqual([
      { name: 'legacy', owner: 'dbo', app: '' },
      { name: 'p2p', owner: 'pmg_p2p_owner', app: '' },
    ]);
  });

  it('reports prefixed SQL logins, with password age, and never foreign ones', () => {
    expect(actual.logins.map((l) => l.name)).toEqual(['pmg_p2p_app', 'pmg_stray_app']);
    expect(actual.passwordSetAt).toEqual({ pmg_p2p_app: '2026-01-02T03:04:05.678Z' });
  });

  it('marks as managed only prefix + marker principals, and logins whose SID is a managed user\'s', () => {
    expect(actual.managed).toEqual(['pmg_p2p_app', 'pmg_p2p_data_consumer', 'pmg_p2p_owner', 'pmg_p2p_process_admin']);
    // The look-alike role has the prefix but no marker; the stray login has no managed user; analysts has the marker but not the prefix.
    expect(actual.managed).not.toContain('pmg_lookalike');
    expect(actual.managed).not.toContain('pmg_stray_app');
    expect(actual.managed).not.toContain('analysts');
  });

  it('reads GRANT, DENY and WITH GRANT OPTION within the managed vocabulary only (without a desired state, no schema is an app schema)', () => {
    expect(actual.permissions).toEqual([
      { grantee: 'pmg_p2p_app', on: { type: 'database' }, privilege: 'CREATE TABLE', effect: 'GRANT', withGrantOption: false },
      { grantee: 'pmg_p2p_data_consumer', on: { type: 'schema', name: 'p2p' }, privilege: 'SELECT', effect: 'GRANT', withGrantOption: false },
      { grantee: 'pmg_p2p_data_consumer', on: { type: 'schema', name: 'p2p' }, privilege: 'VIEW DEFINITION', effect: 'DENY', withGrantOption: false },
      { grantee: 'pmg_p2p_process_admin', on: { type: 'database' }, privilege: 'CREATE VIEW', effect: 'GRANT', withGrantOption: true },
      { grantee: 'pmg_p2p_process_admin', on: { type: 'role', name: 'pmg_p2p_data_consumer' }, privilege: 'ALTER', effect: 'GRANT', withGrantOption: false },
      { grantee: 'pmg_p2p_process_admin', on: { type: 'schema', name: 'p2p' }, privilege: 'SELECT', effect: 'GRANT', withGrantOption: true },
      { grantee: 'report_reader', on: { type: 'schema', name: 'legacy' }, privilege: 'SELECT', effect: 'GRANT', withGrantOption: false },
    ]);
  });

  it('reports memberships by name, fixed roles included (so drift into db_owner is visible)', () => {
    expect(actual.memberships).toEqual([
      { role: 'db_owner', member: 'dbo' },
      { role: 'db_owner', member: 'pmg_p2p_app' },
      { role: 'pmg_p2p_data_consumer', member: 'analysts' },
      { role: 'pmg_p2p_process_admin', member: 'CONTOSO\\PM Admins' },
      { role: 'report_reader', member: 'reporting_svc' },
    ]);
  });

  it('plans the drift back: DENY revoked then granted, grant option revoked alone, db_owner membership dropped', () => {
    const desired: DesiredState = sqlServerDialect.realize({
      ...emptyState('neutral', 'pm_warehouse'),
      prefix: 'pmg_',
      mode: 'system_managed',
      enforcement: 'authoritative',
      prune: false,
      appLogins: {},
      logins: [{ name: 'pmg_p2p_app', purpose: 'app-login', app: 'p2p', password: 'generated' }],
      users: [{ name: 'pmg_p2p_app', purpose: 'app-login', app: 'p2p', source: { type: 'login', login: 'pmg_p2p_app' } }],
      roles: [
        { name: 'pmg_p2p_owner', purpose: 'schema-owner', app: 'p2p' },
        { name: 'pmg_p2p_data_consumer', purpose: 'persona', app: 'p2p', persona: 'data_consumer' },
        { name: 'pmg_p2p_process_admin', purpose: 'persona', app: 'p2p', persona: 'process_admin' },
      ],
      schemas: [{ name: 'p2p', owner: 'pmg_p2p_owner', app: 'p2p' }],
      memberships: [{ role: 'pmg_p2p_data_consumer', member: 'analysts' }],
      permissions: [
        { grantee: 'pmg_p2p_app', on: { type: 'schema', name: 'p2p' }, privilege: 'create-objects', effect: 'GRANT', withGrantOption: false },
        { grantee: 'pmg_p2p_data_consumer', on: { type: 'schema', name: 'p2p' }, privilege: 'select', effect: 'GRANT', withGrantOption: false },
        { grantee: 'pmg_p2p_data_consumer', on: { type: 'schema', name: 'p2p' }, privilege: 'view-definition', effect: 'GRANT', withGrantOption: false },
        { grantee: 'pmg_p2p_process_admin', on: { type: 'schema', name: 'p2p' }, privilege: 'select', effect: 'GRANT', withGrantOption: false },
        { grantee: 'pmg_p2p_process_admin', on: { type: 'role', name: 'pmg_p2p_data_consumer' }, privilege: 'manage-membership', effect: 'GRANT', withGrantOption: false },
      ],
    });
    const plan = diffState(desired, inspectSqlServer(rows, { engine: 'sqlserver', database: 'pm_warehouse', prefix: 'pmg_', desired }));
    const sql = plan.changes.flatMap((c) => sqlServerDialect.render([c], desired)).map((s) => s.sql);
    expect(sql).toEqual([
      'REVOKE VIEW DEFINITION ON SCHEMA::[p2p] FROM [pmg_p2p_data_consumer] AS [pmg_p2p_owner];',
      'REVOKE GRANT OPTION FOR SELECT ON SCHEMA::[p2p] FROM [pmg_p2p_process_admin] CASCADE AS [pmg_p2p_owner];',
      'REVOKE CREATE VIEW FROM [pmg_p2p_process_admin] CASCADE AS [dbo];',
      // p2p is an app schema of this desired state: its ACL is the policy's, CONTROL included.
      'REVOKE CONTROL ON SCHEMA::[p2p] FROM [pmg_p2p_process_admin] AS [pmg_p2p_owner];',
      // These rows carry no session row (read before it was): fixed roles are treated as changeable.
      'ALTER ROLE [db_owner] DROP MEMBER [pmg_p2p_app];',
      'ALTER ROLE [pmg_p2p_process_admin] DROP MEMBER [CONTOSO\\PM Admins];',
      'GRANT CREATE FUNCTION TO [pmg_p2p_app] AS [dbo];',
      'GRANT CREATE PROCEDURE TO [pmg_p2p_app] AS [dbo];',
      'GRANT CREATE VIEW TO [pmg_p2p_app] AS [dbo];',
      'GRANT VIEW DEFINITION ON SCHEMA::[p2p] TO [pmg_p2p_data_consumer] AS [pmg_p2p_owner];',
      'GRANT SELECT ON SCHEMA::[p2p] TO [pmg_p2p_process_admin] AS [pmg_p2p_owner];',
    ]);
    // Never touched: the unmarked look-alike, the stray login, and report_reader's grant on legacy.
    expect(JSON.stringify(plan.changes)).not.toMatch(/pmg_lookalike|pmg_stray_app|report_reader/);
  });
});

describe('inspectSqlServer: contained logins (Azure SQL)', () => {
  it('reports a marked contained user WITH PASSWORD as both the login and its user', () => {
    const rows = readRows('inspect-mixed.json');
    rows.logins = [];
    rows.principals.push({
      principal_id: 40,
      name: 'pmg_shared',
      type: 'S',
      authentication_type: 2,
      sid: '0x0106000000000064000000000000000014585E90117152449347750164BA00A7',
      is_fixed_role: false,
      entra_object_id: null,
      modify_date: '2026-02-03T04:05:06.000',
      pmgrants_marker: 'pmgrants/v1',
    });
    const actual = inspectSqlServer(rows, { engine: 'azure-sql', database: 'pm_warehouse', prefix: 'pmg_', generatedLogins: 'contained' });
    expect(actual.logins).toEqual([{ name: 'pmg_shared', purpose: 'shared-login', password: 'generated' }]);
    expect(actual.users.find((u) => u.name === 'pmg_shared')?.source).toEqual({ type: 'login', login: 'pmg_shared' });
    expect(actual.managed).toContain('pmg_shared');
    expect(actual.passwordSetAt).toEqual({ pmg_shared: '2026-02-03T04:05:06.000Z' });
  });
});

/**
 * Convergence fixtures: the catalog rows of a warehouse after applying a policy, stored as JSON exactly
 * as the inspect queries return them (written once from the simulator; PMGRANTS_UPDATE_GOLDEN=1 rewrites).
 */
function convergedRows(file: string, yaml: string, dialect: ReturnType<typeof createSqlServerDialect>, seed: (sim: CatalogSimulator) => void): SqlServerCatalogRows {
  const path = join(FIXTURES, file);
  if (process.env.PMGRANTS_UPDATE_GOLDEN === '1' || !existsSync(path)) {
    const desired = dialect.realize(compilePolicy(policyFromYaml(file, yaml)));
    const plan = diffState(desired, { ...emptyState(desired.engine, desired.database), managed: [] });
    const statements = plan.changes.flatMap((c) => dialect.render([c], desired));
    const sim = new CatalogSimulator(dialect.options.engine);
    seed(sim);
    const secrets = new Map(desired.logins.map((l) => [l.name, generateSqlServerPassword(l.name)]));
    sim.apply(statements, secrets);
    writeFileSync(path, `${JSON.stringify(sim.rows(), null, 1)}\n`);
  }
  return readRows(file);
}

describe('convergence: realize(desired) against inspect(rows of that same state) plans nothing', () => {
  const seedReporting = (sim: CatalogSimulator) =>
    sim.logins.push({ name: 'reporting_svc', principal_id: 290, sid: '0x0000000000000000000000000000ABCD', type: 'S', is_disabled: 0, password_last_set: null });

  it('system_managed on SQL Server', () => {
    const rows = convergedRows('converged-system-managed.sqlserver.json', SYSTEM_MANAGED_YAML, sqlServerDialect, seedReporting);
    const desired = sqlServerDialect.realize(compilePolicy(policyFromYaml('sm.yaml', SYSTEM_MANAGED_YAML)));
    const actual: ActualState = inspectSqlServer(rows, { engine: 'sqlserver', database: desired.database, prefix: desired.prefix, desired });
    expect(diffState(desired, actual).changes).toEqual([]);
    // Without the desired state for labels, the same rows still converge (labels never decide existence).
    const unlabeled = inspectSqlServer(rows, { engine: 'sqlserver', database: desired.database, prefix: desired.prefix });
    expect(diffState(desired, unlabeled).changes).toEqual([]);
  });

  it('single_account on Azure SQL (logins in master)', () => {
    const yaml = SINGLE_ACCOUNT_YAML;
    const rows = convergedRows('converged-single-account.azure-sql.json', yaml, azureSqlDialect, () => undefined);
    const desired = azureSqlDialect.realize(compilePolicy(policyFromYaml('sa.yaml', yaml)));
    const actual = inspectSqlServer(rows, { engine: 'azure-sql', database: desired.database, prefix: desired.prefix, desired });
    expect(diffState(desired, actual).changes).toEqual([]);
    expect(actual.managed).toContain('pmg_shared');
  });

  it('a fixture missing one grant plans exactly that grant', () => {
    const rows = readRows('converged-system-managed.sqlserver.json');
    const desired = sqlServerDialect.realize(compilePolicy(policyFromYaml('sm.yaml', SYSTEM_MANAGED_YAML)));
    const consumer = rows.principals.find((p) => p.name === 'pmg_p2p_data_consumer')!;
    rows.permissions = rows.permissions.filter((p) => !(p.grantee_principal_id === consumer.principal_id && p.permission_name === 'SELECT'));
    const plan = diffState(desired, inspectSqlServer(rows, { engine: 'sqlserver', database: desired.database, prefix: desired.prefix, desired }));
    expect(plan.changes.flatMap((c) => sqlServerDialect.render([c], desired)).map((s) => s.sql)).toEqual([
      'GRANT SELECT ON SCHEMA::[purchase_to_pay] TO [pmg_p2p_data_consumer] AS [pmg_p2p_owner];',
    ]);
  });
});
