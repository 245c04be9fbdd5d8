/**
 * pmgrants report on SQL Server, without a server: the policy is applied to the catalog simulator (the
 * executable model of the documented statements, test/fixtures/sqlserver), its rows are read the way
 * ACCESS_SQL returns them (sys.* result sets, by name), hand-made drift is added to those rows, and the
 * evaluated report is compared cell by cell and with golden markdown and CSV.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sqlServerDialect } from '../../provider/engines/sqlserver';
import { CATALOG_BATCHES } from '../../provider/engines/sqlserver/catalog';
import { planOffline } from '../../provider/pipeline/plan';
import { compilePolicy } from '../../provider/model/compile';
import { buildReport } from '../../provider/report/compute';
import { formatReportCsv, formatReportMarkdown } from '../../provider/report/format';
import { SqlServerAccessRows, sqlServerAccessFacts } from '../../provider/engines/sqlserver/access-facts';
import { AccessReport } from '../../provider/report/types';
import { CatalogSimulator } from '../fixtures/sqlserver/catalog-simulator';
import { simulatorAccessRows } from '../fixtures/sqlserver/access-rows';
import { expectGolden } from '../fixtures/sqlserver/golden';
import { SYSTEM_MANAGED_YAML, policyFromYaml } from '../fixtures/sqlserver/policies';
import { Policy } from '../../provider/model/types';

const { ACCESS_SQL } = CATALOG_BATCHES;

const policy = policyFromYaml('policy.yaml', SYSTEM_MANAGED_YAML);
const NOW = new Date('2026-02-15T12:00:00Z');

/** The simulator's catalog as ACCESS_SQL's result sets, for the app schemas. */
function accessRows(sim: CatalogSimulator, appSchemas = ['purchase_to_pay', 'order_to_cash']): SqlServerAccessRows {
  return simulatorAccessRows(sim, 'AutomationSuite_ProcessMining_Warehouse', appSchemas);
}

function appliedRows(applied: Policy = policy, appSchemas?: string[]): SqlServerAccessRows {
  const sim = new CatalogSimulator('sqlserver', { clockStart: Date.parse('2026-01-01T00:00:00Z') });
  sim.logins.push({ name: 'reporting_svc', principal_id: 290, sid: '0x0000000000000000000000000000ABCD', type: 'S', is_disabled: 0, password_last_set: null });
  const rendered = planOffline(applied, sqlServerDialect);
  if (!('statements' in rendered)) throw new Error('no statements');
  const all = rendered.statements.flat();
  const secrets = new Map(all.flatMap((s) => s.params.flatMap((p) => ('secretFor' in p ? [[p.secretFor, 'Pw-0123456789-abcdef'] as [string, string]] : []))));
  sim.apply(all, secrets);
  return accessRows(sim, appSchemas);
}

/** Drift a DBA might leave, added to the catalog rows the way sys.* would show it. */
function withDrift(rows: SqlServerAccessRows): SqlServerAccessRows {
  const principals = [...rows.principals];
  const user = (name: string, type = 'S', is_sysadmin: number | null = 0) =>
    principals.push({ principal_id: 500 + principals.length, name, type, is_fixed_role: false, pmgrants_marker: null, password_last_set: null, is_sysadmin });
  const role = (name: string) => principals.push({ principal_id: 500 + principals.length, name, type: 'R', is_fixed_role: false, pmgrants_marker: null, password_last_set: null, is_sysadmin: null });
  user('bi_reader');
  user('etl_admin');
  user('CONTOSO\\ops', 'U', 1);
  role('report_writers');
  user('writer');
  const schemaGrant = (schema: string, grantee: string, permission: string, state = 'G') => ({ class: 3, schema_name: schema, grantee_name: grantee, permission_name: permission, state });
  return {
    ...rows,
    principals,
    members: [
      ...rows.members,
      { role_name: 'db_owner', member_name: 'etl_admin' },
      { role_name: 'db_datawriter', member_name: 'report_writers' },
      { role_name: 'report_writers', member_name: 'writer' },
    ],
    permissions: [
      ...rows.permissions,
      schemaGrant('order_to_cash', 'bi_reader', 'SELECT'), // an unmanaged reader
      schemaGrant('purchase_to_pay', 'finance-analysts', 'SELECT', 'D'), // wins over the persona's grant
      schemaGrant('purchase_to_pay', 'etl_admin', 'SELECT', 'D'), // db_owner is subject to DENY
      schemaGrant('purchase_to_pay', 'CONTOSO\\ops', 'SELECT', 'D'), // sysadmin is not
      schemaGrant('order_to_cash', 'public', 'VIEW DEFINITION'), // everyone reads o2c's definitions
    ],
  };
}

function report(rows: SqlServerAccessRows): AccessReport {
  return buildReport(sqlServerAccessFacts(rows), { desired: compilePolicy(policy), policy, policyFile: 'policy.yaml', asOf: 'Q1 2026 review', now: NOW });
}

describe('pmgrants report on SQL Server (catalog simulator rows)', () => {
  it('the converged warehouse: every cell expected, no drift, generated logins overdue after 45 days', () => {
    const r = report(appliedRows());
    expect(r.summary.cells.drift).toBe(0);
    expect(r.summary.cells.missing).toBe(0);
    expect(r.summary.cells.expected).toBeGreaterThan(0);
    expect(r.logins.map((l) => [l.login, l.ageDays, l.overdue])).toEqual([
      ['pmg_o2c_app', 45, true],
      ['pmg_p2p_app', 45, true],
    ]);
    expect(r.principals.find((p) => p.name === 'dbo')).toMatchObject({ origin: 'superuser', superuser: true });
  });

  const drifted = report(withDrift(appliedRows()));
  const cell = (principal: string, app: string, right: string) => drifted.cells.find((c) => c.principal === principal && c.app === app && c.right === right);
  const analysts = 'finance-analysts';

  it('DENY on the schema wins over the persona grant: the expected SELECT is missing, saying why', () => {
    expect(cell(analysts, 'p2p', 'select')).toMatchObject({ status: 'missing', paths: [] });
    expect(cell(analysts, 'p2p', 'select')!.detail).toMatch(/granted but denied: DENY SELECT on schema purchase_to_pay to /);
    expect(cell(analysts, 'o2c', 'select')).toMatchObject({ status: 'expected', paths: [{ kind: 'membership', via: ['pmg_o2c_data_consumer'] }] });
  });

  it('db_owner holds everything as a bypass but is subject to DENY; a sysadmin login is not', () => {
    expect(cell('etl_admin', 'o2c', 'delete')).toMatchObject({ status: 'privileged', paths: [{ kind: 'bypass', via: ['db_owner'] }] });
    expect(cell('etl_admin', 'p2p', 'select')).toBeUndefined();
    expect(cell('etl_admin', 'p2p', 'insert')).toMatchObject({ status: 'privileged' });
    expect(cell('CONTOSO\\ops', 'p2p', 'select')).toMatchObject({ status: 'privileged', paths: [{ kind: 'bypass', detail: expect.stringMatching(/sysadmin/) }] });
  });

  it('fixed roles through nested roles, unmanaged users and public show as drift with their path', () => {
    expect(cell('writer', 'p2p', 'update')).toMatchObject({ status: 'drift', paths: [{ kind: 'database', via: ['report_writers', 'db_datawriter'] }] });
    expect(cell('writer', 'p2p', 'select')).toBeUndefined();
    expect(cell('bi_reader', 'o2c', 'select')).toMatchObject({ status: 'drift', paths: [{ kind: 'direct' }] });
    expect(cell('public', 'o2c', 'view-definition')).toMatchObject({ status: 'drift', paths: [{ kind: 'public' }] });
    expect(cell('bi_reader', 'o2c', 'view-definition')).toMatchObject({ status: 'drift', paths: [{ kind: 'public' }] });
  });

  it('golden markdown and CSV', () => {
    expectGolden('report-system-managed.md', formatReportMarkdown(drifted));
    expectGolden('report-system-managed.csv', formatReportCsv(drifted));
  });

  it('ACCESS_SQL returns the columns the evaluator reads, in one batch of nine result sets', () => {
    for (const column of ['database_name', 'server_name', 'product_version', 'principal_id', 'is_fixed_role', 'pmgrants_marker', 'password_last_set', 'is_sysadmin', 'role_name', 'member_name', 'schema_name', 'grantee_name', 'permission_name', 'state', 'owner_name', 'object_name', 'column_name', 'principal_name', 'via_role', 'object_type', 'column_id', 'masking_function']) {
      expect(ACCESS_SQL).toContain(column);
    }
    expect(ACCESS_SQL).toContain('JOIN sys.masked_columns');
    expect(ACCESS_SQL.match(/^SELECT /gm)).toHaveLength(9);
  });
});

describe('pmgrants report on SQL Server: paths beyond schema grants', () => {
  const base = appliedRows();
  const principals = [...base.principals];
  const user = (name: string) => principals.push({ principal_id: 700 + principals.length, name, type: 'S', is_fixed_role: false, pmgrants_marker: null, password_last_set: null, is_sysadmin: 0 });
  for (const name of ['sec_admin', 'ddl_admin', 'def_reader', 'auditor', 'ops_admin', 'col_reader', 'obj_reader']) user(name);
  const object = (grantee: string, objectName: string, permission: string, state = 'G', column: string | null = null) => ({
    class: 1,
    schema_name: 'purchase_to_pay',
    grantee_name: grantee,
    permission_name: permission,
    state,
    object_name: objectName,
    column_name: column,
  });
  const rows = (guestConnect: boolean): SqlServerAccessRows => ({
    ...base,
    principals,
    members: [...base.members, { role_name: 'db_securityadmin', member_name: 'sec_admin' }, { role_name: 'db_ddladmin', member_name: 'ddl_admin' }],
    permissions: [
      ...base.permissions,
      ...(guestConnect ? [{ class: 0, schema_name: null, grantee_name: 'guest', permission_name: 'CONNECT', state: 'G' }] : []),
      { class: 3, schema_name: 'order_to_cash', grantee_name: 'guest', permission_name: 'SELECT', state: 'G' },
      object('col_reader', 'cases', 'SELECT', 'D'),
      object('col_reader', 'cases', 'SELECT', 'G', 'amount'),
      object('obj_reader', 'cases', 'SELECT'),
      object('finance-analysts', 'cases', 'SELECT', 'D'),
    ],
    serverRoles: [{ principal_name: 'def_reader', role_name: '##MS_DefinitionReader##' }],
    serverPermissions: [
      { principal_name: 'auditor', permission_name: 'SELECT ALL USER SECURABLES', state: 'G', via_role: null },
      { principal_name: 'ops_admin', permission_name: 'CONTROL SERVER', state: 'G', via_role: 'ops' },
    ],
  });
  const r = report(rows(true));
  const cell = (principal: string, app: string, right: string) => r.cells.find((c) => c.principal === principal && c.app === app && c.right === right);

  it("fixed roles' database permissions: db_securityadmin reads definitions (the provisioning login's administration), db_ddladmin references", () => {
    expect(cell('sec_admin', 'p2p', 'view-definition')).toMatchObject({ status: 'privileged', paths: [{ kind: 'admin', via: ['db_securityadmin'] }] });
    expect(r.principals.find((p) => p.name === 'sec_admin')).toMatchObject({ origin: 'administrator' });
    expect(cell('sec_admin', 'p2p', 'select')).toBeUndefined();
    expect(cell('ddl_admin', 'o2c', 'references')).toMatchObject({ status: 'drift', paths: [{ kind: 'database', via: ['db_ddladmin'] }] });
  });

  it("server permissions and roles of a principal's login reach every app schema", () => {
    expect(cell('def_reader', 'p2p', 'view-definition')).toMatchObject({ status: 'drift' });
    expect(cell('def_reader', 'p2p', 'select')).toBeUndefined();
    expect(cell('auditor', 'o2c', 'select')).toMatchObject({ status: 'drift' });
    expect(cell('auditor', 'o2c', 'update')).toBeUndefined();
    expect(cell('ops_admin', 'p2p', 'delete')).toMatchObject({ status: 'drift' });
  });

  it('guest reaches what it is granted only while it has CONNECT (every login without a user enters as guest)', () => {
    expect(cell('guest', 'o2c', 'select')).toMatchObject({ status: 'drift', paths: [{ kind: 'direct' }] });
    expect(report(rows(false)).cells.find((c) => c.principal === 'guest')).toBeUndefined();
  });

  it('object and column permissions list the objects and columns: a column GRANT beats a table DENY, an object DENY cuts a schema grant', () => {
    expect(cell('col_reader', 'p2p', 'select')).toMatchObject({ objects: [], columns: [{ object: 'cases', column: 'amount', visibility: 'clear' }] });
    expect(cell('obj_reader', 'p2p', 'select')).toMatchObject({ objects: ['cases'], paths: [{ kind: 'direct', objects: ['cases'] }] });
    expect(cell('finance-analysts', 'p2p', 'select')).toMatchObject({ except: ['cases'] });
    expect(cell('finance-analysts', 'p2p', 'select')!.objects).toBeUndefined();
  });

  it('object and column permissions: part of the schema, a column GRANT beats a table DENY, an object DENY cuts a schema grant (details)', () => {
    expect(cell('col_reader', 'p2p', 'select')).toMatchObject({ status: 'drift', detail: expect.stringMatching(/SELECT on purchase_to_pay.cases \(amount\)/) });
    expect(cell('col_reader', 'p2p', 'select')!.paths[0].detail).toMatch(/column GRANT beats the table DENY/);
    expect(cell('obj_reader', 'p2p', 'select')).toMatchObject({ status: 'drift', detail: expect.stringMatching(/SELECT on purchase_to_pay.cases/) });
    expect(cell('finance-analysts', 'p2p', 'select')).toMatchObject({ status: 'missing', detail: expect.stringMatching(/except purchase_to_pay.cases/) });
  });
});

describe('pmgrants report on SQL Server: the members of a team role', () => {
  // The UiPath example's teams are database roles a DBA fills; the report reads their members.
  const teams = policyFromYaml('uipath-system-managed.yaml', fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'uipath-system-managed.yaml'), 'utf8'));
  const applied = appliedRows(teams, ['p2p', 'o2c', 'invoices']);
  const rows: SqlServerAccessRows = {
    ...applied,
    principals: [...applied.principals, { principal_id: 900, name: 'jane', type: 'S', is_fixed_role: false, pmgrants_marker: null, password_last_set: null, is_sysadmin: 0 }],
    members: [...applied.members, { role_name: 'PM_Finance_Analysts', member_name: 'jane' }],
  };
  const r = buildReport(sqlServerAccessFacts(rows), { desired: compilePolicy(teams), policy: teams, now: NOW });

  it('is expected through the team, and the converged warehouse has no drift', () => {
    expect(r.principals.find((p) => p.name === 'jane')).toMatchObject({ origin: 'member', memberOf: ['PM_Finance_Analysts'] });
    expect(r.cells.find((c) => c.principal === 'jane' && c.app === 'purchase-to-pay' && c.right === 'select')).toMatchObject({
      status: 'expected',
      through: 'PM_Finance_Analysts',
      paths: [{ kind: 'membership', via: ['PM_Finance_Analysts', 'pmg_purchase-to-pay_data_consumer'] }],
    });
    expect(r.summary.cells.drift).toBe(0);
  });
});

describe('pmgrants report on SQL Server: the provisioning login, group principals and object owners', () => {
  const base = appliedRows();
  const extra = (name: string, type = 'S') => ({ principal_id: 800 + name.length, name, type, is_fixed_role: false, pmgrants_marker: null, password_last_set: null, is_sysadmin: 0 });
  const rows: SqlServerAccessRows = {
    ...base,
    principals: [...base.principals, extra('provisioner'), extra('bi_owner'), { ...extra('side_owners', 'R'), principal_id: 850, is_sysadmin: null }, { ...extra('carl'), principal_id: 851 }],
    // Seed 000's provisioning login: db_securityadmin and db_accessadmin in the warehouse.
    members: [...base.members, { role_name: 'db_securityadmin', member_name: 'provisioner' }, { role_name: 'db_accessadmin', member_name: 'provisioner' }, { role_name: 'side_owners', member_name: 'carl' }],
    permissions: [...base.permissions, { class: 1, schema_name: 'order_to_cash', grantee_name: 'side_owners', permission_name: 'SELECT', state: 'D', object_name: 'shared', column_name: null }],
    // A table and a view given owners of their own (ALTER AUTHORIZATION ON OBJECT).
    objectOwners: [
      { schema_name: 'purchase_to_pay', object_name: 'bi_extract', owner_name: 'bi_owner' },
      { schema_name: 'order_to_cash', object_name: 'shared', owner_name: 'side_owners' },
    ],
  };
  const r = report(rows);
  const cell = (principal: string, app: string, right: string) => r.cells.find((c) => c.principal === principal && c.app === app && c.right === right);

  it('the provisioning login is an administrator: what its roles give is privileged, and the warehouse has no drift', () => {
    expect(r.principals.find((p) => p.name === 'provisioner')).toMatchObject({ origin: 'administrator', notes: [expect.stringMatching(/^member of db_(securityadmin|accessadmin): an administrator/)] });
    expect(cell('provisioner', 'p2p', 'view-definition')).toMatchObject({ status: 'privileged', paths: [{ kind: 'admin', via: ['db_securityadmin'] }] });
    expect(r.cells.filter((c) => c.principal === 'provisioner').map((c) => c.status)).toEqual(['privileged', 'privileged']);
    expect(r.summary.principalsWithDrift).not.toContain('provisioner');
  });

  it('the members of a Windows or Entra group are their group: the group user is the row, expected, and no member appears', () => {
    expect(r.principals.find((p) => p.name === 'CONTOSO\\PM Admins')).toMatchObject({ origin: 'policy', kind: 'group' });
    expect(cell('CONTOSO\\PM Admins', 'p2p', 'select')).toMatchObject({ status: 'expected', paths: [{ kind: 'membership', via: ['pmg_app_admin'] }] });
    // The Entra group's user (the simulator does not tell Entra groups from users by type).
    expect(r.principals.find((p) => p.name === 'finance-analysts')).toMatchObject({ origin: 'policy' });
    expect(cell('finance-analysts', 'o2c', 'select')).toMatchObject({ status: 'expected' });
    expect(r.principals.filter((p) => p.origin === 'member')).toEqual([]);
  });

  it('an object owner other than the schema owner holds every right on its objects, listed; a DENY stops an owning role\'s members only', () => {
    expect(cell('bi_owner', 'p2p', 'alter')).toMatchObject({ status: 'drift', objects: ['bi_extract'], paths: [{ kind: 'ownership', objects: ['bi_extract'] }] });
    expect(cell('bi_owner', 'p2p', 'select')).toMatchObject({ status: 'drift', objects: ['bi_extract'] });
    expect(cell('bi_owner', 'o2c', 'select')).toBeUndefined();
    expect(cell('carl', 'o2c', 'update')).toMatchObject({ status: 'drift', objects: ['shared'], paths: [{ kind: 'ownership', via: ['side_owners'] }] });
    expect(cell('carl', 'o2c', 'select')).toBeUndefined(); // DENY SELECT on the object to the owning role
    expect(cell('side_owners', 'o2c', 'select')).toMatchObject({ status: 'drift', objects: ['shared'] }); // the owner itself: no DENY applies
  });
});
