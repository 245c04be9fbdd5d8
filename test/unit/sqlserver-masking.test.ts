/**
 * Personal data on SQL Server and Azure SQL (Dynamic Data Masking, engines/sqlserver/masking.ts), run
 * through the connection with the driver faked by the catalog simulator: the plan and its T-SQL, the
 * apply, what each persona then reads (CatalogSimulator.reads, the documented rules), a table and a
 * column made after the apply (fail closed until the next one), a changed mask, the right the seed
 * lacks, and convergence.
 */
import { describe, expect, it } from 'vitest';
import { connectSqlServer, inspectSqlServer, sqlServerDialect } from '../../provider/engines/sqlserver';
import { compilePolicy } from '../../provider/model/compile';
import { permissionKey } from '../../provider/model/state';
import { DesiredState } from '../../provider/model/types';
import { diffState } from '../../provider/plan/diff';
import { appPart, appsOf, claimOf, Part, partitionDesired, sliceActual, sliceDesired, WAREHOUSE } from '../../provider/plan/slice';
import { applyRendered, planLive } from '../../provider/pipeline/plan';
import { describeChange } from '../../provider/plan/describe';
import { formatPlan, formatPlanText } from '../../provider/plan/format';
import Ajv2020 from 'ajv/dist/2020';
import planSchema from '../../schemas/plan.schema.json';

const validatePlan = new Ajv2020({ allErrors: true, strict: true }).compile(planSchema);
import { dynamicMaskFunction, sameMaskFunction } from '../../provider/model/masking';
import { CatalogSimulator } from '../fixtures/sqlserver/catalog-simulator';
import { FakeServer, fakeMssql } from '../fixtures/sqlserver/fake-mssql';
import { SEED_SYSTEM_MANAGED, SEED_WITH_MASKING, SessionPrincipal } from '../fixtures/sqlserver/permissions';
import { PERSONAL_DATA_YAML, SINGLE_ACCOUNT_YAML, policyFromYaml } from '../fixtures/sqlserver/policies';
import { checkPolicy } from '../../provider/policy/check';
import { parseSource } from '../../provider/policy/source';
import { exportCatalogFromSqlServer, SqlServerExportRows } from '../../provider/engines/sqlserver/export';
import { buildExport } from '../../provider/export/catalog';
import { policyYaml } from '../../provider/export/yaml';

const DB = 'pm_warehouse';
const YAML = PERSONAL_DATA_YAML;

const MASKER = SEED_WITH_MASKING;

async function scenario(principal: SessionPrincipal = MASKER, yaml = YAML) {
  const warehouse = new CatalogSimulator('sqlserver', { clockStart: Date.now(), principal });
  const server: FakeServer = { databases: { [DB]: warehouse }, log: [], lockResult: 0 };
  const conn = await connectSqlServer({ url: `mssql://pm:pw@sql01/${DB}`, engine: 'sqlserver' }, { mssql: fakeMssql(server) });
  const policy = policyFromYaml('p.yaml', yaml);
  const plan = async (p = policy) => planLive(conn, p);
  const apply = async (p = policy) => {
    const rendered = await planLive(conn, p);
    await applyRendered(conn, rendered);
    return rendered;
  };
  return { warehouse, server, conn, policy, plan, apply };
}

/** The app's tables, as the app's ETL makes them after pmgrants made the schema. */
function makeTables(sim: CatalogSimulator): void {
  sim.addObject('p2p', 'vendors', ['vendor_id', 'user_name', 'contact_email', 'contact_name', 'phone', { name: 'amount', type: 'decimal' }]);
  sim.addObject('p2p', 'cases', ['case_id', 'user_name', { name: 'created', type: 'datetime2' }]);
}

const role = (persona: string) => `pmg_p2p_${persona}`;

describe('SQL Server personal data: Dynamic Data Masking', () => {
  it('plans masks and column grants for the live tables; after the apply each persona reads what the policy says, and the plan is empty', async () => {
    const s = await scenario();
    const first = await s.apply();
    // The schema is new: nothing to mask yet; its clear readers get UNMASK on it from the start.
    expect(first.plan.changes.map((c) => describeChange(c).text)).toContain(`grant UNMASK on schema p2p to ${role('process_admin')}`);
    expect(first.statements.flat().map((st) => st.display)).toContain(`GRANT UNMASK ON SCHEMA::[p2p] TO [${role('process_admin')}] AS [pmg_p2p_owner];`);
    makeTables(s.warehouse);
    const rendered = await s.plan();
    const lines = rendered.plan.changes.map((c) => describeChange(c).text);
    expect(lines).toContain(
      'masks on p2p.vendors (new table p2p.vendors: 4 personal columns to mask: user_name default(), contact_email partial(0, "n/a", 0), contact_name partial(0, "n/a", 0), phone partial(2, "****", 0))',
    );
    expect(lines).toContain('masks on p2p.cases (new table p2p.cases: 1 personal column to mask: user_name default())');
    expect(lines).toContain(`grant SELECT on columns p2p.vendors (vendor_id, user_name, contact_email, contact_name, phone, amount) to ${role('data_consumer')}`);
    expect(lines).toContain(`grant SELECT on columns p2p.vendors (vendor_id, amount) to ${role('auditor')}`);
    const sql = rendered.statements.flat().map((st) => st.display);
    expect(sql).toContain(`ALTER TABLE [p2p].[vendors] ALTER COLUMN [phone] ADD MASKED WITH (FUNCTION = N'partial(2, "****", 0)');`);
    expect(sql).toContain(`ALTER TABLE [p2p].[vendors] ALTER COLUMN [user_name] ADD MASKED WITH (FUNCTION = N'default()');`);
    expect(sql).toContain(`GRANT SELECT ON OBJECT::[p2p].[vendors] ([vendor_id], [amount]) TO [${role('auditor')}] AS [pmg_p2p_owner];`);
    // Masks come before the grants that let masked readers in.
    expect(sql.findIndex((x) => x.includes('ADD MASKED'))).toBeLessThan(sql.findIndex((x) => x.startsWith(`GRANT SELECT ON OBJECT::[p2p].[vendors] ([vendor_id], [user_name]`)));
    // The JSON plan validates against schemas/plan.schema.json; a new table's masks count as added.
    const json = JSON.parse(formatPlan('json', { plan: rendered.plan, statements: rendered.statements, roleApps: new Map(), source: 'live' }));
    expect(validatePlan(json), JSON.stringify(validatePlan.errors)).toBe(true);
    expect(json.changes.find((c: { kind: string; change: { table?: string } }) => c.kind === 'mask-columns' && c.change.table === 'vendors')).toMatchObject({ action: 'add', statements: [expect.stringMatching(/ADD MASKED/), expect.stringMatching(/ADD MASKED/), expect.stringMatching(/ADD MASKED/), expect.stringMatching(/ADD MASKED/)] });
    expect(formatPlanText({ plan: rendered.plan, roleApps: new Map(), source: 'live' })).toMatch(/Locks:\n(?: {2}.*\n)* {2}p2p\.vendors: adding a mask is a schema change on the table/);

    await applyRendered(s.conn, rendered);
    expect((await s.plan()).plan.changes).toEqual([]);
    const reads = (persona: string, table: string, column: string) => s.warehouse.reads(role(persona), 'p2p', table, column);
    expect(reads('data_consumer', 'vendors', 'user_name')).toBe('masked');
    expect(reads('data_consumer', 'vendors', 'phone')).toBe('masked');
    expect(reads('data_consumer', 'vendors', 'amount')).toBe('clear');
    expect(reads('auditor', 'vendors', 'user_name')).toBe('denied');
    expect(reads('auditor', 'vendors', 'amount')).toBe('clear');
    expect(reads('process_admin', 'vendors', 'user_name')).toBe('clear');
    expect(reads('process_admin', 'cases', 'user_name')).toBe('clear');
    // The app's login runs the transformations: it reads (and writes back) clear values.
    expect(s.warehouse.reads('pmg_p2p_app', 'p2p', 'vendors', 'user_name')).toBe('clear');
    // Nothing on the schema itself for the masked and hidden readers.
    const consumer = s.warehouse.principals.find((p) => p.name === role('data_consumer'))!.principal_id;
    expect(s.warehouse.permissions.filter((p) => p.grantee_principal_id === consumer && p.class === 3)).toEqual([]);
    await s.conn.close();
  });

  it('fails closed: a table or column made after the apply is unreadable to masked and hidden readers until the next apply, which masks it', async () => {
    const s = await scenario();
    await s.apply();
    makeTables(s.warehouse);
    await s.apply();
    s.warehouse.addObject('p2p', 'events_v2', ['event_id', 'user_name', 'contact_mobile']);
    s.warehouse.addColumn('p2p', 'vendors', 'contact_fax');
    for (const persona of ['data_consumer', 'auditor']) {
      expect(s.warehouse.reads(role(persona), 'p2p', 'events_v2', 'user_name')).toBe('denied');
      expect(s.warehouse.reads(role(persona), 'p2p', 'events_v2', 'event_id')).toBe('denied');
      expect(s.warehouse.reads(role(persona), 'p2p', 'vendors', 'contact_fax')).toBe('denied');
    }
    const lines = (await s.plan()).plan.changes.map((c) => describeChange(c).text);
    expect(lines).toContain('masks on p2p.events_v2 (new table p2p.events_v2: 1 personal column to mask: user_name default())');
    expect(lines).toContain('masks on p2p.vendors (1 personal column to mask: contact_fax partial(0, "n/a", 0))');
    await s.apply();
    expect((await s.plan()).plan.changes).toEqual([]);
    expect(s.warehouse.reads(role('data_consumer'), 'p2p', 'events_v2', 'user_name')).toBe('masked');
    expect(s.warehouse.reads(role('data_consumer'), 'p2p', 'events_v2', 'contact_mobile')).toBe('clear');
    expect(s.warehouse.reads(role('data_consumer'), 'p2p', 'vendors', 'contact_fax')).toBe('masked');
    expect(s.warehouse.reads(role('auditor'), 'p2p', 'vendors', 'contact_fax')).toBe('denied');
    expect(s.warehouse.reads(role('auditor'), 'p2p', 'events_v2', 'event_id')).toBe('clear');
    await s.conn.close();
  });

  it('a personal column no mask can be defined on (a computed one) is not masked, and masked readers are not granted it: fail closed, with a warning', async () => {
    const s = await scenario();
    await s.apply();
    s.warehouse.addObject('p2p', 'audit', ['id', 'raw_user', { name: 'user_name', type: 'nvarchar', computed: true }]);
    const rendered = await s.plan();
    expect(rendered.plan.warnings).toContain('p2p.audit.user_name is personal but computed, and Dynamic Data Masking cannot mask a computed column: masked readers are not granted it, as hidden ones are not');
    expect(rendered.plan.changes.map((c) => describeChange(c).text)).toEqual(
      expect.arrayContaining([`grant SELECT on columns p2p.audit (id, raw_user) to ${role('data_consumer')}`, `grant SELECT on columns p2p.audit (id, raw_user) to ${role('auditor')}`]),
    );
    expect(rendered.plan.changes.some((c) => c.kind === 'mask-columns')).toBe(false);
    await applyRendered(s.conn, rendered);
    expect((await s.plan()).plan.changes).toEqual([]);
    expect(s.warehouse.reads(role('data_consumer'), 'p2p', 'audit', 'user_name')).toBe('denied');
    expect(s.warehouse.reads(role('process_admin'), 'p2p', 'audit', 'user_name')).toBe('clear');
    await s.conn.close();
  });

  it('a changed mask is dropped and added again in the transaction; a mask no pattern names stays, and the plan says so', async () => {
    const s = await scenario();
    await s.apply();
    makeTables(s.warehouse);
    await s.apply();
    const changed = policyFromYaml('p.yaml', YAML.replace('"vendors.phone": { mask: partial, first: 2, last: 0 }', '"vendors.phone": { mask: redact, text: "hidden" }'));
    const rendered = await s.plan(changed);
    expect(rendered.statements.flat().map((st) => st.display)).toEqual(
      expect.arrayContaining(['ALTER TABLE [p2p].[vendors] ALTER COLUMN [phone] DROP MASKED;', `ALTER TABLE [p2p].[vendors] ALTER COLUMN [phone] ADD MASKED WITH (FUNCTION = N'partial(0, "hidden", 0)');`]),
    );
    expect(rendered.plan.changes.map((c) => describeChange(c).text)).toContain('masks on p2p.vendors (1 personal column to mask: phone partial(0, "hidden", 0) (was partial(2, "****", 0)))');
    await applyRendered(s.conn, rendered);
    expect((await s.plan(changed)).plan.changes).toEqual([]);
    const fewer = policyFromYaml('p.yaml', YAML.replace('        "vendors.phone": { mask: partial, first: 2, last: 0 }\n', ''));
    const plan = (await s.plan(fewer)).plan;
    expect(plan.warnings).toContain('p2p.vendors.phone is masked (partial(0, "hidden", 0)) but no personal-data pattern of app p2p names it: left masked');
    // phone is no longer personal: the hidden reader is granted it; its mask stays.
    expect(plan.changes.map((c) => describeChange(c).text)).toEqual([`grant SELECT on column p2p.vendors.phone to ${role('auditor')}`]);
    await s.conn.close();
  });

  it("a DBA's SELECT on the schema for a masked reader is revoked (fail closed, under additive enforcement too)", async () => {
    const s = await scenario();
    await s.apply();
    makeTables(s.warehouse);
    await s.apply();
    const consumer = s.warehouse.principals.find((p) => p.name === role('data_consumer'))!;
    const schema = s.warehouse.schemas.find((x) => x.name === 'p2p')!;
    s.warehouse.permissions.push({ class: 3, major_id: schema.schema_id, grantee_principal_id: consumer.principal_id, permission_name: 'SELECT', state: 'G' });
    const additive = policyFromYaml('p.yaml', `${YAML}options: { enforcement: additive }\n`);
    expect((await s.plan(additive)).plan.changes.map((c) => describeChange(c).text)).toEqual([`revoke SELECT on schema p2p from ${role('data_consumer')}`]);
    await s.conn.close();
  });

  it("a DBA's column grants are revoked one statement per table: an outsider's, and a personal column granted to the hidden reader", async () => {
    const s = await scenario();
    await s.apply();
    makeTables(s.warehouse);
    await s.apply();
    s.warehouse.addPrincipalForTest('bi_reader', 'R');
    const grant = (grantee: string, columns: string[]) => {
      const who = s.warehouse.principals.find((p) => p.name === grantee)!.principal_id;
      const vendors = s.warehouse.objects.find((o) => o.name === 'vendors')!;
      for (const c of columns) {
        const column_id = s.warehouse.columns.find((x) => x.object_id === vendors.object_id && x.name === c)!.column_id;
        s.warehouse.permissions.push({ class: 1, major_id: vendors.object_id, minor_id: column_id, grantee_principal_id: who, permission_name: 'SELECT', state: 'G' });
      }
    };
    grant('bi_reader', ['vendor_id', 'amount']);
    grant(role('auditor'), ['user_name', 'phone']);
    expect(s.warehouse.reads(role('auditor'), 'p2p', 'vendors', 'user_name')).toBe('masked');
    const rendered = await s.plan();
    expect(rendered.plan.changes.map((c) => describeChange(c).text).sort()).toEqual([
      'revoke SELECT on columns p2p.vendors (amount, vendor_id) from bi_reader',
      'revoke SELECT on columns p2p.vendors (phone, user_name) from pmg_p2p_auditor',
    ]);
    expect(rendered.statements.flat().map((st) => st.display).sort()).toEqual([
      'REVOKE SELECT ON OBJECT::[p2p].[vendors] ([amount], [vendor_id]) FROM [bi_reader] AS [pmg_p2p_owner];',
      'REVOKE SELECT ON OBJECT::[p2p].[vendors] ([phone], [user_name]) FROM [pmg_p2p_auditor] AS [pmg_p2p_owner];',
    ]);
    await applyRendered(s.conn, rendered);
    expect((await s.plan()).plan.changes).toEqual([]);
    expect(s.warehouse.reads(role('auditor'), 'p2p', 'vendors', 'user_name')).toBe('denied');
    expect(s.warehouse.reads('bi_reader', 'p2p', 'vendors', 'amount')).toBe('denied');
    await s.conn.close();
  });

  it('without ALTER ANY MASK (the seed alone) the apply fails in one sentence and changes nothing', async () => {
    const s = await scenario(SEED_SYSTEM_MANAGED);
    await s.apply();
    makeTables(s.warehouse);
    const before = s.warehouse.snapshot();
    const rendered = await s.plan();
    await expect(applyRendered(s.conn, rendered)).rejects.toThrow(/ADD MASKED/);
    expect(s.warehouse.snapshot()).toBe(before);
    await s.conn.close();
  });
});

describe("SQL Server personal data: the logins transformations run as read clear", () => {
  it("single_account: the shared login holds UNMASK on every masked app's schema", async () => {
    const yaml = SINGLE_ACCOUNT_YAML.replace('engine: azure-sql', 'engine: sqlserver').replace('  p2p: { schema: p2p, source: open }', '  p2p: { schema: p2p, source: open, personalData: { columns: { "*.user_name": redact } } }');
    const desired = sqlServerDialect.realize(compilePolicy(policyFromYaml('sa.yaml', yaml)));
    const unmask = desired.permissions.filter((p) => p.privilege === 'UNMASK').map((p) => `${p.grantee} ${p.on.type === 'schema' ? p.on.name : ''}`);
    expect(unmask).toEqual(['pmg_app_admin p2p', 'pmg_p2p_owner p2p', 'pmg_p2p_process_admin p2p', 'pmg_shared p2p']);
  });
});

describe('SQL Server personal data: the mask functions and the rules', () => {
  it('maps each mask to a documented built-in function, by column type', () => {
    expect(dynamicMaskFunction({ mask: 'redact', text: 'n/a' }, 'nvarchar')).toBe('partial(0, "n/a", 0)');
    expect(dynamicMaskFunction({ mask: 'partial', first: 1, last: 2 }, 'VARCHAR')).toBe('partial(1, "****", 2)');
    expect(dynamicMaskFunction({ mask: 'partial', first: 1, last: 2 }, 'int')).toBe('default()');
    expect(dynamicMaskFunction({ mask: 'pseudonym' }, 'nvarchar')).toBe('default()');
    expect(dynamicMaskFunction({ mask: 'nullify' }, 'datetime2')).toBe('default()');
    expect(sameMaskFunction('partial(2,"****",0)', 'partial(2, "****", 0)')).toBe(true);
    expect(sameMaskFunction('partial(0, "a b", 0)', 'partial(0, "ab", 0)')).toBe(false);
    expect(sameMaskFunction('Partial(0, "n/a", 0)', 'partial(0,"n/a",0)')).toBe(true);
    expect(sameMaskFunction('partial(0, "N/A", 0)', 'partial(0, "n/a", 0)')).toBe(false);
  });

  it('validate warns where Dynamic Data Masking approximates a mask, and refuses a redact text with a double quote', () => {
    const text = YAML.replace('text: "n/a"', `text: 'say "no"'`);
    const { source } = parseSource('p.yaml', text);
    const found = checkPolicy(source!).diagnostics.filter((d) => d.code !== 'default-prefix').map((d) => `${d.line}:${d.column} ${d.severity} ${d.code} ${d.message}`);
    expect(found).toEqual([
      expect.stringMatching(/^19:9 warning personal-data-approximated Dynamic Data Masking has no keyed pseudonym: "\*\.user_name" reads as default\(\)/),
      expect.stringMatching(/^20:52 error personal-data-unenforceable the redact text of "vendors\.contact_\*" holds a double quote/),
    ]);
  });
});

describe('SQL Server personal data: export', () => {
  const principal = (principal_id: number, name: string, type = 'R') => ({ principal_id, name, type, authentication_type: type === 'R' ? 0 : 1, sid: null, is_fixed_role: false, entra_object_id: null, modify_date: null, pmgrants_marker: null });
  const rows: SqlServerExportRows = {
    principals: [principal(1, 'dbo', 'S'), principal(5, 'etl', 'S'), principal(6, 'readers'), principal(7, 'leads'), principal(8, 'writers'), principal(9, 'pm_provisioner', 'S')],
    roleMembers: [],
    permissions: [
      { class: 3, major_id: 5, minor_id: 0, grantee_principal_id: 6, permission_name: 'SELECT', state: 'G' },
      { class: 3, major_id: 5, minor_id: 0, grantee_principal_id: 7, permission_name: 'SELECT', state: 'G' },
      { class: 3, major_id: 5, minor_id: 0, grantee_principal_id: 7, permission_name: 'UNMASK', state: 'G' },
      { class: 3, major_id: 5, minor_id: 0, grantee_principal_id: 8, permission_name: 'SELECT', state: 'G' },
      { class: 3, major_id: 5, minor_id: 0, grantee_principal_id: 8, permission_name: 'INSERT', state: 'G' },
    ],
    schemas: [
      { schema_id: 1, name: 'dbo', principal_id: 1 },
      { schema_id: 5, name: 'p2p', principal_id: 5 },
    ],
    objects: [
      { object_id: 101, name: 'cases', schema_id: 5, type: 'U' },
      { object_id: 102, name: 'v_cases', schema_id: 5, type: 'V' },
    ],
    columns: [],
    session: { database_name: 'pm_warehouse', user_name: 'pm_provisioner' },
    maskedColumns: [
      { object_id: 101, column_id: 2, name: 'user_name', type_name: 'nvarchar', masking_function: 'default()' },
      { object_id: 101, column_id: 3, name: 'contact_email', type_name: 'nvarchar', masking_function: 'partial(0, "n/a", 0)' },
      { object_id: 101, column_id: 4, name: 'phone', type_name: 'varchar', masking_function: 'partial(2,"XXXX",0)' },
      { object_id: 101, column_id: 5, name: 'mail', type_name: 'nvarchar', masking_function: 'email()' },
    ],
  };

  it('masked columns become personal columns; a role with UNMASK reads them clear, one without masked; a function no mask writes is a note', () => {
    const catalog = exportCatalogFromSqlServer(rows, 'sqlserver');
    expect(catalog.personalColumns).toEqual([
      { schema: 'p2p', table: 'cases', column: 'user_name', mask: { mask: 'nullify' } },
      { schema: 'p2p', table: 'cases', column: 'contact_email', mask: { mask: 'redact', text: 'n/a' } },
      { schema: 'p2p', table: 'cases', column: 'phone', mask: { mask: 'partial', first: 2, last: 0 } },
    ]);
    expect(catalog.unmasked).toEqual([{ grantee: 'leads', schema: 'p2p' }]);
    const result = buildExport(catalog);
    const p = result.policy;
    expect(p.apps.p2p.personalData).toEqual({ columns: { 'cases.contact_email': { mask: 'redact', text: 'n/a' }, 'cases.phone': { mask: 'partial', first: 2, last: 0 }, 'cases.user_name': 'nullify' } });
    const persona = (role: string) => Object.entries(p.apps.p2p.roles ?? {}).find(([, r]) => r === role)?.[0];
    expect(p.personas![persona('leads')!]).toMatchObject({ rights: ['select'], personalData: 'clear' });
    expect(p.personas![persona('readers')!]).toMatchObject({ rights: ['select'], personalData: 'masked' });
    // Writes on a schema read masked cannot be a masked persona: not adopted, and said.
    expect(persona('writers')).toBeUndefined();
    expect(result.notes.join('\n')).toContain('writers: reads p2p without UNMASK (its masked columns masked) with insert');
    expect(result.notes.join('\n')).toContain('p2p.cases, column mail: masked with email(), which no pmgrants mask writes');
    // The exported policy validates (with its warnings about default()).
    const { source } = parseSource('exported.yaml', policyYaml(p, { schemaRef: 'x', notes: result.notes }));
    expect(checkPolicy(source!).diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });
});

describe('SQL Server personal data: Pulumi parts', () => {
  const parts = (d: DesiredState): Part[] => [WAREHOUSE, ...appsOf(d).map(appPart)];
  // Database-wide permissions (create-objects' CREATE TABLE ...) fall to another part once realized whatever the masking: left out here.
  const items = (s: DesiredState) =>
    [...s.roles.map((r) => `role ${r.name}`), ...s.schemas.map((x) => `schema ${x.name}`), ...s.permissions.filter((p) => p.on.type !== 'database').map((p) => `perm ${permissionKey(p)}`)].sort();

  it('realizing each part (as the provider does, per resource) gives the masking of the realized whole: no masking owner, no companion schema, UNMASK in the app part', () => {
    const neutral = compilePolicy(policyFromYaml('p.yaml', YAML));
    const whole = partitionDesired(sqlServerDialect.realize(neutral));
    for (const [k, part] of partitionDesired(neutral)) expect(items(sqlServerDialect.realize(part)), k).toEqual(items(whole.get(k)!));
    const app = sqlServerDialect.realize(partitionDesired(neutral).get('app:p2p')!);
    expect(items(app).filter((i) => i.includes('UNMASK'))).toEqual(
      ['pmg_app_admin', 'pmg_p2p_app', 'pmg_p2p_owner', 'pmg_p2p_process_admin'].map((g) => `perm ${permissionKey({ grantee: g, on: { type: 'schema', name: 'p2p' }, privilege: 'UNMASK', effect: 'GRANT', withGrantOption: false })}`),
    );
    expect(items(app).some((i) => i.includes('_masked') || i.includes('masker'))).toBe(false);
  });

  it('each part applies its own on the simulator (the app part its masks and column grants), and then neither part nor whole plans anything', () => {
    const desired = sqlServerDialect.realize(compilePolicy(policyFromYaml('p.yaml', YAML)));
    const sim = new CatalogSimulator('sqlserver', { principal: MASKER });
    const inspect = () => inspectSqlServer({ ...sim.rows(), maskingColumns: sim.maskingRows(['p2p']) }, { engine: 'sqlserver', database: DB, prefix: desired.prefix, desired });
    const partPlan = (part: Part) => {
      const slice = sliceDesired(desired, part);
      const actual = inspect();
      return diffState(slice, sliceActual(actual, claimOf(part, [slice], actual), slice)).changes;
    };
    const applyParts = () => {
      for (const part of parts(desired)) {
        const changes = partPlan(part);
        sim.apply(sqlServerDialect.render(changes, desired), new Map(desired.logins.map((l) => [l.name, 'Pw-1234567890-abc'])));
      }
    };
    applyParts();
    makeTables(sim);
    const appChanges = partPlan(appPart('p2p')).map((c) => c.kind);
    expect(appChanges).toEqual(expect.arrayContaining(['mask-columns', 'grant']));
    expect(partPlan(WAREHOUSE)).toEqual([]);
    applyParts();
    for (const part of parts(desired)) expect(partPlan(part), JSON.stringify(part)).toEqual([]);
    expect(diffState(desired, inspect()).changes).toEqual([]);
    expect(sim.reads(role('data_consumer'), 'p2p', 'vendors', 'user_name')).toBe('masked');
    expect(sim.reads(role('process_admin'), 'p2p', 'vendors', 'user_name')).toBe('clear');
  });
});
