/**
 * pmgrants report on SQL Server with personal data (Dynamic Data Masking, engines/sqlserver/masking.ts),
 * without a server. The fixture test/fixtures/sqlserver/access-masked-app.sqlserver.json holds ACCESS_SQL's
 * nine result sets (sql/access-*.sql, by their column aliases) of a warehouse where the policy below was
 * applied by the catalog simulator (masks on the personal columns, UNMASK on the schema for its owner and
 * the process admins, SELECT on every column of each table for the data consumers, on the columns that are
 * not personal for the auditors), plus an outsider a DBA granted SELECT on the schema. The report is
 * compared cell by cell; then the same is checked against the simulator itself: what the report says each
 * principal reads of each column is what CatalogSimulator.reads (the documented rules) says it reads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectSqlServer } from '../../provider/engines/sqlserver';
import { SqlServerAccessRows, sqlServerAccessFacts } from '../../provider/engines/sqlserver/access-facts';
import { compilePolicy } from '../../provider/model/compile';
import { applyRendered, planLive } from '../../provider/pipeline/plan';
import { buildReport } from '../../provider/report/compute';
import { formatReportMarkdown } from '../../provider/report/format';
import { AccessReport } from '../../provider/report/types';
import { CatalogSimulator } from '../fixtures/sqlserver/catalog-simulator';
import { simulatorAccessRows } from '../fixtures/sqlserver/access-rows';
import { FakeServer, fakeMssql } from '../fixtures/sqlserver/fake-mssql';
import { SEED_SYSTEM_MANAGED, SEED_WITH_MASKING, SessionPrincipal } from '../fixtures/sqlserver/permissions';
import { PERSONAL_DATA_YAML, policyFromYaml } from '../fixtures/sqlserver/policies';

const DB = 'pm_warehouse';
const YAML = PERSONAL_DATA_YAML;
const policy = policyFromYaml('p.yaml', YAML);
const NOW = new Date('2026-02-15T12:00:00Z');
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'sqlserver', 'access-masked-app.sqlserver.json');

const MASKER = SEED_WITH_MASKING;

/** The policy applied, the app's tables made by its ETL, applied again: masks and column grants in place. */
async function appliedWarehouse(): Promise<CatalogSimulator> {
  const sim = new CatalogSimulator('sqlserver', { clockStart: Date.parse('2026-01-01T00:00:00Z'), principal: MASKER });
  const server: FakeServer = { databases: { [DB]: sim }, log: [], lockResult: 0 };
  const conn = await connectSqlServer({ url: `mssql://pm:pw@sql01/${DB}`, engine: 'sqlserver' }, { mssql: fakeMssql(server) });
  const apply = async () => applyRendered(conn, await planLive(conn, policy));
  await apply();
  sim.addObject('p2p', 'vendors', ['vendor_id', 'user_name', 'contact_email', 'contact_name', 'phone', { name: 'amount', type: 'decimal' }]);
  sim.addObject('p2p', 'cases', ['case_id', 'user_name', { name: 'created', type: 'datetime2' }]);
  await apply();
  expect((await planLive(conn, policy)).plan.changes).toEqual([]);
  await conn.close();
  // An outsider a DBA let read the schema, without UNMASK.
  const outsider = { principal_id: 400, name: 'bi_reader', type: 'S', authentication_type: 1, sid: '0x0000000000000000000000000000BEEF', is_fixed_role: false, entra_object_id: null, modify_date: null, pmgrants_marker: null };
  sim.principals.push(outsider);
  sim.permissions.push({ class: 3, major_id: sim.schemas.find((s) => s.name === 'p2p')!.schema_id, grantee_principal_id: outsider.principal_id, permission_name: 'SELECT', state: 'G' });
  return sim;
}

function report(rows: SqlServerAccessRows): AccessReport {
  return buildReport(sqlServerAccessFacts(rows), { desired: compilePolicy(policy), policy, policyFile: 'p.yaml', now: NOW });
}

const fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as SqlServerAccessRows;

describe('pmgrants report on SQL Server: personal data (Dynamic Data Masking), from ACCESS_SQL rows', () => {
  const r = report(fixture);
  const cell = (principal: string, right = 'select') => r.cells.find((c) => c.principal === principal && c.app === 'p2p' && c.right === right);
  const PERSONAL = ['*.user_name (pseudonym)', 'vendors.contact_* (redact)', 'vendors.phone (partial)'];

  it('the fixture is shaped like ACCESS_SQL: nine result sets, the ninth every column of the app schema with its mask', () => {
    expect(Object.keys(fixture)).toEqual(['identity', 'principals', 'members', 'permissions', 'schemas', 'serverRoles', 'serverPermissions', 'objectOwners', 'columns']);
    expect(fixture.columns!.filter((c) => c.masking_function !== null).map((c) => `${c.object_name}.${c.column_name} ${c.masking_function}`)).toEqual([
      'cases.user_name default()',
      'vendors.user_name default()',
      'vendors.contact_email partial(0, "n/a", 0)',
      'vendors.contact_name partial(0, "n/a", 0)',
      'vendors.phone partial(2, "****", 0)',
    ]);
  });

  it('the converged warehouse has no drift but the outsider, and nothing missing', () => {
    expect(r.summary.principalsWithDrift).toEqual(['bi_reader']);
    expect(r.summary.cells.missing).toBe(0);
  });

  it('a data consumer (masked) holds SELECT on every column, one by one: expected, its personal columns masked', () => {
    const c = cell('analysts')!;
    expect(c).toMatchObject({
      status: 'expected',
      schema: 'p2p',
      personalData: { visibility: 'masked', schema: 'p2p', columns: PERSONAL },
      objects: [],
      paths: [
        expect.objectContaining({ kind: 'membership', via: ['pmg_p2p_data_consumer'], detail: 'SELECT on p2p.cases (case_id, user_name, created) granted to pmg_p2p_data_consumer, through pmg_p2p_data_consumer' }),
        expect.objectContaining({ kind: 'membership', via: ['pmg_p2p_data_consumer'], detail: 'SELECT on p2p.vendors (vendor_id, user_name, contact_email, contact_name, phone, amount) granted to pmg_p2p_data_consumer, through pmg_p2p_data_consumer' }),
      ],
    });
    expect(c.detail).toBe(
      'reads the columns granted one by one, personal columns masked by Dynamic Data Masking (*.user_name (pseudonym), vendors.contact_* (redact), vendors.phone (partial)); the policy grants it through analysts → pmg_p2p_data_consumer',
    );
    expect(c.columns!.map((x) => `${x.object}.${x.column} ${x.visibility}`)).toEqual([
      'cases.case_id clear',
      'cases.user_name masked',
      'cases.created clear',
      'vendors.vendor_id clear',
      'vendors.user_name masked',
      'vendors.contact_email masked',
      'vendors.contact_name masked',
      'vendors.phone masked',
      'vendors.amount clear',
    ]);
    expect(c.paths.flatMap((p) => p.columns ?? []).find((x) => x.object === 'vendors' && x.column === 'phone')).toEqual({ object: 'vendors', column: 'phone', visibility: 'masked' });
    // view-definition on an open app: the policy gives masked personas none (they read the app only through select).
    expect(cell('analysts', 'view-definition')).toBeUndefined();
  });

  it('an auditor (hidden) holds SELECT on the columns that are not personal: expected, the personal ones hidden', () => {
    const c = cell('auditors')!;
    expect(c).toMatchObject({ status: 'expected', personalData: { visibility: 'hidden', schema: 'p2p', columns: PERSONAL } });
    expect(c.detail).toMatch(/^reads the columns granted one by one, personal columns left out \(\*\.user_name \(pseudonym\), /);
    expect(c.columns!.map((x) => `${x.object}.${x.column} ${x.visibility}`)).toEqual([
      'cases.case_id clear',
      'cases.user_name hidden',
      'cases.created clear',
      'vendors.vendor_id clear',
      'vendors.user_name hidden',
      'vendors.contact_email hidden',
      'vendors.contact_name hidden',
      'vendors.phone hidden',
      'vendors.amount clear',
    ]);
    expect(c.paths.flatMap((p) => p.columns ?? []).map((x) => x.column)).toEqual(['case_id', 'created', 'vendor_id', 'amount']);
  });

  it('a process admin (clear) reads the schema with UNMASK on it: expected, and its cell says nothing about masks', () => {
    const c = cell('p2p-team')!;
    expect(c).toMatchObject({ status: 'expected', detail: 'the policy grants it through p2p-team → pmg_p2p_process_admin', paths: [{ kind: 'membership', via: ['pmg_p2p_process_admin'] }] });
    expect(c.personalData).toBeUndefined();
    expect(c.columns).toBeUndefined();
    expect(c.paths[0].detail).toBe('SELECT on schema p2p granted to pmg_p2p_process_admin, a role of p2p-team through pmg_p2p_process_admin');
  });

  it('an outsider with SELECT on the schema and no UNMASK: drift, reading the personal columns masked', () => {
    const c = cell('bi_reader')!;
    expect(c).toMatchObject({ status: 'drift', detail: 'not in the policy', paths: [{ kind: 'direct' }] });
    expect(c.personalData).toBeUndefined();
    expect(c.paths[0].detail).toBe(
      'SELECT on schema p2p granted to bi_reader; reads cases.user_name, vendors.user_name, vendors.contact_email, vendors.contact_name, vendors.phone masked (Dynamic Data Masking: no UNMASK reaches bi_reader)',
    );
    expect(formatReportMarkdown(r)).toContain('| 🟥 drift | bi_reader | p2p | select | SELECT on schema p2p granted to bi_reader; reads cases.user_name, vendors.user_name,');
  });

  it('UNMASK through any path reads clear: on the database, the table or the column (granular UNMASK), or CONTROL on the database', () => {
    const grant = (class_: number, permission: string, object: string | null = null, column: string | null = null, state = 'G') => ({
      class: class_,
      schema_name: class_ === 0 ? null : 'p2p',
      grantee_name: 'bi_reader',
      permission_name: permission,
      state,
      object_name: object,
      column_name: column,
    });
    const path = (...extra: ReturnType<typeof grant>[]) => report({ ...fixture, permissions: [...fixture.permissions, ...extra] }).cells.find((c) => c.principal === 'bi_reader' && c.right === 'select')!.paths.find((p) => p.kind === 'direct')!.detail;
    expect(path(grant(0, 'UNMASK'))).toBe('SELECT on schema p2p granted to bi_reader');
    expect(path(grant(0, 'CONTROL'))).toBe('SELECT on schema p2p granted to bi_reader');
    expect(path(grant(1, 'UNMASK', 'vendors'))).toMatch(/; reads cases\.user_name masked \(/);
    expect(path(grant(1, 'UNMASK', 'vendors', 'phone'))).toMatch(/; reads cases\.user_name, vendors\.user_name, vendors\.contact_email, vendors\.contact_name masked \(/);
    // A DENY wins over the schema's UNMASK; a column GRANT beats a table DENY.
    expect(path(grant(3, 'UNMASK'), grant(3, 'UNMASK', null, null, 'D'))).toMatch(/masked \(Dynamic Data Masking/);
    expect(path(grant(3, 'UNMASK'), grant(1, 'UNMASK', 'cases', null, 'D'), grant(1, 'UNMASK', 'cases', 'user_name'))).toBe('SELECT on schema p2p granted to bi_reader');
    // db_owner holds CONTROL on the database: every column clear.
    const owner = report({ ...fixture, members: [...fixture.members, { role_name: 'db_owner', member_name: 'bi_reader' }] }).cells.find((c) => c.principal === 'bi_reader' && c.right === 'select')!;
    expect(owner.paths.map((p) => p.detail)).toEqual(['SELECT on schema p2p granted to bi_reader', 'member of db_owner (CONTROL on the database)']);
  });

  it('fails closed: a table and a column made after the last apply are not granted to the masked and hidden readers, whose cells are missing and say which', () => {
    const later = (object: string, column: string, column_id: number) => ({ schema_name: 'p2p', object_name: object, object_type: 'U ', column_id, column_name: column, masking_function: null });
    const rows = { ...fixture, columns: [...fixture.columns!, later('events_v2', 'event_id', 1), later('events_v2', 'user_name', 2), later('vendors', 'contact_fax', 7), later('vendors', 'region', 8)] };
    const after = report(rows);
    const at = (principal: string) => after.cells.find((c) => c.principal === principal && c.app === 'p2p' && c.right === 'select')!;
    expect(at('analysts')).toMatchObject({ status: 'missing', personalData: { visibility: 'masked' } });
    expect(at('analysts').detail).toContain('; not granted: p2p.events_v2 (event_id, user_name; no column of it granted), p2p.vendors (contact_fax, region): a table or column made after the last apply stays unreadable to it until the next apply grants it (fail closed); the policy grants it through analysts → pmg_p2p_data_consumer');
    expect(at('analysts').columns!.filter((x) => x.visibility === 'hidden').map((x) => `${x.object}.${x.column}`)).toEqual(['events_v2.event_id', 'events_v2.user_name', 'vendors.contact_fax', 'vendors.region']);
    // The hidden reader misses the columns that are not personal only (vendors.contact_fax matches vendors.contact_*).
    expect(at('auditors')).toMatchObject({ status: 'missing', personalData: { visibility: 'hidden' } });
    expect(at('auditors').detail).toContain('; not granted: p2p.events_v2 (event_id; no column of it granted), p2p.vendors (region): a table or column made after the last apply');
    expect(at('p2p-team')).toMatchObject({ status: 'expected' });
    expect(after.summary.cells.missing).toBe(2);
  });

  it('a masked reader that reads more: SELECT on the schema, or a personal column clear, is drift', () => {
    const consumerGrant = { class: 3, schema_name: 'p2p', grantee_name: 'pmg_p2p_data_consumer', permission_name: 'SELECT', state: 'G', object_name: null, column_name: null };
    const wide = report({ ...fixture, permissions: [...fixture.permissions, consumerGrant] }).cells.find((c) => c.principal === 'analysts' && c.right === 'select')!;
    expect(wide).toMatchObject({ status: 'drift', personalData: { visibility: 'masked' } });
    expect(wide.detail).toMatch(/^holds SELECT on the whole schema, not column by column: a table or column made after the last apply is readable before the next apply masks it; the policy has it read the columns granted one by one/);
    const unmask = { ...consumerGrant, class: 1, permission_name: 'UNMASK', object_name: 'vendors', column_name: 'phone' };
    const clear = report({ ...fixture, permissions: [...fixture.permissions, unmask] }).cells.find((c) => c.principal === 'analysts' && c.right === 'select')!;
    expect(clear).toMatchObject({ status: 'drift' });
    expect(clear.detail).toMatch(/^reads personal column vendors\.phone clear; the policy has it read/);
    expect(clear.columns!.find((x) => x.column === 'phone')).toEqual({ object: 'vendors', column: 'phone', visibility: 'clear' });
  });

  it("a view's columns are granted like a table's; what they show of their tables' masks is left unsaid", () => {
    const view = (column: string, column_id: number) => ({ schema_name: 'p2p', object_name: 'v_cases', object_type: 'V ', column_id, column_name: column, masking_function: null });
    const select = (grantee: string, column: string) => ({ class: 1, schema_name: 'p2p', grantee_name: grantee, permission_name: 'SELECT', state: 'G', object_name: 'v_cases', column_name: column });
    const rows = {
      ...fixture,
      columns: [...fixture.columns!, view('case_id', 1), view('user_name', 2)],
      permissions: [...fixture.permissions, select('pmg_p2p_data_consumer', 'case_id'), select('pmg_p2p_data_consumer', 'user_name'), select('pmg_p2p_auditor', 'case_id')],
    };
    const after = report(rows);
    const at = (principal: string) => after.cells.find((c) => c.principal === principal && c.app === 'p2p' && c.right === 'select')!;
    expect(at('analysts')).toMatchObject({ status: 'expected' });
    expect(at('analysts').columns!.filter((c) => c.object === 'v_cases')).toEqual([
      { object: 'v_cases', column: 'case_id' },
      { object: 'v_cases', column: 'user_name' },
    ]);
    expect(at('auditors')).toMatchObject({ status: 'expected' });
    expect(at('auditors').columns!.filter((c) => c.object === 'v_cases')).toEqual([
      { object: 'v_cases', column: 'case_id' },
      { object: 'v_cases', column: 'user_name', visibility: 'hidden' },
    ]);
  });

  it('nothing granted yet: the masked reader is missing, with the personal data it should read', () => {
    const rows = { ...fixture, permissions: fixture.permissions.filter((p) => p.grantee_name !== 'pmg_p2p_data_consumer') };
    const c = report(rows).cells.find((x) => x.principal === 'analysts' && x.right === 'select')!;
    expect(c).toMatchObject({ status: 'missing', paths: [], personalData: { visibility: 'masked', schema: 'p2p' } });
    expect(c.detail).toBe(
      'reads the columns granted one by one, personal columns masked by Dynamic Data Masking (*.user_name (pseudonym), vendors.contact_* (redact), vendors.phone (partial)); the policy grants it through analysts → pmg_p2p_data_consumer',
    );
  });
});

describe('pmgrants report on SQL Server: personal data, against the catalog simulator', () => {
  it('the fixture is what ACCESS_SQL returns from the simulator after the apply', async () => {
    const sim = await appliedWarehouse();
    const rows = JSON.parse(JSON.stringify(simulatorAccessRows(sim, DB, ['p2p'])));
    // PMGRANTS_UPDATE_GOLDEN=1 writes it anew (as the golden files), to be reviewed in the diff.
    if (process.env.PMGRANTS_UPDATE_GOLDEN === '1') fs.writeFileSync(FIXTURE, `${JSON.stringify(rows, null, 2)}\n`);
    expect(rows).toEqual(JSON.parse(fs.readFileSync(FIXTURE, 'utf8')));
  });

  it("what the report says each principal reads of each column is what the simulator's documented rules say", async () => {
    const sim = await appliedWarehouse();
    const r = report(simulatorAccessRows(sim, DB, ['p2p']));
    const columns = sim.maskingRows(['p2p']);
    // Each principal row with a select cell, and the role its reads come from (a group reads through its persona role).
    for (const [principal, reader] of [
      ['analysts', 'analysts'],
      ['auditors', 'auditors'],
      ['p2p-team', 'p2p-team'],
      ['bi_reader', 'bi_reader'],
    ]) {
      const c = r.cells.find((x) => x.principal === principal && x.right === 'select')!;
      for (const col of columns) {
        const truth = sim.reads(reader, 'p2p', col.object_name, col.column_name);
        const listed = c.columns?.find((x) => x.object === col.object_name && x.column === col.column_name);
        const masked = c.paths.some((p) => !p.columns && p.detail.includes(`${col.object_name}.${col.column_name}`)) || listed?.visibility === 'masked';
        const said = listed?.visibility === 'hidden' ? 'denied' : masked ? 'masked' : 'clear';
        expect(`${principal} ${col.object_name}.${col.column_name} ${said}`).toBe(`${principal} ${col.object_name}.${col.column_name} ${truth}`);
      }
    }
  });
});
