/**
 * The access report's protected roles and password validity, pure: facts + policy -> the protected
 * section (members named or not), each login's validUntil and expired, their formats (hostile names
 * escaped, markdown and HTML saying what the JSON says) and the report schema.
 */
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import { Policy } from '../../provider/model/types';
import { buildReport } from '../../provider/report/compute';
import { formatReportCsv, formatReportMarkdown } from '../../provider/report/format';
import { formatReportHtml } from '../../provider/report/html';
import { AccessFacts } from '../../provider/model/access';
import reportSchema from '../../schemas/report.schema.json';
import { expectFormatsAgree } from '../support/report-formats';

const HOSTILE = '<img src=x onerror=alert(1)>|x';

const policy = (engine: 'postgres' | 'sqlserver', extra: Partial<Policy> = {}): Policy => ({
  apiVersion: 'pmgrants/v1',
  warehouse: { engine, database: 'wh' },
  security: { mode: 'system_managed', rotation: { validFor: '8h' } },
  principals: { analysts: { kind: 'database-role' } },
  apps: { p2p: { schema: 'p2p', source: 'closed' }, o2c: { schema: 'o2c', source: 'closed' } },
  grants: [{ persona: 'data_consumer', to: ['analysts'], apps: ['*'] }],
  protected: [{ role: 'pm_internal', members: ['pm_service'] }, 'svc_*', 'absent_role'],
  ...extra,
});

const now = new Date('2030-01-01T12:00:00Z');
const facts = (engine: 'postgres' | 'sqlserver'): AccessFacts => ({
  engine,
  identity: { database: 'wh', server: 's', version: 'v' },
  principals: [
    { name: engine === 'postgres' ? 'pm_internal' : 'PM_Internal', kind: 'role', canLogin: false, superuser: false, notes: [] },
    { name: 'svc_backup', kind: 'role', canLogin: false, superuser: false, notes: [] },
    { name: 'pmg_p2p_app', kind: 'login', canLogin: true, superuser: false, notes: [], marker: { passwordSetAt: '2030-01-01T02:00:00.000Z' }, validUntil: '2030-01-01T10:00:00.000Z' },
    { name: 'pmg_o2c_app', kind: 'login', canLogin: true, superuser: false, notes: [], marker: { passwordSetAt: '2030-01-01T11:00:00.000Z' } },
  ],
  schemas: {},
  held: [],
  memberships: [
    { role: 'pm_internal', member: 'pm_service' },
    { role: 'pm_internal', member: HOSTILE },
    { role: 'svc_backup', member: 'bob' },
    { role: 'pmg_p2p_data_consumer', member: 'analysts' },
  ],
  raw: {},
});

describe('report: protected roles', () => {
  const report = buildReport(facts('postgres'), { desired: compilePolicy(policy('postgres')), policy: policy('postgres'), now });

  it('lists every protected role the database has with its members, named or not; absent ones are not rows', () => {
    expect(report.protected).toEqual([
      { role: 'pm_internal', entry: 0, members: [{ name: HOSTILE, named: false }, { name: 'pm_service', named: true }] },
      { role: 'svc_backup', entry: 1, members: [{ name: 'bob', named: false }] },
    ]);
    expect(report.summary.unnamedProtectedMembers).toEqual([`pm_internal: ${HOSTILE}`, 'svc_backup: bob']);
  });

  it('names compare as the engine does (SQL Server: case-insensitively)', () => {
    const ms = buildReport(facts('sqlserver'), { desired: compilePolicy(policy('sqlserver')), policy: policy('sqlserver'), now });
    expect(ms.protected?.[0]).toEqual({ role: 'PM_Internal', entry: 0, members: [{ name: HOSTILE, named: false }, { name: 'pm_service', named: true }] });
  });

  it('without protected entries there is no section', () => {
    const plain = buildReport(facts('postgres'), { desired: compilePolicy(policy('postgres', { protected: undefined })), policy: policy('postgres', { protected: undefined }), now });
    expect(plain.protected).toBeUndefined();
    expect(plain.summary.unnamedProtectedMembers).toBeUndefined();
    expect(formatReportMarkdown(plain)).not.toContain('Protected roles');
  });

  it('markdown and HTML show the section with hostile names escaped; the JSON validates', () => {
    const md = formatReportMarkdown(report);
    expect(md).toContain('### Protected roles (2)');
    expect(md).toContain('| pm_internal | protected[0] | **\\<img src=x onerror=alert(1)\\>\\|x (not named by the policy)**, pm_service |');
    const html = formatReportHtml(report);
    expect(html).toContain('<h2>Protected roles (2)</h2>');
    expect(html).not.toContain('<img src=x');
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(reportSchema);
    expect(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors)).toBe(true);
  });
});

describe('report: when each password expires', () => {
  it('PostgreSQL: the earlier of VALID UNTIL and set time + validFor; expired past it', () => {
    const report = buildReport(facts('postgres'), { desired: compilePolicy(policy('postgres')), policy: policy('postgres'), now });
    expect(report.logins.map((l) => [l.login, l.validUntil, l.expired])).toEqual([
      ['pmg_o2c_app', '2030-01-01T19:00:00.000Z', false],
      ['pmg_p2p_app', '2030-01-01T10:00:00.000Z', true],
    ]);
    expect(report.summary.expiredLogins).toEqual(['pmg_p2p_app']);
    const md = formatReportMarkdown(report);
    expect(md).toContain('| Login | App | Password set | Age (days) | Rotation | Valid until |');
    expect(md).toContain('| **expired** 2030-01-01T10:00:00.000Z |');
    expect(md).not.toContain('does not expire a login');
  });

  it('SQL Server: the policy lifetime from the set time, with a note that the server does not enforce it', () => {
    const report = buildReport(facts('sqlserver'), { desired: compilePolicy(policy('sqlserver')), policy: policy('sqlserver'), now });
    expect(report.logins.find((l) => l.login === 'pmg_p2p_app')).toMatchObject({ validUntil: '2030-01-01T10:00:00.000Z', expired: true });
    expect(formatReportMarkdown(report)).toContain('sqlserver does not expire a login\'s password by itself');
    expect(formatReportHtml(report)).toContain('sqlserver does not expire a login&#39;s password by itself');
  });

  it('no lifetime: no column, validUntil null', () => {
    const p = policy('postgres', { security: { mode: 'system_managed' } });
    const f = facts('postgres');
    f.principals = f.principals.map((x) => ({ ...x, validUntil: undefined }));
    const report = buildReport(f, { desired: compilePolicy(p), policy: p, now });
    expect(report.logins.every((l) => l.validUntil === null && l.expired === false)).toBe(true);
    expect(formatReportMarkdown(report)).not.toContain('Valid until');
  });
});

describe('report: the protected section and password validity agree in every format', () => {
  const variants: [string, Policy, AccessFacts][] = [
    ['PostgreSQL, a role with unnamed members, an expired password', policy('postgres'), facts('postgres')],
    ['SQL Server, names compared case-insensitively', policy('sqlserver'), facts('sqlserver')],
    ['a protected role without members, a shared login (no app)', policy('postgres', { security: { mode: 'single_account', rotation: { validFor: '8h' } } }), { ...facts('postgres'), memberships: [] }],
    ['protected entries none of which the database has', policy('postgres', { protected: ['absent_role'] }), facts('postgres')],
    ['no protected entries, no lifetime', policy('postgres', { protected: undefined, security: { mode: 'system_managed' } }), { ...facts('postgres'), principals: facts('postgres').principals.map((x) => ({ ...x, validUntil: undefined })) }],
  ];
  it.each(variants)('%s', (_name, p, f) => {
    const report = buildReport(f, { desired: compilePolicy(p), policy: p, now });
    const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(reportSchema);
    expect(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors)).toBe(true);
    expectFormatsAgree(report, formatReportCsv(report), formatReportMarkdown(report), formatReportHtml(report));
  });

  it('the check reads the sections: a member shown as named in the HTML alone is caught', () => {
    const report = buildReport(facts('postgres'), { desired: compilePolicy(policy('postgres')), policy: policy('postgres'), now });
    const html = formatReportHtml(report).replace('bob (not named by the policy)', 'bob');
    expect(() => expectFormatsAgree(report, formatReportCsv(report), formatReportMarkdown(report), html)).toThrow();
    const md = formatReportMarkdown(report).replace('| **expired** 2030-01-01T10:00:00.000Z |', '| 2030-01-01T10:00:00.000Z |');
    expect(() => expectFormatsAgree(report, formatReportCsv(report), md, formatReportHtml(report))).toThrow();
  });
});
