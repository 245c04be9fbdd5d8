/**
 * Credentials per use and protected roles under the real Pulumi engine, against a real PostgreSQL.
 * The pipeline path of `pmgrants checkout`: `pulumi config set --path 'pmgrants:checkout.<app>' <token>`
 * then `pulumi up` sets a fresh password for that app's login alone, VALID UNTIL the policy's lifetime,
 * and the stack's `apps` output carries it (secret) with its generation and validity; the previous
 * password no longer logs in. A protected role keeps the grant a superuser gave it on an app schema
 * through refresh and up, and the warehouse's warnings name the member the policy does not.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type * as Automation from '@pulumi/pulumi/automation';
import { sqlstateOf, startTestServer, TestServer } from '../support/pg';
import { scenario } from '../support/scenario';
import { deliveredLoginsLogIn, engineUnavailableReason, pmgrantsPolicyStack } from '../unit/pulumi-dist';

const unavailable = engineUnavailableReason();
if (unavailable) console.warn(`Skipping the Pulumi checkout end-to-end test: ${unavailable}`);
else console.warn(`Pulumi checkout end-to-end test with ${spawnSync('pulumi', ['version'], { encoding: 'utf8' }).stdout.trim()}`);
const suite = unavailable ? describe.skip : describe;

const DATABASE = 'pulumi_checkout';
const STEP_TIMEOUT = 180_000;
const EIGHT_HOURS = 8 * 3_600_000;

const POLICY = `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: placeholder }
security: { mode: system_managed, rotation: { validFor: 8h } }
principals:
  analysts: { kind: database-role }
apps:
  p2p: { schema: p2p }
  o2c: { schema: o2c }
grants:
  - { persona: data_consumer, to: [analysts], apps: ["*"] }
protected:
  - { role: pm_internal, members: [pm_service] }
`;

type Delivered = Record<string, { login: string; password: string; passwordGeneration?: string; passwordValidUntil?: string }>;

let pg: TestServer;
let admin: Client;
let dir: string;
let stack: Automation.Stack;

const delivered = async () => (await stack.outputs()).apps.value as Delivered;

async function validUntil(login: string): Promise<Date | null> {
  const { rows } = await admin.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [login]);
  return rows[0].rolvaliduntil;
}

beforeAll(async () => {
  if (unavailable) return;
  pg = await startTestServer();
  const adminUrl = await pg.createDatabase(DATABASE);
  admin = await pg.connect(adminUrl);
  for (const sql of ['CREATE ROLE pm_internal NOLOGIN', "CREATE ROLE pm_service LOGIN PASSWORD 'x'", "CREATE ROLE alice LOGIN PASSWORD 'x'", 'GRANT pm_internal TO pm_service, alice']) {
    await admin.query(sql);
  }
  ({ dir, stack } = await pmgrantsPolicyStack('pmgrants-pulumi-checkout-', 'checkout', { database: DATABASE, policyText: POLICY, databaseUrl: adminUrl }));
}, STEP_TIMEOUT);

afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

scenario('pulumi: credentials per use, protected roles', (s) => {
  s.step(
    'up gives every app password the policy lifetime: the output and the server say the same instant; the warehouse names the unnamed member',
    async () => {
      const up = await stack.up({ onOutput: () => undefined });
      expect(up.summary.result).toBe('succeeded');
      const apps = await deliveredLoginsLogIn(stack, pg, DATABASE);
      for (const app of ['p2p', 'o2c']) {
        const out = (await delivered())[app];
        const server = await validUntil(apps[app].login);
        expect(server?.toISOString()).toBe(out.passwordValidUntil);
        const left = Date.parse(out.passwordValidUntil!) - Date.now();
        expect(left).toBeGreaterThan(EIGHT_HOURS - 10 * 60_000);
        expect(left).toBeLessThanOrEqual(EIGHT_HOURS);
      }
      const state = await stack.exportStack();
      const warehouse = state.deployment.resources.find((r: { urn: string }) => r.urn.endsWith('::warehouse'));
      expect(JSON.stringify(warehouse.outputs.warnings)).toContain('protected role \\"pm_internal\\" has a member the policy does not name (protected[0].members): alice');
    },
    STEP_TIMEOUT,
  );

  s.step(
    "a checkout token for one app: only that app's resource changes, its new password is delivered with its generation and validity, the old one is dead",
    async () => {
      const before = await delivered();
      await stack.setConfig('pmgrants:checkout.p2p', { value: 'run-1' }, true);
      const preview = await stack.preview({ diff: true });
      expect(preview.changeSummary).toMatchObject({ update: 1 });
      expect(preview.stdout).toMatch(/checkoutToken/);
      const up = await stack.up({ onOutput: () => undefined });
      expect(up.summary.resourceChanges).toMatchObject({ update: 1 });
      const after = await deliveredLoginsLogIn(stack, pg, DATABASE);
      const out = (await delivered()).p2p;
      expect(out.passwordGeneration).not.toBe(before.p2p.passwordGeneration);
      expect(after.p2p.password).not.toBe(before.p2p.password);
      expect(after.o2c.password).toBe(before.o2c.password);
      expect((await validUntil(after.p2p.login))?.toISOString()).toBe(out.passwordValidUntil);
      expect(await sqlstateOf(pg.connectAs(before.p2p.login, before.p2p.password, DATABASE))).toBe('28P01');
    },
    STEP_TIMEOUT,
  );

  s.step(
    'a grant a superuser gives the protected role on an app schema survives refresh and up',
    async () => {
      await admin.query('GRANT USAGE ON SCHEMA p2p TO pm_internal');
      const up = await stack.up({ refresh: true, onOutput: () => undefined });
      expect(up.summary.result).toBe('succeeded');
      const { rows } = await admin.query("SELECT has_schema_privilege('pm_internal', 'p2p', 'USAGE') AS usage");
      expect(rows[0].usage).toBe(true);
    },
    STEP_TIMEOUT,
  );
}, suite);
