/**
 * A crashed `pulumi up` under PULUMI_SKIP_CHECKPOINTS=true (the engine writes the state only at the
 * end), with the real engine and a real PostgreSQL server: the engine is killed with SIGKILL while
 * pmgrants' operations run, so the state keeps nothing of that up. What docs/pulumi.md promises must
 * hold: the next `up` converges (creates adopt what the crashed one made; a login whose password the
 * state lost gets a new one), `refresh` after a crashed rotation reports the logins whose password the
 * state does not hold, then `preview --expect-no-changes` passes, every login logs in with the password
 * the stack delivers, and no state file holds a password in plain text.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Automation from '@pulumi/pulumi/automation';
import { startTestServer, TestServer } from '../support/pg';
import { scenario } from '../support/scenario';
import { deliveredLoginsLogIn, engineUnavailableReason, pmgrantsPolicyStack } from '../unit/pulumi-dist';

const unavailable = engineUnavailableReason();
if (unavailable) console.warn(`Skipping the Pulumi skip-checkpoints crash test: ${unavailable}`);
else console.warn(`Pulumi skip-checkpoints crash test with ${spawnSync('pulumi', ['version'], { encoding: 'utf8' }).stdout.trim()}`);
const suite = unavailable ? describe.skip : describe;

const DATABASE = 'crash_wh';
const APPS = Array.from({ length: 12 }, (_, i) => `app${String(i + 1).padStart(2, '0')}`);
const STEP_TIMEOUT = 240_000;

const policyText = () => `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: placeholder }
security: { mode: system_managed }
principals:
  analysts: { kind: entra-group, objectId: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04 }
apps:
${APPS.map((a) => `  ${a}: { schema: ${a}, source: closed }`).join('\n')}
grants:
  - { persona: data_consumer, to: [analysts], apps: ["*"] }
`;

let pg: TestServer;
let admin: Client;
let dir: string;
let stack: Automation.Stack;
const seenPasswords = new Set<string>();

/** Every process below `pid` (children first found, then theirs). */
function descendants(pid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  const children = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

/** SIGKILL the `pulumi` CLI this process started and everything below it (the dynamic provider too). */
function killEngine(): number {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  const engines = out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, comm]) => comm === 'pulumi')
    .map(([pid]) => Number(pid));
  const all = engines.flatMap((p) => [p, ...descendants(p)]);
  for (const p of all) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return engines.length;
}

/** Run `up` with the engine writing no intermediate state, and SIGKILL it after `after` resources of `op` completed. */
async function crashedUp(op: 'create' | 'update', after: number): Promise<number> {
  stack.workspace.envVars.PULUMI_SKIP_CHECKPOINTS = 'true';
  let done = 0;
  let killed = 0;
  try {
    await stack
      .up({
        onEvent: (e) => {
          const m = e.resOutputsEvent?.metadata;
          if (m && m.op === op && m.type.endsWith(':App') && ++done === after) killed = killEngine();
        },
      })
      .then(
        () => undefined,
        (err: unknown) => {
          // Killed: the CLI's exit is the expected failure. Any other failure is the test's to report.
          if (killed === 0) throw err;
        },
      );
  } finally {
    delete stack.workspace.envVars.PULUMI_SKIP_CHECKPOINTS;
  }
  // The killed engine left its lock on the stack: `pulumi cancel` removes it (docs/pulumi.md).
  await stack.cancel().catch(() => undefined);
  return killed;
}

/** The resources of the stack's state file (none when the file was never written). */
function stateResources(): { type: string }[] {
  const file = path.join(dir, 'state', '.pulumi', 'stacks', 'pmgrants', 'crash.json');
  if (!fs.existsSync(file)) return [];
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as { checkpoint?: { latest?: { resources?: { type: string }[] } } };
  return state.checkpoint?.latest?.resources ?? [];
}

/** Every app's login logs in with the password the stack delivers; returns them. */
async function deliveredPasswordsWork(): Promise<Record<string, string>> {
  const apps = await deliveredLoginsLogIn(stack, pg, DATABASE);
  expect(Object.keys(apps).sort()).toEqual(APPS);
  const passwords: Record<string, string> = {};
  for (const [app, a] of Object.entries(apps)) {
    passwords[app] = a.password;
    seenPasswords.add(a.password);
  }
  return passwords;
}

function stateFilesHoldNoPassword(): void {
  const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  for (const file of walk(path.join(dir, 'state'))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const p of seenPasswords) expect(text.includes(p), `${path.relative(dir, file)} holds a password in plain text`).toBe(false);
  }
}

scenario('a crashed pulumi up with PULUMI_SKIP_CHECKPOINTS=true (real engine, PostgreSQL)', (s) => {
  beforeAll(async () => {
    pg = await startTestServer();
    const adminUrl = await pg.createDatabase(DATABASE);
    admin = await pg.connect(adminUrl);
    ({ dir, stack } = await pmgrantsPolicyStack('pmgrants-pulumi-crash-', 'crash', { database: DATABASE, policyText: policyText(), databaseUrl: adminUrl }));
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await admin?.end().catch(() => undefined);
    await pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  s.step(
    'a first up killed part-way keeps no state; the next up creates everything, adopting what the crashed one made, and every login logs in',
    async () => {
      expect(await crashedUp('create', 4)).toBe(1);
      // The state holds nothing of the crashed up, while the database holds what it made.
      expect(stateResources().filter((r) => r.type.startsWith('pulumi-nodejs:dynamic/'))).toEqual([]);
      const made = await admin.query("SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'pmg\\_app%\\_app' AND rolcanlogin");
      expect(made.rows[0].n).toBeGreaterThanOrEqual(4);

      const up = await stack.up();
      expect(up.summary.result).toBe('succeeded');
      // Everything is created again as far as the engine knows: the stack, the warehouse and every app.
      expect(up.summary.resourceChanges).toEqual({ create: APPS.length + 2 });
      await stack.preview({ expectNoChanges: true });
      await deliveredPasswordsWork();
      stateFilesHoldNoPassword();
    },
    STEP_TIMEOUT,
  );

  s.step(
    'a rotation killed part-way: refresh reports the logins whose new password the state never received, up sets them again, every login logs in',
    async () => {
      const before = await deliveredPasswordsWork();
      await stack.setConfig('pmgrants:rotationToken', { value: 'crash-rotation-1' });
      expect(await crashedUp('update', 3)).toBe(1);
      // The state still holds the old passwords; at least the three rotated logins no longer take them.
      let refused = 0;
      for (const app of APPS) {
        const c = await pg.connectAs(`pmg_${app}_app`, before[app], DATABASE).catch(() => undefined);
        if (c) await c.end();
        else refused++;
      }
      expect(refused).toBeGreaterThanOrEqual(3);

      const refresh = await stack.refresh();
      expect(refresh.summary.resourceChanges?.update ?? 0).toBeGreaterThanOrEqual(refused);
      const up = await stack.up();
      expect(up.summary.result).toBe('succeeded');
      await stack.preview({ expectNoChanges: true });
      const after = await deliveredPasswordsWork();
      for (const app of APPS) expect(after[app]).not.toBe(before[app]);
      stateFilesHoldNoPassword();
    },
    STEP_TIMEOUT,
  );
}, suite);
