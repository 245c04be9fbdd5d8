/**
 * Personal data on a real PostgreSQL, through the CLI, applied by the least-privileged provisioning
 * login doctor asks for. After apply a data consumer reads the app's tables through <schema>_masked:
 * pseudonyms (equal for equal values, across tables), redacted, partial and null values; a process
 * admin of the same app reads them in clear. A table the app's login makes afterwards is unreadable to
 * the consumer until the next apply, which plan shows as drift; then it is masked. The consumer reaches
 * the clear values by no route: the base tables, another schema, the key, a function, pg_stats.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { runCliCaptured } from '../support/cli';
import { postgresUnavailableReason, sqlstateOf, startTestServer, TestServer } from '../support/pg';
import { provisionerDoctorAsksFor } from '../support/provisioner';
import { scenario } from '../support/scenario';
import { describe } from 'vitest';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the personal-data end-to-end tests: ${unavailable}`);

const DB = 'pm_personal';
let pg: TestServer;
let dir: string;
let policyFile: string;
let secretsFile: string;
let provisioner: string;

const cli = (args: string[]) => runCliCaptured(args, { env: { PMGRANTS_DATABASE_URL: provisioner }, cwd: dir });

const POLICY = [
  'apiVersion: pmgrants/v1',
  `warehouse: { engine: postgres, database: ${DB} }`,
  'security: { mode: system_managed }',
  'options: { prefix: pd_ }',
  'principals:',
  '  analyst:  { kind: sql-login, name: analyst_login }',
  '  owner:    { kind: sql-login, name: owner_login }',
  '  auditor:  { kind: sql-login, name: auditor_login }',
  'personas:',
  '  auditor: { rights: [select], personalData: hidden }',
  'apps:',
  '  p2p:',
  '    schema: p2p',
  '    personalData:',
  '      columns:',
  '        "*.user_name": pseudonym',
  '        "vendors.contact_*": redact',
  '        "vendors.phone": { mask: partial, first: 2, last: 2 }',
  '        "cases.birth_date": nullify',
  'grants:',
  '  - { persona: data_consumer, to: [analyst], apps: [p2p] }',
  '  - { persona: process_admin, to: [owner], apps: [p2p] }',
  '  - { persona: auditor, to: [auditor], apps: [p2p] }',
  '',
].join('\n');

const PASSWORD = 'pd-out-of-band';
const as = (user: string) => pg.connectAs(user, PASSWORD, DB);
const rows = async (c: Client, sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows;
const denied = (c: Client, sql: string) => sqlstateOf(c.query(sql));

let appPassword: string;

beforeAll(async () => {
  if (unavailable) return;
  pg = await startTestServer();
  await pg.createDatabase(DB);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-personal-'));
  policyFile = path.join(dir, 'policy.yaml');
  secretsFile = path.join(dir, 'credentials.json');
  fs.writeFileSync(policyFile, POLICY);
  provisioner = await provisionerDoctorAsksFor(pg, DB, policyFile, 'provisioner-pw');
}, 120_000);

afterAll(async () => {
  await pg?.closeAll();
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

scenario(
  'personal data masked on PostgreSQL (CLI, least-privileged provisioning login)',
  (s) => {
    s.step('apply makes the key and the companion schemas; the app login fills its tables; the next plan shows the tables to mask, apply masks them, and then nothing is left to do', async () => {
      const validated = await cli(['validate', policyFile]);
      expect(validated.code, validated.out + validated.err).toBe(0);
      const first = await cli(['apply', policyFile, '--yes', '--secrets-file', secretsFile]);
      expect(first.code, first.out + first.err).toBe(0);
      expect(first.out).toContain('+ pseudonym key pd_masking.pseudonym_key');
      expect(first.out).not.toMatch(/INSERT INTO .*pseudonym_key.*VALUES/);
      const admin = await pg.connect(pg.url(DB));
      await admin.query(`ALTER ROLE analyst_login PASSWORD '${PASSWORD}'; ALTER ROLE owner_login PASSWORD '${PASSWORD}'; ALTER ROLE auditor_login PASSWORD '${PASSWORD}'`);
      appPassword = JSON.parse(fs.readFileSync(secretsFile, 'utf8')).logins.pd_p2p_app.password;
      const app = await pg.connectAs('pd_p2p_app', appPassword, DB);
      await app.query(`
        CREATE TABLE p2p.cases (id int, user_name text, birth_date date, amount numeric);
        INSERT INTO p2p.cases VALUES (1, 'alice', '1990-01-02', 10), (2, 'bob', '1985-03-04', 20), (3, NULL, NULL, 30);
        CREATE TABLE p2p.vendors (id int, user_name text, contact_email text, contact_name text, phone text);
        INSERT INTO p2p.vendors VALUES (7, 'alice', 'alice@example.com', 'Alice A.', '+4915112345678');
        ANALYZE p2p.cases; ANALYZE p2p.vendors;`);
      await app.end();

      // doctor sizes the views one apply makes (2 tables, a masked and a hidden view each) against the lock table.
      const doctor = await cli(['doctor', policyFile]);
      expect(doctor.code, doctor.out + doctor.err).toBe(0);
      expect(doctor.out).toMatch(/lock-table.*making all 4 masked views in one transaction takes about 8 locks; the lock table holds [\d,]+ \(max_locks_per_transaction \d+/);
      const plan = await cli(['plan', policyFile]);
      expect(plan.out).toContain('+ masked view p2p_masked.cases (new table p2p.cases: 2 personal columns to mask)');
      expect(plan.out).toContain('+ masked view p2p_masked.vendors (new table p2p.vendors: 4 personal columns to mask)');
      expect(plan.out).toContain('+ masked view p2p_hidden.cases (new table p2p.cases: 2 personal columns to hide)');
      const sql = await cli(['plan', policyFile, '--format', 'sql']);
      expect(sql.out).toContain('CREATE VIEW "p2p_masked"."cases" WITH (security_barrier) AS SELECT');
      const applied = await cli(['apply', policyFile, '--yes', '--secrets-file', secretsFile]);
      expect(applied.code, applied.out + applied.err).toBe(0);
      const again = await cli(['plan', policyFile, '--detailed-exitcode']);
      expect(again.code, again.out).toBe(0);
    }, 180_000);

    s.step('the data consumer reads pseudonyms (equal for equal values, across tables), redacted, partial and null values through p2p_masked', async () => {
      const c = await as('analyst_login');
      const cases = await rows(c, 'SELECT * FROM p2p_masked.cases ORDER BY id');
      expect(cases.map((r) => Object.keys(r))).toEqual([0, 1, 2].map(() => ['id', 'user_name', 'birth_date', 'amount']));
      expect(cases[0].user_name).toMatch(/^u_[0-9a-f]{16}$/);
      expect(cases[1].user_name).toMatch(/^u_[0-9a-f]{16}$/);
      expect(cases[0].user_name).not.toBe(cases[1].user_name);
      expect(cases[2].user_name).toBeNull();
      expect(cases.map((r) => r.birth_date)).toEqual([null, null, null]);
      expect(cases.map((r) => Number(r.amount))).toEqual([10, 20, 30]);
      const [vendor] = await rows(c, 'SELECT * FROM p2p_masked.vendors');
      expect(vendor.user_name).toBe(cases[0].user_name); // the same person, the same token, in another table
      expect(vendor.contact_email).toBe('***');
      expect(vendor.contact_name).toBe('***');
      expect(vendor.phone).toBe('+4**********78');
      // Joins and counts on pseudonyms work as on the clear values.
      const [joined] = await rows(c, 'SELECT count(*)::int AS n FROM p2p_masked.cases k JOIN p2p_masked.vendors v USING (user_name)');
      expect(joined.n).toBe(1);
    }, 60_000);

    s.step('a persona that sees personal data hidden reads the tables without those columns (p2p_hidden)', async () => {
      const c = await as('auditor_login');
      const cases = await rows(c, 'SELECT * FROM p2p_hidden.cases ORDER BY id');
      expect(Object.keys(cases[0])).toEqual(['id', 'amount']);
      expect(await denied(c, 'SELECT * FROM p2p_masked.cases')).toBe('42501');
      expect(await denied(c, 'SELECT * FROM p2p.cases')).toBe('42501');
    }, 60_000);

    s.step('report: the consumer reads p2p with its personal columns masked, the auditor with them hidden, both as the policy expects', async () => {
      const md = await cli(['report', policyFile]);
      expect(md.code, md.out + md.err).toBe(0);
      expect(md.out).toMatch(/\| analyst_login \(policy\) \| ✅ S · personal data masked \|/);
      expect(md.out).toMatch(/\| auditor_login \(policy\) \| ✅ S · personal data hidden \|/);
      const json = JSON.parse((await cli(['report', policyFile, '--format', 'json'])).out);
      const cell = json.cells.find((c: { principal: string; right: string }) => c.principal === 'analyst_login' && c.right === 'select');
      expect(cell).toMatchObject({ app: 'p2p', schema: 'p2p', status: 'expected', personalData: { visibility: 'masked', schema: 'p2p_masked' } });
      expect(cell.detail).toMatch(/^reads through the views of p2p_masked, personal columns masked \(\*\.user_name \(pseudonym\), /);
    }, 60_000);

    s.step('export: the companion schemas and the key schema are not apps, and the policy is told to declare the personal columns again', async () => {
      const r = await cli(['export', '--engine', 'postgres']);
      expect(r.code, r.err).toBe(0);
      const apps = r.out.slice(r.out.indexOf('\napps:'), r.out.indexOf('\ngrants:'));
      expect(apps).toMatch(/^  p2p:/m);
      expect(apps).not.toMatch(/p2p_masked|p2p_hidden|pd_masking/);
      expect(r.out).toContain('#   - schema p2p_masked (owned by pd_masker) holds pmgrants\' masked views or pseudonym key for personal data,');
      expect(r.out).toContain("#   - pd_masker: not adopted (pmgrants' owner of masked views (personal data))");
    }, 60_000);

    s.step('the process admin of the same app reads the clear values', async () => {
      const c = await as('owner_login');
      const cases = await rows(c, 'SELECT user_name, birth_date FROM p2p.cases ORDER BY id');
      expect(cases.map((r) => r.user_name)).toEqual(['alice', 'bob', null]);
      const [vendor] = await rows(c, 'SELECT contact_email, phone FROM p2p.vendors');
      expect(vendor).toEqual({ contact_email: 'alice@example.com', phone: '+4915112345678' });
    }, 60_000);

    s.step('the consumer reaches the clear values by no route: base table and columns, the key, the key schema, a function reading the table, pg_stats, a function in its WHERE clause', async () => {
      const c = await as('analyst_login');
      expect(await denied(c, 'SELECT * FROM p2p.cases')).toBe('42501');
      expect(await denied(c, 'SELECT user_name FROM p2p.vendors')).toBe('42501');
      expect(await denied(c, 'SELECT id FROM p2p.cases')).toBe('42501');
      expect(await denied(c, 'SELECT * FROM pd_masking.pseudonym_key')).toBe('42501');
      // A function runs with its caller's rights (SECURITY INVOKER, the default): one that reads the table,
      // executable by everyone, gets the consumer no further than the table itself.
      const dba = await pg.connect(pg.url(DB));
      await dba.query('CREATE FUNCTION public.peek() RETURNS SETOF text LANGUAGE sql AS $$ SELECT user_name FROM p2p.cases $$; GRANT EXECUTE ON FUNCTION public.peek() TO PUBLIC');
      expect(await denied(c, 'SELECT * FROM public.peek()')).toBe('42501');
      // pg_stats shows rows only of columns the reader may select: none of the base tables, none of the views (views have no statistics).
      const stats = await rows(c, "SELECT tablename, attname FROM pg_catalog.pg_stats WHERE schemaname IN ('p2p', 'p2p_masked', 'pd_masking')");
      expect(stats).toEqual([]);
      const ext = await rows(c, "SELECT count(*)::int AS n FROM pg_catalog.pg_stats_ext WHERE schemaname IN ('p2p', 'p2p_masked', 'pd_masking')");
      expect(ext[0].n).toBe(0);
      // The view's definition names where the key is, never the key.
      const [def] = await rows(c, "SELECT pg_catalog.pg_get_viewdef('p2p_masked.vendors'::regclass) AS d");
      expect(def.d).toContain('pseudonym_key');
      const admin = await pg.connect(pg.url(DB));
      const [key] = await rows(admin, 'SELECT key FROM pd_masking.pseudonym_key');
      expect(key.key).toMatch(/^[0-9a-f]{64}$/);
      expect(def.d).not.toContain(key.key);
      // The token is keyed: hashing the clear value alone (what anyone could try) does not give it; with the key it does.
      const [token] = await rows(c, "SELECT user_name FROM p2p_masked.cases WHERE id = 1");
      const [guess] = await rows(admin, "SELECT 'u_' || left(encode(sha256(convert_to('alice', 'UTF8')), 'hex'), 16) AS unkeyed, 'u_' || left(encode(sha256(convert_to($1 || 'alice', 'UTF8')), 'hex'), 16) AS keyed", [key.key]);
      expect(token.user_name).not.toBe(guess.unkeyed);
      expect(token.user_name).toBe(guess.keyed);
      // A leaky function in the WHERE clause sees masked values only (security_barrier view, masked columns).
      await admin.query("CREATE FUNCTION public.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$ BEGIN RAISE NOTICE 'saw %', $1; RETURN true; END $$");
      const notices: string[] = [];
      c.on('notice', (n) => notices.push(n.message ?? ''));
      await rows(c, 'SELECT id FROM p2p_masked.vendors WHERE public.leak(contact_email) AND public.leak(user_name)');
      expect(notices.length).toBeGreaterThan(0);
      expect(notices.join('\n')).not.toContain('alice');
    }, 60_000);

    s.step('the key exposed by hand (to PUBLIC, to the consumer): plan shows it as drift, apply takes it away again', async () => {
      const admin = await pg.connect(pg.url(DB));
      await admin.query('GRANT USAGE ON SCHEMA pd_masking TO PUBLIC; GRANT SELECT ON pd_masking.pseudonym_key TO PUBLIC; GRANT SELECT ON pd_masking.pseudonym_key TO pd_p2p_data_consumer');
      const c = await as('analyst_login');
      expect((await rows(c, 'SELECT count(*)::int AS n FROM pd_masking.pseudonym_key'))[0].n).toBe(1);
      const plan = await cli(['plan', policyFile]);
      expect(plan.out).toContain('- revoke USAGE on schema pd_masking from PUBLIC');
      expect(plan.out).toMatch(/- revoke SELECT on tables pd_masking from pd_p2p_data_consumer/);
      const applied = await cli(['apply', policyFile, '--yes', '--secrets-file', secretsFile]);
      expect(applied.code, applied.out + applied.err).toBe(0);
      expect(await denied(c, 'SELECT * FROM pd_masking.pseudonym_key')).toBe('42501');
      expect((await cli(['plan', policyFile, '--detailed-exitcode'])).code).toBe(0);
    }, 120_000);

    s.step('a table the app login makes afterwards: unreadable to the consumer before apply, shown by plan as drift, masked after apply', async () => {
      const app = await pg.connectAs('pd_p2p_app', appPassword, DB);
      await app.query("CREATE TABLE p2p.events_v2 (case_id int, user_name text, activity text); INSERT INTO p2p.events_v2 VALUES (1, 'alice', 'approve')");
      // A partitioned table gets one view, not one per partition.
      await app.query("CREATE TABLE p2p.log (day date, user_name text) PARTITION BY RANGE (day); CREATE TABLE p2p.log_2026 PARTITION OF p2p.log FOR VALUES FROM ('2026-01-01') TO ('2027-01-01'); INSERT INTO p2p.log VALUES ('2026-05-01', 'bob')");
      await app.end();
      const c = await as('analyst_login');
      expect(await denied(c, 'SELECT * FROM p2p.events_v2')).toBe('42501');
      expect(await denied(c, 'SELECT * FROM p2p_masked.events_v2')).toBe('42P01');
      const plan = await cli(['plan', policyFile, '--detailed-exitcode']);
      expect(plan.code).toBe(2);
      expect(plan.out).toContain('+ masked view p2p_masked.events_v2 (new table p2p.events_v2: 1 personal column to mask)');
      expect(plan.out).toContain('+ masked view p2p_masked.log (new table p2p.log: 1 personal column to mask)');
      expect(plan.out).not.toContain('log_2026');
      const applied = await cli(['apply', policyFile, '--yes', '--secrets-file', secretsFile]);
      expect(applied.code, applied.out + applied.err).toBe(0);
      const [event] = await rows(c, 'SELECT * FROM p2p_masked.events_v2');
      const [vendor] = await rows(c, 'SELECT user_name FROM p2p_masked.vendors');
      expect(event).toEqual({ case_id: 1, user_name: vendor.user_name, activity: 'approve' });
      const [logged] = await rows(c, 'SELECT * FROM p2p_masked.log');
      const [bob] = await rows(c, 'SELECT user_name FROM p2p_masked.cases WHERE id = 2');
      expect(logged.user_name).toBe(bob.user_name);
      expect((await cli(['plan', policyFile, '--detailed-exitcode'])).code).toBe(0);
    }, 120_000);

    s.step('a column added to a table: the view is replaced, showing it, its personal columns still masked; a dropped table takes its view along', async () => {
      const app = await pg.connectAs('pd_p2p_app', appPassword, DB);
      await app.query("ALTER TABLE p2p.events_v2 ADD COLUMN contact_phone text; DROP TABLE p2p.vendors CASCADE");
      await app.end();
      const plan = await cli(['plan', policyFile]);
      expect(plan.out).toContain('~ masked view p2p_masked.events_v2');
      const applied = await cli(['apply', policyFile, '--yes', '--secrets-file', secretsFile]);
      expect(applied.code, applied.out + applied.err).toBe(0);
      const c = await as('analyst_login');
      expect(Object.keys((await rows(c, 'SELECT * FROM p2p_masked.events_v2'))[0])).toEqual(['case_id', 'user_name', 'activity', 'contact_phone']);
      expect(await denied(c, 'SELECT * FROM p2p_masked.vendors')).toBe('42P01');
      expect((await cli(['plan', policyFile, '--detailed-exitcode'])).code).toBe(0);
    }, 120_000);

    s.step('personal data removed from the app: its consumer reads the app schema again and nothing of the companion schema; the plan converges', async () => {
      const without = POLICY.replace(/    personalData:\n(      .*\n|        .*\n)*/, '');
      expect(without).not.toContain('user_name');
      fs.writeFileSync(policyFile, without);
      const applied = await cli(['apply', policyFile, '--yes', '--secrets-file', secretsFile]);
      expect(applied.code, applied.out + applied.err).toBe(0);
      const c = await as('analyst_login');
      expect((await rows(c, 'SELECT user_name FROM p2p.cases ORDER BY id')).map((r) => r.user_name)).toEqual(['alice', 'bob', null]);
      expect(await denied(c, 'SELECT * FROM p2p_masked.cases')).toBe('42501');
      const again = await cli(['plan', policyFile, '--detailed-exitcode']);
      expect(again.code, again.out).toBe(0);
    }, 120_000);
  },
  unavailable ? describe.skip : describe,
);
