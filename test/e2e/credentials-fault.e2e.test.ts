/**
 * Interrupted applies and rotations never lose a password. The CLI (the bundle, as users run it) applies
 * or rotates a 300-app policy on a real PostgreSQL and is stopped (SIGKILL, SIGTERM, SIGINT) while its
 * work is provably under way: before it starts, the test opens a transaction (the "gate") that holds a
 * lock the CLI's statements need, waits until the server shows the CLI's sessions blocked on it (or
 * until the server log shows its Kth password statement), and only then sends the signal. So the
 * signal never comes after the work is done, however loaded the machine is, and no kill point is a time.
 *
 * Then: SIGTERM/SIGINT must stop the work (the password trips under way finish, no other login is
 * rotated: the markers in the catalog say which were), exit 143/130 in one sentence. After any signal
 * the next plan must say what is wrong (never "No changes" while a login cannot log in with the
 * secrets file's password), the next apply must repair it, and EVERY managed login must then log in
 * with the password in the secrets file. No password appears in any output or in the server log.
 *
 * Each test has its own server, database, policy and secrets file: none depends on another.
 * A few kill points run by default; PMGRANTS_FAULT_POINTS=all runs more.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { generatePolicy, standardSize } from '../../bench/generate';
import { runCli } from '../../provider/cli/main';
import { CliIO } from '../../provider/cli/io';
import { APPLY_LOCK_KEY } from '../../provider/engines/postgres/apply';
import { parseMarker } from '../../provider/engines/postgres/marker';
import { quoteIdent } from '../../provider/engines/postgres/quote';
import { compilePolicy } from '../../provider/model/compile';
import { loadPolicy } from '../../provider/policy/load';
import { postgresUnavailableReason, startTestServer, TestServer } from '../support/pg';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the interrupted-apply tests: ${unavailable}`);
const root = path.join(__dirname, '..', '..');
const bundle = path.join(root, 'dist', 'pmgrants.js');
const noBundle = !fs.existsSync(bundle) ? 'dist/pmgrants.js is missing: run npm run build (npm test builds first)' : undefined;
if (!unavailable && noBundle) console.warn(`Skipping the interrupted-apply tests: ${noBundle}`);
const suite = unavailable || noBundle ? describe.skip : describe;

const APPS = 300;
/** The tests that do not interrupt anything need only a few logins. */
const FEW_APPS = 12;
const DATABASE = 'warehouse';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One test's world: its own server (logging every statement), database, policy and secrets file. */
interface World {
  pg: TestServer;
  dir: string;
  policyFile: string;
  secretsFile: string;
  dbUrl: string;
  logins: string[];
  schemas: string[];
  /** Everything any command printed, to search for passwords at the end. */
  printed: string[];
  /** Every password the secrets file ever held. */
  seen: Set<string>;
}

/**
 * The gates below hold the CLI's statements and password trips for as long as a test needs, then let
 * them go: what is tested is the interruption, not a busy warehouse. So the CLI waits for a lock as long
 * as it takes (the default 3 s lock timeout would roll the transaction back under a held gate on a slow
 * machine, test/e2e/busy-warehouse.e2e.test.ts tests that).
 */
const GATES_HOLD = { PMGRANTS_LOCK_TIMEOUT: '600' };

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) {
    await w.pg.stop();
    fs.rmSync(w.dir, { recursive: true, force: true });
  }
});

async function world(apps: number, options: { applied: boolean }): Promise<World> {
  const pg = await startTestServer({ log_statement: 'all' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-fault-'));
  const w: World = { pg, dir, policyFile: path.join(dir, 'policy.yaml'), secretsFile: path.join(dir, 'secrets', 'credentials.json'), dbUrl: '', logins: [], schemas: [], printed: [], seen: new Set() };
  worlds.push(w);
  w.dbUrl = await pg.createDatabase(DATABASE);
  fs.writeFileSync(w.policyFile, generatePolicy(standardSize(apps)).yaml);
  const desired = compilePolicy(loadPolicy(w.policyFile).policy!);
  w.logins = desired.logins.map((l) => l.name);
  w.schemas = desired.schemas.map((s) => s.name);
  if (options.applied) {
    const r = await cli(w, ['apply', w.policyFile, '--yes', '--database-url', w.dbUrl, '--secrets-file', w.secretsFile]);
    expect(r.code, r.err).toBe(0);
  }
  return w;
}

async function cli(w: World, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => (out += t), err: (t) => (err += t), env: GATES_HOLD, interactive: false, confirm: async () => false, cwd: w.dir };
  const code = await runCli(args, io);
  w.printed.push(out, err);
  return { code, out, err };
}

const passwordStatements = (w: World) => w.pg.serverLog.reduce((n, line) => n + (line.match(/WITH PASSWORD/g)?.length ?? 0), 0);

/**
 * A transaction of the test's that holds a lock the CLI's statements need, until released:
 * - 'schema': an uncommitted CREATE SCHEMA of the policy's first app schema: a first apply's main
 *   transaction waits on it while the new logins' passwords are set on the other sessions;
 * - 'comments': pg_shdescription locked in SHARE mode: every password trip (its marker COMMENT) waits;
 * - 'login': an uncommitted ALTER ROLE of one login: the password trip that holds it waits, the others go on.
 */
type GateKind = 'schema' | 'comments' | 'login';

/**
 * The logins the 'login' gate holds: one in each of three of the rotation's trips of 25 (it sets the
 * passwords in the policy's order). A session that meets one waits; the others go on with the rest, so
 * all three end up waiting, and at most one of them on the apply's own session (it waits at the first).
 */
const GATED_TRIPS = 3;
const gatedLogins = (w: World) => Array.from({ length: GATED_TRIPS }, (_, i) => w.logins[25 * (i + 1)]);

async function openGate(w: World, kind: GateKind): Promise<{ release(): Promise<void> }> {
  const c = await w.pg.connect(w.pg.url(DATABASE));
  await c.query('BEGIN');
  if (kind === 'schema') await c.query(`CREATE SCHEMA ${quoteIdent(w.schemas[0])}`);
  else if (kind === 'comments') await c.query('LOCK TABLE pg_catalog.pg_shdescription IN SHARE MODE');
  else for (const login of gatedLogins(w)) await c.query(`ALTER ROLE ${quoteIdent(login)} VALID UNTIL 'infinity'`);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await c.query('ROLLBACK');
      await c.end();
    },
  };
}

/**
 * Sessions of pmgrants (the CLI's application_name) on the server: waiting for a lock, or for an
 * advisory lock only, or all of them.
 */
async function pmgrantsSessions(w: World, which: 'waiting' | 'advisory' | 'all'): Promise<number> {
  const c = await w.pg.connect(w.pg.url(DATABASE));
  try {
    const r = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_stat_activity WHERE application_name = 'pmgrants'
         AND ($1 = 'all' OR wait_event_type = 'Lock' AND ($1 = 'waiting' OR wait_event = 'advisory'))`,
      [which],
    );
    return r.rows[0].n;
  } finally {
    await c.end();
  }
}

/**
 * Wait until `probe` says so: polls what the server or the CLI shows, never a time. The deadline only
 * turns a hang into a failure that says what was awaited (with what the CLI printed).
 */
async function until(what: string, probe: () => boolean | Promise<boolean>, child?: Running): Promise<void> {
  const deadline = Date.now() + 150_000;
  for (;;) {
    if (await probe()) return;
    if (child?.exit) throw new Error(`the CLI exited (${JSON.stringify(child.exit)}) before ${what}:\n${child.out.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}${child ? `; the CLI printed:\n${child.out.slice(-2000)}` : ''}`);
    await sleep(10);
  }
}

interface Running {
  child: ChildProcess;
  out: string;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The CLI bundle as its own process (so it can be signalled), as users run it. */
function start(w: World, command: 'apply' | 'rotate'): Running {
  const args = command === 'apply' ? ['apply', w.policyFile] : ['rotate', w.policyFile, '--all'];
  const child = spawn(process.execPath, [bundle, ...args, '--yes', '--database-url', w.dbUrl, '--secrets-file', w.secretsFile], {
    cwd: w.dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...GATES_HOLD },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const running: Running = { child, out: '', exited: undefined as never };
  child.stdout!.on('data', (d) => (running.out += d));
  child.stderr!.on('data', (d) => (running.out += d));
  running.exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      running.exit = { code, signal };
      w.printed.push(running.out);
      resolve(running.exit);
    }),
  );
  return running;
}

function secrets(w: World): Record<string, { password?: string; generation?: string; pending?: { password: string; generation: string } }> {
  const logins = fs.existsSync(w.secretsFile) ? JSON.parse(fs.readFileSync(w.secretsFile, 'utf8')).logins : {};
  for (const e of Object.values(logins) as { password?: string; pending?: { password: string } }[]) {
    if (e.password) w.seen.add(e.password);
    if (e.pending) w.seen.add(e.pending.password);
  }
  return logins;
}

/** Each managed login's password generation, as its marker in the catalog records it. */
async function generations(w: World): Promise<Map<string, string | undefined>> {
  const c = await w.pg.connect(w.pg.url(DATABASE));
  try {
    const r = await c.query<{ rolname: string; comment: string | null }>(
      `SELECT rolname, pg_catalog.shobj_description(oid, 'pg_authid') AS comment FROM pg_catalog.pg_roles WHERE rolname = ANY ($1)`,
      [w.logins],
    );
    return new Map(r.rows.map((row) => [row.rolname, parseMarker(row.comment).passwordGeneration]));
  } finally {
    await c.end();
  }
}

/**
 * The managed logins that cannot log in with the secrets file's delivered password (with `pending`:
 * with neither its delivered nor its pending one). Only a refused password (SQLSTATE 28P01) counts:
 * any other failure to connect fails the test, it says nothing about the password.
 */
async function lockedOut(w: World, options: { pending?: boolean } = {}): Promise<string[]> {
  const file = secrets(w);
  const failed: string[] = [];
  const queue = [...w.logins];
  const worker = async () => {
    for (let login = queue.shift(); login; login = queue.shift()) {
      const candidates = [file[login]?.password, options.pending ? file[login]?.pending?.password : undefined].filter((p): p is string => Boolean(p));
      let ok = false;
      for (const password of candidates) {
        let c: Client | undefined;
        try {
          c = await w.pg.connectAs(login, password, DATABASE);
          ok = true;
          break;
        } catch (err) {
          if ((err as { code?: string }).code !== '28P01') throw err;
        } finally {
          await c?.end();
        }
      }
      if (!ok) failed.push(login);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return failed.sort();
}

/**
 * After an interruption: plan tells the truth, then apply repairs, and then every login logs in. A
 * killed CLI's statements still run on the server to their end: the checks wait for them, so that
 * they judge the state those leave; with `duringApply`, the trips still held at the gate are released
 * by it while the repairing apply runs (the state the plan sees is the gate's until then).
 */
async function expectRepaired(w: World, duringApply?: (applying: Promise<unknown>) => Promise<void>): Promise<void> {
  const settled = () => until('the interrupted CLI\'s sessions to end', async () => (await pmgrantsSessions(w, 'all')) === 0);
  if (!duringApply) await settled();
  const locked = await lockedOut(w);
  const plan = await cli(w, ['plan', w.policyFile, '--database-url', w.dbUrl, '--secrets-file', w.secretsFile, '--detailed-exitcode']);
  expect(plan.code, plan.err).not.toBe(1);
  // Write-ahead: every password the server took is in the file (delivered or pending). A login that
  // logs in with neither has no password at all yet (or does not exist), and the plan says so.
  const unreachable = await lockedOut(w, { pending: true });
  const noPassword = [...plan.out.matchAll(/(?:~ login (\S+): set password \(it has none yet\)|\+ login (\S+) \()/g)].map((m) => m[1] ?? m[2]);
  expect(unreachable.filter((l) => !noPassword.includes(l))).toEqual([]);
  if (locked.length > 0) {
    // Changes to make, or the file repair apply will do (the server took pending passwords): either is
    // work a pipeline gate must see, in the exit code and in the headline.
    expect(plan.code, `${locked.length} logins locked out, but the plan says:\n${plan.out.slice(-2000)}`).toBe(2);
    expect(plan.out).not.toMatch(/No changes/);
    // Every locked-out login is told: the plan changes its password, or the server holds its pending
    // one, which the headline counts as secrets-file work (docs/credentials.md, "What plan compares").
    const changed = new Set([...plan.out.matchAll(/^ {2}[~+] login (\S+?)[:\s]/gm)].map((m) => m[1]));
    const promoted = Number(/; secrets file: (\d+) pending passwords? the server holds to record as delivered/.exec(plan.out)?.[1] ?? 0);
    const untold = locked.filter((l) => !changed.has(l));
    expect(untold.length, `${untold.length} locked-out logins without a change, but the plan counts ${promoted} pending passwords to record:\n${plan.out.slice(-2000)}`).toBeLessThanOrEqual(promoted);
    expect(promoted).toBeLessThanOrEqual(locked.length);
  }
  const applying = cli(w, ['apply', w.policyFile, '--yes', '--database-url', w.dbUrl, '--secrets-file', w.secretsFile]);
  await duringApply?.(applying);
  const apply = await applying;
  expect(apply.code, apply.err).toBe(0);
  await settled();
  const again = await cli(w, ['plan', w.policyFile, '--database-url', w.dbUrl, '--secrets-file', w.secretsFile, '--detailed-exitcode']);
  expect(again.code, again.out.slice(-2000)).toBe(0);
  expect(await lockedOut(w)).toEqual([]);
  // No pending passwords are left in the file.
  expect(Object.entries(secrets(w)).filter(([, e]) => e.pending)).toEqual([]);
}

/**
 * No generated password (delivered or pending) appears in any output or in the server log. Generated
 * passwords are 32 base64url characters: every run of that alphabet of 32 or more characters is
 * searched, window by window, for any of them.
 */
function expectNoPasswordShown(w: World): void {
  secrets(w);
  const passwords = [...w.seen];
  expect(passwords.length).toBeGreaterThanOrEqual(w.logins.length);
  expect(passwords.every((p) => /^[A-Za-z0-9_-]{32}$/.test(p))).toBe(true);
  const all = w.printed.join('\n') + w.pg.serverLog.join('\n');
  const found: string[] = [];
  for (const [run] of all.matchAll(/[A-Za-z0-9_-]{32,}/g)) {
    for (let i = 0; i + 32 <= run.length; i++) if (w.seen.has(run.slice(i, i + 32))) found.push(run.slice(i, i + 32));
  }
  expect(found).toEqual([]);
  expect(fs.statSync(w.secretsFile).mode & 0o777).toBe(0o600);
}

/**
 * A kill point: which command, which signal, which gate holds the work back, and when the signal is sent:
 * once the gate holds a session of the CLI ('gate'), or once the server has received `passwords`
 * password statements as well. The gate is released right after the signal (SIGTERM, SIGINT: the CLI
 * finishes its trips under way), after the CLI is gone ('exit'), or while the repairing apply runs ('repair').
 */
interface KillPoint {
  command: 'apply' | 'rotate';
  signal: NodeJS.Signals;
  gate: GateKind;
  passwords?: number;
  release: 'signal' | 'exit' | 'repair';
  what: string;
}

const DEFAULT_POINTS: KillPoint[] = [
  { command: 'apply', signal: 'SIGKILL', gate: 'schema', passwords: 60, release: 'exit', what: 'after 60 password statements, its main transaction held back' },
  { command: 'rotate', signal: 'SIGTERM', gate: 'comments', release: 'signal', what: 'while every password trip waits' },
  { command: 'rotate', signal: 'SIGINT', gate: 'comments', release: 'signal', what: 'while every password trip waits' },
  {
    command: 'rotate',
    signal: 'SIGKILL',
    gate: 'login',
    release: 'repair',
    what: 'while one password trip waits, which lands only while the next apply runs',
  },
];
const MORE_POINTS: KillPoint[] = [
  ...[1, 25, 150, 275].map((passwords): KillPoint => ({ command: 'rotate', signal: 'SIGKILL', gate: 'login', passwords, release: 'exit', what: `after ${passwords} password statements, one trip held back` })),
  ...[1, 50].map((passwords): KillPoint => ({ command: 'rotate', signal: 'SIGINT', gate: 'comments', passwords, release: 'signal', what: `after ${passwords} password statements, every trip held back` })),
  { command: 'rotate', signal: 'SIGKILL', gate: 'comments', release: 'exit', what: 'while every password trip waits' },
  { command: 'apply', signal: 'SIGTERM', gate: 'schema', passwords: 100, release: 'signal', what: 'after 100 password statements, its main transaction held back' },
];
const POINTS = process.env.PMGRANTS_FAULT_POINTS === 'all' ? [...DEFAULT_POINTS, ...MORE_POINTS] : DEFAULT_POINTS;

/**
 * End the server session that still holds the apply lock for a killed CLI, if one does: its own
 * session, waiting at the gate with a password trip. That lock alone would keep the next apply out
 * until the trip ends; ended, the trip rolls back, as if the kill had found the session between two
 * trips, and only the other sessions' trips linger (nothing but their own lock tells the next apply).
 */
async function endApplyLockHolder(w: World): Promise<void> {
  const holder = `FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted
    AND classid::bigint = (${APPLY_LOCK_KEY}::bigint >> 32) AND objid::bigint = (${APPLY_LOCK_KEY}::bigint & 4294967295)`;
  const c = await w.pg.connect(w.pg.url(DATABASE));
  try {
    await c.query(`SELECT pg_catalog.pg_terminate_backend(pid) ${holder}`);
    await until('the apply lock to be free', async () => (await c.query(`SELECT 1 ${holder}`)).rows.length === 0);
  } finally {
    await c.end();
  }
}

/** Run `point` on a fresh world; the run's exit and the catalog's password generations before and after. */
async function interrupt(w: World, point: KillPoint) {
  const before = await generations(w);
  const gate = await openGate(w, point.gate);
  try {
    const running = start(w, point.command);
    const gated = point.gate === 'login' ? GATED_TRIPS : 1;
    await until(`${gated} session${gated === 1 ? '' : 's'} of the CLI waiting at the gate`, async () => (await pmgrantsSessions(w, 'waiting')) >= gated, running);
    if (point.passwords !== undefined) await until(`${point.passwords} password statements`, () => passwordStatements(w) >= point.passwords!, running);
    // The CLI cannot have finished: the gate holds part of its work.
    expect(running.exit, running.out.slice(-2000)).toBeUndefined();
    running.child.kill(point.signal);
    if (point.signal !== 'SIGKILL') {
      // The handler ran (the apply is told to stop) before anything it holds back may go on.
      await until(`the CLI's ${point.signal} line`, () => running.out.includes(`pmgrants: ${point.signal} received: stopping after the current step, then writing the secrets file`), running);
    }
    if (point.release === 'signal') await gate.release();
    const exit = await running.exited;
    if (point.release === 'exit') await gate.release();
    return { exit, out: running.out, before, gate };
  } catch (err) {
    await gate.release();
    throw err;
  }
}

suite(`interrupted apply and rotate (${APPS} apps on a real PostgreSQL)`, () => {
  for (const point of POINTS) {
    it(`${point.command} stopped by ${point.signal} ${point.what}: it stops there, plan is truthful, apply repairs, every login logs in, no password shown`, async () => {
      const w = await world(APPS, { applied: point.command === 'rotate' });
      const r = await interrupt(w, point);
      if (point.signal === 'SIGKILL') {
        expect(r.exit, r.out.slice(-2000)).toEqual({ code: null, signal: 'SIGKILL' });
      } else {
        // The current step is finished or rolled back, the file written, exit 130/143, one sentence, no stack trace.
        expect(r.exit, r.out.slice(-2000)).toEqual({ code: point.signal === 'SIGINT' ? 130 : 143, signal: null });
        expect(r.out).not.toMatch(/\n\s+at /);
        expect(r.out).not.toContain('the apply had already finished');
        if (point.command === 'rotate') {
          // It stopped: the trips under way when the signal came (every one held at the gate, at most
          // one per session) finished, and no other login was rotated: most of them were still queued.
          const after = await generations(w);
          const rotated = w.logins.filter((l) => after.get(l) !== r.before.get(l));
          expect(rotated.length, `${rotated.length} of ${w.logins.length} logins rotated after ${point.signal}`).toBeLessThan(w.logins.length / 2);
          // Those it rotated are the delivered passwords in the file, and every other login keeps its old one.
          const file = secrets(w);
          expect(rotated.filter((l) => file[l]?.generation !== after.get(l))).toEqual([]);
          expect(await lockedOut(w)).toEqual([]);
        }
      }
      if (point.release === 'repair') await endApplyLockHolder(w);
      const duringApply = async (applying: Promise<unknown>) => {
        // The killed rotation's held-back trip still runs on the server: the apply must wait for it
        // before it decides which pending passwords the server never took, or it drops one the server
        // takes a moment later (a login with a password nobody holds).
        let finished = false;
        applying.then(
          () => (finished = true),
          () => (finished = true),
        );
        await until('the apply to finish or to wait for the earlier password session', async () => finished || (await pmgrantsSessions(w, 'advisory')) > 0);
        await r.gate.release();
      };
      await expectRepaired(w, point.release === 'repair' ? duringApply : undefined);
      expectNoPasswordShown(w);
    }, 240_000);
  }

  it('rotate to an unusable secrets destination (a directory, a truncated file) exits 2 and changes nothing: the working passwords still work', async () => {
    const w = await world(FEW_APPS, { applied: true });
    const catalog = async () => {
      const c = await w.pg.connect(w.dbUrl);
      const r = await c.query(`SELECT rolname, rolpassword, pg_catalog.shobj_description(oid, 'pg_authid') AS comment FROM pg_catalog.pg_authid ORDER BY rolname`);
      await c.end();
      return r.rows;
    };
    const before = await catalog();
    const truncated = path.join(w.dir, 'truncated.json');
    fs.writeFileSync(truncated, fs.readFileSync(w.secretsFile, 'utf8').slice(0, 500), { mode: 0o600 });
    const truncatedBytes = fs.readFileSync(truncated, 'utf8');
    for (const [destination, message] of [
      [w.dir, /is a directory/],
      [truncated, /is not a pmgrants secrets file \(it is not valid JSON: truncated or edited\?\); it was left as it is and nothing was applied/],
    ] as const) {
      const r = await cli(w, ['rotate', w.policyFile, '--all', '--yes', '--database-url', w.dbUrl, '--secrets-file', destination]);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(message);
    }
    expect(fs.readFileSync(truncated, 'utf8')).toBe(truncatedBytes);
    expect(await catalog()).toEqual(before);
    expect(await lockedOut(w)).toEqual([]);
    expectNoPasswordShown(w);
  }, 120_000);

  it('plan without a secrets file: delivery not checked, said in one warning line, no changes', async () => {
    const w = await world(FEW_APPS, { applied: true });
    const missing = path.join(w.dir, 'nowhere', 'credentials.json');
    const r = await cli(w, ['plan', w.policyFile, '--database-url', w.dbUrl, '--secrets-file', missing, '--detailed-exitcode']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n').filter((l) => l.startsWith('warning: '))).toEqual([`warning: delivery of generated passwords not checked: there is no secrets file at ${missing}`]);
    expect(fs.existsSync(path.dirname(missing))).toBe(false);
  }, 120_000);

  it('plan with a secrets file that lacks a login: its password was not delivered, and apply replaces it', async () => {
    const w = await world(FEW_APPS, { applied: true });
    const partial = path.join(w.dir, 'partial.json');
    const file = JSON.parse(fs.readFileSync(w.secretsFile, 'utf8'));
    const [gone] = w.logins;
    delete file.logins[gone];
    fs.writeFileSync(partial, JSON.stringify(file), { mode: 0o600 });
    const plan = await cli(w, ['plan', w.policyFile, '--database-url', w.dbUrl, '--secrets-file', partial]);
    expect(plan.out).toContain(`~ login ${gone}: set a new password (the server holds one the secrets file does not have)`);
    expect(plan.out).toMatch(/Plan: 0 to add, 1 to change, 0 to remove\./);
    expect((await cli(w, ['apply', w.policyFile, '--yes', '--database-url', w.dbUrl, '--secrets-file', partial])).code).toBe(0);
    const repaired = JSON.parse(fs.readFileSync(partial, 'utf8')).logins[gone];
    w.seen.add(repaired.password);
    await (await w.pg.connectAs(gone, repaired.password, DATABASE)).end();
    expectNoPasswordShown(w);
  }, 120_000);

  it('the server holds pending passwords the file has not recorded as delivered: plan --detailed-exitcode exits 2, apply records them, then 0', async () => {
    // The state a rotate killed between the server's commit and the file's promotion leaves: every
    // login's password in the file is pending, and its delivered password field stale.
    const w = await world(FEW_APPS, { applied: true });
    const stale = path.join(w.dir, 'stale.json');
    const file = JSON.parse(fs.readFileSync(w.secretsFile, 'utf8'));
    for (const entry of Object.values(file.logins) as { password: string; generation: string; pending?: unknown }[]) {
      entry.pending = { password: entry.password, generation: entry.generation, createdAt: new Date().toISOString() };
      entry.password = 'stale-password-no-app-can-use';
      entry.generation = 'stale-generation';
    }
    fs.writeFileSync(stale, JSON.stringify(file), { mode: 0o600 });
    const plan = await cli(w, ['plan', w.policyFile, '--database-url', w.dbUrl, '--secrets-file', stale, '--detailed-exitcode']);
    expect(plan.code, plan.out.slice(-1000)).toBe(2);
    expect(plan.out).not.toMatch(/No changes/);
    expect(plan.out).toMatch(new RegExp(`Plan: 0 to add, 0 to change, 0 to remove; secrets file: ${w.logins.length} pending passwords the server holds to record as delivered\\.\\n$`));
    const apply = await cli(w, ['apply', w.policyFile, '--yes', '--database-url', w.dbUrl, '--secrets-file', stale]);
    expect(apply.code, apply.err).toBe(0);
    expect(apply.out).toContain(`${w.logins.length} passwords the server already held recorded as delivered`);
    const again = await cli(w, ['plan', w.policyFile, '--database-url', w.dbUrl, '--secrets-file', stale, '--detailed-exitcode']);
    expect(again.code, again.out.slice(-1000)).toBe(0);
    expectNoPasswordShown(w);
  }, 120_000);
});
