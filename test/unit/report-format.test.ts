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
