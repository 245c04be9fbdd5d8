/**
 * Interrupted applies and rotations never lose a password. The CLI (the bundle, as users run it) applies
 * a 300-app policy to a real PostgreSQL and is killed (SIGKILL, SIGTERM, SIGINT) while its passwords
 * reach the server: when the server log shows its Kth password statement, or N ms after it started.
 * Then the next plan must say what is wrong (never "No changes" while a login cannot log in with the
 * secrets file's password), the next apply must repair it, and EVERY managed login must then log in
 * with the password in the secrets file. No password appears in any output or in the server log.
 *
 * A few well-spread kill points run by default; PMGRANTS_FAULT_POINTS=all runs many more.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePolicy, standardSize } from '../../bench/generate';
import { runCli } from '../../provider/cli/main';
import { CliIO } from '../../provider/cli/io';
import { postgresUnavailableReason, startTestServer, TestServer } from '../support/pg';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the interrupted-apply tests: ${unavailable}`);
const root = path.join(__dirname, '..', '..');
const bundle = path.join(root, 'dist', 'pmgrants.js');
const noBundle = !fs.existsSync(bundle) ? 'dist/pmgrants.js is missing: run npm run build (npm test builds first)' : undefined;
if (!unavailable && noBundle) console.warn(`Skipping the interrupted-apply tests: ${noBundle}`);
const suite = unavailable || noBundle ? describe.skip : describe;

const APPS = 300;
const DATABASE = 'warehouse';

let pg: TestServer;
let dir: string;
let policyFile: string;
let secretsFile: string;
let dbUrl: string;
/** Everything any command printed, to search for passwords at the end. */
const printed: string[] = [];
let logins: string[] = [];

beforeAll(async () => {
  if (unavailable || noBundle) return;
  pg = await startTestServer({ log_statement: 'all' });
  dbUrl = await pg.createDatabase(DATABASE);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-fault-'));
  policyFile = path.join(dir, 'policy.yaml');
  const generated = generatePolicy(standardSize(APPS));
  fs.writeFileSync(policyFile, generated.yaml);
  secretsFile = path.join(dir, 'secrets', 'credentials.json');
  const { compilePolicy } = await import('../../provider/model/compile');
  const { loadPolicy } = await import('../../provider/policy/load');
  logins = compilePolicy(loadPolicy(policyFile).policy!).logins.map((l) => l.name);
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => (out += t), err: (t) => (err += t), env: {}, interactive: false, confirm: async () => false, cwd: dir };
  const code = await runCli(args, io);
  printed.push(out, err);
  return { code, out, err };
}

const passwordStatements = () => pg.serverLog.reduce((n, line) => n + (line.match(/WITH PASSWORD/g)?.length ?? 0), 0);

type Kill = { signal: NodeJS.Signals } & ({ afterPasswords: number } | { afterMs: number });

/**
 * Run the CLI as its own process and send `kill.signal` when the server has received
 * `afterPasswords` more password statements, or `afterMs` after the start. Resolves with its exit code
 * (or the signal that ended it) and whether the signal was sent before it exited.
 */
function runKilled(command: 'apply' | 'rotate', kill: Kill): Promise<{ code: number | null; signal: NodeJS.Signals | null; sent: boolean; out: string }> {
  const args = command === 'apply' ? ['apply', policyFile] : ['rotate', policyFile, '--all'];
  const child: ChildProcess = spawn(process.execPath, [bundle, ...args, '--yes', '--database-url', dbUrl, '--secrets-file', secretsFile], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const base = passwordStatements();
  const started = Date.now();
  let sent = false;
  const poll = setInterval(() => {
    const due = 'afterPasswords' in kill ? passwordStatements() - base >= kill.afterPasswords : Date.now() - started >= kill.afterMs;
    if (due && !sent) {
      sent = true;
      child.kill(kill.signal);
    }
  }, 1);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      printed.push(out);
      resolve({ code, signal, sent, out });
    });
  });
}

/** Every password the secrets file ever held, for the final search. */
const seen = new Set<string>();

function secrets(): Record<string, { password?: string; generation?: string; pending?: { password: string; generation: string } }> {
  const logins = fs.existsSync(secretsFile) ? JSON.parse(fs.readFileSync(secretsFile, 'utf8')).logins : {};
  for (const e of Object.values(logins) as { password?: string; pending?: { password: string } }[]) {
    if (e.password) seen.add(e.password);
    if (e.pending) seen.add(e.pending.password);
  }
  return logins;
}

/**
 * The managed logins that cannot log in with the secrets file's delivered password (with `pending`:
 * with neither its delivered nor its pending one).
 */
async function lockedOut(options: { pending?: boolean } = {}): Promise<string[]> {
  const file = secrets();
  const failed: string[] = [];
  const queue = [...logins];
  const worker = async () => {
    for (let login = queue.shift(); login; login = queue.shift()) {
      const candidates = [file[login]?.password, options.pending ? file[login]?.pending?.password : undefined].filter((p): p is string => Boolean(p));
      let ok = false;
      for (const password of candidates) {
        try {
          const c = await pg.connectAs(login, password, DATABASE);
          await c.end();
          ok = true;
          break;
        } catch {
          // the next candidate
        }
      }
      if (!ok) failed.push(login);
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  await pg.closeAll();
  return failed.sort();
}

/** After an interruption: plan tells the truth, apply repairs, and then every login logs in. */
async function expectRepaired(): Promise<void> {
  const locked = await lockedOut();
  const plan = await cli(['plan', policyFile, '--database-url', dbUrl, '--secrets-file', secretsFile, '--detailed-exitcode']);
  expect(plan.code, plan.err).not.toBe(1);
  // Write-ahead: every password the server took is in the file (delivered or pending). A login that
  // logs in with neither has no password at all yet (or does not exist), and the plan says so.
  const unreachable = await lockedOut({ pending: true });
  const noPassword = [...plan.out.matchAll(/(?:~ login (\S+): set password \(it has none yet\)|\+ login (\S+) \()/g)].map((m) => m[1] ?? m[2]);
  expect(unreachable.filter((l) => !noPassword.includes(l))).toEqual([]);
  if (locked.length > 0) {
    // Changes to make, or the file repair apply will do (the server took pending passwords): either is
    // work a pipeline gate must see, in the exit code and in the headline.
    expect(plan.code, `${locked.length} logins locked out, but the plan says:\n${plan.out.slice(-2000)}`).toBe(2);
    expect(plan.out).not.toMatch(/No changes/);
    if (/apply records (it|them) as delivered/.test(plan.out)) expect(plan.out).toMatch(/; secrets file: \d+ pending passwords? the server holds to record as delivered/);
  }
  const apply = await cli(['apply', policyFile, '--yes', '--database-url', dbUrl, '--secrets-file', secretsFile]);
  expect(apply.code, apply.err).toBe(0);
  const again = await cli(['plan', policyFile, '--database-url', dbUrl, '--secrets-file', secretsFile, '--detailed-exitcode']);
  expect(again.code, again.out.slice(-2000)).toBe(0);
  expect(await lockedOut()).toEqual([]);
  // No pending passwords are left in the file.
  expect(Object.entries(secrets()).filter(([, e]) => e.pending)).toEqual([]);
}

const DEFAULT_POINTS: { command: 'apply' | 'rotate'; kill: Kill }[] = [
  { command: 'apply', kill: { signal: 'SIGKILL', afterPasswords: 60 } },
  { command: 'rotate', kill: { signal: 'SIGTERM', afterPasswords: 100 } },
  { command: 'rotate', kill: { signal: 'SIGINT', afterPasswords: 200 } },
  { command: 'rotate', kill: { signal: 'SIGKILL', afterMs: 700 } },
];
const MORE_POINTS: { command: 'apply' | 'rotate'; kill: Kill }[] = [
  ...[0, 200, 400, 600, 800, 1000, 1300, 1600, 2000].map((afterMs) => ({ command: 'rotate' as const, kill: { signal: 'SIGKILL' as const, afterMs } })),
  ...[1, 25, 150, 275].map((afterPasswords) => ({ command: 'rotate' as const, kill: { signal: 'SIGKILL' as const, afterPasswords } })),
  ...[1, 200].map((afterPasswords) => ({ command: 'rotate' as const, kill: { signal: 'SIGINT' as const, afterPasswords } })),
  ...[300, 1200].map((afterMs) => ({ command: 'rotate' as const, kill: { signal: 'SIGTERM' as const, afterMs } })),
];
const POINTS = process.env.PMGRANTS_FAULT_POINTS === 'all' ? [...DEFAULT_POINTS, ...MORE_POINTS] : DEFAULT_POINTS;

suite(`interrupted apply and rotate (${APPS} apps on a real PostgreSQL)`, () => {
  // The first point is the first apply of the policy: it runs first, on the empty database.
  for (const [i, { command, kill }] of POINTS.entries()) {
    const when = 'afterPasswords' in kill ? `after ${kill.afterPasswords} password statements` : `after ${kill.afterMs} ms`;
    it(`${command} killed by ${kill.signal} ${when}: plan is truthful, apply repairs, every login logs in`, async () => {
      if (i === 1 && command === 'rotate' && Object.keys(secrets()).length === 0) {
        // Only when the first point was skipped: start from an applied policy.
        expect((await cli(['apply', policyFile, '--yes', '--database-url', dbUrl, '--secrets-file', secretsFile])).code).toBe(0);
      }
      const r = await runKilled(command, kill);
      if (kill.signal === 'SIGKILL') {
        // Killed, or finished before the signal came.
        expect(r.signal === 'SIGKILL' || r.code === 0, r.out.slice(-2000)).toBe(true);
      } else if (r.signal === kill.signal) {
        // The signal came before the command had started anything (Node's default handler still in place).
        expect('afterMs' in kill, r.out.slice(-2000)).toBe(true);
      } else if (r.sent && r.code !== 0) {
        // SIGINT/SIGTERM: the current step is finished or rolled back, the file written, exit 130/143, one sentence.
        expect(r.code, r.out.slice(-2000)).toBe(kill.signal === 'SIGINT' ? 130 : 143);
        expect(r.out).toContain(`pmgrants: ${kill.signal} received: stopping after the current step, then writing the secrets file`);
        expect(r.out).not.toMatch(/\n\s+at /); // no stack trace
      }
      await expectRepaired();
    }, 180_000);
  }

  it('rotate to an unusable secrets destination (a directory, a truncated file) exits 2 and changes nothing: the working passwords still work', async () => {
    const catalog = async () => {
      const c = await pg.connect(dbUrl);
      const r = await c.query(`SELECT rolname, rolpassword, pg_catalog.shobj_description(oid, 'pg_authid') AS comment FROM pg_catalog.pg_authid ORDER BY rolname`);
      await c.end();
      return r.rows;
    };
    const before = await catalog();
    const truncated = path.join(dir, 'truncated.json');
    fs.writeFileSync(truncated, fs.readFileSync(secretsFile, 'utf8').slice(0, 500), { mode: 0o600 });
    const truncatedBytes = fs.readFileSync(truncated, 'utf8');
    for (const [destination, message] of [
      [dir, /is a directory/],
      [truncated, /is not a pmgrants secrets file \(it is not valid JSON: truncated or edited\?\); it was left as it is and nothing was applied/],
    ] as const) {
      const r = await cli(['rotate', policyFile, '--all', '--yes', '--database-url', dbUrl, '--secrets-file', destination]);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(message);
    }
    expect(fs.readFileSync(truncated, 'utf8')).toBe(truncatedBytes);
    expect(await catalog()).toEqual(before);
    expect(await lockedOut()).toEqual([]);
  }, 120_000);

  it('plan without a secrets file: delivery not checked, said in one warning line, no changes', async () => {
    const missing = path.join(dir, 'nowhere', 'credentials.json');
    const r = await cli(['plan', policyFile, '--database-url', dbUrl, '--secrets-file', missing, '--detailed-exitcode']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n').filter((l) => l.startsWith('warning: '))).toEqual([`warning: delivery of generated passwords not checked: there is no secrets file at ${missing}`]);
    expect(fs.existsSync(path.dirname(missing))).toBe(false);
  });

  it('plan with a secrets file that lacks a login: its password was not delivered, and apply replaces it', async () => {
    const partial = path.join(dir, 'partial.json');
    const file = JSON.parse(fs.readFileSync(secretsFile, 'utf8'));
    const [gone] = logins;
    delete file.logins[gone];
    fs.writeFileSync(partial, JSON.stringify(file), { mode: 0o600 });
    const plan = await cli(['plan', policyFile, '--database-url', dbUrl, '--secrets-file', partial]);
    expect(plan.out).toContain(`~ login ${gone}: set a new password (the server holds one the secrets file does not have)`);
    expect(plan.out).toMatch(/Plan: 0 to add, 1 to change, 0 to remove\./);
    expect((await cli(['apply', policyFile, '--yes', '--database-url', dbUrl, '--secrets-file', partial])).code).toBe(0);
    const repaired = JSON.parse(fs.readFileSync(partial, 'utf8')).logins[gone];
    seen.add(repaired.password);
    await (await pg.connectAs(gone, repaired.password, DATABASE)).end();
    // The main file gets the repaired entry too: the server holds the new password now.
    fs.copyFileSync(partial, secretsFile);
  }, 120_000);

  it('the server holds pending passwords the file has not recorded as delivered: plan --detailed-exitcode exits 2, apply records them, then 0', async () => {
    // The state a rotate killed between the server's commit and the file's promotion leaves: every
    // login's password in the file is pending, and its delivered password field stale.
    const stale = path.join(dir, 'stale.json');
    const file = JSON.parse(fs.readFileSync(secretsFile, 'utf8'));
    for (const entry of Object.values(file.logins) as { password: string; generation: string; pending?: unknown }[]) {
      entry.pending = { password: entry.password, generation: entry.generation, createdAt: new Date().toISOString() };
      entry.password = 'stale-password-no-app-can-use';
      entry.generation = 'stale-generation';
    }
    fs.writeFileSync(stale, JSON.stringify(file), { mode: 0o600 });
    const plan = await cli(['plan', policyFile, '--database-url', dbUrl, '--secrets-file', stale, '--detailed-exitcode']);
    expect(plan.code, plan.out.slice(-1000)).toBe(2);
    expect(plan.out).not.toMatch(/No changes/);
    expect(plan.out).toMatch(new RegExp(`Plan: 0 to add, 0 to change, 0 to remove; secrets file: ${logins.length} pending passwords the server holds to record as delivered\\.\\n$`));
    const apply = await cli(['apply', policyFile, '--yes', '--database-url', dbUrl, '--secrets-file', stale]);
    expect(apply.code, apply.err).toBe(0);
    expect(apply.out).toContain(`${logins.length} passwords the server already held recorded as delivered`);
    const again = await cli(['plan', policyFile, '--database-url', dbUrl, '--secrets-file', stale, '--detailed-exitcode']);
    expect(again.code, again.out.slice(-1000)).toBe(0);
  }, 120_000);

  it('no generated password (delivered or pending) appears in any output or in the server log', () => {
    secrets();
    const passwords = [...seen];
    expect(passwords.length).toBeGreaterThanOrEqual(APPS * 2);
    // Generated passwords are 32 base64url characters: every run of that alphabet of 32 or more
    // characters in the output and the log is searched, window by window, for any of them.
    const all = printed.join('\n') + pg.serverLog.join('\n');
    const wanted = new Set(passwords);
    expect(passwords.every((p) => /^[A-Za-z0-9_-]{32}$/.test(p))).toBe(true);
    const found: string[] = [];
    for (const [run] of all.matchAll(/[A-Za-z0-9_-]{32,}/g)) {
      for (let i = 0; i + 32 <= run.length; i++) if (wanted.has(run.slice(i, i + 32))) found.push(run.slice(i, i + 32));
    }
    expect(found).toEqual([]);
    expect(fs.statSync(secretsFile).mode & 0o777).toBe(0o600);
  });
});
