/**
 * Protected roles on a real PostgreSQL, through the CLI. The platform's own role (pm_internal, with its
 * service login and a member nobody named) gets rights on an app schema and a persona role by hand, as
 * a stranger does. In authoritative enforcement the plan revokes the stranger's and keeps pm_internal's,
 * saying so; apply changes nothing of pm_internal (no statement of pmgrants names it: the server log is
 * read); its service login still reads through it, the stranger no longer does; report lists its
 * members, named or not; validate refuses a grant to it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../support/cli';
import { scenario } from '../support/scenario';
import { expectFormatsAgree } from '../support/report-formats';
import { AccessReport } from '../../provider/report/types';
import { postgresUnavailableReason, runsAs, startTestServer, TestServer } from '../support/pg';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the protected-roles end-to-end tests: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

const DATABASE = 'pm_protected';
let pg: TestServer;
let dir: string;
let policyFile: string;
let secretsFile: string;
let dbUrl: string;

const cli = (args: string[]) => runCliCaptured(args, { env: { PMGRANTS_DATABASE_URL: dbUrl }, cwd: dir });

const POLICY = `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: ${DATABASE} }
security: { mode: system_managed }
principals:
  analysts: { kind: database-role }
apps:
  p2p: { schema: p2p }
grants:
  - { persona: data_consumer, to: [analysts], apps: [p2p] }
protected:
  - { role: pm_internal, members: [pm_service], description: the platform's own service role }
`;

/** The statements sessions named application_name=pmgrants sent, from the server log (log_line_prefix '%a|'). */
const pmgrantsStatements = () => pg.serverLog.filter((line) => line.includes('pmgrants|') && /statement: /.test(line));

const reads = (user: string) => runsAs(pg, user, `${user}-pw`, DATABASE, 'SELECT * FROM p2p.cases');

beforeAll(async () => {
  if (unavailable) return;
  pg = await startTestServer({ log_statement: 'all', log_line_prefix: '%a|' });
  dbUrl = await pg.createDatabase(DATABASE);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-protected-'));
  policyFile = path.join(dir, 'policy.yaml');
  secretsFile = path.join(dir, 'credentials.json');
  fs.writeFileSync(policyFile, POLICY);
  const admin = await pg.connect(dbUrl);
  for (const sql of [
    'CREATE ROLE pm_internal NOLOGIN',
    ...['pm_service', 'alice', 'stranger'].map((u) => `CREATE ROLE ${u} LOGIN PASSWORD '${u}-pw'`),
    'GRANT pm_internal TO pm_service, alice',
  ]) {
    await admin.query(sql);
  }
  const first = await cli(['apply', policyFile, '--yes', '--secrets-file', secretsFile]);
  expect(first.code, first.err).toBe(0);
  // Rights by hand: the platform's role and a stranger on the app schema; the platform's role in a persona role.
  for (const sql of [
    'CREATE TABLE p2p.cases (id int)',
    'ALTER TABLE p2p.cases OWNER TO pmg_p2p_owner',
    'GRANT USAGE ON SCHEMA p2p TO pm_internal, stranger',
    'GRANT SELECT ON p2p.cases TO pm_internal, stranger',
    'GRANT pmg_p2p_data_consumer TO pm_internal',
  ]) {
    await admin.query(sql);
  }
  await admin.end();
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

scenario('protected roles (PostgreSQL, CLI)', (s) => {
  s.step('plan revokes the stranger\'s rights, keeps the protected role\'s and says so, and names the member the policy does not', async () => {
    expect(await reads('stranger')).toBe(true);
    const plan = await cli(['plan', policyFile, '--secrets-file', secretsFile, '--detailed-exitcode']);
    expect(plan.code, plan.err).toBe(2);
    expect(plan.out).toMatch(/- revoke .*stranger/);
    expect(plan.out).not.toMatch(/^\s*[-+~] .*pm_internal/m);
    const text = plan.out + plan.err;
    expect(text).toContain('protected role "pm_internal" (protected[0]) keeps what the policy does not give:');
    expect(text).toContain('membership of pm_internal in pmg_p2p_data_consumer');
    expect(text).toContain('protected role "pm_internal" has a member the policy does not name (protected[0].members): alice; pmgrants leaves it as it is');
  });

  s.step('apply sends no statement naming the protected role; its service login still reads through it, the stranger no longer does', async () => {
    const before = pmgrantsStatements().length;
    const apply = await cli(['apply', policyFile, '--yes', '--secrets-file', secretsFile]);
    expect(apply.code, apply.err).toBe(0);
    const sent = pmgrantsStatements().slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((line) => /stranger/.test(line)).length).toBeGreaterThan(0);
    expect(sent.filter((line) => /pm_internal|pm_service|alice/.test(line))).toEqual([]);
    expect(await reads('stranger')).toBe('42501');
    expect(await reads('pm_service')).toBe(true);
    const admin = await pg.connect(dbUrl);
    const members = await admin.query(
      `SELECT r.rolname AS role, m.rolname AS member FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
       WHERE 'pm_internal' IN (r.rolname, m.rolname) ORDER BY 1, 2`,
    );
    await admin.end();
    expect(members.rows).toEqual([
      { role: 'pm_internal', member: 'alice' },
      { role: 'pm_internal', member: 'pm_service' },
      { role: 'pmg_p2p_data_consumer', member: 'pm_internal' },
    ]);
    const again = await cli(['plan', policyFile, '--secrets-file', secretsFile, '--detailed-exitcode']);
    expect(again.code, again.out).toBe(0);
    expect(again.out + again.err).toContain('protected role "pm_internal" has a member the policy does not name');
  });

  s.step('report lists the protected role with its members, named or not, the same in every format', async () => {
    const report = await cli(['report', policyFile, '--format', 'json']);
    expect(report.code, report.err).toBe(0);
    const json = JSON.parse(report.out) as AccessReport;
    expect(json.protected).toEqual([
      {
        role: 'pm_internal',
        entry: 0,
        members: [
          { name: 'alice', named: false },
          { name: 'pm_service', named: true },
        ],
      },
    ]);
    expect(json.summary.unnamedProtectedMembers).toEqual(['pm_internal: alice']);
    const [csv, md, html] = await Promise.all(['csv', 'markdown', 'html'].map(async (format) => (await cli(['report', policyFile, '--format', format])).out));
    expect(md).toContain('| pm_internal | protected[0] | **alice (not named by the policy)**, pm_service |');
    expectFormatsAgree(json, csv, md, html);
  });
}, suite);

suite('protected roles (PostgreSQL, CLI): validate', () => {
  it('validate refuses a grant to the protected role, at its position', async () => {
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, POLICY.replace('  analysts: { kind: database-role }', '  analysts: { kind: database-role }\n  internal: { kind: database-role, name: pm_internal }').replace('to: [analysts]', 'to: [analysts, internal]'));
    const v = await cli(['validate', bad]);
    expect(v.code).toBe(1);
    expect(v.out).toContain('bad.yaml:10:46 error protected-role grant 1 would make "pm_internal" a member of data_consumer roles, but protected[0] protects it');
  });
});
