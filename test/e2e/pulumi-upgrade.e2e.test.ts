/**
 * A stack set up by an earlier pmgrants, whose state holds the earlier serialized provider text (one
 * method per operation, each calling the behaviour module's operation by name), run by this one: the
 * real engine and a real PostgreSQL server. The engine keeps a resource's stored text until the
 * resource is next updated, and runs reads (refresh) and deletes with the stored text, so the behaviour
 * module must answer both forms (docs/pulumi.md, "The serialized providers"). The earlier text is
 * test/fixtures/pulumi/provider-text-per-operation.json, as Pulumi serialized it for each kind.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Automation from '@pulumi/pulumi/automation';
import { startTestServer, TestServer } from '../support/pg';
import { scenario } from '../support/scenario';
import { deliveredLoginsLogIn, engineUnavailableReason, pmgrantsPolicyStack, REPO } from '../unit/pulumi-dist';

const unavailable = engineUnavailableReason();
if (unavailable) console.warn(`Skipping the Pulumi upgrade test: ${unavailable}`);
else console.warn(`Pulumi upgrade test with ${spawnSync('pulumi', ['version'], { encoding: 'utf8' }).stdout.trim()}`);
const suite = unavailable ? describe.skip : describe;

const DATABASE = 'upgrade_wh';
const STEP_TIMEOUT = 240_000;
const EARLIER_TEXT = JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'pulumi', 'provider-text-per-operation.json'), 'utf8')) as Record<'warehouse' | 'app', string>;

const policyText = (apps: string[], consumers: string[]) => `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: placeholder }
security: { mode: system_managed }
principals:
  analysts: { kind: entra-group, objectId: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04 }
apps:
${apps.map((a) => `  ${a}: { schema: ${a}, source: closed }`).join('\n')}
grants:
  - { persona: data_consumer, to: [analysts], apps: [${consumers.join(', ')}] }
`;

interface StateResource {
  urn: string;
  type: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

let pg: TestServer;
let admin: Client;
let dir: string;
let stack: Automation.Stack;

const kindOf = (r: StateResource): 'warehouse' | 'app' | undefined =>
  r.type === 'pulumi-nodejs:dynamic/pmgrants:Warehouse' ? 'warehouse' : r.type === 'pulumi-nodejs:dynamic/pmgrants:App' ? 'app' : undefined;
const nameOf = (r: StateResource) => r.urn.split('::').pop()!;

/** Name -> the provider text the state holds for it, in its inputs and in its outputs. */
async function storedTexts(): Promise<Record<string, [unknown, unknown]>> {
  const resources = (await stack.exportStack()).deployment.resources as StateResource[];
  return Object.fromEntries(resources.filter(kindOf).map((r) => [nameOf(r), [r.inputs?.__provider, r.outputs?.__provider]]));
}

async function managedRoles(): Promise<string[]> {
  const r = await admin.query("SELECT rolname FROM pg_roles WHERE coalesce(shobj_description(oid, 'pg_authid'), '') LIKE 'pmgrants:managed%' ORDER BY rolname");
  return r.rows.map((x: { rolname: string }) => x.rolname);
}

/** Every app's login logs in with the password the stack delivers. */
async function deliveredPasswordsWork(apps: string[]): Promise<void> {
  const delivered = await deliveredLoginsLogIn(stack, pg, DATABASE);
  expect(Object.keys(delivered).sort()).toEqual([...apps].sort());
}

scenario('a stack whose state holds the earlier serialized provider text (real engine, PostgreSQL)', (s) => {
  beforeAll(async () => {
    pg = await startTestServer();
    const adminUrl = await pg.createDatabase(DATABASE);
    admin = await pg.connect(adminUrl);
    const policy = policyText(['p2p', 'o2c', 'r2r'], ['p2p', 'o2c', 'r2r']);
    ({ dir, stack } = await pmgrantsPolicyStack('pmgrants-pulumi-upgrade-', 'upgrade', { database: DATABASE, policyText: policy, databaseUrl: adminUrl }));

    // The stack as the earlier version left it: set up, then its stored provider text put back to the earlier form.
    expect((await stack.up()).summary.result).toBe('succeeded');
    const exported = await stack.exportStack();
    for (const r of exported.deployment.resources as StateResource[]) {
      const kind = kindOf(r);
      if (!kind) continue;
      r.inputs!.__provider = EARLIER_TEXT[kind];
      r.outputs!.__provider = EARLIER_TEXT[kind];
    }
    await stack.importStack(exported);
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await admin?.end().catch(() => undefined);
    await pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  s.step(
    'preview shows no changes and refresh (read with the earlier text) finds no drift',
    async () => {
      const stored = Object.entries(await storedTexts());
      // The warehouse and its three apps, each still holding the earlier text.
      expect(stored.map(([name]) => name).sort()).toEqual(['o2c', 'p2p', 'r2r', 'warehouse']);
      for (const [name, [i, o]] of stored) expect(typeof i === 'string' && i.includes("'remove'") && o === i, name).toBe(true);
      await stack.preview({ expectNoChanges: true });
      const refresh = await stack.refresh();
      expect(refresh.summary.result).toBe('succeeded');
      expect(Object.keys(refresh.summary.resourceChanges ?? {}).filter((op) => op !== 'same')).toEqual([]);
      await deliveredPasswordsWork(['p2p', 'o2c', 'r2r']);
    },
    STEP_TIMEOUT,
  );

  s.step(
    'a policy edit updates and creates with this version\'s text; an app removed from the policy is deleted with the earlier text',
    async () => {
      // o2c loses its consumers (an update), s2p is new (a create), r2r leaves the policy (a delete, with its stored earlier text).
      fs.writeFileSync(path.join(dir, 'policy.yaml'), policyText(['p2p', 'o2c', 's2p'], ['p2p', 's2p']));
      const up = await stack.up();
      expect(up.summary.result).toBe('succeeded');
      expect(up.summary.resourceChanges).toMatchObject({ create: 1, update: 1, delete: 1 });
      const texts = await storedTexts();
      expect(Object.keys(texts).sort()).toEqual(['o2c', 'p2p', 's2p', 'warehouse']);
      for (const name of ['o2c', 's2p']) expect(texts[name][0], name).toContain('.install(this, this.kind, r.config)');
      // Untouched: it keeps the earlier text until its next update.
      expect(texts.p2p[1]).toBe(EARLIER_TEXT.app);
      // Its schema and the schema's owner role stay (pmgrants never drops data); its other roles and its login are gone.
      expect((await managedRoles()).filter((r) => r.includes('r2r'))).toEqual(['pmg_r2r_owner']);
      await stack.preview({ expectNoChanges: true });
      await deliveredPasswordsWork(['p2p', 'o2c', 's2p']);
    },
    STEP_TIMEOUT,
  );

  s.step(
    'destroy deletes every resource, those still holding the earlier text included: only the app schemas\' owner roles stay',
    async () => {
      expect((await storedTexts()).warehouse[1]).toBe(EARLIER_TEXT.warehouse);
      const destroy = await stack.destroy();
      expect(destroy.summary.result).toBe('succeeded');
      expect(await managedRoles()).toEqual(['pmg_o2c_owner', 'pmg_p2p_owner', 'pmg_r2r_owner', 'pmg_s2p_owner']);
    },
    STEP_TIMEOUT,
  );
}, suite);
