/**
 * The pure half of pmgrants report: statuses from facts + policy, the digest, and formatters that stay
 * safe with hostile role names (a CSV cell a spreadsheet would run, HTML, markdown tables).
 */
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import { Policy } from '../../provider/model/types';
import { buildReport, catalogDigest } from '../../provider/report/compute';
import { formatReport, formatReportCsv, formatReportMarkdown, REPORT_FORMATS } from '../../provider/report/format';
import { formatReportHtml, REPORT_CSP } from '../../provider/report/html';
import { AccessFacts } from '../../provider/model/access';
import reportSchema from '../../schemas/report.schema.json';
import { expectFormatsAgree } from '../support/report-formats';

const HOSTILE = '=cmd|"/c calc"!A1 <img src=x onerror=alert(1)></script>';

const policy: Policy = {
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'postgres', database: 'wh' },
  security: { mode: 'system_managed', rotation: { maxAgeDays: 30 } },
  principals: { analysts: { kind: 'database-role' }, ghosts: { kind: 'database-role' } },
  apps: { p2p: { schema: 'p2p', source: 'closed' } },
  grants: [
    { persona: 'data_consumer', to: ['analysts'], apps: ['p2p'] },
    { persona: 'data_consumer', to: ['ghosts'], apps: ['p2p'] },
  ],
};
const desired = compilePolicy(policy);
const path = (detail: string) => [{ kind: 'membership' as const, via: ['pmg_p2p_data_consumer'], detail }];

const facts: AccessFacts = {
  engine: 'postgres',
  identity: { database: 'wh', server: '127.0.0.1:5432', version: 'PostgreSQL 15.18', id: 'oid 1' },
  principals: [
    { name: 'PUBLIC', kind: 'public', canLogin: false, superuser: false, notes: [] },
    { name: 'analysts', kind: 'role', canLogin: false, superuser: false, notes: [] },
    { name: 'pmg_p2p_app', kind: 'login', canLogin: true, superuser: false, notes: [], marker: { purpose: 'app-login', passwordSetAt: '2026-01-01T00:00:00.000Z' } },
    { name: HOSTILE, kind: 'login', canLogin: true, superuser: false, notes: [] },
    { name: 'pmg_p2p_data_consumer', kind: 'role', canLogin: false, superuser: false, notes: [], marker: { purpose: 'persona' } },
  ],
  schemas: { p2p: 'pmg_p2p_owner' },
  held: [
    { principal: 'analysts', schema: 'p2p', right: 'select', paths: path('SELECT on 2 of 3 tables'), partial: 'SELECT on 2 of 3 tables' },
    { principal: HOSTILE, schema: 'p2p', right: 'insert', paths: [{ kind: 'direct', via: [], detail: `INSERT, granted to ${HOSTILE}` }] },
    { principal: 'pmg_p2p_data_consumer', schema: 'p2p', right: 'select', paths: [{ kind: 'direct', via: [], detail: 'x' }] },
    { principal: 'PUBLIC', schema: 'p2p', right: 'view-definition', paths: [{ kind: 'engine', via: [], detail: 'every role' }], inherent: true },
    { principal: 'analysts', schema: 'p2p', right: 'view-definition', paths: [{ kind: 'engine', via: [], detail: 'every role' }], inherent: true },
  ],
  raw: { b: 1, a: [2, { d: 3, c: 4 }] },
};
const report = buildReport(facts, { desired, policy, policyFile: 'p.yaml', now: new Date('2026-02-15T00:00:00Z') });
const cell = (p: string, r: string) => report.cells.find((c) => c.principal === p && c.right === r);

describe('buildReport', () => {
  it('partial rights are missing, drift is drift, inherent only on PUBLIC, absent principals are rows with missing cells', () => {
    expect(cell('analysts', 'select')).toMatchObject({ status: 'missing', detail: expect.stringMatching(/^only SELECT on 2 of 3 tables/) });
    expect(cell(HOSTILE, 'insert')).toMatchObject({ status: 'drift' });
    expect(cell('PUBLIC', 'view-definition')).toMatchObject({ status: 'inherent' });
    expect(cell('analysts', 'view-definition')).toBeUndefined(); // closed app: not expected, not a finding
    expect(report.principals.find((p) => p.name === 'ghosts')).toMatchObject({ origin: 'policy', notes: ['not found in the database'] });
    expect(cell('ghosts', 'select')).toMatchObject({ status: 'missing', paths: [] });
    expect(report.principals.map((p) => p.name)).not.toContain('pmg_p2p_data_consumer');
    expect(report.logins).toEqual([{ login: 'pmg_p2p_app', app: 'p2p', passwordSetAt: '2026-01-01T00:00:00.000Z', ageDays: 45, maxAgeDays: 30, overdue: true, validUntil: null, expired: false }]);
    expect(report.summary.overdueLogins).toEqual(['pmg_p2p_app']);
  });

  it('digests the catalog rows whatever the order of their keys', () => {
    expect(report.catalogDigest).toBe(catalogDigest({ a: [2, { c: 4, d: 3 }], b: 1 }));
    expect(report.catalogDigest).not.toBe(catalogDigest({ a: [2, { c: 4, d: 5 }], b: 1 }));
  });
});

describe('report formats', () => {
  it('JSON validates against schemas/report.schema.json', () => {
    const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(reportSchema);
    expect(validate(JSON.parse(formatReport('json', report))), JSON.stringify(validate.errors)).toBe(true);
  });

  it('every format renders', () => {
    for (const f of REPORT_FORMATS) expect(formatReport(f, report).length).toBeGreaterThan(100);
  });

  it('CSV: a cell starting with = is defused, quotes and commas are quoted', () => {
    const row = formatReportCsv(report).split('\r\n').find((l) => l.includes('calc'))!;
    expect(row.startsWith(`"'=cmd|""/c calc""!A1 <img`)).toBe(true);
  });

  it('HTML: names are escaped, the cell data cannot close its script element, the CSP forbids every request', () => {
    const html = formatReportHtml(report);
    expect(html).not.toContain('<img src=x');
    expect(html.match(/<\/script>/g)).toHaveLength(2); // the JSON data and the script, nothing from a name
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(REPORT_CSP.startsWith("default-src 'none'; style-src 'sha256-")).toBe(true);
    expect(html).toContain(`content="${REPORT_CSP}"`);
  });

  it('markdown: a name cannot break the table', () => {
    const line = formatReportMarkdown(report).split('\n').find((l) => l.includes('calc') && l.startsWith('| '))!;
    expect(line).toContain('=cmd\\|"/c calc"!A1 \\<img');
    expect(line.split(/(?<!\\)\|/).length).toBe(4); // | name | p2p |
  });
});

/**
 * A team's members outside the policy, temporary grants and the provisioning login: what statuses they
 * get. The policy gives the team `finance` the consumer persona until a date in the warning window, and
 * `contractors` a grant that has expired (its membership still there).
 */
describe('buildReport: teams, administration and expiry', () => {
  const now = new Date('2027-03-20T12:00:00Z');
  const teams: Policy = {
    apiVersion: 'pmgrants/v1',
    warehouse: { engine: 'postgres', database: 'wh' },
    security: { mode: 'system_managed' },
    principals: { finance: { kind: 'database-role' }, contractors: { kind: 'database-role' } },
    apps: { p2p: { schema: 'p2p', source: 'closed' } },
    grants: [
      { persona: 'data_consumer', to: ['finance'], apps: ['p2p'], expires: '2027-03-31' },
      { persona: 'data_consumer', to: ['contractors'], apps: ['p2p'], expires: '2027-03-01' },
    ],
  };
  const wanted = compilePolicy(teams, { now });
  const consumer = (via: string[]) => [{ kind: 'membership' as const, via, detail: `SELECT on all 2 tables granted to pmg_p2p_data_consumer, inherited through ${via.join(' → ')}` }];
  const teamFacts: AccessFacts = {
    ...facts,
    principals: [
      { name: 'PUBLIC', kind: 'public', canLogin: false, superuser: false, notes: [] },
      ...['finance', 'contractors'].map((name) => ({ name, kind: 'role' as const, canLogin: false, superuser: false, notes: [] })),
      ...['alice', 'dave'].map((name) => ({ name, kind: 'login' as const, canLogin: true, superuser: false, notes: [] })),
      { name: 'prov', kind: 'login', canLogin: true, superuser: false, notes: ['CREATEROLE: an administrator'], administrator: true },
    ],
    held: [
      { principal: 'finance', schema: 'p2p', right: 'select', paths: consumer(['pmg_p2p_data_consumer']) },
      { principal: 'alice', schema: 'p2p', right: 'select', paths: consumer(['finance', 'pmg_p2p_data_consumer']) },
      { principal: 'contractors', schema: 'p2p', right: 'select', paths: consumer(['pmg_p2p_data_consumer']) },
      { principal: 'dave', schema: 'p2p', right: 'select', paths: consumer(['contractors', 'pmg_p2p_data_consumer']) },
      { principal: 'prov', schema: 'p2p', right: 'alter', paths: [{ kind: 'admin', via: ['pmg_p2p_owner'], detail: 'pmg_p2p_owner owns all 2 tables, held through pmg_p2p_owner' }], bypass: true },
    ],
    memberships: [
      { role: 'finance', member: 'alice' },
      { role: 'contractors', member: 'dave' },
      { role: 'pmg_p2p_owner', member: 'prov', admin: true },
    ],
  };
  const r = buildReport(teamFacts, { desired: wanted, policy: teams, now, expiryWarningDays: 14 });
  const at = (p: string, right: string) => r.cells.find((c) => c.principal === p && c.right === right);

  it('a team member is expected through the team, the membership noted as managed outside the policy', () => {
    expect(r.principals.find((p) => p.name === 'alice')).toMatchObject({ origin: 'member', memberOf: ['finance'], notes: [expect.stringMatching(/^member of finance .*managed outside the policy$/)] });
    expect(at('alice', 'select')).toMatchObject({ status: 'expected', through: 'finance', expires: '2027-03-31' });
  });

  it('an expired grant still in the database is drift that says when it expired', () => {
    expect(at('contractors', 'select')).toMatchObject({ status: 'drift', expired: '2027-03-01', detail: expect.stringMatching(/^expired on 2027-03-01/) });
    expect(at('dave', 'select')).toMatchObject({ status: 'drift', expired: '2027-03-01', through: 'contractors' });
  });

  it('the provisioning login is an administrator whose administration is privileged, not drift', () => {
    expect(r.principals.find((p) => p.name === 'prov')).toMatchObject({ origin: 'administrator' });
    expect(at('prov', 'alter')).toMatchObject({ status: 'privileged' });
    expect(r.summary.principalsWithDrift).toEqual(['contractors', 'dave']);
  });

  it('the summary lists the grants ending within the warning window', () => {
    expect(r.summary.expiringGrants).toEqual([{ principal: 'finance', persona: 'data_consumer', apps: ['p2p'], expires: '2027-03-31', daysLeft: 12 }]);
    expect(buildReport(teamFacts, { desired: wanted, policy: teams, now, expiryWarningDays: 11 }).summary.expiringGrants).toEqual([]);
  });

  it('HTML, CSV and markdown agree with the JSON, and show expiry', () => {
    const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(reportSchema);
    expect(validate(JSON.parse(formatReport('json', r))), JSON.stringify(validate.errors)).toBe(true);
    expectFormatsAgree(r, formatReportCsv(r), formatReportMarkdown(r), formatReportHtml(r));
    for (const text of [formatReportCsv(r), formatReportMarkdown(r), formatReportHtml(r)]) {
      expect(text).toContain('until 2027-03-31');
      expect(text).toContain('expired on 2027-03-01');
    }
    expect(formatReportMarkdown(r)).toContain('Grants ending soon: finance (data_consumer on p2p) until 2027-03-31, in 12 days.');
  });
});
