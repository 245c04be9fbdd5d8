/**
 * Credentials per use on a real PostgreSQL: `pmgrants checkout` sets a fresh password VALID UNTIL the
 * policy's lifetime and delivers it to the taker's secrets file, and two takers of the same app, racing
 * as two processes with their own secrets files, never leave each other holding a dead password without
 * knowing it: the takes are serialized by the apply lock (the test holds it until both wait for it), the
 * second's receipt names the generation it superseded, `--verify` tells the first it was replaced, and
 * the server holds exactly the second's password. An expired password is refused by the server, planned
 * for rotation and replaced by apply; the report shows each login's expiry. No output holds a password.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { APPLY_LOCK_KEY } from '../../provider/engines/postgres/apply';
import { runCliCaptured } from '../support/cli';
import { scenario } from '../support/scenario';
import { postgresUnavailableReason, sqlstateOf, startTestServer, TestServer } from '../support/pg';
import { expectFormatsAgree } from '../support/report-formats';
import { AccessReport } from '../../provider/report/types';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the checkout end-to-end tests: ${unavailable}`);
const root = path.join(__dirname, '..', '..');
const bundle = path.join(root, 'dist', 'pmgrants.js');
const noBundle = !fs.existsSync(bundle) ? 'dist/pmgrants.js is missing: run npm run build (npm test builds first)' : undefined;
if (!unavailable && noBundle) console.warn(`Skipping the checkout end-to-end tests: ${noBundle}`);
const suite = unavailable || noBundle ? describe.skip : describe;

const DATABASE = 'pm_checkout';
const LOGIN = 'pmg_p2p_app';
const EIGHT_HOURS = 8 * 3_600_000;
let pg: TestServer;
let dir: string;
let policyFile: string;
let dbUrl: string;
/** Everything any command printed, searched for passwords at the end. */
const printed: string[] = [];

const POLICY = `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: ${DATABASE} }
security: { mode: system_managed, rotation: { validFor: 8h } }
principals:
  analysts: { kind: database-role }
apps:
  p2p: { schema: p2p }
  o2c: { schema: o2c }
grants:
  - { persona: data_consumer, to: [analysts], apps: ["*"] }
`;

const secretsPath = (name: string) => path.join(dir, `${name}.json`);
const cli = async (args: string[]) => {
  const r = await runCliCaptured(args, { env: { PMGRANTS_DATABASE_URL: dbUrl }, cwd: dir });
  printed.push(r.out, r.err);
  return r;
};

interface Entry {
  password?: string;
  generation?: string;
  validUntil?: string;
}
const entry = (name: string): Entry => JSON.parse(fs.readFileSync(secretsPath(name), 'utf8')).logins[LOGIN];

interface Receipt {
  app: string;
  login: string;
  generation: string;
  setAt: string;
  validUntil: string | null;
  secretsFile: string;
  superseded?: { generation?: string; validUntil: string | null; wasValid: boolean; byCheckout: boolean };
}

/** A checkout as its own process (the bundle, as pipelines run it): its stdout, stderr and exit code. */
function spawnCheckout(secrets: string): { child: ChildProcess; out: () => string; err: () => string; exited: () => boolean; done: Promise<number | null> } {
  const child = spawn(process.execPath, [bundle, 'checkout', policyFile, 'p2p', '--format', 'json', '--secrets-file', secretsPath(secrets)], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PMGRANTS_DATABASE_URL: dbUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let exited = false;
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exited = true;
      printed.push(out, err);
      resolve(code);
    }),
  );
  return { child, out: () => out, err: () => err, exited: () => exited, done };
}

/** Resolve once `condition` holds, checking every 20 ms; fail as soon as `failed` says why, or after `ms`. */
async function until(condition: () => boolean, what: string, failed: () => string | undefined, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    const why = failed();
    if (why !== undefined) throw new Error(`while waiting for ${what}: ${why}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function logsIn(password: string): Promise<true | string> {
  try {
    const c = await pg.connectAs(LOGIN, password, DATABASE);
    await c.end();
    return true;
  } catch (e) {
    return sqlstateOf(Promise.reject(e));
  }
}

async function serverPassword(): Promise<{ validUntil: Date | null; generation: string | undefined }> {
  const admin = await pg.connect(dbUrl);
  const { rows } = await admin.query(`SELECT rolvaliduntil, shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1`, [LOGIN]);
  await admin.end();
  const comment = String(rows[0].comment ?? '');
  return { validUntil: rows[0].rolvaliduntil, generation: /"passwordGeneration":"([^"]+)"/.exec(comment)?.[1] };
}

beforeAll(async () => {
  if (unavailable || noBundle) return;
  pg = await startTestServer();
  dbUrl = await pg.createDatabase(DATABASE);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-checkout-'));
  policyFile = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policyFile, POLICY);
  const first = await cli(['apply', policyFile, '--yes', '--secrets-file', secretsPath('apply')]);
  expect(first.code, first.err).toBe(0);
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

scenario('pmgrants checkout (PostgreSQL)', (s) => {
  s.step('apply already gives passwords the policy lifetime: VALID UNTIL eight hours after they were set', async () => {
    const { validUntil } = await serverPassword();
    expect(validUntil).not.toBeNull();
    const left = validUntil!.getTime() - Date.now();
    expect(left).toBeGreaterThan(EIGHT_HOURS - 10 * 60_000);
    expect(left).toBeLessThanOrEqual(EIGHT_HOURS);
    expect(await logsIn(entry('apply').password!)).toBe(true);
  });

  s.step('a checkout delivers a fresh password valid for the lifetime; the receipt states its generation and validity, never the password', async () => {
    const before = entry('apply');
    const r = await cli(['checkout', policyFile, 'p2p', '--format', 'json', '--secrets-file', secretsPath('solo')]);
    expect(r.code, r.err).toBe(0);
    const receipt = JSON.parse(r.out) as Receipt;
    const taken = entry('solo');
    expect(receipt).toMatchObject({ app: 'p2p', login: LOGIN, generation: taken.generation, validUntil: taken.validUntil, secretsFile: secretsPath('solo') });
    expect(receipt.superseded).toMatchObject({ generation: before.generation, wasValid: true, byCheckout: false });
    const server = await serverPassword();
    expect(server.generation).toBe(receipt.generation);
    expect(Math.abs(server.validUntil!.getTime() - Date.parse(receipt.validUntil!))).toBeLessThan(1000);
    expect(Date.parse(receipt.validUntil!) - Date.parse(receipt.setAt)).toBe(EIGHT_HOURS);
    expect(await logsIn(taken.password!)).toBe(true);
    expect(await logsIn(before.password!)).toBe('28P01');
    expect(r.out).not.toContain(taken.password!);
  });

  s.step("a plan or apply whose secrets file lacks the checkout's generation leaves it to its taker", async () => {
    expect((await serverPassword()).generation).toBe(entry('solo').generation);
    expect(entry('apply').generation).not.toBe(entry('solo').generation);
    const plan = await cli(['plan', policyFile, '--secrets-file', secretsPath('apply'), '--detailed-exitcode']);
    expect(plan.code, plan.out).toBe(0);
    expect(plan.out).not.toContain(`login ${LOGIN}`);
  });

  s.step('two takers racing: serialized by the apply lock, the second supersedes the first and says so, the first can tell', async () => {
    const holder = await pg.connect(dbUrl);
    await holder.query(`SELECT pg_advisory_lock(${APPLY_LOCK_KEY})`);
    const a = spawnCheckout('taker-a');
    const b = spawnCheckout('taker-b');
    try {
      // Both have read nothing yet: each waits for the lock the test holds, and says so.
      const waiting = (t: typeof a) => t.err().includes('waiting for another pmgrants apply');
      const exitedEarly = () => [a, b].filter((t) => t.exited()).map((t) => `a taker exited before it waited: ${t.err().trim()}`)[0];
      await until(() => waiting(a) && waiting(b), 'both takers to wait for the apply lock', exitedEarly);
    } finally {
      await holder.query(`SELECT pg_advisory_unlock(${APPLY_LOCK_KEY})`);
      await holder.end();
    }
    expect([await a.done, await b.done], a.err() + b.err()).toEqual([0, 0]);
    const receipts = { a: JSON.parse(a.out()) as Receipt, b: JSON.parse(b.out()) as Receipt };
    expect(receipts.a.generation).not.toBe(receipts.b.generation);
    // The one that took the lock second names the first one's generation as superseded, still valid, by a checkout.
    const [first, second] = receipts.b.superseded?.generation === receipts.a.generation ? (['a', 'b'] as const) : (['b', 'a'] as const);
    expect(receipts[second].superseded).toMatchObject({ generation: receipts[first].generation, wasValid: true, byCheckout: true });
    expect(receipts[first].superseded?.generation).toBe(entry('solo').generation);
    const secondOut = second === 'a' ? a : b;
    // (Text output says it in words; JSON carries the fields above.)
    expect(secondOut.out()).not.toContain(entry(`taker-${second}`).password!);
    // The server holds exactly the second taker's password.
    expect((await serverPassword()).generation).toBe(receipts[second].generation);
    expect(await logsIn(entry(`taker-${second}`).password!)).toBe(true);
    // A consumer can ask the server itself, as the app login, which generation it holds (docs/credentials.md).
    const asLogin = await pg.connectAs(LOGIN, entry(`taker-${second}`).password!, DATABASE);
    const own = await asLogin.query(`SELECT shobj_description(oid, 'pg_authid') AS marker FROM pg_roles WHERE rolname = current_user`);
    await asLogin.end();
    expect(own.rows[0].marker).toContain(`"passwordGeneration":"${receipts[second].generation}"`);
    expect(await logsIn(entry(`taker-${first}`).password!)).toBe('28P01');
    // The first taker asks, and is told; the second is told its password holds.
    const stale = await cli(['checkout', policyFile, 'p2p', '--verify', receipts[first].generation]);
    expect(stale.code).toBe(3);
    expect(stale.out + stale.err).toContain(`generation ${receipts[first].generation} of ${LOGIN} was replaced by a later checkout`);
    const live = await cli(['checkout', policyFile, 'p2p', '--verify', receipts[second].generation]);
    expect(live.code, live.err).toBe(0);
    expect(live.out).toContain(`generation ${receipts[second].generation} is the password ${LOGIN} holds, valid until`);
  }, 120_000);

  s.step('an expired password: the server refuses it (a session opened before stays), plan rotates it, apply delivers one valid again', async () => {
    const password = entry('apply').password!;
    // Give the apply's file the live password first: an apply that rotates p2p for it.
    const rotate = await cli(['rotate', policyFile, 'p2p', '--yes', '--secrets-file', secretsPath('apply')]);
    expect(rotate.code, rotate.err).toBe(0);
    const current = entry('apply').password!;
    expect(current).not.toBe(password);
    const open = await pg.connectAs(LOGIN, current, DATABASE);
    const admin = await pg.connect(dbUrl);
    await admin.query(`ALTER ROLE ${LOGIN} VALID UNTIL '2001-01-01 00:00:00+00'`);
    await admin.end();
    expect(await logsIn(current)).toBe('28P01');
    expect((await open.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await open.end();
    const plan = await cli(['plan', policyFile, '--secrets-file', secretsPath('apply')]);
    expect(plan.out).toContain(`~ login ${LOGIN}: set a new password (the one it has expired)`);
    const apply = await cli(['apply', policyFile, '--yes', '--secrets-file', secretsPath('apply')]);
    expect(apply.code, apply.err).toBe(0);
    expect(await logsIn(entry('apply').password!)).toBe(true);
    expect((await serverPassword()).validUntil!.getTime() - Date.now()).toBeGreaterThan(EIGHT_HOURS - 10 * 60_000);
  });

  s.step("report shows when each generated login's password expires, the same in every format", async () => {
    const report = await cli(['report', policyFile, '--format', 'json']);
    expect(report.code, report.err).toBe(0);
    const json = JSON.parse(report.out) as AccessReport;
    const server = await serverPassword();
    expect(json.logins.find((l) => l.login === LOGIN)).toMatchObject({ validUntil: server.validUntil!.toISOString(), expired: false });
    const [csv, md, html] = await Promise.all(['csv', 'markdown', 'html'].map(async (format) => (await cli(['report', policyFile, '--format', format])).out));
    expect(md).toContain('| Valid until |');
    expectFormatsAgree(json, csv, md, html);
  });

  s.step('no command printed a password', () => {
    const passwords = ['apply', 'solo', 'taker-a', 'taker-b'].map((n) => entry(n).password!).filter(Boolean);
    expect(passwords.length).toBe(4);
    for (const p of passwords) expect(printed.some((text) => text.includes(p))).toBe(false);
  });
}, suite);
