/**
 * pmgrants export without a server: SQL Server result sets (a fixture shaped like EXPORT_CATALOG_SQL's)
 * and PostgreSQL rows (shaped like sql/export-*.sql's) -> catalog -> policy YAML, which must validate,
 * keep every sentence about what it cannot express, and plan to zero changes against the same catalog.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildExport, ExportCatalog, keyFor } from '../../provider/export/catalog';
import { policyYaml, scalar } from '../../provider/export/yaml';
import { exportCatalogFromRows, ExportRows } from '../../provider/engines/postgres/export';
import { exportCatalogFromSqlServer, SqlServerExportRows } from '../../provider/engines/sqlserver/export';
import { inspectSqlServer, SqlLoginRow, sqlServerDialect } from '../../provider/engines/sqlserver';
import { compilePolicy } from '../../provider/model/compile';
import { checkPolicy } from '../../provider/policy/check';
import { parseSource } from '../../provider/policy/source';
import { diffState } from '../../provider/plan/diff';
import { Policy } from '../../provider/model/types';
import { columnMask, maskedViewComment, personalColumnRules } from '../../provider/model/masking';
import { managedComment } from '../../provider/engines/postgres/marker';

const fixture = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'sqlserver', 'export-hand-made.json'), 'utf8')) as SqlServerExportRows & { logins: SqlLoginRow[] };

/** The YAML validates; returns the checked policy. */
function validated(yaml: string): Policy {
  const parsed = parseSource('exported.yaml', yaml);
  const checked = checkPolicy(parsed.source!);
  expect(checked.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return checked.policy!;
}

const body = (yaml: string) =>
  yaml
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');

describe('export on SQL Server result sets', () => {
  const catalog = exportCatalogFromSqlServer(fixture, 'sqlserver');

  it('reads principals with their kinds, leaving out built-in ones and the exporting user', () => {
    const adoptable = catalog.principals.filter((p) => !p.notAdoptable).map((p) => `${p.name} ${p.kind}${p.objectId ? ` ${p.objectId}` : ''}`);
    expect(adoptable).toEqual([
      'etl sql-login',
      'P2P_Readers database-role',
      'P2P_Editors database-role',
      'o2c_readers database-role',
      'reporting_all database-role',
      'CONTOSO\\Finance windows-group',
      'Finance Analysts entra-group 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04',
      'alice@contoso.com entra-user 11111111-2222-4333-8444-555555555501',
      'auditor sql-login',
      'legacy_reader sql-login',
    ]);
    expect(catalog.principals.find((p) => p.name === 'pm_provisioner')!.notAdoptable).toBe('the user pmgrants connects as');
  });

  it('reads schema permissions as rights, and create-objects from the four CREATE permissions with ALTER on one schema', () => {
    expect(catalog.rights.filter((r) => r.grantee === 'P2P_Editors').map((r) => r.right)).toEqual([
      'alter',
      'create-objects',
      'delete',
      'execute',
      'insert',
      'select',
      'update',
      'view-definition',
    ]);
  });

  it('writes a valid policy adopting the owner user, the roles and their members; every unexpressible permission is a comment', () => {
    const result = buildExport(catalog);
    const yaml = policyYaml(result.policy, { schemaRef: '../schemas/policy.schema.json', notes: result.notes });
    validated(yaml);
    expect(body(yaml)).toBe(`apiVersion: pmgrants/v1
warehouse: { engine: sqlserver, database: PM_Warehouse }
security: { mode: system_managed }
options: { enforcement: additive, builtinPersonas: false }
principals:
  alice_contoso_com: { kind: entra-user, name: "alice@contoso.com", objectId: 11111111-2222-4333-8444-555555555501 }
  contoso_finance:   { kind: windows-group, name: "CONTOSO\\\\Finance" }
  finance_analysts:  { kind: entra-group, name: "Finance Analysts", objectId: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04 }
personas:
  o2c_readers: { scope: app, rights: [select], description: "adopted from role o2c_readers" }
  p2p_editors: { scope: app, rights: [select, insert, update, delete, execute, view-definition, alter, create-objects], description: "adopted from role P2P_Editors" }
  p2p_readers: { scope: app, rights: [select], description: "adopted from role P2P_Readers" }
apps:
  o2c:
    schema: o2c
    personas: [o2c_readers]
    roles: { o2c_readers: o2c_readers }
  p2p:
    schema: p2p
    personas: [p2p_editors, p2p_readers]
    roles: { owner: etl, app: etl, p2p_editors: P2P_Editors, p2p_readers: P2P_Readers }
grants:
  - { persona: o2c_readers, to: [finance_analysts], apps: [o2c] }
  - { persona: p2p_editors, to: [contoso_finance], apps: [p2p] }
  - { persona: p2p_readers, to: [alice_contoso_com, finance_analysts], apps: [p2p] }
`);
    expect(result.notes).toEqual([
      "schema o2c: its owner dbo is not adopted (a built-in principal); the first apply makes pmg_o2c_owner the owner and creates pmg_o2c_app, the login pmgrants generates for the app's transformations",
      'reporting_all: has rights on several app schemas (o2c: select; p2p: select); a persona is per app, so it is not adopted (split it into one role per app)',
      'P2P_Editors has ALTER on role P2P_Readers: not expressed (a persona\'s "manages" is not exported)',
      'P2P_Readers has DENY DELETE on schema p2p: not expressed (pmgrants only grants)',
      'P2P_Readers has DENY SELECT (iban) on p2p.suppliers: a column permission, which no persona expresses',
      'alice@contoso.com: an Entra user or application (the catalog does not tell which); exported as entra-user',
      'auditor has CONTROL on schema p2p: not expressed',
      'auditor has SELECT on p2p.invoices: an object-level permission, which no persona expresses',
      'legacy_reader has SHOWPLAN on the database: not expressed',
      'legacy_reader is a member of the fixed database role db_datareader, which reaches beyond any one app schema; not expressed',
      'reporting_all holds SELECT on schema o2c WITH GRANT OPTION; the policy says the permission, not the option',
    ]);
    for (const n of result.notes) expect(yaml.replace(/\n# {5}/g, ' ')).toContain(`#   - ${n}`);
  });

  it('planned against the same catalog (inspect of the same result sets), the adopted schema needs zero changes', () => {
    const result = buildExport(catalog, { schemas: ['p2p'] });
    const policy = validated(policyYaml(result.policy, { schemaRef: 'x', notes: result.notes }));
    const desired = sqlServerDialect.realize(compilePolicy(policy));
    const actual = inspectSqlServer(
      {
        logins: fixture.logins,
        principals: fixture.principals,
        roleMembers: fixture.roleMembers,
        // What inspect's own query returns: schema, database and principal classes, whole objects.
        permissions: fixture.permissions.filter((p) => [0, 3, 4].includes(p.class) && p.minor_id === 0),
        schemas: fixture.schemas,
      },
      { engine: 'sqlserver', database: 'PM_Warehouse', prefix: 'pmg_', desired },
    );
    const plan = diffState(desired, actual);
    expect(plan.changes).toEqual([]);
    expect(plan.warnings).toEqual([]);
    // Rotation by age never reaches the adopted login, whose password was last set in 2024.
    expect(actual.passwordSetAt).toEqual({});
    const rotating = sqlServerDialect.realize(compilePolicy({ ...policy, security: { ...policy.security, rotation: { maxAgeDays: 30 } } }));
    expect(diffState(rotating, actual, { now: new Date('2026-06-01T00:00:00Z') }).changes).toEqual([]);
  });

  it('with o2c too, the plan holds exactly what the notes announce', () => {
    const result = buildExport(catalog);
    const policy = validated(policyYaml(result.policy, { schemaRef: 'x', notes: result.notes }));
    const desired = sqlServerDialect.realize(compilePolicy(policy));
    const actual = inspectSqlServer(
      { logins: fixture.logins, principals: fixture.principals, roleMembers: fixture.roleMembers, permissions: fixture.permissions.filter((p) => p.class !== 1), schemas: fixture.schemas },
      { engine: 'sqlserver', database: 'PM_Warehouse', prefix: 'pmg_', desired },
    );
    const kinds = diffState(desired, actual).changes.map((c) => c.kind);
    expect(new Set(kinds)).toEqual(new Set(['create-login', 'create-user', 'create-role', 'alter-schema-owner', 'grant']));
    expect(diffState(desired, actual).changes.filter((c) => c.kind === 'grant').every((c) => c.kind === 'grant' && c.permission.grantee === 'pmg_o2c_app')).toBe(true);
  });
});

describe('export on PostgreSQL rows', () => {
  const rows: ExportRows = {
    database: 'wh',
    currentUser: 'admin',
    'export-roles': [
      { name: 'admin', canLogin: true, superuser: false, createRole: true, comment: null },
      { name: 'postgres', canLogin: true, superuser: true, createRole: true, comment: null },
      { name: 'etl', canLogin: true, superuser: false, createRole: false, comment: null },
      { name: 'owners', canLogin: false, superuser: false, createRole: false, comment: null },
      { name: 'readers', canLogin: false, superuser: false, createRole: false, comment: null },
      { name: 'loader', canLogin: false, superuser: false, createRole: false, comment: null },
      { name: 'everywhere', canLogin: false, superuser: false, createRole: false, comment: null },
      { name: 'pmg_a_owner', canLogin: false, superuser: false, createRole: false, comment: 'pmgrants:managed {}' },
      { name: 'Dana', canLogin: true, superuser: false, createRole: false, comment: null },
    ],
    'export-memberships': [
      { role: 'readers', member: 'Dana' },
      { role: 'readers', member: 'postgres' },
      { role: 'owners', member: 'loader' },
      { role: 'readers', member: 'loader' },
    ],
    'export-schemas': [
      { name: 'a', owner: 'etl' },
      { name: 'b', owner: 'postgres' },
      { name: 'c', owner: 'owners' },
      { name: 'public', owner: 'pg_database_owner' },
    ],
    'export-schema-privileges': [
      { schema: 'a', grantee: 'readers', privilege: 'USAGE' },
      { schema: 'b', grantee: 'everywhere', privilege: 'USAGE' },
      { schema: 'c', grantee: 'everywhere', privilege: 'USAGE' },
      { schema: 'c', grantee: 'loader', privilege: 'USAGE' },
      { schema: 'c', grantee: 'loader', privilege: 'CREATE' },
      { schema: 'public', grantee: 'PUBLIC', privilege: 'USAGE' },
    ],
    'export-objects': [
      { schema: 'a', name: 't1', kind: 'tables', owner: 'etl' },
      { schema: 'a', name: 't2', kind: 'tables', owner: 'etl' },
      { schema: 'a', name: 'f(integer)', kind: 'functions', owner: 'etl' },
      { schema: 'b', name: 'u', kind: 'tables', owner: 'postgres' },
      { schema: 'c', name: 'v', kind: 'tables', owner: 'owners' },
    ],
    'export-object-privileges': [
      { schema: 'a', name: 't1', kind: 'tables', grantee: 'readers', privilege: 'SELECT' },
      { schema: 'a', name: 't2', kind: 'tables', grantee: 'readers', privilege: 'SELECT' },
      { schema: 'a', name: 't1', kind: 'tables', grantee: 'readers', privilege: 'TRUNCATE' },
      { schema: 'a', name: 'f(integer)', kind: 'functions', grantee: 'PUBLIC', privilege: 'EXECUTE' },
      { schema: 'b', name: 'u', kind: 'tables', grantee: 'everywhere', privilege: 'SELECT' },
      { schema: 'c', name: 'v', kind: 'tables', grantee: 'everywhere', privilege: 'SELECT' },
      { schema: 'c', name: 'v', kind: 'tables', grantee: 'loader', privilege: 'INSERT' },
    ],
    'export-column-privileges': [],
  };
  const catalog = exportCatalogFromRows(rows);

  it('superusers, the connecting role and pmgrants\' own roles are not adoptable', () => {
    expect(Object.fromEntries(catalog.principals.filter((p) => p.notAdoptable).map((p) => [p.name, p.notAdoptable]))).toEqual({
      admin: 'the role pmgrants connects as',
      postgres: 'a superuser',
      pmg_a_owner: 'managed by pmgrants',
    });
  });

  it('adopts what fits, and says why for the rest', () => {
    const result = buildExport(catalog);
    const yaml = policyYaml(result.policy, { schemaRef: 'x', notes: result.notes });
    const policy = validated(yaml);
    expect(policy.apps).toEqual({
      a: { schema: 'a', source: 'closed', personas: ['readers'], roles: { owner: 'etl', app: 'etl', readers: 'readers' } },
      b: { schema: 'b', source: 'closed', personas: [] },
      c: { schema: 'c', source: 'closed', personas: ['loader'], roles: { owner: 'owners', loader: 'loader' } },
    });
    // loader may ALTER through its membership in the owner role, and CREATE in the schema.
    expect(policy.personas!.loader.rights).toEqual(['insert', 'alter', 'create-objects']);
    expect(policy.principals).toEqual({ dana: { kind: 'sql-login', name: 'Dana' } });
    expect(result.notes).toEqual([
      "schema b: its owner postgres is not adopted (a superuser); the first apply makes pmg_b_owner the owner and creates pmg_b_app, the login pmgrants generates for the app's transformations",
      "schema c: its owner owners cannot log in, so the first apply creates pmg_c_app, the login pmgrants generates for the app's transformations",
      'everywhere: has rights on several app schemas (b: select; c: select); a persona is per app, so it is not adopted (split it into one role per app)',
      'loader is a member of readers, but is itself an adopted role; that membership stays as it is',
      'postgres is a member of readers, but is not adopted (a superuser); that membership stays as it is',
      'PUBLIC has EXECUTE on a.f(integer) (grants to PUBLIC are not adopted)',
      "readers has TRUNCATE on a.t1: a privilege outside pmgrants' rights",
    ]);
  });

  it('a partial grant is an object-level note, not a right', () => {
    const partial = exportCatalogFromRows({ ...rows, 'export-object-privileges': rows['export-object-privileges'].filter((p) => p.name !== 't2') });
    expect(partial.rights.filter((r) => r.grantee === 'readers')).toEqual([]);
    expect(partial.unexpressed.map((u) => u.text)).toContain('readers has SELECT on a.t1 only (1 of 2 tables and views): an object-level grant, which no persona expresses');
  });
});

describe('export of personal data', () => {
  const role = (name: string, canLogin = false) => ({ name, kind: canLogin ? ('sql-login' as const) : ('database-role' as const), canLogin });
  const catalog: ExportCatalog = {
    engine: 'postgres',
    database: 'wh',
    principals: [role('etl', true), role('editors'), role('consumers'), role('auditors'), role('both'), role('mixed'), role('o2c_viewers'), role('ann', true), role('ben', true), role('cy', true)],
    memberships: [
      { role: 'editors', member: 'ann' },
      { role: 'consumers', member: 'ben' },
      { role: 'auditors', member: 'cy' },
    ],
    schemas: [
      { name: 'p2p', owner: 'etl' },
      { name: 'o2c', owner: 'etl' },
    ],
    rights: [
      { grantee: 'auditors', schema: 'p2p_hidden', right: 'select' },
      { grantee: 'both', schema: 'p2p_hidden', right: 'select' },
      { grantee: 'both', schema: 'p2p_masked', right: 'select' },
      { grantee: 'consumers', schema: 'p2p_masked', right: 'select' },
      { grantee: 'editors', schema: 'p2p', right: 'insert' },
      { grantee: 'editors', schema: 'p2p', right: 'select' },
      { grantee: 'mixed', schema: 'p2p', right: 'select' },
      { grantee: 'mixed', schema: 'p2p_masked', right: 'select' },
      { grantee: 'o2c_viewers', schema: 'o2c_masked', right: 'select' },
    ],
    unexpressed: [{ schema: 'p2p_masked', grantee: 'ann', text: 'ann has SELECT on p2p_masked.cases only (1 of 2 tables and views): an object-level grant, which no persona expresses' }],
    companions: [
      { schema: 'p2p_masked', of: 'p2p', visibility: 'masked' },
      { schema: 'p2p_hidden', of: 'p2p', visibility: 'hidden' },
      { schema: 'o2c_masked', of: 'o2c', visibility: 'masked' },
    ],
    personalColumns: [
      { schema: 'p2p', table: 'vendors', column: 'phone', mask: { mask: 'partial', first: 2, last: 2 } },
      { schema: 'p2p', table: 'vendors', column: 'iban', mask: { mask: 'partial', first: 1, last: 1 } },
      { schema: 'p2p', table: 'cases', column: 'user_name', mask: { mask: 'pseudonym' } },
      { schema: 'p2p', table: 'vendors', column: 'contact', mask: { mask: 'redact', text: '***' } },
      { schema: 'p2p', table: 'vendors', column: 'note', mask: { mask: 'redact', text: 'n/a: "hidden"' } },
      { schema: 'p2p', table: 'cases', column: 'birth_date', mask: { mask: 'nullify' } },
      { schema: 'p2p', table: 'Cases', column: 'Owner', mask: { mask: 'pseudonym' } },
      { schema: 'p2p', table: 'log*2026', column: 'user_name', mask: { mask: 'pseudonym' } },
      { schema: 'p2p', table: 'cases', column: 'who?', mask: { mask: 'redact', text: '***' } },
      { schema: 'p2p', table: 'cases', column: 'a.b', mask: { mask: 'nullify' } },
      { schema: 'elsewhere', table: 't', column: 'c', mask: { mask: 'nullify' } },
    ],
  };

  it('masks become exact table.column patterns sorted by table then column, and personas say how they see them', () => {
    const result = buildExport(catalog);
    const yaml = policyYaml(result.policy, { schemaRef: 'x', notes: result.notes });
    const policy = validated(yaml);
    expect(body(yaml)).toBe(`apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: wh }
security: { mode: system_managed }
options: { enforcement: additive, builtinPersonas: false }
principals:
  ann: { kind: sql-login }
  ben: { kind: sql-login }
  cy:  { kind: sql-login }
personas:
  auditors: { scope: app, rights: [select], personalData: hidden, description: "adopted from role auditors" }
  consumers: { scope: app, rights: [select], personalData: masked, description: "adopted from role consumers" }
  editors: { scope: app, rights: [select, insert], personalData: clear, description: "adopted from role editors" }
  mixed: { scope: app, rights: [select], personalData: clear, description: "adopted from role mixed" }
apps:
  o2c:
    schema: o2c
    personas: []
    roles: { owner: etl, app: etl }
  p2p:
    schema: p2p
    personas: [auditors, consumers, editors, mixed]
    roles: { owner: etl, app: etl, auditors: auditors, consumers: consumers, editors: editors, mixed: mixed }
    personalData:
      columns:
        "Cases.Owner": pseudonym
        "cases.birth_date": nullify
        "cases.user_name": pseudonym
        "vendors.contact": redact
        "vendors.iban": partial
        "vendors.note": { mask: redact, text: "n/a: \\"hidden\\"" }
        "vendors.phone": { mask: partial, first: 2, last: 2 }
grants:
  - { persona: auditors, to: [cy], apps: [p2p] }
  - { persona: consumers, to: [ben], apps: [p2p] }
  - { persona: editors, to: [ann], apps: [p2p] }
`);
    expect(result.notes).toEqual([
      'both: reads p2p_hidden and p2p_masked, the masked and the hidden views of p2p; a persona sees personal data one way, so it is not adopted',
      'mixed: reads p2p itself and also p2p_masked; a persona sees personal data one way, so it is adopted as seeing it clear, and its rights on p2p_masked stay as they are',
      'o2c_viewers: reads o2c_masked, pmgrants\' masked views of o2c, but no personal column of o2c is known, and a persona on an app without personal columns reads its tables in clear; not adopted (declare the personal columns, then grant it a persona with personalData: masked)',
      'ann has SELECT on p2p_masked.cases only (1 of 2 tables and views): an object-level grant, which no persona expresses',
      'p2p.cases, column a.b: personal (nullify), but a "*", "?" or "." in its name keeps a table.column pattern from naming it exactly, so it is not in apps.p2p.personalData; until a pattern there covers it, the first apply remakes its masked views showing it in clear',
      'p2p.cases, column who?: personal (redact), but a "*", "?" or "." in its name keeps a table.column pattern from naming it exactly, so it is not in apps.p2p.personalData; until a pattern there covers it, the first apply remakes its masked views showing it in clear',
      'p2p.log*2026, column user_name: personal (pseudonym), but a "*", "?" or "." in its name keeps a table.column pattern from naming it exactly, so it is not in apps.p2p.personalData; until a pattern there covers it, the first apply remakes its masked views showing it in clear',
    ]);
    // The patterns, read back as the policy reads them, give each column the mask it had, and no other column one.
    const rules = personalColumnRules(policy.apps.p2p.personalData);
    for (const c of catalog.personalColumns!.filter((c) => c.schema === 'p2p' && !/[*?.]/.test(c.table + c.column))) {
      expect(columnMask(rules, c.table, c.column)).toEqual(c.mask);
    }
    expect(columnMask(rules, 'cases', 'amount')).toBeUndefined();
    expect(columnMask(rules, 'cases', 'Owner')).toBeUndefined();
  });

  it('with --schemas, only the chosen apps get their personal columns, and only their notes', () => {
    const result = buildExport(catalog, { schemas: ['o2c'] });
    expect(result.policy.apps.o2c.personalData).toBeUndefined();
    expect(result.notes.filter((n) => n.includes('p2p'))).toEqual([]);
  });
});

describe('export on PostgreSQL rows with pmgrants\' masked views', () => {
  const view = (schema: string, table: string, columns: [string, { mask: 'pseudonym' | 'redact' | 'partial' | 'nullify'; text?: string; first?: number; last?: number }?][], hidden: string[] = []) =>
    maskedViewComment({ source: { schema, name: table }, keySchema: 'pd_masking', columns: columns.map(([name, mask]) => (mask ? { name, mask } : { name })), hidden });
  const masker = managedComment({ purpose: 'schema-owner', warehouse: 'wh' });
  const rows: ExportRows = {
    database: 'wh',
    currentUser: 'admin',
    'export-roles': [
      { name: 'admin', canLogin: true, superuser: true, createRole: true, comment: null },
      { name: 'etl', canLogin: true, superuser: false, createRole: false, comment: null },
      { name: 'consumers', canLogin: false, superuser: false, createRole: false, comment: null },
      { name: 'pd_masker', canLogin: false, superuser: false, createRole: false, comment: masker },
    ],
    'export-memberships': [],
    'export-schemas': [
      { name: 'o2c', owner: 'etl' },
      { name: 'p2p', owner: 'etl' },
      { name: 'p2p_hidden', owner: 'pd_masker' },
      { name: 'p2p_masked', owner: 'pd_masker' },
      { name: 'pd_masking', owner: 'pd_masker' },
      { name: 'reports', owner: 'etl' },
    ],
    'export-schema-privileges': [
      { schema: 'o2c', grantee: 'pd_masker', privilege: 'USAGE' },
      { schema: 'p2p', grantee: 'pd_masker', privilege: 'USAGE' },
      { schema: 'p2p_masked', grantee: 'consumers', privilege: 'USAGE' },
    ],
    'export-objects': [
      { schema: 'p2p', name: 'cases', kind: 'tables', owner: 'etl' },
      { schema: 'p2p', name: 'events', kind: 'tables', owner: 'etl' },
      { schema: 'p2p', name: 'vendors', kind: 'tables', owner: 'etl' },
      { schema: 'p2p_hidden', name: 'cases', kind: 'tables', owner: 'pd_masker' },
      { schema: 'p2p_hidden', name: 'events', kind: 'tables', owner: 'pd_masker' },
      { schema: 'p2p_masked', name: 'cases', kind: 'tables', owner: 'pd_masker' },
      { schema: 'p2p_masked', name: 'vendors', kind: 'tables', owner: 'pd_masker' },
      { schema: 'reports', name: 'cases', kind: 'tables', owner: 'etl' },
    ],
    'export-object-privileges': [
      { schema: 'p2p', name: 'cases', kind: 'tables', grantee: 'pd_masker', privilege: 'SELECT' },
      { schema: 'p2p', name: 'events', kind: 'tables', grantee: 'pd_masker', privilege: 'SELECT' },
      { schema: 'p2p', name: 'vendors', kind: 'tables', grantee: 'pd_masker', privilege: 'SELECT' },
      { schema: 'p2p_masked', name: 'cases', kind: 'tables', grantee: 'consumers', privilege: 'SELECT' },
      { schema: 'p2p_masked', name: 'vendors', kind: 'tables', grantee: 'consumers', privilege: 'SELECT' },
    ],
    'export-column-privileges': [],
    'export-masked-views': [
      { schema: 'p2p_hidden', name: 'cases', comment: view('p2p', 'cases', [['id'], ['amount']], ['user_name', 'birth_date']) },
      { schema: 'p2p_hidden', name: 'events', comment: view('p2p', 'events', [['case_id']], ['user_name']) },
      { schema: 'p2p_masked', name: 'cases', comment: view('p2p', 'cases', [['id'], ['user_name', { mask: 'pseudonym' }], ['birth_date', { mask: 'partial', first: 0, last: 4 }], ['amount']]) },
      { schema: 'p2p_masked', name: 'vendors', comment: 'pmgrants masked view {"of": "not what it should be"}' },
      // Not in a schema of the masking owner: not pmgrants' view, whatever its comment says.
      { schema: 'reports', name: 'cases', comment: view('reports', 'cases', [['user_name', { mask: 'nullify' }]]) },
    ],
  };
  const catalog = exportCatalogFromRows(rows, 'pd_');

  it('the masks the views record become the base schema\'s personal columns; a hidden column without a masked view is nullify', () => {
    expect(catalog.schemas.map((s) => s.name)).toEqual(['o2c', 'p2p', 'reports']);
    expect(catalog.companions).toEqual([
      { schema: 'p2p_hidden', of: 'p2p', visibility: 'hidden' },
      { schema: 'p2p_masked', of: 'p2p', visibility: 'masked' },
    ]);
    expect(catalog.personalColumns).toEqual([
      { schema: 'p2p', table: 'cases', column: 'user_name', mask: { mask: 'pseudonym' } },
      { schema: 'p2p', table: 'cases', column: 'birth_date', mask: { mask: 'partial', first: 0, last: 4 } },
      { schema: 'p2p', table: 'events', column: 'user_name', mask: { mask: 'nullify' } },
    ]);
    expect(catalog.rights.filter((r) => r.grantee === 'consumers')).toEqual([{ grantee: 'consumers', schema: 'p2p_masked', right: 'select' }]);
    expect(catalog.unexpressed.map((u) => u.text)).toEqual([
      'pd_masker has USAGE on schema o2c but no schema-wide right on its objects',
      "schema p2p_hidden (owned by pd_masker) holds pmgrants' masked views or pseudonym key for personal data, not an app: the masks its views record are the personal columns of schema p2p, and the roles reading it see them hidden",
      "schema p2p_masked (owned by pd_masker) holds pmgrants' masked views or pseudonym key for personal data, not an app: the masks its views record are the personal columns of schema p2p, and the roles reading it see them masked",
      "schema pd_masking (owned by pd_masker) holds pmgrants' masked views or pseudonym key for personal data, not an app",
      'view p2p_masked.vendors: its comment does not say its masks in a form this pmgrants reads; its personal columns are not exported',
      'p2p.events, column user_name: hidden in p2p_hidden.events, and no masked view of p2p.events says its mask; exported as nullify (what a persona that sees it masked would read: make it pseudonym, redact or partial if it should)',
      "schema o2c: pmgrants' masking owner pd_masker reads it, so a policy declared personal columns there, but no masked view records them (it has no table yet, or no persona read it masked or hidden): declare them again (apps.<app>.personalData)",
    ]);
  });

  it('exported with another prefix, it says which prefix keeps the masking owner and its key', () => {
    expect(exportCatalogFromRows(rows).unexpressed.map((u) => u.text)).toContain(
      "pd_masker owns the masked views, but with prefix pmg_ the policy's masking owner is pmg_masker: export with --prefix pd_ (else the first apply makes pmg_masker and another pseudonym key, pmg_masking, and remakes every masked view with new pseudonyms)",
    );
  });

  it('the policy declares them, and the role reading the masked views is a persona that sees them masked', () => {
    const result = buildExport(catalog, { prefix: 'pd_' });
    const policy = validated(policyYaml(result.policy, { schemaRef: 'x', notes: result.notes }));
    expect(policy.apps.p2p.personalData).toEqual({ columns: { 'cases.birth_date': { mask: 'partial', first: 0, last: 4 }, 'cases.user_name': 'pseudonym', 'events.user_name': 'nullify' } });
    expect(policy.apps.reports.personalData).toBeUndefined();
    expect(policy.personas).toEqual({ consumers: { scope: 'app', rights: ['select'], personalData: 'masked', description: 'adopted from role consumers' } });
    expect(policy.apps.p2p.roles).toEqual({ owner: 'etl', app: 'etl', consumers: 'consumers' });
  });
});

describe('export helpers', () => {
  it('keys are policy keys, unique, and avoid reserved names', () => {
    const taken = new Set<string>();
    expect(keyFor('Finance Analysts', taken)).toBe('finance_analysts');
    expect(keyFor('finance-analysts!', taken)).toBe('finance-analysts');
    expect(keyFor('FINANCE ANALYSTS', taken)).toBe('finance_analysts_2');
    expect(keyFor('42', taken)).toBe('r_42');
    expect(keyFor('owner', new Set(), ['owner'])).toBe('owner_2');
  });
  it('scalars are plain only when YAML reads them back unchanged', () => {
    expect(scalar('etl')).toBe('etl');
    expect(scalar('yes')).toBe('"yes"');
    expect(scalar('CONTOSO\\Finance')).toBe('"CONTOSO\\\\Finance"');
    expect(scalar('a b')).toBe('"a b"');
    expect(scalar('1abc')).toBe('"1abc"');
  });
});
