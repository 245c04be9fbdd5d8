/**
 * An apply never acts on a stale plan: `pmgrants apply` and `rotate` take the apply lock before they
 * read the catalog, so of two commands started together the second plans on top of what the first
 * left. Real processes (bin/pmgrants, as users run it) against a real PostgreSQL server, 300 apps.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineConnection } from '../../provider/engines/engine';
import { LockHolder } from '../../provider/engines/lock';
import { PmgrantsError } from '../../provider/model/errors';
import { connectPostgres } from '../../provider/engines/postgres';
import { planLive } from '../../provider/pipeline/plan';
import { runCli } from '../../provider/cli/main';
import { CliIO } from '../../provider/cli/io';
import { Policy } from '../../provider/model/types';
import { checkPolicy } from '../../provider/policy/check';
import { parseSource } from '../../provider/policy/source';
import { postgresUnavailableReason, startTestServer, TestServer } from '../support/pg';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the stale-plan end-to-end tests: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

const root = path.resolve(__dirname, '..', '..');
const launcher = path.join(root, 'bin', 'pmgrants');
const DB = 'wh_race';
const APPS = 300;
const LOCK_KEY = '8101245045667951731';

let pg: TestServer;
let dir: string;
let admin: Client;

/** Policy A: editors administer every app's process, readers read every app. */
function policyYaml(variant: 'A' | 'A+' | 'A-'): string {
  const apps = Array.from({ length: APPS }, (_, i) => `  app${i}: { schema: s${i}, source: closed }`);
  const grants = [
    '  - { persona: process_admin, to: [editors], apps: ["*"] }',
    ...(variant === 'A-' ? [] : ['  - { persona: data_consumer, to: [readers], apps: ["*"] }']),
    ...(variant === 'A+' ? ['  - { persona: data_consumer, to: [auditors], apps: ["*"] }'] : []),
  ];
  return [
    'apiVersion: pmgrants/v1',
    `warehouse: { engine: postgres, database: ${DB} }`,
    'security: { mode: system_managed }',
    'principals:',
    '  editors: { kind: entra-group, objectId: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e01 }',
    '  readers: { kind: entra-group, objectId: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e02 }',
    '  auditors: { kind: entra-group, objectId: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e03 }',
    'apps:',
    ...apps,
    'grants:',
    ...grants,
    'options: { prefix: rc_ }',
    '',
  ].join('\n');
}

const file = (variant: 'A' | 'A+' | 'A-') => path.join(dir, `${variant === 'A' ? 'a' : variant === 'A+' ? 'a-plus' : 'a-minus'}.yaml`);

function policyOf(variant: 'A' | 'A+' | 'A-'): Policy {
  const parsed = parseSource(file(variant), policyYaml(variant));
  const checked = checkPolicy(parsed.source!);
  expect(checked.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return checked.policy!;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** When it exited (ms since epoch). */
  ended: number;
}

/** Start bin/pmgrants; resolves when it exits. */
function start(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(launcher, args, { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ended: Date.now() }));
  });
}

const secretsFile = () => path.join(dir, 'credentials.json');
const applyArgs = (variant: 'A' | 'A+' | 'A-') => ['apply', file(variant), '--yes', '--database-url', pg.url(DB), '--secrets-file', secretsFile()];
const rotateArgs = (variant: 'A' | 'A+' | 'A-') => ['rotate', file(variant), '--all', '--yes', '--database-url', pg.url(DB), '--secrets-file', secretsFile()];

/** The number of changes a fresh plan of `variant` holds against the database as it is. */
async function pending(variant: 'A' | 'A+' | 'A-'): Promise<number> {
  const conn = await connectPostgres(pg.url(DB));
  try {
    return (await planLive(conn, policyOf(variant))).plan.changes.length;
  } finally {
    await conn.close();
  }
}

async function applyNow(variant: 'A' | 'A+' | 'A-'): Promise<void> {
  const r = await start(applyArgs(variant));
  expect(r.code, r.stderr).toBe(0);
  expect(await pending(variant)).toBe(0);
}

/** Changes reported by "Applied N changes", or undefined. */
const appliedCount = (r: Run) => {
  const m = /^Applied (\d+) changes?/m.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
};

async function waiters(): Promise<number> {
  const r = await admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1 AND objid::bigint = (${LOCK_KEY}::bigint & 4294967295)`,
  );
  return r.rows[0].n;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

suite('an apply never acts on a stale plan (PostgreSQL, bin/pmgrants, 300 apps)', () => {
  /** Changes from the state of one policy to another: what the second command's plan must hold. */
  const delta = new Map<string, number>();

  beforeAll(async () => {
    expect(fs.existsSync(path.join(root, 'dist', 'pmgrants.js')), 'dist/pmgrants.js is missing: run npm run build').toBe(true);
    pg = await startTestServer();
    await pg.createDatabase(DB);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-stale-'));
    for (const v of ['A', 'A+', 'A-'] as const) fs.writeFileSync(file(v), policyYaml(v));
    admin = await pg.connect(pg.url(DB));
    // The plans the commands must print, measured one at a time (A+ first: every role exists from then on).
    await applyNow('A+');
    for (const [from, to] of [
      ['A', 'A+'],
      ['A', 'A-'],
      ['A+', 'A-'],
      ['A-', 'A+'],
    ] as const) {
      await applyNow(from);
      delta.set(`${from}>${to}`, await pending(to));
    }
    expect(delta.get('A>A+')).toBeGreaterThanOrEqual(APPS);
    expect(delta.get('A>A-')).toBeGreaterThanOrEqual(APPS);
    // From the other's result each has the other's grants to undo as well: a plan from A is a different plan.
    expect(delta.get('A+>A-')).toBe(delta.get('A>A-')! + delta.get('A>A+')!);
    expect(delta.get('A->A+')).toBe(delta.get('A>A-')! + delta.get('A>A+')!);
  }, 600_000);

  afterAll(async () => {
    await pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('apply A+ racing apply A-, 5 rounds: the last one plans on top of the first one, and the database is exactly its policy', async () => {
    for (let round = 0; round < 5; round++) {
      await applyNow('A');
      const [x, y] = round % 2 === 0 ? (['A+', 'A-'] as const) : (['A-', 'A+'] as const);
      let runs: [Run, Run];
      let order: ['A+' | 'A-', 'A+' | 'A-'];
      let waitedFor: number | undefined;
      if (round < 3) {
        // A queue made certain: the test holds the apply lock, x queues behind it, then y, then the
        // test lets go (PostgreSQL grants a lock to its waiters in turn).
        await admin.query(`SELECT pg_advisory_lock(${LOCK_KEY})`);
        const pid = (await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
        const rx = start(applyArgs(x));
        await until(`apply ${x} waits for the lock`, async () => (await waiters()) === 1);
        const ry = start(applyArgs(y));
        await until(`apply ${y} waits for the lock`, async () => (await waiters()) === 2);
        await admin.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`);
        runs = await Promise.all([rx, ry]);
        order = [x, y];
        waitedFor = pid;
      } else {
        // Started at the same moment: whichever gets the lock first.
        runs = await Promise.all([start(applyArgs(x)), start(applyArgs(y))]);
        order = runs[0].ended <= runs[1].ended ? [x, y] : [y, x];
        if (runs[1].ended < runs[0].ended) runs = [runs[1], runs[0]];
      }
      const [first, second] = runs;
      expect(first.code, first.stderr).toBe(0);
      expect(second.code, second.stderr).toBe(0);
      // The first planned from A; the second from the first one's result: its printed plan undoes the
      // first one's grants too. Never "Applied" on the basis both started from.
      expect(appliedCount(first)).toBe(delta.get(`A>${order[0]}`));
      expect(appliedCount(second)).toBe(delta.get(`${order[0]}>${order[1]}`));
      expect(second.stdout).toContain(`Plan: `);
      // The database is exactly the second one's policy.
      expect(await pending(order[1])).toBe(0);
      expect(await pending(order[0])).toBeGreaterThan(0);
      // Each said whom it waited for.
      if (waitedFor !== undefined) {
        for (const r of runs) {
          expect(r.stderr).toMatch(new RegExp(`^waiting for another pmgrants apply on ${DB} \\(pid ${waitedFor}, application "pmgrants-test", started \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\) to finish$`, 'm'));
        }
      }
    }
    expect(await waiters()).toBe(0);
  }, 600_000);

  it('rotate --all racing apply A+: the final state is the last one\'s policy and every login logs in with the password in the secrets file', async () => {
    for (let round = 0; round < 2; round++) {
      await applyNow('A');
      // Started together, rotate a moment first in one round and apply in the other.
      const [r, a] =
        round === 0 ? await Promise.all([start(rotateArgs('A')), start(applyArgs('A+'))]) : await Promise.all([start(applyArgs('A+')), start(rotateArgs('A'))]).then(([x, y]) => [y, x]);
      expect(r.code, r.stderr).toBe(0);
      expect(a.code, a.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^${APPS} generated passwords written to `, 'm'));
      const last = r.ended > a.ended ? 'A' : 'A+';
      expect(await pending(last)).toBe(0);
      // Rotation from A+ undoes the auditors' grants as well (it applies policy A); from A it only rotates.
      const rotated = appliedCount(r)!;
      expect(rotated).toBe(APPS + (last === 'A' ? delta.get('A>A+')! : 0));
      const secrets = JSON.parse(fs.readFileSync(secretsFile(), 'utf8')) as { logins: Record<string, { password: string }> };
      const logins = (await admin.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname LIKE 'rc\\_%\\_app' AND rolcanlogin ORDER BY 1")).rows.map((x) => x.rolname);
      expect(logins).toHaveLength(APPS);
      let ok = 0;
      for (const login of logins) {
        const c = await pg.connectAs(login, secrets.logins[login].password, DB);
        await c.end();
        ok++;
      }
      expect(ok).toBe(APPS);
      await pg.closeAll();
      admin = await pg.connect(pg.url(DB));
    }
  }, 600_000);
});

suite('lockForApply (PostgreSQL)', () => {
  let server: TestServer;
  let url: string;
  const conns: EngineConnection[] = [];
  beforeAll(async () => {
    server = await startTestServer();
    url = await server.createDatabase('wh_lock');
  }, 120_000);
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await server?.stop();
  });
  const connect = async (lockTimeoutSeconds?: number) => {
    const c = await connectPostgres(url, { applicationName: 'pmgrants-lock-test', ...(lockTimeoutSeconds ? { lockTimeoutSeconds } : {}) });
    conns.push(c);
    return c;
  };

  it('takes the lock in one round trip when it is free, holds it until released, and says who holds it to the next one', async () => {
    const a = await connect();
    const b = await connect(0.4);
    const before = a.roundTrips();
    const release = await a.lockForApply(() => {
      throw new Error('a free lock is not waited for');
    });
    expect(a.roundTrips() - before).toBe(1);
    const holders: LockHolder[] = [];
    const started = Date.now();
    const err = await b.lockForApply((h) => holders.push(h)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(holders).toHaveLength(1);
    const watcher = await server.connect(url);
    const { rows } = await watcher.query<{ pid: number }>(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted`);
    expect(rows).toHaveLength(1);
    expect(holders[0].session).toBe(`pid ${rows[0].pid}`);
    expect(holders[0].program).toBe('pmgrants-lock-test');
    expect(err).toBeInstanceOf(PmgrantsError);
    expect(err!.message).toMatch(
      new RegExp(`^another pmgrants apply on 127\\.0\\.0\\.1:\\d+/wh_lock \\(pid ${rows[0].pid}, application "pmgrants-lock-test", started \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\) still held the apply lock after 0\\.4 s; nothing was applied, try again when it has finished$`),
    );
    // b's failed wait took nothing, and left its session usable.
    await release();
    const releaseB = await b.lockForApply();
    await releaseB();
    expect((await watcher.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory'`)).rows).toEqual([]);
  });

  it('the lock is held through the confirmation prompt: an apply started meanwhile waits, then plans on top of the answer', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-prompt-'));
    const policyFile = path.join(work, 'p.yaml');
    fs.writeFileSync(
      policyFile,
      [
        'apiVersion: pmgrants/v1',
        'warehouse: { engine: postgres, database: wh_lock }',
        'security: { mode: system_managed }',
        'principals:',
        '  readers: { kind: entra-group, objectId: 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e02 }',
        'apps:',
        '  p2p: { schema: p2p, source: closed }',
        '  o2c: { schema: o2c, source: open }',
        'grants:',
        '  - { persona: data_consumer, to: [readers], apps: ["*"] }',
        'options: { prefix: pr_ }',
        '',
      ].join('\n'),
    );
    const io = (answer: (question: string) => Promise<boolean>) => {
      const r = { out: '', err: '' };
      const cli: CliIO = { out: (t) => (r.out += t), err: (t) => (r.err += t), env: {}, interactive: true, confirm: answer, cwd: work };
      return { r, cli };
    };
    const args = (...more: string[]) => ['apply', policyFile, '--database-url', url, '--secrets-file', path.join(work, 'c.json'), ...more];
    const watcher = await server.connect(url);
    const advisory = async (granted: boolean) =>
      (await watcher.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted = $1`, [granted])).rows[0].n;

    // "no" at the prompt: the lock was held while asking, and nothing is applied.
    const declined = io(async () => {
      expect(await advisory(true)).toBe(1);
      return false;
    });
    expect(await runCli(args(), declined.cli)).toBe(0);
    expect(declined.r.err).toContain('Nothing applied.');
    expect(await advisory(true)).toBe(0);

    // "yes", after a second apply (--yes) has started and queued behind the prompt.
    let second: Promise<number> | undefined;
    const other = io(async () => true);
    const first = io(async () => {
      second = runCli(args('--yes'), other.cli);
      await until('the second apply waits', async () => (await advisory(false)) === 1, 30_000);
      return true;
    });
    expect(await runCli(args(), first.cli)).toBe(0);
    expect(first.r.out).toMatch(/^Applied \d+ changes?/m);
    expect(await second).toBe(0);
    expect(other.r.err).toMatch(/^waiting for another pmgrants apply on wh_lock \(pid \d+, started .* UTC\) to finish$/m);
    // It planned after the first one's commit: nothing left to do, nothing applied twice.
    expect(other.r.out).toContain('No changes. wh_lock matches the policy.');
    expect(other.r.out).not.toContain('Applied');
    expect(await advisory(true)).toBe(0);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('a session lost while holding the lock fails the next inspect or apply instead of going on without the lock', async () => {
    const a = await connect();
    const release = await a.lockForApply();
    const watcher = await server.connect(url);
    await watcher.query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted`);
    await new Promise((r) => setTimeout(r, 100));
    const err = await a
      .apply([{ sql: 'CREATE SCHEMA lost_lock', params: [], display: 'CREATE SCHEMA lost_lock', target: 'warehouse' }])
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(err).toBeInstanceOf(PmgrantsError);
    expect(err!.message).toMatch(/^the session holding the apply lock on .* was lost, and the lock with it; nothing was applied, run the command again$/);
    await release();
    expect((await watcher.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'lost_lock'`)).rows).toEqual([]);
  });
});
