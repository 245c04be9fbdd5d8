/**
 * Applying to a warehouse in use, on a real PostgreSQL server. An analytics session reads an app's table
 * for seconds while apply removes that app (its login owns the table, so the apply's REASSIGN OWNED
 * needs ACCESS EXCLUSIVE on it): readers who start meanwhile must never wait longer than the lock
 * timeout, and the apply either exits 2 naming the reader, the database unchanged, or, allowed to wait,
 * finishes after the reader. A DBA's GRANT on the same table at the same moment (the catalog row both
 * update: "tuple concurrently updated") is tried again, not a failed run. One scenario: each step
 * continues from the one before it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { runCliCaptured } from '../support/cli';
import { postgresUnavailableReason, startTestServer, TestServer } from '../support/pg';
import { scenario } from '../support/scenario';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the busy-warehouse tests: ${unavailable}`);

const policyText = (apps: string[], extra = '') => `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: busy_wh }
security: { mode: system_managed }
options: { prefix: bw_ }
principals:
  finance: { kind: database-role, name: finance }
apps:
${apps.map((a) => `  ${a}: { schema: ${a}, source: closed }`).join('\n')}
grants:
  - { persona: data_consumer, to: [finance], apps: [${apps.join(', ')}] }
${extra}`;

/** How long each query of a loop took, while `until` is pending: readers as dashboards run them. */
async function probe(url: string, sql: string, until: Promise<unknown>): Promise<{ count: number; maxMs: number }> {
  let done = false;
  void until.finally(() => (done = true));
  const c = new Client({ connectionString: url, application_name: 'probe' });
  await c.connect();
  let count = 0;
  let maxMs = 0;
  try {
    while (!done) {
      const t = Date.now();
      await c.query(sql);
      maxMs = Math.max(maxMs, Date.now() - t);
      count++;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await c.end();
  }
  return { count, maxMs };
}

scenario(
  'apply on a busy warehouse: a long reader on a table of an app being removed, a concurrent GRANT',
  (story) => {
    let pg: TestServer;
    let dir: string;
    let url: string;
    const file = () => path.join(dir, 'policy.yaml');
    const cli = (args: string[], env: Record<string, string> = {}) => runCliCaptured(args, { env: { PMGRANTS_DATABASE_URL: url, ...env }, cwd: dir });
    const apply = (extra: string[] = []) => cli(['apply', file(), '--yes', ...extra]);
    const roles = async () => (await (await pg.connect(url)).query(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'bw\\_%' ORDER BY 1`)).rows.map((r) => r.rolname as string);
    /** A session that reads hr.events for `seconds` (it holds ACCESS SHARE on it until then). */
    const longReader = async (seconds: number) => {
      const c = new Client({ connectionString: url, application_name: 'dashboards' });
      await c.connect();
      const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      const reading = c.query(`SELECT count(*) FROM hr.events, pg_sleep(${seconds})`).finally(() => c.end());
      // It holds its lock once the server shows it active.
      const watcher = await pg.connect(url);
      for (let i = 0; i < 100; i++) {
        const r = await watcher.query(`SELECT 1 FROM pg_locks WHERE pid = $1 AND relation = 'hr.events'::regclass AND granted`, [pid]);
        if (r.rowCount) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      return { pid, reading };
    };

    beforeAll(async () => {
      pg = await startTestServer();
      url = await pg.createDatabase('busy_wh');
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-busy-'));
    }, 120_000);
    afterAll(async () => {
      await pg?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    story.step('the first apply creates p2p and hr; hr\'s login creates a table in its schema', async () => {
      fs.writeFileSync(file(), policyText(['p2p', 'hr']));
      const r = await apply();
      expect(r.err).not.toMatch(/error|warning/i);
      expect(r.code).toBe(0);
      const secrets = JSON.parse(fs.readFileSync(path.join(dir, '.pmgrants', 'credentials.json'), 'utf8')).logins as Record<string, { password: string }>;
      const hrLogin = Object.keys(secrets).find((l) => l.includes('hr'))!;
      const asApp = await pg.connectAs(hrLogin, secrets[hrLogin].password, 'busy_wh');
      await asApp.query('CREATE TABLE hr.events (id int, who text); INSERT INTO hr.events SELECT g, g::text FROM generate_series(1, 1000) g');
      await asApp.end();
      expect(await roles()).toContain(hrLogin);
    }, 60_000);

    story.step('the plan says which change takes an exclusive lock, before anyone applies it', async () => {
      fs.writeFileSync(file(), policyText(['p2p']));
      const r = await cli(['plan', file()]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Locks:\n  bw_hr_\w+ is dropped: REASSIGN OWNED hands its objects to bw_hr_owner, which takes an exclusive lock \(ACCESS EXCLUSIVE\) on every table and view bw_hr_\w+ owns/);
      // A user and a login of one name are one role on PostgreSQL: one line.
      expect(r.out.match(/bw_hr_app is dropped/g)).toHaveLength(1);
    }, 60_000);

    story.step('removing hr while a reader holds hr.events, with --wait 2: exit 2 naming the reader, nothing changed, no reader queued longer than the lock timeout', async () => {
      const before = await roles();
      const reader = await longReader(8);
      const applying = apply(['--lock-timeout', '1', '--wait', '2']);
      const probes = await probe(url, 'SELECT count(*) FROM hr.events', applying);
      const r = await applying;
      expect(r.code).toBe(2);
      // One sentence: what was not granted, who holds it (its pid, application and query), what to do.
      expect(r.err).toMatch(new RegExp(`a lock on hr\\.events was not granted within 1 s, held by pid ${reader.pid} \\(user \\w+, application "dashboards", running for \\d+ s: "SELECT count\\(\\*\\) FROM hr\\.events, pg_sleep\\(8\\)"\\)`));
      expect(r.err).toMatch(/nothing was applied and the database is unchanged; .*--wait SECONDS/);
      expect(await roles()).toEqual(before);
      // Readers that started during the apply waited at most the lock timeout (1 s), not for the 8 s reader.
      expect(probes.count).toBeGreaterThan(0);
      expect(probes.maxMs).toBeLessThan(1_000 + 1_500);
      await reader.reading;
    }, 60_000);

    story.step('allowed to wait (--wait 30), the same apply finishes after the reader, and readers still never queue longer than the lock timeout', async () => {
      const reader = await longReader(4);
      const started = Date.now();
      const applying = apply(['--lock-timeout', '1', '--wait', '30']);
      const probing = probe(url, 'SELECT count(*) FROM hr.events', applying);
      const r = await applying;
      const probes = await probing;
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/pmgrants: a lock on hr\.events was not granted within 1 s, held by pid \d+ .*; rolled back, trying again in/);
      expect(Date.now() - started).toBeGreaterThan(2_000); // it waited for the reader
      expect(probes.count).toBeGreaterThan(0);
      expect(probes.maxMs).toBeLessThan(1_000 + 1_500);
      await reader.reading;
      // Only the schema's owner is kept (it still owns hr, the plan warns); the table went to it with its rows.
      expect((await roles()).filter((x) => x.includes('hr'))).toEqual(['bw_hr_owner']);
      const owner = await (await pg.connect(url)).query(`SELECT tableowner, (SELECT count(*) FROM hr.events)::int AS n FROM pg_tables WHERE schemaname = 'hr' AND tablename = 'events'`);
      expect(owner.rows).toEqual([{ tableowner: 'bw_hr_owner', n: 1000 }]);
      // The next plan has nothing to do.
      const plan = await cli(['plan', file(), '--detailed-exitcode']);
      expect(plan.code).toBe(0);
    }, 60_000);

    story.step('a DBA\'s GRANT on the same table, uncommitted while apply grants on its schema: "tuple concurrently updated" is tried again, and the result converges', async () => {
      const dba = await pg.connect(url);
      await dba.query('CREATE ROLE auditor; CREATE TABLE p2p.orders (id int)');
      fs.writeFileSync(file(), policyText(['p2p'], '  - { persona: process_admin, to: [finance], apps: [p2p] }\n'));
      await dba.query('BEGIN; GRANT SELECT ON p2p.orders TO auditor');
      const applying = apply(['--lock-timeout', '5', '--wait', '30']);
      await new Promise((r) => setTimeout(r, 1_500));
      await dba.query('COMMIT');
      const r = await applying;
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/tuple concurrently updated.*rolled back, trying again/);
      // The DBA's grant is now in the catalog beside the apply's; the app schema is pmgrants' to keep
      // (authoritative), so the next plan revokes the grant nobody asked for, and then has nothing to do.
      const plan = await cli(['plan', file(), '--detailed-exitcode']);
      expect(plan.out).toMatch(/- revoke SELECT on tables p2p from auditor\n/);
      expect(plan.out).toMatch(/Plan: 0 to add, 0 to change, 1 to remove\./);
      expect((await apply()).code).toBe(0);
      const again = await cli(['plan', file(), '--detailed-exitcode']);
      expect(again.out).toMatch(/^No changes\./m);
      expect(again.code).toBe(0);
      expect((await dba.query(`SELECT has_table_privilege('bw_p2p_process_admin', 'p2p.orders', 'SELECT') AS s`)).rows[0].s).toBe(true);
    }, 60_000);

    story.step("a DBA's uncommitted change to an app login while rotate sets its password: the password trip gives up after the lock timeout instead of waiting without end, and the next apply sets it", async () => {
      const secretsFile = path.join(dir, '.pmgrants', 'credentials.json');
      const login = Object.keys(JSON.parse(fs.readFileSync(secretsFile, 'utf8')).logins).find((l) => l.includes('p2p'))!;
      const dba = await pg.connect(url);
      await dba.query(`BEGIN; ALTER ROLE "${login}" CONNECTION LIMIT 50`);
      const started = Date.now();
      const r = await cli(['rotate', file(), 'p2p', '--yes', '--lock-timeout', '1']);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/the changes were committed, but setting the password of 1 of 1 login failed \(a lock was not granted within the lock timeout \(canceling statement due to lock timeout\)\); those logins keep their previous password/);
      await dba.query('COMMIT');
      // The plan says the server does not hold what the file does; the next apply sets a password the file holds.
      expect((await apply()).code).toBe(0);
      const password = JSON.parse(fs.readFileSync(secretsFile, 'utf8')).logins[login].password as string;
      const asLogin = await pg.connectAs(login, password, 'busy_wh');
      await asLogin.end();
      expect((await cli(['plan', file(), '--detailed-exitcode'])).code).toBe(0);
    }, 60_000);
  },
  unavailable ? describe.skip : describe,
);
