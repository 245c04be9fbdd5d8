/**
 * Personal data (issue 24) under the real Pulumi engine, on a real PostgreSQL server: the same engine,
 * inline program and local file backend as pulumi.e2e.test.ts (test/unit/pulumi-dist.ts builds the
 * stack), with a policy whose app p2p declares personal columns.
 *
 * One stack, in order: up makes the masking owner, the pseudonym key and p2p's companion schema; a
 * table the app's login makes afterwards is unreadable to the masked consumer (fail closed) and is a
 * change of p2p alone in `preview --refresh` (a plain preview cannot see the database: diff is pure);
 * `up --refresh` makes its masked view and the consumer reads pseudonyms where a process admin reads
 * the names. `pulumi stack export` (and every file of the backend, history included) holds no value of
 * the table, no pseudonym, not the key, and the generated passwords only encrypted. refresh then
 * preview: no changes. destroy succeeds and keeps the data.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type * as Automation from '@pulumi/pulumi/automation';
import { sqlstateOf, startTestServer, TestServer } from '../support/pg';
import { scenario } from '../support/scenario';
import { engineUnavailableReason, pmgrantsPolicyStack } from '../unit/pulumi-dist';
import { operations, stateFiles } from '../support/pulumi-state';

const unavailable = engineUnavailableReason();
if (unavailable) console.warn(`Skipping the Pulumi personal-data end-to-end test: ${unavailable}`);
else console.warn(`Pulumi personal-data end-to-end test with ${spawnSync('pulumi', ['version'], { encoding: 'utf8' }).stdout.trim()}`);
const suite = unavailable ? describe.skip : describe;

const DATABASE = 'pulumi_pd';
const STEP_TIMEOUT = 180_000;
const CONSUMER_PASSWORD = 'pd-consumer-out-of-band';
const CREATOR_PASSWORD = 'pd-creator-out-of-band';

const POLICY = `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: placeholder }
security: { mode: system_managed }
principals:
  analyst: { kind: sql-login, name: pd_analyst }
  creator: { kind: sql-login, name: pd_creator }
apps:
  p2p:
    schema: p2p
    source: closed
    personalData:
      columns:
        "*.user_name": pseudonym
        "vendors.contact_*": redact
  o2c: { schema: o2c, source: open, personalData: { none: true } }
grants:
  - { persona: data_consumer, to: [analyst], apps: [p2p, o2c] }
  - { persona: process_admin, to: [creator], apps: [p2p] }
`;

/** The clear values the app's transformations write: none may reach the state. */
const USER_NAMES = ['alice.approver@example.com', 'bob.buyer@example.com'];

let pg: TestServer;
let admin: Client;
let dir: string;
let stack: Automation.Stack;
let adminUrl: string;
let pseudonymKey: string;
const passwords: string[] = [];
const pseudonyms: string[] = [];

async function rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await admin.query(sql, params)).rows as T[];
}

type StateResource = { urn: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
const resourcesOf = (d: Automation.Deployment) => (d.deployment.resources ?? []) as StateResource[];

scenario('personal data under the real Pulumi engine (PostgreSQL)', (s) => {
  beforeAll(async () => {
    pg = await startTestServer();
    adminUrl = await pg.createDatabase(DATABASE);
    admin = await pg.connect(adminUrl);
    ({ dir, stack } = await pmgrantsPolicyStack('pmgrants-pulumi-pd-', 'e2e', { database: DATABASE, policyText: POLICY, databaseUrl: adminUrl }));
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  s.step(
    'up makes the masking owner, the pseudonym key (readable by the masking owner only) and the companion schema of p2p',
    async () => {
      const events: Automation.EngineEvent[] = [];
      const up = await stack.up({ onEvent: (e) => events.push(e) });
      expect(up.summary.result).toBe('succeeded');
      expect(operations(events)).toEqual({ 'pmgrants-e2e': 'create', default: 'create', warehouse: 'create', p2p: 'create', o2c: 'create' });
      const apps = up.outputs.apps.value as Record<string, { login: string; password: string }>;
      for (const a of Object.values(apps)) passwords.push(a.password);
      expect(passwords).toHaveLength(2);
      expect(passwords.every((p) => typeof p === 'string' && p.length >= 20)).toBe(true);

      expect(await rows("SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname IN ('p2p', 'p2p_masked', 'o2c', 'o2c_masked', 'pmg_masking') ORDER BY 1")).toEqual([
        { nspname: 'o2c', owner: 'pmg_o2c_owner' },
        { nspname: 'p2p', owner: 'pmg_p2p_owner' },
        { nspname: 'p2p_masked', owner: 'pmg_masker' },
        { nspname: 'pmg_masking', owner: 'pmg_masker' },
      ]);
      const key = await rows<{ key: string }>('SELECT key FROM pmg_masking.pseudonym_key');
      expect(key).toHaveLength(1);
      pseudonymKey = key[0].key;
      expect(pseudonymKey).toMatch(/^[0-9a-f]{64}$/);
      // The two principals are logins whose passwords the organisation sets (pmgrants never does).
      await admin.query(`ALTER ROLE pd_analyst PASSWORD '${CONSUMER_PASSWORD}'`);
      await admin.query(`ALTER ROLE pd_creator PASSWORD '${CREATOR_PASSWORD}'`);
      expect(await sqlstateOf(admin.query("SET ROLE pd_analyst; SELECT key FROM pmg_masking.pseudonym_key"))).toBe('42501');
      await admin.query('RESET ROLE');
      expect((await stack.preview()).changeSummary).toEqual({ same: 4 });
      // A refresh right after the first up finds what the state holds: each login's password time is
      // the one the state recorded (the marker is stamped with the apply's time, not a later clock).
      const markers = await rows<{ rolname: string; marker: string }>("SELECT rolname, shobj_description(oid, 'pg_authid') AS marker FROM pg_roles WHERE rolname IN ('pmg_p2p_app', 'pmg_o2c_app')");
      expect(markers).toHaveLength(2);
      let compared = 0;
      for (const r of resourcesOf(await stack.exportStack())) {
        const at = r.outputs?.passwordSetAt as string | undefined;
        const login = r.outputs?.login as string | undefined;
        if (at === undefined || login === undefined) continue;
        expect(JSON.parse(markers.find((m) => m.rolname === login)!.marker.replace(/^[^{]*/, '')).passwordSetAt, login).toBe(at);
        compared++;
      }
      expect(compared).toBe(2);
    },
    STEP_TIMEOUT,
  );

  s.step(
    'a table the app login makes afterwards: unreadable to the consumer, a change of p2p alone in preview --refresh (not in a plain preview)',
    async () => {
      const apps = (await stack.outputs()).apps.value as Record<string, { login: string; password: string }>;
      const login = await pg.connectAs(apps.p2p.login, apps.p2p.password, DATABASE);
      await login.query('CREATE TABLE p2p.cases (id int PRIMARY KEY, activity text, user_name text)');
      await login.query("INSERT INTO p2p.cases VALUES (1, 'approve', $1), (2, 'order', $2), (3, 'pay', $1), (4, 'close', NULL)", USER_NAMES);
      await login.end();

      // Fail closed: no view yet, and the base table is not the consumer's to read.
      const consumer = await pg.connectAs('pd_analyst', CONSUMER_PASSWORD, DATABASE);
      expect(await sqlstateOf(consumer.query('SELECT * FROM p2p_masked.cases'))).toBe('42P01');
      expect(await sqlstateOf(consumer.query('SELECT * FROM p2p.cases'))).toBe('42501');
      await consumer.end();

      // diff is pure (no database): a plain preview compares the policy with the recorded state only.
      expect((await stack.preview()).changeSummary).toEqual({ same: 4 });

      const events: Automation.EngineEvent[] = [];
      const preview = await stack.preview({ refresh: true, diff: true, onEvent: (e) => events.push(e) });
      expect(operations(events)).toEqual({ p2p: 'update' });
      expect(preview.changeSummary).toEqual({ same: 3, update: 1 });
      // The refresh's drift, and the update that clears it: the new table's view, nothing else.
      expect(preview.stdout).toContain('+ masked view p2p_masked.cases (new table p2p.cases: 1 personal column to mask)');
    },
    STEP_TIMEOUT,
  );

  s.step(
    'up --refresh makes the view: the consumer reads pseudonyms, a process admin the names',
    async () => {
      const events: Automation.EngineEvent[] = [];
      const up = await stack.up({ refresh: true, onEvent: (e) => events.push(e) });
      expect(operations(events)).toEqual({ p2p: 'update' });
      expect(up.summary.resourceChanges).toEqual({ same: 3, update: 1 });

      const consumer = await pg.connectAs('pd_analyst', CONSUMER_PASSWORD, DATABASE);
      const masked = (await consumer.query('SELECT id, activity, user_name FROM p2p_masked.cases ORDER BY id')).rows as { id: number; activity: string; user_name: string | null }[];
      expect(masked.map((r) => [r.id, r.activity])).toEqual([
        [1, 'approve'],
        [2, 'order'],
        [3, 'pay'],
        [4, 'close'],
      ]);
      for (const r of masked.slice(0, 3)) expect(r.user_name).toMatch(/^u_[0-9a-f]{16}$/);
      expect(masked[0].user_name).toBe(masked[2].user_name);
      expect(masked[0].user_name).not.toBe(masked[1].user_name);
      expect(masked[3].user_name).toBeNull();
      pseudonyms.push(masked[0].user_name!, masked[1].user_name!);
      expect(await sqlstateOf(consumer.query('SELECT * FROM p2p.cases'))).toBe('42501');
      expect(await sqlstateOf(consumer.query('SELECT * FROM pmg_masking.pseudonym_key'))).toBe('42501');
      await consumer.end();

      const creator = await pg.connectAs('pd_creator', CREATOR_PASSWORD, DATABASE);
      expect((await creator.query('SELECT user_name FROM p2p.cases WHERE id IN (1, 2) ORDER BY id')).rows.map((r) => r.user_name)).toEqual(USER_NAMES);
      await creator.end();
    },
    STEP_TIMEOUT,
  );

  s.step(
    'pulumi stack export holds no value of the table, no pseudonym, not the key, and the generated passwords only as secrets',
    async () => {
      // The CLI itself, as an operator runs it: the Automation API's exportStack() adds --show-secrets.
      const run = spawnSync('pulumi', ['stack', 'export', '--stack', 'e2e'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, ...(stack.workspace as Automation.LocalWorkspace).envVars },
      });
      expect(run.status, run.stderr).toBe(0);
      const exported = JSON.parse(run.stdout) as Automation.Deployment;
      const adminPassword = decodeURIComponent(new URL(adminUrl).password);
      const forbidden: [string, string][] = [
        ...USER_NAMES.map((v): [string, string] => [v, 'a value of p2p.cases']),
        ...pseudonyms.map((v): [string, string] => [v, 'a pseudonym']),
        [pseudonymKey, 'the pseudonym key'],
        ...passwords.map((v): [string, string] => [v, 'a generated password']),
        [adminPassword, 'the admin password'],
        [CONSUMER_PASSWORD, "the consumer's password"],
      ];
      for (const [value, what] of forbidden) expect(run.stdout.includes(value), `the exported state holds ${what}`).toBe(false);
      // The passwords are there, as secrets (encrypted by the stack's secrets provider) ...
      for (const name of ['p2p', 'o2c']) {
        const r = resourcesOf(exported).find((x) => x.urn.endsWith(`::${name}`))!;
        expect(Object.keys(r.outputs!.password as object).sort(), name).toEqual(['4dabf18193072939515e22adb298388d', 'ciphertext']);
      }
      // ... which only --show-secrets decrypts (so the search above would have found them in clear).
      const shown = JSON.stringify(await stack.exportStack());
      for (const p of passwords) expect(shown.includes(p)).toBe(true);
      // Every file the backend wrote, earlier checkpoints and backups too.
      const files = stateFiles(dir);
      expect(files.length).toBeGreaterThan(1);
      for (const f of files) for (const [value, what] of forbidden) expect(f.text.includes(value), `${f.file} holds ${what}`).toBe(false);
    },
    STEP_TIMEOUT,
  );

  s.step(
    'refresh then preview: no changes',
    async () => {
      const refresh = await stack.refresh();
      expect(refresh.summary.resourceChanges).toEqual({ same: 4 });
      for (const r of resourcesOf(await stack.exportStack())) expect(r.outputs?.drift, r.urn).toBeUndefined();
      const preview = await stack.preview({ expectNoChanges: true });
      expect(preview.changeSummary).toEqual({ same: 4 });
    },
    STEP_TIMEOUT,
  );

  s.step(
    'destroy succeeds: the data and the key stay, the companion schema stays readable by nobody',
    async () => {
      const destroy = await stack.destroy();
      expect(destroy.summary.result).toBe('succeeded');
      expect(destroy.stdout).toContain('role "pmg_masker" is no longer in the policy but still owns schema "pmg_masking"; it is kept');
      expect(destroy.stdout + destroy.stderr).not.toMatch(/\n\s+at /);
      expect(await rows('SELECT id, user_name FROM p2p.cases WHERE id IN (1, 2) ORDER BY id')).toEqual([
        { id: 1, user_name: USER_NAMES[0] },
        { id: 2, user_name: USER_NAMES[1] },
      ]);
      // The key is kept, unchanged: a stack set up again gives the same pseudonyms.
      expect(await rows('SELECT key FROM pmg_masking.pseudonym_key')).toEqual([{ key: pseudonymKey }]);
      // No persona role or app login left; the schema owners and the masking owner keep their schemas.
      expect(await rows("SELECT rolname FROM pg_roles WHERE rolname LIKE 'pmg%' ORDER BY 1")).toEqual([
        { rolname: 'pmg_masker' },
        { rolname: 'pmg_o2c_owner' },
        { rolname: 'pmg_p2p_owner' },
      ]);
      // Nobody but its owner holds anything on the companion schema or the key's schema (docs/postgres.md: dropped by hand).
      expect(
        await rows(
          "SELECT n.nspname, a.grantee::regrole::text AS grantee FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname IN ('p2p_masked', 'pmg_masking') AND a.grantee <> n.nspowner",
        ),
      ).toEqual([]);
      const consumer = await pg.connectAs('pd_analyst', CONSUMER_PASSWORD, DATABASE);
      expect(await sqlstateOf(consumer.query('SELECT * FROM p2p_masked.cases'))).toBe('42501');
      expect(await sqlstateOf(consumer.query('SELECT * FROM p2p.cases'))).toBe('42501');
      await consumer.end();
    },
    STEP_TIMEOUT,
  );
}, suite);
