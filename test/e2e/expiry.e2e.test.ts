/**
 * Expiring grants on a real PostgreSQL, through the CLI with the real clock: a grant whose expires is a
 * few seconds ahead is applied like any other (its member reads), validate warns of it, and once the
 * instant has passed validate reports it expired, the plan says "grant expired on ...", and the next
 * apply revokes it: connecting as the member no longer reads, while a grant not yet expired stays.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../support/cli';
import { postgresUnavailableReason, runsAs, startTestServer, TestServer } from '../support/pg';
import { scenario } from '../support/scenario';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the expiring-grants end-to-end tests: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

/** Time for the first apply and its checks before the short grant expires (the machine may be busy). */
const LEAD_MS = 20_000;

let pg: TestServer;
let dir: string;
let policyFile: string;
let secretsFile: string;
let dbUrl: string;
let expiresAt: Date;
let expiresText: string;

const cli = (args: string[]) => runCliCaptured(args, { env: { PMGRANTS_DATABASE_URL: dbUrl }, cwd: dir });

const canRead = (user: string) => runsAs(pg, user, `${user}-out-of-band`, 'pm_expiry', 'SELECT * FROM p2p.cases');

beforeAll(async () => {
  if (unavailable) return;
  pg = await startTestServer();
  dbUrl = await pg.createDatabase('pm_expiry');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-expiry-'));
  policyFile = path.join(dir, 'policy.yaml');
  secretsFile = path.join(dir, 'credentials.json');
  // Whole seconds, written with a zone: the form a security team would use for an investigation's end.
  expiresAt = new Date(Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000);
  expiresText = expiresAt.toISOString().replace(/\.000Z$/, 'Z');
  const nextYear = `${new Date().getUTCFullYear() + 1}-06-30`;
  fs.writeFileSync(
    policyFile,
    [
      'apiVersion: pmgrants/v1',
      'warehouse: { engine: postgres, database: pm_expiry }',
      'security: { mode: system_managed }',
      'principals:',
      '  analyst:      { kind: sql-login, name: sx_analyst }',
      '  investigator: { kind: sql-login, name: sx_investigator }',
      '  auditor:      { kind: sql-login, name: sx_auditor }',
      'apps:',
      '  p2p: { schema: p2p }',
      'grants:',
      '  - { persona: data_consumer, to: [analyst], apps: [p2p] }',
      `  - { persona: data_consumer, to: [investigator], apps: [p2p], expires: ${expiresText} }`,
      `  - { persona: data_consumer, to: [auditor], apps: [p2p], expires: ${nextYear} }`,
      '',
    ].join('\n'),
  );
}, 60_000);

afterAll(async () => {
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

scenario('expiring grants end to end (CLI, real PostgreSQL, real clock)', (s) => {
  s.step('before expiry: validate warns of it, apply grants it, and its member reads', async () => {
    const validated = await cli(['validate', policyFile]);
    expect(validated.code).toBe(0);
    expect(validated.out).toMatch(/policy\.yaml:12:\d+ warning grant-expiring grant 2 \(data_consumer to investigator\) expires within the hour, on /);
    const plan = await cli(['plan', policyFile]);
    expect(plan.out).toContain(`+ member sx_investigator of pmg_p2p_data_consumer (until ${expiresText})`);
    const applied = await cli(['apply', policyFile, '--yes', '--secrets-file', secretsFile]);
    expect(applied.code, applied.err).toBe(0);

    const admin = await pg.connect(dbUrl);
    await admin.query("ALTER ROLE sx_analyst PASSWORD 'sx_analyst-out-of-band'; ALTER ROLE sx_investigator PASSWORD 'sx_investigator-out-of-band'; ALTER ROLE sx_auditor PASSWORD 'sx_auditor-out-of-band'");
    const appPassword = JSON.parse(fs.readFileSync(secretsFile, 'utf8')).logins.pmg_p2p_app.password;
    const app = await pg.connectAs('pmg_p2p_app', appPassword, 'pm_expiry');
    await app.query("CREATE TABLE p2p.cases (id int, note text); INSERT INTO p2p.cases VALUES (1, 'case')");
    await app.end();
    expect(Date.now()).toBeLessThan(expiresAt.getTime()); // else the machine was too slow for LEAD_MS
    expect(await canRead('sx_investigator')).toBe(true);
    expect(await canRead('sx_auditor')).toBe(true);
    expect((await cli(['plan', policyFile, '--detailed-exitcode'])).code).toBe(0);
  }, 120_000);

  s.step('after expiry: validate reports it (a warning), the plan says it expired, apply revokes it; the others stay', async () => {
    const wait = expiresAt.getTime() - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait + 200));

    const validated = await cli(['validate', policyFile]);
    expect(validated.code).toBe(0);
    expect(validated.out).toMatch(
      new RegExp(`policy\\.yaml:12:\\d+ warning grant-expired grant 2 \\(data_consumer to investigator\\) expired on ${expiresText}: it is not applied, and the next plan revokes it`),
    );

    const json = JSON.parse((await cli(['plan', policyFile, '--format', 'json'])).out);
    expect(json.summary).toEqual({ add: 0, change: 0, remove: 1 });
    expect(json.changes).toEqual([
      {
        action: 'remove',
        kind: 'drop-member',
        app: 'p2p',
        description: `member sx_investigator of pmg_p2p_data_consumer (grant expired on ${expiresText})`,
        expired: expiresText,
        change: { kind: 'drop-member', membership: { role: 'pmg_p2p_data_consumer', member: 'sx_investigator' }, expired: expiresText },
        statements: [expect.stringMatching(/^REVOKE "pmg_p2p_data_consumer" FROM "sx_investigator"/)],
      },
    ]);

    const applied = await cli(['apply', policyFile, '--yes', '--secrets-file', secretsFile]);
    expect(applied.code, applied.err).toBe(0);
    expect(applied.out).toContain(`- member sx_investigator of pmg_p2p_data_consumer (grant expired on ${expiresText})`);
    expect(await canRead('sx_investigator')).toBe('42501');
    expect(await canRead('sx_auditor')).toBe(true);
    expect(await canRead('sx_analyst')).toBe(true);
    // Converged: the expired grant stays in the policy and asks for nothing more.
    expect((await cli(['plan', policyFile, '--detailed-exitcode'])).code).toBe(0);
  }, 120_000);
}, suite);
