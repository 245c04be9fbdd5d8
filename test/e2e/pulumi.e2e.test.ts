/**
 * The real Pulumi engine driving pmgrants' dynamic resources against a real PostgreSQL server. No fake:
 * the `pulumi` CLI (built from the Go module proxy by scripts/pulumi-engine.sh) runs the program
 * through the Automation API as an inline program (the language runtime is served in-process; see
 * docs/pulumi.md), starts the dynamic-provider launcher `pulumi-resource-pulumi-nodejs`, and keeps its
 * state in a local file backend. Fully offline.
 *
 * One stack, in order: up creates; preview shows nothing; a policy edit previews as exactly the
 * grant and membership of one app and up applies it; a superuser's GRANT shows up in refresh and up revokes it;
 * an invalid policy fails preview with its diagnostic and changes nothing; a grant whose expiry passes
 * previews as a change and up revokes it; destroy drops what
 * pmgrants manages (keeping app schemas, which hold data, and their owners) and leaves an unmanaged
 * role and its privilege alone; the state files never hold a generated password in plain text.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Automation from '@pulumi/pulumi/automation';
import { startTestServer, TestServer } from '../support/pg';
import { scenario } from '../support/scenario';
import { distRequire, engineUnavailableReason, pmgrantsPolicyStack } from '../unit/pulumi-dist';
import { operations, stateFiles } from '../support/pulumi-state';

const unavailable = engineUnavailableReason();
if (unavailable) console.warn(`Skipping the Pulumi end-to-end test: ${unavailable}`);
else console.warn(`Pulumi end-to-end test with ${spawnSync('pulumi', ['version'], { encoding: 'utf8' }).stdout.trim()}`);
const suite = unavailable ? describe.skip : describe;

const DATABASE = 'pulumi_wh';
const STEP_TIMEOUT = 180_000;

const policyText = (consumerApps: string[], extra = '') => `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: placeholder }
security: { mode: system_managed }
principals:
  admins: { kind: entra-group, objectId: 2b6f1c3e-8d2a-4f0b-9a51-0c7e4d1f2a01 }
  analysts: { kind: entra-group, objectId: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04 }
apps:
  p2p: { schema: p2p, source: closed }
  o2c: { schema: o2c, source: open }
grants:
  - { persona: app_admin, to: [admins] }
  - { persona: data_consumer, to: [analysts], apps: [${consumerApps.join(', ')}] }
${extra}`;

let pg: TestServer;
let admin: Client;
let dir: string;
let stack: Automation.Stack;
let adminUrl: string;
const passwords: string[] = [];

/** Top-level properties the preview diff marks as changed, by resource name (e.g. { o2c: ['~ memberships'] }). */
function changedProperties(diffText: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let current: string | undefined;
  let indent = 0;
  for (const line of diffText.split('\n')) {
    const urn = /^(\s*)\[urn=urn:pulumi:[^\]]*::([^:\]]+)\]$/.exec(line);
    if (urn) {
      current = urn[2];
      indent = urn[1].length;
      continue;
    }
    const prop = /^(\s*)([~+-]) ([A-Za-z_][A-Za-z0-9_]*)\s*:/.exec(line);
    if (current && prop && prop[1].length === indent - 2) (out[current] ??= []).push(`${prop[2]} ${prop[3]}`);
  }
  return out;
}

async function rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await admin.query(sql, params)).rows as T[];
}

async function managedRoles(): Promise<string[]> {
  const r = await rows<{ rolname: string }>(
    "SELECT rolname FROM pg_roles WHERE coalesce(shobj_description(oid, 'pg_authid'), '') LIKE 'pmgrants:managed%' ORDER BY rolname",
  );
  return r.map((x) => x.rolname);
}

function writePolicy(text: string) {
  fs.writeFileSync(path.join(dir, 'policy.yaml'), text);
}

scenario('pmgrants under the real Pulumi engine (PostgreSQL)', (s) => {
  beforeAll(async () => {
    pg = await startTestServer();
    adminUrl = await pg.createDatabase(DATABASE);
    admin = await pg.connect(adminUrl);
    // A role pmgrants does not manage: it must come out of every step untouched.
    await admin.query('CREATE ROLE bystander NOLOGIN');

    // A Pulumi project directory of its own (stack settings files land there, not in the repository):
    // the repository's Pulumi.yaml, node_modules and dist, the test's policy and its stack overlay.
    ({ dir, stack } = await pmgrantsPolicyStack('pmgrants-pulumi-e2e-', 'e2e', { database: DATABASE, policyText: policyText(['p2p']), databaseUrl: adminUrl }));
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  s.step(
    'up creates the warehouse and one resource per app, and the delivered passwords log in',
    async () => {
      const events: Automation.EngineEvent[] = [];
      const up = await stack.up({ onEvent: (e) => events.push(e) });
      expect(operations(events)).toEqual({ 'pmgrants-e2e': 'create', default: 'create', warehouse: 'create', p2p: 'create', o2c: 'create' });
      expect(up.summary.result).toBe('succeeded');

      const apps = up.outputs.apps.value as Record<string, { login: string; password: string; schema: string; database: string }>;
      expect(Object.keys(apps).sort()).toEqual(['o2c', 'p2p']);
      expect(apps.p2p).toMatchObject({ login: 'pmg_p2p_app', schema: 'p2p', database: DATABASE });
      for (const a of Object.values(apps)) passwords.push(a.password);
      expect(passwords.every((p) => typeof p === 'string' && p.length >= 20)).toBe(true);

      expect(await managedRoles()).toEqual([
        'pmg_app_admin',
        'pmg_o2c_app',
        'pmg_o2c_data_consumer',
        'pmg_o2c_owner',
        'pmg_o2c_process_admin',
        'pmg_p2p_app',
        'pmg_p2p_data_consumer',
        'pmg_p2p_owner',
        'pmg_p2p_process_admin',
      ]);
      // The app's login works with the password the stack delivered, and reaches its own schema only.
      const p2p = await pg.connectAs('pmg_p2p_app', apps.p2p.password, DATABASE);
      await p2p.query('CREATE TABLE p2p.invoices (id int)');
      await expect(p2p.query('CREATE TABLE o2c.orders (id int)')).rejects.toThrow(/permission denied/);
      await p2p.end();
      // The unmanaged role gets a privilege on an app schema from the superuser.
      await admin.query('GRANT USAGE ON SCHEMA p2p TO bystander');
    },
    STEP_TIMEOUT,
  );

  s.step(
    'a second preview shows no changes',
    async () => {
      const preview = await stack.preview();
      expect(preview.changeSummary).toEqual({ same: 4 });
    },
    STEP_TIMEOUT,
  );

  s.step(
    'a policy edit previews as exactly the expected property of the one app it concerns; up applies it',
    async () => {
      writePolicy(policyText(['p2p', 'o2c']));
      const events: Automation.EngineEvent[] = [];
      const preview = await stack.preview({ diff: true, onEvent: (e) => events.push(e) });
      expect(operations(events)).toEqual({ o2c: 'update' });
      // The compiled membership, and the policy grant it comes from (an input the policy pack reads).
      expect(changedProperties(preview.stdout)).toEqual({ o2c: ['~ grants', '~ memberships'] });
      expect(preview.stdout).toMatch(/\+ member\s*: "analysts"/);

      const up = await stack.up();
      expect(up.summary.resourceChanges).toEqual({ same: 3, update: 1 });
      expect(await rows("SELECT pg_has_role('analysts', 'pmg_o2c_data_consumer', 'MEMBER') AS member")).toEqual([{ member: true }]);
      expect((await stack.preview()).changeSummary).toEqual({ same: 4 });
    },
    STEP_TIMEOUT,
  );

  s.step(
    'a GRANT made by hand shows up in refresh as drift, and up revokes it (the app schema\'s ACL is the policy\'s: the unmanaged role\'s grant too)',
    async () => {
      await admin.query('GRANT CREATE ON SCHEMA p2p TO pmg_p2p_data_consumer');
      const refreshEvents: Automation.EngineEvent[] = [];
      const refresh = await stack.refresh({ onEvent: (e) => refreshEvents.push(e) });
      expect(refresh.summary.resourceChanges).toMatchObject({ update: 1 });
      expect(refresh.stdout).toMatch(/pmgrants:App p2p .*\[diff: \+drift\]/);

      const state = await stack.exportStack();
      const p2p = (state.deployment.resources as { urn: string; outputs: Record<string, unknown> }[]).find((r) => r.urn.endsWith('::p2p'))!;
      expect(p2p.outputs.drift).toEqual(['- revoke USAGE on schema p2p from bystander', '- revoke CREATE on schema p2p from pmg_p2p_data_consumer']);

      const preview = await stack.preview({ diff: true });
      expect(changedProperties(preview.stdout)).toEqual({ p2p: ['- drift'] });
      await stack.up();
      expect(await rows("SELECT has_schema_privilege('pmg_p2p_data_consumer', 'p2p', 'CREATE') AS can")).toEqual([{ can: false }]);
      expect(await rows("SELECT has_schema_privilege('bystander', 'p2p', 'USAGE') AS can, count(*)::int AS roles FROM pg_roles WHERE rolname = 'bystander'")).toEqual([{ can: false, roles: 1 }]);
      expect((await stack.preview()).changeSummary).toEqual({ same: 4 });
    },
    STEP_TIMEOUT,
  );

  s.step(
    'an invalid policy fails preview and up with its diagnostic, and changes nothing',
    async () => {
      const before = await managedRoles();
      writePolicy(policyText(['p2p', 'o2c', 'o2x']));
      const failure = await stack.preview().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(failure).toBeDefined();
      expect(String(failure!.message)).toMatch(/policy\.yaml:\d+:\d+ error unknown-app unknown app "o2x"/);
      // up fails the same way before any step: the apps the program did not register are not deleted.
      const upFailure = await stack.up().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(String(upFailure?.message)).toMatch(/error unknown-app unknown app "o2x"/);
      expect(await managedRoles()).toEqual(before);
      writePolicy(policyText(['p2p', 'o2c']));
      expect((await stack.preview()).changeSummary).toEqual({ same: 4 });
    },
    STEP_TIMEOUT,
  );

  s.step(
    'a grant whose expiry passes: up grants it, the next preview shows the change, up revokes it',
    async () => {
      // A temporary grant, under a minute ahead (whole seconds, with a zone).
      const expiresAt = new Date(Math.ceil((Date.now() + 45_000) / 1000) * 1000);
      const expires = expiresAt.toISOString().replace(/\.000Z$/, 'Z');
      const direct = () => rows("SELECT count(*)::int AS n FROM pg_auth_members WHERE roleid = 'pmg_p2p_data_consumer'::regrole AND member = 'admins'::regrole");
      writePolicy(policyText(['p2p', 'o2c'], `  - { persona: data_consumer, to: [admins], apps: [p2p], expires: ${expires} }\n`));
      expect((await stack.up()).summary.resourceChanges).toEqual({ same: 3, update: 1 });
      expect(await direct()).toEqual([{ n: 1 }]);
      expect(Date.now()).toBeLessThan(expiresAt.getTime()); // else the machine was too slow for the lead

      await new Promise((r) => setTimeout(r, expiresAt.getTime() - Date.now() + 200));
      const events: Automation.EngineEvent[] = [];
      const preview = await stack.preview({ diff: true, onEvent: (e) => events.push(e) });
      expect(operations(events)).toEqual({ p2p: 'update' });
      expect(changedProperties(preview.stdout)).toEqual({ p2p: ['+ expired', '~ memberships'] });
      expect((await stack.up()).summary.resourceChanges).toEqual({ same: 3, update: 1 });
      expect(await direct()).toEqual([{ n: 0 }]);
      expect((await stack.preview()).changeSummary).toEqual({ same: 4 });
      // Taking the expired grant out of the policy changes the inputs only.
      writePolicy(policyText(['p2p', 'o2c']));
      expect((await stack.up()).summary.resourceChanges).toEqual({ same: 3, update: 1 });
      expect(await direct()).toEqual([{ n: 0 }]);
    },
    STEP_TIMEOUT,
  );

  s.step(
    'the state never holds a generated password or the admin password in plain text',
    async () => {
      const files = stateFiles(dir);
      expect(files.some((f) => f.file.endsWith(path.join('stacks', 'pmgrants', 'e2e.json')))).toBe(true);
      const adminPassword = decodeURIComponent(new URL(adminUrl).password);
      for (const f of files) {
        for (const p of [...passwords, adminPassword]) expect(f.text.includes(p), `${f.file} holds a password in plain text`).toBe(false);
      }
      // The password outputs are there, encrypted.
      const state = JSON.parse(files.find((f) => f.file.endsWith(path.join('stacks', 'pmgrants', 'e2e.json')))!.text);
      const p2p = state.checkpoint.latest.resources.find((r: { urn: string }) => r.urn.endsWith('::p2p'));
      expect(Object.keys(p2p.outputs.password).sort()).toEqual(['4dabf18193072939515e22adb298388d', 'ciphertext']);
    },
    STEP_TIMEOUT,
  );

  s.step(
    'an app schema renamed in the policy converges in one up: preview right after shows no changes',
    async () => {
      writePolicy(policyText(['p2p', 'o2c']).replace('o2c: { schema: o2c, source: open }', 'o2c: { schema: o2c_v2, source: open }'));
      const up = await stack.up();
      expect(up.summary.resourceChanges).toEqual({ same: 3, update: 1 });
      const preview = await stack.preview({ expectNoChanges: true });
      expect(preview.changeSummary).toEqual({ same: 4 });
      expect(await rows("SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname LIKE 'o2c%' ORDER BY 1")).toEqual([
        { nspname: 'o2c', owner: 'pmg_o2c_owner' },
        { nspname: 'o2c_v2', owner: 'pmg_o2c_owner' },
      ]);
      // The grants moved to the new schema; the old one (kept: it may hold data) has none but its owner's.
      expect(await rows("SELECT has_schema_privilege('pmg_o2c_data_consumer', 'o2c_v2', 'USAGE') AS v2, has_schema_privilege('pmg_o2c_data_consumer', 'o2c', 'USAGE') AS old")).toEqual([
        { v2: true, old: false },
      ]);
      expect(await rows("SELECT count(*)::int AS n FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'o2c' AND a.grantee <> n.nspowner")).toEqual([{ n: 0 }]);
    },
    STEP_TIMEOUT,
  );

  s.step(
    'a warehouse database dropped and created again: refresh reports it, up --refresh sets everything up again, and the app login works',
    async () => {
      await admin.end();
      const server = await pg.connect(pg.url());
      await server.query(`DROP DATABASE ${DATABASE} WITH (FORCE)`);
      await server.query(`CREATE DATABASE ${DATABASE}`);
      await server.end();
      admin = await pg.connect(adminUrl);
      expect(await rows("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname IN ('p2p', 'o2c_v2')")).toEqual([{ n: 0 }]);

      // A plain up trusts the recorded state; refresh compares the database identity recorded at create.
      const { recreatedLine } = distRequire<typeof import('../../provider/pulumi/providers')>('provider/pulumi/providers');
      await stack.refresh();
      const outputsOf = async (name: string) =>
        ((await stack.exportStack()).deployment.resources as { urn: string; outputs: Record<string, unknown> }[]).find((r) => r.urn.endsWith(`::${name}`))!.outputs;
      for (const name of ['warehouse', 'p2p', 'o2c']) expect((await outputsOf(name)).drift, name).toEqual(expect.arrayContaining([recreatedLine(DATABASE)]));

      const up = await stack.up({ refresh: true });
      expect(up.summary.result).toBe('succeeded');
      const p2p = await outputsOf('p2p');
      expect(p2p.drift).toBeUndefined();
      expect(p2p.databaseId).toBe((await rows<{ id: string }>("SELECT 'oid ' || oid AS id FROM pg_database WHERE datname = current_database()"))[0].id);
      expect(await rows("SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname IN ('p2p', 'o2c_v2') ORDER BY 1")).toEqual([
        { nspname: 'o2c_v2', owner: 'pmg_o2c_owner' },
        { nspname: 'p2p', owner: 'pmg_p2p_owner' },
      ]);
      expect((await stack.preview({ expectNoChanges: true })).changeSummary).toEqual({ same: 4 });
      // The app's transformations run again in the new database, as its login, and write their tables.
      const apps = (await stack.outputs()).apps.value as Record<string, { password: string }>;
      const login = await pg.connectAs('pmg_p2p_app', apps.p2p.password, DATABASE);
      await login.query("CREATE TABLE p2p.invoices (id int PRIMARY KEY, amount numeric); INSERT INTO p2p.invoices VALUES (1, 10), (2, 20)");
      await login.end();
      await admin.query('GRANT USAGE ON SCHEMA p2p TO bystander');
    },
    STEP_TIMEOUT,
  );

  s.step(
    'destroy drops what pmgrants manages, hands the tables its app login created to the owner role, keeps app schemas (data) and their owners, and touches nothing else',
    async () => {
      const destroy = await stack.destroy();
      expect(destroy.summary.result).toBe('succeeded');
      expect(destroy.stdout).toContain('role "pmg_p2p_owner" is no longer in the policy but still owns schema "p2p"; it is kept');
      // Left: the schema owners, each still owning its schema (and p2p's table). No login, no persona role.
      expect(await managedRoles()).toEqual(['pmg_o2c_owner', 'pmg_p2p_owner']);
      expect(await rows("SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname IN ('p2p', 'o2c_v2') ORDER BY 1")).toEqual([
        { nspname: 'o2c_v2', owner: 'pmg_o2c_owner' },
        { nspname: 'p2p', owner: 'pmg_p2p_owner' },
      ]);
      // The table the app's login created is the owner role's now, with its rows.
      expect(await rows("SELECT tableowner FROM pg_tables WHERE schemaname = 'p2p' AND tablename = 'invoices'")).toEqual([{ tableowner: 'pmg_p2p_owner' }]);
      expect(await rows('SELECT id, amount FROM p2p.invoices ORDER BY id')).toEqual([
        { id: 1, amount: '10' },
        { id: 2, amount: '20' },
      ]);
      // No stack trace anywhere in what the engine printed.
      expect(destroy.stdout + destroy.stderr).not.toMatch(/\n\s+at /);
      // No privilege held by anything pmgrants manages remains on the schemas.
      expect(
        await rows(
          "SELECT n.nspname, a.grantee::regrole::text AS grantee FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname IN ('p2p', 'o2c_v2') AND a.grantee <> n.nspowner ORDER BY 1, 2",
        ),
      ).toEqual([{ nspname: 'p2p', grantee: 'bystander' }]);
      // The unmanaged role, and the principals pmgrants created for the policy's groups (never dropped), are still there.
      expect(await rows("SELECT rolname FROM pg_roles WHERE rolname IN ('bystander', 'admins', 'analysts') ORDER BY 1")).toEqual([
        { rolname: 'admins' },
        { rolname: 'analysts' },
        { rolname: 'bystander' },
      ]);
      // Every state file written up to here (history and backups included) is still free of passwords.
      const adminPassword = decodeURIComponent(new URL(adminUrl).password);
      for (const f of stateFiles(dir)) for (const p of [...passwords, adminPassword]) expect(f.text.includes(p), `${f.file} holds a password in plain text`).toBe(false);
    },
    STEP_TIMEOUT,
  );
}, suite);
