/**
 * The pmgrants CLI against a real PostgreSQL server, the way a DBA or a pipeline uses it:
 * validate -> plan (live, detailed exit code) -> apply --yes -> plan again (nothing to do) -> rotate ->
 * doctor -> drift shown by plan; and the demo command. Commands run in-process through runCli.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { runCli } from '../../provider/cli/main';
import { CliIO } from '../../provider/cli/io';
import { postgresUnavailableReason, startTestServer, TestServer } from '../support/pg';
import { scenario } from '../support/scenario';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the CLI end-to-end tests: ${unavailable}`);
/** Generated passwords a rotation replaced: no longer in the secrets file, and never to be printed either. */
const replaced: string[] = [];

const root = path.join(__dirname, '..', '..');
let pg: TestServer;
let dir: string;
let policyFile: string;
let dbUrl: string;
const printed: string[] = [];

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => (out += t), err: (t) => (err += t), env, interactive: false, confirm: async () => false, cwd: dir };
  const code = await runCli(args, io);
  printed.push(out, err);
  return { code, out, err };
}

beforeAll(async () => {
  if (unavailable) return;
  pg = await startTestServer();
  dbUrl = await pg.createDatabase('ibm_process_apps');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-cli-'));
  policyFile = path.join(dir, 'policy.yaml');
  fs.copyFileSync(path.join(root, 'examples', 'ibm-custom-apps.yaml'), policyFile);
}, 60_000);

afterAll(async () => {
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// One story on one database: each step continues from the state the one before it left.
scenario('pmgrants CLI end to end (examples/ibm-custom-apps.yaml on a real PostgreSQL)', (s) => {
  const secretsFile = () => path.join(dir, 'secrets', 'credentials.json');

  s.step('validate passes and plan --detailed-exitcode says there are changes (exit 2)', async () => {
    expect((await cli(['validate', policyFile])).code).toBe(0);
    const plan = await cli(['plan', policyFile, '--detailed-exitcode'], { PMGRANTS_DATABASE_URL: dbUrl });
    expect(plan.code).toBe(2);
    expect(plan.out).toMatch(/Plan: \d+ to add, 0 to change, \d+ to remove\./);
    // All it removes is PostgreSQL's built-in default: PUBLIC may execute what the roles it creates make.
    const removed = plan.out.split('\n').filter((l) => /^ {2}- /.test(l));
    expect(removed.length).toBeGreaterThan(0);
    for (const line of removed) expect(line).toMatch(/^ {2}- revoke EXECUTE on global-default-functions for pmg_\S+_(owner|app) from PUBLIC$/);
    expect(plan.out).toContain('live: postgres://');
    expect(plan.out).not.toMatch(/postgres:\/\/[^\s]*:[^*\s][^\s]*@/); // the admin password is masked
  });

  s.step('apply refuses without --yes when nobody can confirm, and changes nothing', async () => {
    const r = await cli(['apply', policyFile, '--database-url', dbUrl]);
    expect(r.code).toBe(2);
    expect(r.err).toBe('pmgrants: refusing to apply without confirmation: not on a terminal; pass --yes\n');
    expect((await cli(['plan', policyFile, '--detailed-exitcode', '--database-url', dbUrl])).code).toBe(2);
  });

  s.step('apply --yes applies, writes the generated passwords only to a 0600 secrets file, and the next plan is empty', async () => {
    const r = await cli(['apply', policyFile, '--yes', '--database-url', dbUrl, '--secrets-file', secretsFile()]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Applied \d+ changes? \(\d+ statements?, \d+ round trips?\)/);
    // The plan is printed whole (while the apply runs), then the outcome.
    expect(r.out.startsWith('pmgrants plan for database ibm_process_apps (postgres, live: ')).toBe(true);
    expect(r.out.indexOf('Plan: ')).toBeGreaterThan(0);
    expect(r.out.indexOf('Plan: ')).toBeLessThan(r.out.indexOf('Applied '));
    expect(r.out).toContain(`2 generated passwords written to ${secretsFile()} (mode 0600).`);
    expect(fs.statSync(secretsFile()).mode & 0o777).toBe(0o600);
    const secrets = JSON.parse(fs.readFileSync(secretsFile(), 'utf8')).logins;
    expect(Object.keys(secrets).sort()).toEqual(['pmg_claims-open_app', 'pmg_payroll-closed_app']);
    // The generated login works, and reads its own schema only.
    const claims = await pg.connectAs('pmg_claims-open_app', secrets['pmg_claims-open_app'].password, 'ibm_process_apps');
    await claims.query('CREATE TABLE claims.t (id int)');
    await expect(claims.query('CREATE TABLE payroll.t (id int)')).rejects.toThrow(/permission denied for schema payroll/);
    await claims.end();
    const again = await cli(['plan', policyFile, '--detailed-exitcode', '--database-url', dbUrl]);
    expect(again.code).toBe(0);
    expect(again.out).toContain('No changes. ibm_process_apps matches the policy.');
  });

  s.step('rotate replaces one app login password: the old one fails, the new one works', async () => {
    const before = JSON.parse(fs.readFileSync(secretsFile(), 'utf8')).logins['pmg_payroll-closed_app'].password;
    replaced.push(before);
    const r = await cli(['rotate', policyFile, 'payroll-closed', '--yes', '--database-url', dbUrl, '--secrets-file', secretsFile()]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('login pmg_payroll-closed_app: rotate password (requested)');
    const after = JSON.parse(fs.readFileSync(secretsFile(), 'utf8')).logins['pmg_payroll-closed_app'].password;
    expect(after).not.toBe(before);
    await expect(pg.connectAs('pmg_payroll-closed_app', before, 'ibm_process_apps')).rejects.toThrow(/password authentication failed/);
    await pg.connectAs('pmg_payroll-closed_app', after, 'ibm_process_apps');
    const unknown = await cli(['rotate', policyFile, 'payroll-closd', '--yes', '--database-url', dbUrl]);
    expect(unknown).toMatchObject({ code: 2, err: 'pmgrants: unknown app "payroll-closd" (did you mean "payroll-closed"?)\n' });
  });

  s.step('doctor passes for the superuser and prints one verdict per check', async () => {
    const r = await cli(['doctor', policyFile, '--database-url', dbUrl]);
    expect(r.code).toBe(0);
    const checks = Number(/All (\d+) checks passed\./.exec(r.out)?.[1]);
    expect(checks).toBeGreaterThan(0);
    const verdicts = r.out.split('\n').filter((l) => /^ {2}(ok {2}|FAIL) {2}/.test(l));
    expect(verdicts.every((l) => l.startsWith('  ok    '))).toBe(true);
    // One line per check, each check once.
    expect(verdicts).toHaveLength(checks);
    expect(new Set(verdicts.map((l) => l.slice(8).split(':')[0])).size).toBe(checks);
  });

  s.step('drift made by hand shows in plan (markdown, json) and apply reverts it', async () => {
    const admin = await pg.connect(dbUrl);
    await admin.query('GRANT SELECT ON ALL TABLES IN SCHEMA claims TO "pmg_payroll-closed_app"');
    const md = await cli(['plan', policyFile, '--format', 'markdown', '--database-url', dbUrl]);
    expect(md.out).toContain('**Plan: 0 to add, 0 to change, 1 to remove.**');
    expect(md.out).toContain('- revoke SELECT on tables claims from pmg_payroll-closed_app');
    const json = JSON.parse((await cli(['plan', policyFile, '--format', 'json', '--database-url', dbUrl])).out);
    expect(json.summary).toEqual({ add: 0, change: 0, remove: 1 });
    expect(json.changes[0]).toMatchObject({ action: 'remove', kind: 'revoke', app: 'claims-open' });
    expect((await cli(['apply', policyFile, '--yes', '--database-url', dbUrl, '--secrets-file', secretsFile()])).code).toBe(0);
    expect((await cli(['plan', policyFile, '--detailed-exitcode', '--database-url', dbUrl])).code).toBe(0);
  });

  s.step('an unreachable server is one sentence with exit 2 (and detailed-exitcode 1 is not confused with changes)', async () => {
    const u = new URL(dbUrl);
    u.port = '1';
    const r = await cli(['plan', policyFile, '--database-url', u.toString()]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^pmgrants: cannot connect/);
    // With --detailed-exitcode, 2 means "changes": the same error exits 1 there, with the same sentence.
    const detailed = await cli(['plan', policyFile, '--detailed-exitcode', '--database-url', u.toString()]);
    expect(detailed.code).toBe(1);
    expect(detailed.err).toBe(r.err);
    expect(detailed.out).toBe('');
  });

  s.step('plan --offline --format sql prints a script that, run by hand, leaves only the passwords to set, which apply sets', async () => {
    const other = path.join(dir, 'script-policy.yaml');
    // Same apps, own prefix and principal names (roles are cluster-wide), own database.
    const text = fs.readFileSync(policyFile, 'utf8').replace('database: ibm_process_apps', 'database: script_db').replace(/name: (\w+) \}/g, 'name: script_$1 }');
    fs.writeFileSync(other, text + 'options: { prefix: scr_ }\n');
    const scriptUrl = await pg.createDatabase('script_db');
    const script = await cli(['plan', other, '--offline', '--format', 'sql']);
    expect(script.code).toBe(0);
    expect(script.out).toMatch(/^-- pmgrants: \d+ statements for database script_db \(postgres\)/);
    expect(script.out).toContain('PASSWORD NULL;');
    // Run by hand on a busy warehouse, the script queues readers no longer than apply would.
    expect(script.out).toContain("SELECT pg_advisory_xact_lock(8101245045667951731);\nSET LOCAL lock_timeout = '3000ms';\n");
    const admin = await pg.connect(scriptUrl);
    // psql meta-commands are not SQL; the rest runs as one simple query, as psql would send it.
    await admin.query(script.out.replace(/^\\set .*$/m, ''));
    const passwords = await cli(['plan', other, '--detailed-exitcode', '--database-url', scriptUrl]);
    expect(passwords.code).toBe(2);
    const changes = passwords.out.split('\n').filter((l) => /^ {2}[-+~] /.test(l));
    expect(changes.length).toBeGreaterThan(0);
    for (const line of changes) expect(line).toMatch(/^ {2}~ login scr_[a-z0-9_-]+_app: set password \(it has none yet\)$/);
    const secretsFile = path.join(dir, 'script-secrets.json');
    const applied = await cli(['apply', other, '--yes', '--database-url', scriptUrl, '--secrets-file', secretsFile]);
    expect(applied.code).toBe(0);
    expect(Object.keys((JSON.parse(fs.readFileSync(secretsFile, 'utf8')) as { logins: object }).logins)).toHaveLength(changes.length);
    const again = await cli(['plan', other, '--detailed-exitcode', '--database-url', scriptUrl]);
    expect(again.out).toContain('No changes. script_db matches the policy.');
    expect(again.code).toBe(0);
  });

  s.step('demo starts its own server, applies, converges and shows isolation', async () => {
    const r = await cli(['demo', path.join(root, 'examples', 'uipath-system-managed.yaml')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Planning again: no changes (converged).');
    expect(r.out).toMatch(/pmg_purchase-to-pay_app\s+denied\s+denied\s+read 2/);
    expect(r.out).toMatch(/pmg_order-to-cash_app\s+denied\s+read 2\s+denied/);
    expect(r.out).toMatch(/Access report \(\d+ principals × 3 apps: \d+ expected, \d+ drift, 0 missing, \d+ privileged\) written to pmgrants-demo-report\.html/);
    expect(fs.readFileSync(path.join(dir, 'pmgrants-demo-report.html'), 'utf8')).toContain('<tr data-principal="pmg_order-to-cash_app">');
  });

  s.step('removing an app whose login created a table: plan says where the table goes, apply exits 0, the rows stay', async () => {
    const secrets = JSON.parse(fs.readFileSync(secretsFile(), 'utf8')).logins;
    const claims = await pg.connectAs('pmg_claims-open_app', secrets['pmg_claims-open_app'].password, 'ibm_process_apps');
    await claims.query('INSERT INTO claims.t VALUES (1), (2)');
    await claims.end();
    const text = fs.readFileSync(policyFile, 'utf8');
    const without = text
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('claims-open:'))
      .join('\n')
      .replaceAll('apps: [claims-open, payroll-closed]', 'apps: [payroll-closed]');
    fs.writeFileSync(policyFile, without);
    const plan = await cli(['plan', policyFile, '--detailed-exitcode', '--database-url', dbUrl]);
    expect(plan.code).toBe(2);
    expect(plan.out).toContain('- login pmg_claims-open_app (its objects are handed to pmg_claims-open_owner first)');
    const r = await cli(['apply', policyFile, '--yes', '--database-url', dbUrl, '--secrets-file', secretsFile()]);
    expect(r.err).not.toMatch(/^pmgrants: /m);
    expect(r.code).toBe(0);
    const admin = await pg.connect(dbUrl);
    expect((await admin.query("SELECT tableowner FROM pg_tables WHERE schemaname = 'claims' AND tablename = 't'")).rows).toEqual([{ tableowner: 'pmg_claims-open_owner' }]);
    expect((await admin.query('SELECT count(*)::int AS n FROM claims.t')).rows).toEqual([{ n: 2 }]);
    expect((await admin.query("SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'pmg_claims-open_app'")).rows).toEqual([{ n: 0 }]);
    await admin.end();
    expect((await cli(['plan', policyFile, '--detailed-exitcode', '--database-url', dbUrl])).code).toBe(0);
  });

  s.step('no generated password was ever printed', () => {
    const secrets = JSON.parse(fs.readFileSync(secretsFile(), 'utf8')).logins as Record<string, { password: string }>;
    const all = printed.join('\n');
    // The passwords the file holds now, and the one the rotation replaced.
    const passwords = [...Object.values(secrets).map((e) => e.password), ...replaced];
    expect(replaced).toHaveLength(1);
    expect(passwords.every((p) => /^[A-Za-z0-9_-]{32}$/.test(p))).toBe(true);
    for (const password of passwords) expect(all).not.toContain(password);
    expect(all.length).toBeGreaterThan(1000);
  });
}, unavailable ? describe.skip : describe);
