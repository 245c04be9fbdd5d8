/**
 * The PostgreSQL engine end to end against a real server: policy -> compile -> realize -> inspect ->
 * diff -> render -> apply, then connecting as the roles it made to prove what they can and cannot do.
 * No mocks. One server for the file (test/support/pg.ts); each scenario has its own database and its
 * own name prefix, since roles are cluster-wide.
 */
import fc from 'fast-check';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import { DesiredState, Policy, ActualState } from '../../provider/model/types';
import { checkPolicy } from '../../provider/policy/check';
import { parseSource } from '../../provider/policy/source';
import { DiffOptions, diffState } from '../../provider/plan/diff';
import { Change, Plan } from '../../provider/plan/change';
import { formatPlan, PLAN_FORMATS } from '../../provider/plan/format';
import { ApplyProgress, ApplyResult, EngineConnection } from '../../provider/engines/engine';
import { PartialApplyError, PmgrantsError } from '../../provider/model/errors';
import { Statement } from '../../provider/model/statement';
import { connectPostgres, postgresDialect, PostgresConnectOptions } from '../../provider/engines/postgres';
import { quoteIdent, quoteLiteral } from '../../provider/engines/postgres/quote';
import { postgresUnavailableReason, sqlstateOf, startTestServer, TestServer } from '../support/pg';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the PostgreSQL end-to-end tests: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

let pg: TestServer;
/** Every text pmgrants produced in this file: plans in each format, statement displays, error messages. */
const shown: string[] = [];
/** Every generated password, and every verifier the server stored for one. */
const passwords: string[] = [];
const verifiers: string[] = [];
const connections: EngineConnection[] = [];

const OBJECT_ID = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04';

function policyOf(doc: Record<string, unknown>): Policy {
  // JSON is YAML: the same loader and validation a policy file goes through.
  const parsed = parseSource('policy.yaml', JSON.stringify(doc, null, 2));
  expect(parsed.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const checked = checkPolicy(parsed.source!);
  expect(checked.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return checked.policy!;
}

interface Planned {
  desired: DesiredState;
  actual: ActualState;
  plan: Plan;
  statements: Statement[][];
}

async function connect(database: string, options: PostgresConnectOptions = {}): Promise<EngineConnection> {
  const conn = await connectPostgres(pg.url(database), options);
  connections.push(conn);
  return conn;
}

async function planFor(conn: EngineConnection, policy: Policy, options: DiffOptions = {}): Promise<Planned> {
  const desired = postgresDialect.realize(compilePolicy(policy));
  const actual = await conn.inspect(desired);
  const plan = diffState(desired, actual, options);
  // As the CLI does: each change rendered on its own.
  const statements = plan.changes.map((c) => postgresDialect.render([c], desired));
  for (const format of PLAN_FORMATS) shown.push(formatPlan(format, { plan, statements, roleApps: new Map(), source: 'e2e' }));
  return { desired, actual, plan, statements };
}

/** Apply, keep every secret and the verifier the server stored for it, and every error text. */
async function applyPlan(conn: EngineConnection, planned: Planned, progress?: ApplyProgress): Promise<ApplyResult> {
  let result: ApplyResult;
  try {
    result = await conn.apply(planned.statements.flat(), progress);
  } catch (err) {
    shown.push(String(err), (err as Error).stack ?? '');
    throw err;
  }
  passwords.push(...result.secrets.values());
  if (result.secrets.size > 0) {
    const admin = await pg.connect(pg.url());
    const r = await admin.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = ANY ($1)', [[...result.secrets.keys()]]);
    verifiers.push(...r.rows.map((x) => x.rolpassword));
    await admin.end();
  }
  return result;
}

/** Plan, apply, plan again: the second plan must be empty. */
async function converge(conn: EngineConnection, policy: Policy): Promise<{ first: Planned; result: ApplyResult }> {
  const first = await planFor(conn, policy);
  const result = await applyPlan(conn, first);
  const again = await planFor(conn, policy);
  expect(again.plan.changes).toEqual([]);
  return { first, result };
}

const kinds = (plan: Plan) => plan.changes.map((c) => c.kind);
const has = (plan: Plan, predicate: (c: Change) => boolean) => plan.changes.some(predicate);

async function rows(client: Client, sql: string): Promise<Record<string, unknown>[]> {
  return (await client.query(sql)).rows;
}

beforeAll(async () => {
  if (unavailable) return;
  // Every statement the server receives is logged, so the suite can prove no plaintext password reaches it.
  pg = await startTestServer({ log_statement: 'all' });
}, 60_000);

afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
  await pg?.stop();
});

suite('PostgreSQL engine, end to end', () => {
  // ------------------------------------------------------------------------------------------------
  describe('system_managed: three apps, isolation by login, drift, prune, rotation', () => {
    const db = 'wh_sm';
    const doc = {
      apiVersion: 'pmgrants/v1',
      warehouse: { engine: 'postgres', database: db },
      security: { mode: 'system_managed', rotation: { maxAgeDays: 30 } },
      principals: {
        analyst: { kind: 'sql-login', name: 'sm_analyst' },
        editor: { kind: 'sql-login', name: 'sm_editor' },
        admins: { kind: 'entra-group', name: 'SM Platform Admins', objectId: OBJECT_ID },
      },
      apps: {
        p2p: { schema: 'p2p', source: 'closed' },
        o2c: { schema: 'o2c', source: 'closed' },
        inv: { schema: 'invoices', source: 'open' },
      },
      grants: [
        { persona: 'app_admin', to: ['admins'] },
        { persona: 'process_admin', to: ['editor'], apps: ['p2p'] },
        { persona: 'data_consumer', to: ['analyst'], apps: ['p2p', 'inv'] },
      ],
    };
    const policy = () => policyOf(doc);
    let conn: EngineConnection;
    let admin: Client;
    const secrets = new Map<string, string>();
    const as = (login: string) => pg.connectAs(login, secrets.get(login)!, db);

    beforeAll(async () => {
      await pg.createDatabase(db);
      admin = await pg.connect(pg.url(db));
      // An app schema that already exists, owned by someone else, with data: pmgrants hands it to the app's owner role.
      await admin.query('CREATE SCHEMA p2p; CREATE TABLE p2p.cases (id int PRIMARY KEY, amount numeric); INSERT INTO p2p.cases VALUES (1, 100), (2, 250)');
      conn = await connect(db);
    });

    it('preflight passes for a superuser on the policy database', async () => {
      const checks = await conn.preflight(postgresDialect.realize(compilePolicy(policy())));
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      expect(checks.map((c) => c.name)).toEqual(expect.arrayContaining(['server', 'database', 'create-role', 'create-schema', 'schema-ownership', 'grant-connect', 'password-encryption']));
    });

    it('applies the policy in few round trips, and planning again gives zero changes', async () => {
      const tripsBefore = conn.roundTrips();
      const first = await planFor(conn, policy());
      expect(conn.roundTrips() - tripsBefore).toBe(1); // the whole inspection is one query
      expect(kinds(first.plan)).toContain('create-login');
      expect(first.plan.changes).toContainEqual({ kind: 'alter-schema-owner', schema: 'p2p', from: 'postgres', to: 'pmg_p2p_owner' });
      const reported: number[] = [];
      const result = await applyPlan(conn, first, (done, all) => {
        reported.push(done);
        expect(all).toBe(first.statements.flat().length);
      });
      const total = first.statements.flat().length;
      expect(reported).toEqual(Array.from({ length: total }, (_, i) => i + 1)); // each statement once, in order
      expect(result.roundTrips).toBeLessThanOrEqual(2 + Math.ceil((total + result.secrets.size) / 200));
      expect([...result.secrets.keys()].sort()).toEqual(['pmg_inv_app', 'pmg_o2c_app', 'pmg_p2p_app']);
      for (const [login, password] of result.secrets) {
        expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
        secrets.set(login, password);
      }
      const again = await planFor(conn, policy());
      expect(again.plan.changes).toEqual([]);
      expect(again.actual.managed).toEqual(expect.arrayContaining(['pmg_p2p_app', 'pmg_p2p_owner', 'pmg_app_admin']));
      expect(again.actual.managed).not.toContain('sm_analyst');
    });

    it('covers tables created after apply, by the owner role or by the app login, through default privileges', async () => {
      await admin.query('SET ROLE pmg_p2p_owner; CREATE TABLE p2p.events (id int, kind text); INSERT INTO p2p.events VALUES (1, \'created\'); RESET ROLE');
      await admin.query('SET ROLE pmg_o2c_owner; CREATE TABLE o2c.orders (id int, total numeric); INSERT INTO o2c.orders VALUES (7, 70); RESET ROLE');
      const inv = await as('pmg_inv_app');
      await inv.query('CREATE TABLE invoices.lines (id int, total numeric); INSERT INTO invoices.lines VALUES (1, 9.5)');
      await inv.end();
      expect((await planFor(conn, policy())).plan.changes).toEqual([]);
    });

    it('each generated app login reads and writes its own schema and nothing else', async () => {
      const p2p = await as('pmg_p2p_app');
      expect(await rows(p2p, 'SELECT count(*)::int AS n FROM p2p.cases')).toEqual([{ n: 2 }]);
      await p2p.query("INSERT INTO p2p.events VALUES (2, 'by app')");
      expect(await sqlstateOf(p2p.query('SELECT * FROM o2c.orders'))).toBe('42501');
      expect(await sqlstateOf(p2p.query('INSERT INTO o2c.orders VALUES (8, 80)'))).toBe('42501');
      expect(await sqlstateOf(p2p.query('SELECT * FROM invoices.lines'))).toBe('42501');
      const o2c = await as('pmg_o2c_app');
      expect(await rows(o2c, 'SELECT id FROM o2c.orders')).toEqual([{ id: 7 }]);
      expect(await sqlstateOf(o2c.query('SELECT * FROM p2p.cases'))).toBe('42501');
      expect(await sqlstateOf(o2c.query('DELETE FROM invoices.lines'))).toBe('42501');
      const inv = await as('pmg_inv_app');
      expect(await rows(inv, 'SELECT total FROM invoices.lines')).toEqual([{ total: '9.5' }]);
      expect(await sqlstateOf(inv.query('SELECT * FROM p2p.events'))).toBe('42501');
      await Promise.all([p2p.end(), o2c.end(), inv.end()]);
    });

    it('a data consumer reads but cannot write; a process admin changes its own app only', async () => {
      // Principals authenticate out of band: the DBA sets their passwords, pmgrants never does.
      await admin.query("ALTER ROLE sm_analyst PASSWORD 'analyst-out-of-band'; ALTER ROLE sm_editor PASSWORD 'editor-out-of-band'");
      const analyst = await pg.connectAs('sm_analyst', 'analyst-out-of-band', db);
      expect(await rows(analyst, 'SELECT count(*)::int AS n FROM p2p.events')).toEqual([{ n: 2 }]);
      expect(await rows(analyst, 'SELECT id FROM invoices.lines')).toEqual([{ id: 1 }]);
      expect(await sqlstateOf(analyst.query("INSERT INTO p2p.events VALUES (3, 'nope')"))).toBe('42501');
      expect(await sqlstateOf(analyst.query('SELECT * FROM o2c.orders'))).toBe('42501');
      expect(await sqlstateOf(analyst.query('CREATE TABLE p2p.mine (id int)'))).toBe('42501');
      await analyst.end();

      const editor = await pg.connectAs('sm_editor', 'editor-out-of-band', db);
      await editor.query("INSERT INTO p2p.events VALUES (3, 'by editor')");
      await editor.query('ALTER TABLE p2p.events ADD COLUMN note text');
      expect(await sqlstateOf(editor.query('SELECT * FROM o2c.orders'))).toBe('42501');
      expect(await sqlstateOf(editor.query('ALTER TABLE o2c.orders ADD COLUMN note text'))).toBe('42501');
      // It manages its consumers' membership (WITH ADMIN OPTION), of its own app only.
      await admin.query('CREATE ROLE sm_guest NOLOGIN');
      await editor.query('GRANT pmg_p2p_data_consumer TO sm_guest');
      expect(await sqlstateOf(editor.query('GRANT pmg_o2c_data_consumer TO sm_guest'))).toBe('42501');
      await editor.end();
      // The policy is authoritative: that hand-made membership is drift and the next apply removes it.
      const drift = await planFor(conn, policy());
      expect(drift.plan.changes).toEqual([{ kind: 'drop-member', membership: { role: 'pmg_p2p_data_consumer', member: 'sm_guest' } }]);
      await applyPlan(conn, drift);
      expect((await planFor(conn, policy())).plan.changes).toEqual([]);
    });

    it('reports a manual GRANT and a manual REVOKE as drift and reverts both, never altering unmanaged roles', async () => {
      // Unmanaged roles, one even with the managed prefix (but no marker): they come through unaltered,
      // but what they were granted on an app schema is drift like any other grant there.
      await admin.query(`CREATE ROLE pmg_handmade LOGIN; COMMENT ON ROLE pmg_handmade IS 'made by a DBA';
        GRANT USAGE ON SCHEMA p2p TO pmg_handmade; GRANT SELECT ON p2p.cases TO pmg_handmade`);
      // Drift: a grant on another app's data, a membership in another app's owner role, and a revoke.
      await admin.query(`GRANT USAGE ON SCHEMA o2c TO pmg_p2p_app; GRANT SELECT ON ALL TABLES IN SCHEMA o2c TO pmg_p2p_app;
        GRANT pmg_o2c_owner TO pmg_inv_app; REVOKE SELECT ON p2p.events FROM pmg_p2p_data_consumer`);
      const leaky = await as('pmg_p2p_app');
      expect(await rows(leaky, 'SELECT id FROM o2c.orders')).toEqual([{ id: 7 }]); // the drift is real
      await leaky.end();

      const drift = await planFor(conn, policy());
      expect(drift.plan.changes).toContainEqual({
        kind: 'revoke',
        permission: { grantee: 'pmg_p2p_app', on: { type: 'schema', name: 'o2c' }, privilege: 'USAGE', effect: 'GRANT', withGrantOption: false },
      });
      expect(has(drift.plan, (c) => c.kind === 'revoke' && c.permission.grantee === 'pmg_p2p_app' && c.permission.on.type === 'engine' && c.permission.on.name === 'o2c' && c.permission.privilege === 'SELECT')).toBe(true);
      expect(drift.plan.changes).toContainEqual({ kind: 'drop-member', membership: { role: 'pmg_o2c_owner', member: 'pmg_inv_app' } });
      expect(drift.plan.changes).toContainEqual({
        kind: 'grant',
        permission: { grantee: 'pmg_p2p_data_consumer', on: { type: 'engine', kind: 'tables', name: 'p2p' }, privilege: 'SELECT', effect: 'GRANT', withGrantOption: false },
      });
      const handmade = drift.plan.changes.filter((c) => JSON.stringify(c).includes('pmg_handmade'));
      expect(handmade.map((c) => (c.kind === 'revoke' ? `${c.permission.privilege} ${c.permission.on.type === 'engine' ? c.permission.on.kind : c.permission.on.type}` : c.kind)).sort()).toEqual([
        'SELECT some-tables',
        'USAGE schema',
      ]);
      await applyPlan(conn, drift);
      expect((await planFor(conn, policy())).plan.changes).toEqual([]);

      const p2p = await as('pmg_p2p_app');
      expect(await sqlstateOf(p2p.query('SELECT * FROM o2c.orders'))).toBe('42501');
      await p2p.end();
      const analyst = await pg.connectAs('sm_analyst', 'analyst-out-of-band', db);
      expect(await rows(analyst, 'SELECT count(*)::int AS n FROM p2p.events')).toEqual([{ n: 3 }]);
      await analyst.end();
      expect(await rows(admin, "SELECT has_table_privilege('pmg_handmade', 'p2p.cases', 'SELECT') AS s, shobj_description('pmg_handmade'::regrole, 'pg_authid') AS c")).toEqual([
        { s: false, c: 'made by a DBA' },
      ]);
    });

    it('revokes what the policy no longer grants', async () => {
      const narrower = policyOf({ ...doc, grants: doc.grants.map((g) => (g.persona === 'data_consumer' ? { ...g, apps: ['p2p'] } : g)) });
      const planned = await planFor(conn, narrower);
      expect(planned.plan.changes).toEqual([{ kind: 'drop-member', membership: { role: 'pmg_inv_data_consumer', member: 'sm_analyst' } }]);
      await applyPlan(conn, planned);
      expect((await planFor(conn, narrower)).plan.changes).toEqual([]);
      const analyst = await pg.connectAs('sm_analyst', 'analyst-out-of-band', db);
      expect(await sqlstateOf(analyst.query('SELECT * FROM invoices.lines'))).toBe('42501');
      await analyst.end();
    });

    it('removes an app whose login created tables: the plan says the tables go to its owner role, apply keeps them with their rows, and other revocations apply too', async () => {
      const withoutInv = policyOf({
        ...doc,
        apps: { p2p: doc.apps.p2p, o2c: doc.apps.o2c },
        grants: doc.grants.map((g) => (g.persona === 'data_consumer' ? { ...g, apps: ['p2p'] } : g)),
      });
      // The app's transformations ran as its login: it created invoices.lines (earlier) and a second table, with rows.
      const inv = await as('pmg_inv_app');
      await inv.query("CREATE TABLE invoices.batches (id int PRIMARY KEY, note text); INSERT INTO invoices.batches VALUES (1, 'first'), (2, 'second'), (3, 'third')");
      await inv.end();
      // Drift elsewhere that the same plan revokes.
      await admin.query('GRANT CREATE ON SCHEMA p2p TO pmg_p2p_data_consumer');
      // And the login owns a table in another database, which REASSIGN OWNED (this database only) cannot reach.
      await pg.createDatabase('wh_sm_elsewhere');
      const elsewhere = await pg.connect(pg.url('wh_sm_elsewhere'));
      await elsewhere.query('CREATE TABLE stray (id int); ALTER TABLE stray OWNER TO pmg_inv_app');

      const planned = await planFor(conn, withoutInv);
      expect(planned.plan.changes).toContainEqual({ kind: 'drop-login', login: 'pmg_inv_app', handTo: 'pmg_inv_owner' });
      expect(planned.plan.changes).toContainEqual({ kind: 'drop-role', role: 'pmg_inv_data_consumer', handTo: 'pmg_inv_owner' });
      expect(planned.plan.changes).toContainEqual({
        kind: 'revoke',
        permission: { grantee: 'pmg_p2p_data_consumer', on: { type: 'schema', name: 'p2p' }, privilege: 'CREATE', effect: 'GRANT', withGrantOption: false },
      });
      expect(planned.plan.warnings.join('\n')).toContain('role "pmg_inv_owner" is no longer in the policy but still owns schema "invoices"; it is kept');
      const text = formatPlan('text', { plan: planned.plan, statements: planned.statements, roleApps: new Map(), source: 'e2e' });
      expect(text).toContain('login pmg_inv_app (its objects are handed to pmg_inv_owner first)');

      // The object in the other database: refused in one sentence that names it, and nothing applied.
      const err = await applyPlan(conn, planned).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PmgrantsError);
      expect((err as Error).message).toMatch(/^role "pmg_inv_(app|data_consumer|process_admin)" cannot be dropped because some objects depend on it \(.*database wh_sm_elsewhere.*\); nothing was applied$/);
      expect(await conn.inspect(planned.desired)).toEqual(planned.actual);
      await elsewhere.query('DROP TABLE stray');
      await elsewhere.end();

      await applyPlan(conn, await planFor(conn, withoutInv));
      const after = await planFor(conn, withoutInv);
      expect(after.plan.changes).toEqual([]);
      expect(after.plan.warnings).toEqual([expect.stringContaining('role "pmg_inv_owner" is no longer in the policy but still owns schema "invoices"')]);
      // The data is intact and belongs to the owner role; the login and the persona roles are gone.
      expect(await rows(admin, "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'invoices' ORDER BY 1")).toEqual([
        { tablename: 'batches', tableowner: 'pmg_inv_owner' },
        { tablename: 'lines', tableowner: 'pmg_inv_owner' },
      ]);
      expect(await rows(admin, 'SELECT id, note FROM invoices.batches ORDER BY id')).toEqual([
        { id: 1, note: 'first' },
        { id: 2, note: 'second' },
        { id: 3, note: 'third' },
      ]);
      expect(await rows(admin, 'SELECT count(*)::int AS n FROM invoices.lines')).toEqual([{ n: 1 }]);
      expect(await rows(admin, "SELECT rolname FROM pg_roles WHERE rolname LIKE 'pmg\\_inv\\_%' ORDER BY 1")).toEqual([{ rolname: 'pmg_inv_owner' }]);
      expect(await rows(admin, "SELECT has_schema_privilege('pmg_p2p_data_consumer', 'p2p', 'CREATE') AS can")).toEqual([{ can: false }]);
      expect(await rows(admin, "SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'pmg_handmade'")).toEqual([{ n: 1 }]);
    });

    it('rotates a password on demand (the old one stops working) and by age', async () => {
      const current = policyOf({ ...doc, apps: { p2p: doc.apps.p2p, o2c: doc.apps.o2c }, grants: doc.grants.map((g) => (g.persona === 'data_consumer' ? { ...g, apps: ['p2p'] } : g)) });
      const planned = await planFor(conn, current, { rotate: ['pmg_p2p_app'] });
      expect(planned.plan.changes).toEqual([{ kind: 'rotate-password', login: 'pmg_p2p_app', reason: 'forced' }]);
      const result = await applyPlan(conn, planned);
      const fresh = result.secrets.get('pmg_p2p_app')!;
      expect(fresh).toBeDefined();
      expect(fresh).not.toBe(secrets.get('pmg_p2p_app'));
      expect(await sqlstateOf(pg.connectAs('pmg_p2p_app', secrets.get('pmg_p2p_app')!, db))).toBe('28P01');
      secrets.set('pmg_p2p_app', fresh);
      const c = await as('pmg_p2p_app');
      expect(await rows(c, 'SELECT count(*)::int AS n FROM p2p.cases')).toEqual([{ n: 2 }]);
      await c.end();

      // The marker records when each password was set: nothing is due tomorrow, everything in 40 days.
      const desired = postgresDialect.realize(compilePolicy(current));
      const actual = await conn.inspect(desired);
      expect(Object.keys(actual.passwordSetAt ?? {}).sort()).toEqual(['pmg_o2c_app', 'pmg_p2p_app']);
      expect(diffState(desired, actual, { now: new Date(Date.now() + 86_400_000) }).changes).toEqual([]);
      expect(diffState(desired, actual, { now: new Date(Date.now() + 40 * 86_400_000) }).changes).toEqual([
        { kind: 'rotate-password', login: 'pmg_o2c_app', reason: 'age' },
        { kind: 'rotate-password', login: 'pmg_p2p_app', reason: 'age' },
      ]);
    });
  });

  // ------------------------------------------------------------------------------------------------
  describe('least privilege: functions and the ACLs of app schemas', () => {
    const db = 'wh_lp';
    const doc = {
      apiVersion: 'pmgrants/v1',
      warehouse: { engine: 'postgres', database: db },
      security: { mode: 'system_managed' },
      principals: {
        readers: { kind: 'database-role', name: 'lp_readers' },
        editor: { kind: 'sql-login', name: 'lp_editor' },
      },
      apps: { p2p: { schema: 'p2p', source: 'closed' } },
      grants: [
        { persona: 'process_admin', to: ['editor'], apps: ['p2p'] },
        { persona: 'data_consumer', to: ['readers'], apps: ['p2p'] },
      ],
      options: { prefix: 'lpm_', tolerateGrantees: ['lp_backup'] },
    };
    const policy = () => policyOf(doc);
    let conn: EngineConnection;
    let admin: Client;
    let appPassword = '';
    // A member of the consumers' principal role, a process admin, and a login the policy never mentions.
    const reader = () => pg.connectAs('lp_reader_ana', 'ana-out-of-band', db);
    const editor = () => pg.connectAs('lp_editor', 'editor-out-of-band', db);
    const stranger = () => pg.connectAs('lp_stranger', 'stranger-out-of-band', db);
    const count = async (c: Client) => (await rows(c, 'SELECT count(*)::int AS n FROM p2p.cases'))[0].n;
    const definer = (name: string) =>
      `CREATE FUNCTION p2p.${name}(id int) RETURNS int LANGUAGE sql SECURITY DEFINER AS 'INSERT INTO p2p.cases VALUES (id) RETURNING id'`;

    beforeAll(async () => {
      await pg.createDatabase(db);
      admin = await pg.connect(pg.url(db));
      // The schema exists before pmgrants, with a SECURITY DEFINER function PUBLIC may execute (the default).
      await admin.query(`CREATE SCHEMA p2p; CREATE TABLE p2p.cases (id int); ${definer('legacy_add')}`);
      conn = await connect(db);
    });

    it('no function in an app schema is executable by PUBLIC: existing ones, and those the owner role or the app login create later', async () => {
      const { first, result } = await converge(conn, policy());
      expect(first.plan.changes).toContainEqual({
        kind: 'revoke',
        permission: { grantee: '', on: { type: 'engine', kind: 'functions', name: 'p2p' }, privilege: 'EXECUTE', effect: 'GRANT', withGrantOption: false },
      });
      for (const role of ['lpm_p2p_owner', 'lpm_p2p_app']) {
        expect(first.plan.changes).toContainEqual({
          kind: 'revoke',
          permission: { grantee: '', on: { type: 'engine', kind: 'global-default-functions', name: '', forRole: role }, privilege: 'EXECUTE', effect: 'GRANT', withGrantOption: false },
        });
      }
      expect(first.statements.flat().map((s) => s.display)).toContain('ALTER DEFAULT PRIVILEGES FOR ROLE "lpm_p2p_owner" REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC');
      appPassword = result.secrets.get('lpm_p2p_app')!;
      // The DBA hands the existing table to the app's owner role (its functions write through it).
      await admin.query('ALTER TABLE p2p.cases OWNER TO lpm_p2p_owner');
      await admin.query(`CREATE ROLE lp_reader_ana LOGIN PASSWORD 'ana-out-of-band' IN ROLE lp_readers;
        ALTER ROLE lp_editor PASSWORD 'editor-out-of-band'; CREATE ROLE lp_stranger LOGIN PASSWORD 'stranger-out-of-band'`);
      await admin.query(`SET ROLE lpm_p2p_owner; ${definer('owner_add')}; RESET ROLE`);
      const app = await pg.connectAs('lpm_p2p_app', appPassword, db);
      await app.query(definer('app_add'));
      await app.end();
      // Functions created after apply need no further apply.
      expect((await planFor(conn, policy())).plan.changes).toEqual([]);

      const ana = await reader();
      expect(await count(ana)).toBe(0); // ana reads: SELECT through the data_consumer role
      for (const fn of ['legacy_add', 'owner_add', 'app_add']) {
        expect(await sqlstateOf(ana.query(`SELECT p2p.${fn}(1)`))).toBe('42501');
      }
      expect(await count(ana)).toBe(0);
      // The process admin has the execute right: it may run all three.
      const ed = await editor();
      for (const [i, fn] of ['legacy_add', 'owner_add', 'app_add'].entries()) expect(await rows(ed, `SELECT p2p.${fn}(${i + 1}) AS id`)).toEqual([{ id: i + 1 }]);
      await Promise.all([ana.end(), ed.end()]);
    });

    it("a process admin's GRANT ... TO PUBLIC and a DBA's grants to roles outside the policy are drift: shown, revoked, converged; the roles stay, a tolerated one keeps its grants", async () => {
      const ed = await editor();
      // As a member of the owner role, the process admin can open the app to everyone.
      await ed.query('GRANT USAGE ON SCHEMA p2p TO PUBLIC; GRANT SELECT ON p2p.cases TO PUBLIC; GRANT EXECUTE ON FUNCTION p2p.owner_add(int) TO PUBLIC');
      await ed.end();
      await admin.query(`CREATE ROLE lp_outsider; CREATE ROLE lp_backup;
        GRANT USAGE ON SCHEMA p2p TO lp_outsider, lp_backup; GRANT SELECT ON ALL TABLES IN SCHEMA p2p TO lp_outsider, lp_backup;
        ALTER DEFAULT PRIVILEGES FOR ROLE lpm_p2p_owner IN SCHEMA p2p GRANT SELECT ON TABLES TO lp_outsider;
        ALTER DEFAULT PRIVILEGES FOR ROLE lpm_p2p_app GRANT EXECUTE ON FUNCTIONS TO PUBLIC`);
      const s = await stranger();
      expect(await count(s)).toBe(3); // the drift is real
      await s.end();

      const drift = await planFor(conn, policy());
      const revoked = drift.plan.changes.map((c) => (c.kind === 'revoke' ? `${c.permission.grantee || 'PUBLIC'} ${c.permission.privilege} ${JSON.stringify(c.permission.on)}` : c.kind));
      expect(revoked.sort()).toEqual(
        [
          'PUBLIC USAGE {"type":"schema","name":"p2p"}',
          'PUBLIC SELECT {"type":"engine","kind":"tables","name":"p2p"}',
          'PUBLIC EXECUTE {"type":"engine","kind":"some-functions","name":"p2p"}',
          'PUBLIC EXECUTE {"type":"engine","kind":"global-default-functions","name":"","forRole":"lpm_p2p_app"}',
          'lp_outsider USAGE {"type":"schema","name":"p2p"}',
          'lp_outsider SELECT {"type":"engine","kind":"tables","name":"p2p"}',
          'lp_outsider SELECT {"type":"engine","kind":"default-tables","name":"p2p","forRole":"lpm_p2p_owner"}',
        ].sort(),
      );
      const text = formatPlan('text', { plan: drift.plan, statements: drift.statements, roleApps: new Map(), source: 'e2e' });
      expect(text).toContain('revoke SELECT on tables p2p from PUBLIC');
      expect(text).toContain('REVOKE SELECT ON ALL TABLES IN SCHEMA "p2p" FROM PUBLIC');
      expect(text).not.toContain('lp_backup');

      await applyPlan(conn, drift);
      expect((await planFor(conn, policy())).plan.changes).toEqual([]);
      const after = await stranger();
      expect(await sqlstateOf(after.query('SELECT * FROM p2p.cases'))).toBe('42501');
      await after.end();
      const ana = await reader();
      expect(await sqlstateOf(ana.query('SELECT p2p.owner_add(9)'))).toBe('42501');
      await ana.end();
      // A function the app login creates now is not PUBLIC's either.
      const app = await pg.connectAs('lpm_p2p_app', appPassword, db);
      await app.query(definer('later_add'));
      await app.end();
      expect(await rows(admin, "SELECT has_function_privilege('lp_stranger', 'p2p.later_add(int)', 'EXECUTE') AS x")).toEqual([{ x: false }]);
      expect(await rows(admin, "SELECT has_table_privilege('lp_backup', 'p2p.cases', 'SELECT') AS backup, has_table_privilege('lp_outsider', 'p2p.cases', 'SELECT') AS outsider")).toEqual([
        { backup: true, outsider: false },
      ]);
      expect(await rows(admin, "SELECT rolname FROM pg_roles WHERE rolname IN ('lp_outsider', 'lp_backup') ORDER BY 1")).toEqual([{ rolname: 'lp_backup' }, { rolname: 'lp_outsider' }]);
      // Without the tolerance, the backup role's grants are drift too.
      const strict = policyOf({ ...doc, options: { prefix: 'lpm_' } });
      const planned = await planFor(conn, strict);
      expect(new Set(planned.plan.changes.map((c) => (c.kind === 'revoke' ? c.permission.grantee : c.kind)))).toEqual(new Set(['lp_backup']));
    });

    it('additive enforcement leaves PUBLIC and outsiders alone (it never revokes)', async () => {
      await admin.query('GRANT SELECT ON p2p.cases TO lp_outsider');
      const planned = await planFor(conn, policyOf({ ...doc, options: { ...doc.options, enforcement: 'additive' } }));
      expect(planned.plan.changes).toEqual([]);
      await admin.query('REVOKE SELECT ON p2p.cases FROM lp_outsider');
    });
  });

  // ------------------------------------------------------------------------------------------------
  describe('single_account', () => {
    const db = 'wh_sa';
    it('the shared login reads every app', async () => {
      const policy = policyOf({
        apiVersion: 'pmgrants/v1',
        warehouse: { engine: 'postgres', database: db },
        security: { mode: 'single_account' },
        principals: {},
        apps: { alpha: { schema: 'alpha', source: 'closed' }, beta: { schema: 'beta', source: 'open' } },
        grants: [],
        options: { prefix: 'sa_' },
      });
      await pg.createDatabase(db);
      const conn = await connect(db);
      const { result } = await converge(conn, policy);
      expect([...result.secrets.keys()]).toEqual(['sa_shared']);
      const admin = await pg.connect(pg.url(db));
      for (const app of ['alpha', 'beta']) {
        await admin.query(`SET ROLE sa_${app}_owner; CREATE TABLE ${app}.facts (v text); INSERT INTO ${app}.facts VALUES ('${app}'); RESET ROLE`);
      }
      const shared = await pg.connectAs('sa_shared', result.secrets.get('sa_shared')!, db);
      expect(await rows(shared, 'SELECT v FROM alpha.facts UNION ALL SELECT v FROM beta.facts ORDER BY 1')).toEqual([{ v: 'alpha' }, { v: 'beta' }]);
      await shared.query("INSERT INTO beta.facts VALUES ('written')");
      await shared.end();
      expect((await planFor(conn, policy)).plan.changes).toEqual([]);
    });
  });

  // ------------------------------------------------------------------------------------------------
  describe('a provisioning role that is not a superuser', () => {
    const db = 'wh_prov';
    it('preflight names each missing right with the statement that grants it; once a DBA runs them, apply converges', async () => {
      await pg.createDatabase(db);
      const admin = await pg.connect(pg.url(db));
      await admin.query("CREATE ROLE prov LOGIN PASSWORD 'prov-out-of-band'");
      // An app schema that already exists, owned by another team's role, with data.
      await admin.query('CREATE ROLE legacy_owner NOLOGIN; CREATE SCHEMA legacy AUTHORIZATION legacy_owner; CREATE TABLE legacy.t (v int); INSERT INTO legacy.t VALUES (1); ALTER TABLE legacy.t OWNER TO legacy_owner');
      const policy = policyOf({
        apiVersion: 'pmgrants/v1',
        warehouse: { engine: 'postgres', database: db },
        security: { mode: 'system_managed' },
        principals: { reader: { kind: 'sql-login', name: 'prov_reader' } },
        apps: { fresh: { schema: 'fresh', source: 'closed' }, legacy: { schema: 'legacy', source: 'closed' } },
        grants: [{ persona: 'data_consumer', to: ['reader'], apps: ['*'] }],
        options: { prefix: 'pv_' },
      });
      const desired = postgresDialect.realize(compilePolicy(policy));
      const conn = await connectPostgres(pg.urlAs('prov', 'prov-out-of-band', db));
      connections.push(conn);
      const failed = (await conn.preflight(desired)).filter((c) => !c.ok);
      expect(Object.fromEntries(failed.map((c) => [c.name, c.fix]))).toEqual({
        'create-role': 'ALTER ROLE "prov" CREATEROLE;',
        'create-schema': `GRANT CREATE ON DATABASE "${db}" TO "prov";`,
        'schema-ownership': 'GRANT "legacy_owner" TO "prov";',
        'grant-connect': `GRANT CONNECT ON DATABASE "${db}" TO "prov" WITH GRANT OPTION;`,
      });
      for (const check of failed) await admin.query(check.fix!);
      expect((await conn.preflight(desired)).filter((c) => !c.ok)).toEqual([]);

      const { first, result } = await converge(conn, policy);
      expect(first.plan.changes).toContainEqual({ kind: 'alter-schema-owner', schema: 'legacy', from: 'legacy_owner', to: 'pv_legacy_owner' });
      const login = await pg.connectAs('pv_legacy_app', result.secrets.get('pv_legacy_app')!, db);
      expect(await rows(login, 'SELECT v FROM legacy.t')).toEqual([{ v: 1 }]);
      expect(await sqlstateOf(login.query('CREATE TABLE fresh.x (v int)'))).toBe('42501');
      await login.query('CREATE TABLE legacy.made_by_app (v int)');
      await login.end();
      expect((await planFor(conn, policy)).plan.changes).toEqual([]);
    });
  });

  // ------------------------------------------------------------------------------------------------
  describe('faults', () => {
    const db = 'wh_fault';
    const manyApps = (prefix: string, n: number) =>
      policyOf({
        apiVersion: 'pmgrants/v1',
        warehouse: { engine: 'postgres', database: db },
        security: { mode: 'system_managed' },
        principals: { readers: { kind: 'entra-group', name: `${prefix}readers`.replace(/_/g, '-'), objectId: OBJECT_ID } },
        apps: Object.fromEntries(Array.from({ length: n }, (_, i) => [`app${i}`, { schema: `${prefix}s${i}`, source: 'closed' }])),
        grants: [{ persona: 'data_consumer', to: ['readers'], apps: ['*'] }],
        options: { prefix },
      });
    beforeAll(async () => {
      await pg.createDatabase(db);
    });

    it('connection failures are one sentence that never shows the password', async () => {
      const failure = async (url: string) => {
        const err = await connectPostgres(url).then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        expect(err).toBeInstanceOf(PmgrantsError);
        shown.push(err!.message);
        return err!.message;
      };
      const port = pg.server.port;
      expect(await failure(pg.urlAs('postgres', 'wrong-password-123', 'postgres'))).toBe(
        `PostgreSQL at 127.0.0.1:${port}/postgres refused the credentials: password authentication failed for user "postgres"`,
      );
      expect(await failure(pg.url('no_such_db'))).toBe(`PostgreSQL at 127.0.0.1:${port}/no_such_db: database "no_such_db" does not exist`);
      expect(await failure('postgres://someone:secret-pw@127.0.0.1:1/wh')).toBe(
        'cannot connect to PostgreSQL at 127.0.0.1:1/wh: nothing accepts connections there (connection refused): is the server running, and are the host and port right?',
      );
      expect(shown.slice(-3).join(' ')).not.toMatch(/wrong-password-123|secret-pw/);
    });

    it('a backend killed mid-apply gives one clear sentence, leaves the database unchanged, and a re-run converges', async () => {
      const policy = manyApps('flt_', 6);
      const conn = await connect(db, { applicationName: 'pmgrants-fault', batchSize: 10 });
      const admin = await pg.connect(pg.url(db));
      const before = await planFor(conn, policy); // opens the apply's own session: the only one so far
      expect(before.statements.flat().length).toBeGreaterThan(30); // several round trips
      const [{ pid }] = await rows(admin, "SELECT pid FROM pg_stat_activity WHERE application_name = 'pmgrants-fault'");
      let killed = false;
      const err = await applyPlan(conn, before, async (_done, _all, statement) => {
        // Past the new logins (committed first, in a transaction of their own), inside the main transaction.
        if (killed || /WITH LOGIN|TO CURRENT_USER/.test(statement.sql)) return;
        killed = true;
        // From another session, while the apply holds its main transaction open between two round trips;
        // the apply drops the new logins again from another of its sessions.
        const r = await admin.query('SELECT pg_terminate_backend($1, 10000) AS ok', [pid]);
        expect(r.rows).toEqual([{ ok: true }]);
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(killed).toBe(true);
      expect(err).toBeInstanceOf(PmgrantsError);
      expect((err as Error).message).toBe('the connection was lost during apply; the transaction was rolled back, run apply again');
      expect((err as Error).message).not.toContain('\n');
      // The same connection object reconnects; nothing of the first batch survived.
      expect(await conn.inspect(before.desired)).toEqual(before.actual);
      await converge(conn, policy);
    });

    it('new logins get their passwords on other sessions while the main transaction runs; a session that cannot set them costs time, not passwords', async () => {
      const policy = manyApps('pq_', 30);
      const conn = await connect(db, { applicationName: 'pmgrants-pq' });
      const admin = await pg.connect(pg.url(db));
      const planned = await planFor(conn, policy);
      // Sessions opened from now on in this database, as the extra ones that set passwords are, time out at once.
      await admin.query("ALTER ROLE postgres IN DATABASE wh_fault SET statement_timeout = '1ms'");
      let result;
      try {
        result = await applyPlan(conn, planned);
      } finally {
        await admin.query('ALTER ROLE postgres IN DATABASE wh_fault RESET statement_timeout');
      }
      // The apply's own session set them all after its commit.
      expect(result.secrets.size).toBe(30);
      const logins = planned.desired.logins.map((l) => l.name);
      expect(logins).toHaveLength(30);
      for (const login of [logins[0], logins[29]]) await (await pg.connectAs(login, result.secrets.get(login)!, db)).end();
      expect((await planFor(conn, policy)).plan.changes).toEqual([]);
      await admin.end();
    });

    it('when every session fails while setting passwords, the error hands back those set, the rest cannot log in, and the next apply sets them', async () => {
      const policy = manyApps('pw_', 60); // 60 app logins: several trips of passwords
      const conn = await connect(db, { applicationName: 'pmgrants-pw' });
      const admin = await pg.connect(pg.url(db));
      const planned = await planFor(conn, policy); // opens the apply's own session: the only one so far
      const [{ pid }] = await rows(admin, "SELECT pid FROM pg_stat_activity WHERE application_name = 'pmgrants-pw'");
      // The extra sessions time out at once; the apply's own session is ended once it has set some.
      await admin.query("ALTER ROLE postgres IN DATABASE wh_fault SET statement_timeout = '1ms'");
      const logins = planned.desired.logins.map((l) => l.name);
      let stop = false;
      const killer = (async () => {
        while (!stop) {
          const r = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_authid WHERE rolname = ANY ($1) AND rolpassword IS NOT NULL', [logins]);
          if (r.rows[0].n > 0) {
            await admin.query('SELECT pg_terminate_backend($1, 10000)', [pid]);
            return;
          }
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      let err: unknown;
      try {
        await applyPlan(conn, planned);
      } catch (e) {
        err = e;
      } finally {
        stop = true;
        await killer;
        await admin.query('ALTER ROLE postgres IN DATABASE wh_fault RESET statement_timeout');
      }
      expect(err).toBeInstanceOf(PartialApplyError);
      const partial = err as PartialApplyError;
      const set = partial.secrets.size;
      expect(set).toBeGreaterThan(0);
      expect(set).toBeLessThan(60);
      expect(partial.message).toMatch(
        new RegExp(`^the changes were committed, but setting the password of ${60 - set} of 60 logins failed \\(.*\\); those logins keep their previous password, or none if they are new, and the next apply sets the missing ones$`),
      );
      expect(partial.message).not.toContain('\n');
      // The passwords that were set work, and are handed back; the logins without one cannot log in.
      passwords.push(...partial.secrets.values());
      const stored = await admin.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = ANY ($1)', [[...partial.secrets.keys()]]);
      verifiers.push(...stored.rows.map((x) => x.rolpassword));
      shown.push(partial.message);
      const [setLogin, setPassword] = [...partial.secrets][0];
      await (await pg.connectAs(setLogin, setPassword, db)).end();
      const unset = logins.filter((n) => !partial.secrets.has(n)).sort();
      expect(unset).toHaveLength(60 - set);
      await expect(pg.connectAs(unset[0], 'anything-at-all', db)).rejects.toThrow(/password authentication failed/);
      // Everything else was applied; the next plan only sets the missing passwords.
      const next = await planFor(conn, policy);
      expect(next.plan.changes).toEqual(unset.map((login) => ({ kind: 'rotate-password', login, reason: 'missing' })));
      expect(formatPlan('text', { plan: next.plan, statements: next.statements, roleApps: new Map(), source: 'e2e' })).toContain(`login ${unset[0]}: set password (it has none yet)`);
      const result = await applyPlan(conn, next);
      expect([...result.secrets.keys()].sort()).toEqual(unset);
      for (const login of [unset[0], unset[unset.length - 1]]) await (await pg.connectAs(login, result.secrets.get(login)!, db)).end();
      expect((await planFor(conn, policy)).plan.changes).toEqual([]);
      await admin.end();
    });

    it('when the main transaction fails, the logins created first are dropped again: nothing is applied', async () => {
      const policy = manyApps('mf_', 4);
      const conn = await connect(db, { applicationName: 'pmgrants-mf' });
      const admin = await pg.connect(pg.url(db));
      const planned = await planFor(conn, policy);
      const logins = planned.desired.logins.map((l) => l.name);
      // A role the main transaction will want to create appears after the plan was made.
      const clash = planned.desired.roles.find((r) => !logins.includes(r.name))!.name;
      await admin.query(`CREATE ROLE ${quoteIdent(clash)}`);
      const err = await applyPlan(conn, planned).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(PmgrantsError);
      expect(err).not.toBeInstanceOf(PartialApplyError);
      expect(err!.message).toMatch(/already exists, so the database changed since the plan was made .*; nothing was applied, plan again$/);
      const left = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ANY ($1)', [logins]);
      expect(left.rows[0].n).toBe(0);
      await admin.query(`DROP ROLE ${quoteIdent(clash)}`);
      expect(await conn.inspect(planned.desired)).toEqual(planned.actual);
      await converge(conn, policy);
      await admin.end();
    });

    it('two concurrent applies of one plan serialize on the apply lock; the second fails clearly and nothing is left half-done', async () => {
      const policy = manyApps('cc_', 2);
      const first = await connect(db, { applicationName: 'pmgrants-first' });
      const second = await connect(db, { applicationName: 'pmgrants-second' });
      const admin = await pg.connect(pg.url(db));
      const planned = await planFor(first, policy);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let holding!: () => void;
      const inside = new Promise<void>((r) => (holding = r));
      let paused = false;
      const a = applyPlan(first, planned, async () => {
        if (paused) return;
        paused = true;
        holding();
        await gate; // keep the transaction (and the lock) open
      });
      await inside;
      const b = applyPlan(second, planned);
      // Wait until the second apply is really queued behind the lock.
      for (let i = 0; ; i++) {
        const [{ n }] = await rows(admin, "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
        if (n === 1) break;
        if (i > 200) throw new Error('the second apply never waited for the lock');
        await new Promise((r) => setTimeout(r, 25));
      }
      release();
      const [ra, rb] = await Promise.allSettled([a, b]);
      expect(ra.status).toBe('fulfilled');
      expect(rb.status).toBe('rejected');
      const reason = (rb as PromiseRejectedResult).reason as Error;
      expect(reason).toBeInstanceOf(PmgrantsError);
      expect(reason.message).toMatch(/already exists, so the database changed since the plan was made \(another apply may have run at the same time\); nothing was applied, plan again$/);
      // The second took the lock in the round trip that failed; its session released it all the same.
      expect(await rows(admin, "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'")).toEqual([{ n: 0 }]);
      const again = await planFor(second, policy);
      expect(again.plan.changes).toEqual([]);
      expect(await first.inspect(again.desired)).toEqual(again.actual);
    });

    it('an apply that cannot get the lock in time gives up cleanly', async () => {
      const policy = manyApps('lk_', 1);
      const holder = await connect(db, { applicationName: 'pmgrants-holder' });
      const impatient = await connect(db, { applicationName: 'pmgrants-impatient', lockTimeoutSeconds: 0.3 });
      const planned = await planFor(holder, policy);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let holding!: () => void;
      const inside = new Promise<void>((r) => (holding = r));
      let paused = false;
      const held = applyPlan(holder, planned, async () => {
        if (paused) return;
        paused = true;
        holding();
        await gate;
      });
      await inside;
      const err = await applyPlan(impatient, planned).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      release();
      await held;
      expect(err).toBeInstanceOf(PmgrantsError);
      expect(err!.message).toBe(
        'a lock was not granted within the lock timeout (canceling statement due to lock timeout): another pmgrants apply or a long transaction holds it; nothing was applied, try again when it has finished',
      );
      expect((await planFor(impatient, policy)).plan.changes).toEqual([]);
    });
  });

  // ------------------------------------------------------------------------------------------------
  describe('hostile names', () => {
    const db = `wh 'hostile' "db"`;
    /** `ch` repeated, padded with 'x' to exactly `bytes` UTF-8 bytes. */
    const long = (ch: string, bytes: number) => {
      let out = '';
      while (Buffer.byteLength(out + ch) <= bytes) out += ch;
      return out.padEnd(out.length + bytes - Buffer.byteLength(out), 'x');
    };
    const schemas = {
      a: 's"; DROP SCHEMA public CASCADE; --',
      b: "O'Reilly \\ back\\slash ; \"x\" $$ $pmgrants$",
      c: long('ü', 63),
    };
    const appKey = `k${'x'.repeat(45)}`; // hx_ + 46 + _process_admin = 63 bytes
    const principals = {
      evil: 'x"; DROP ROLE postgres; --',
      quote: "O'Brien \\ team; \"q\" $pmgrants$",
      uni: long('é', 63),
    };

    it('schema and principal names with quotes, semicolons, backslashes, unicode and 63 bytes round-trip without injection', async () => {
      expect(Buffer.byteLength(schemas.c)).toBe(63);
      expect(Buffer.byteLength(principals.uni)).toBe(63);
      const policy = policyOf({
        apiVersion: 'pmgrants/v1',
        warehouse: { engine: 'postgres', database: db },
        security: { mode: 'system_managed' },
        principals: {
          evil: { kind: 'sql-login', name: principals.evil },
          quote: { kind: 'entra-group', name: principals.quote, objectId: OBJECT_ID },
          uni: { kind: 'sql-login', name: principals.uni },
        },
        apps: {
          a: { schema: schemas.a, source: 'closed' },
          b: { schema: schemas.b, source: 'open' },
          c: { schema: schemas.c, source: 'closed' },
          [appKey]: { schema: 'plain', source: 'closed' },
        },
        grants: [
          { persona: 'data_consumer', to: ['evil', 'uni'], apps: ['*'] },
          { persona: 'process_admin', to: ['quote'], apps: ['b', 'c', appKey] },
        ],
        options: { prefix: 'hx_' },
      });
      const desired = postgresDialect.realize(compilePolicy(policy));
      expect(desired.roles.map((r) => Buffer.byteLength(r.name))).toContain(63);
      await pg.createDatabase(db);
      const conn = await connect(db);
      await converge(conn, policy);

      const admin = await pg.connect(pg.url(db));
      const names = [...Object.values(principals), `hx_${appKey}_process_admin`, `hx_${appKey}_data_consumer`];
      const found = await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY ($1) ORDER BY 1', [names]);
      expect(found.rows.map((r) => r.rolname)).toEqual([...names].sort());
      const nsp = await admin.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname = ANY ($1) ORDER BY 1', [Object.values(schemas)]);
      expect(nsp.rows.map((r) => r.nspname)).toEqual(Object.values(schemas).sort());
      expect(await rows(admin, "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = 'postgres')::int AS r, (SELECT count(*) FROM pg_namespace WHERE nspname = 'public')::int AS s")).toEqual([{ r: 1, s: 1 }]);

      // The principal whose name is an injection attempt really is a member that can read app a.
      await admin.query(`SET ROLE "hx_a_owner"; CREATE TABLE ${quoteIdent(schemas.a)}.t (v int); INSERT INTO ${quoteIdent(schemas.a)}.t VALUES (42); RESET ROLE`);
      await admin.query(`ALTER ROLE ${quoteIdent(principals.evil)} PASSWORD 'evil-out-of-band'`);
      const evil = await pg.connectAs(principals.evil, 'evil-out-of-band', db);
      expect(await rows(evil, `SELECT v FROM ${quoteIdent(schemas.a)}.t`)).toEqual([{ v: 42 }]);
      await evil.end();
      expect((await planFor(conn, policy)).plan.changes).toEqual([]);
    });

    it('quoteIdent and quoteLiteral round-trip arbitrary text through the real parser', async () => {
      const admin = await pg.connect(pg.url());
      const text = fc
        .string({ unit: 'binary', minLength: 1, maxLength: 40 })
        .filter((s) => !s.includes('\u0000') && !/\p{Cs}/u.test(s) && Buffer.byteLength(s) <= 63);
      await fc.assert(
        fc.asyncProperty(text, async (s) => {
          const r = await admin.query(`SELECT ${quoteLiteral(s)} AS ${quoteIdent(s)}`);
          expect(r.fields.map((f) => f.name)).toEqual([s]);
          expect(r.rows[0][s]).toBe(s);
        }),
        { numRuns: 150 },
      );
      await admin.end();
    });
  });

  // ------------------------------------------------------------------------------------------------
  describe('secrets', () => {
    it('no generated password or verifier appears in any plan, statement display or error; no plaintext reaches the server', () => {
      expect(passwords.length).toBeGreaterThanOrEqual(8);
      expect(verifiers.length).toBe(passwords.length);
      expect(verifiers.every((v) => v.startsWith('SCRAM-SHA-256$4096:'))).toBe(true);
      expect(shown.length).toBeGreaterThan(20);
      const everything = shown.join('\n');
      for (const secret of [...passwords, ...verifiers]) expect(everything.includes(secret)).toBe(false);
      for (const v of verifiers) for (const part of v.split(/[$:]/).filter((p) => p.length >= 20)) expect(everything.includes(part)).toBe(false);
      // log_statement = all: the server saw every statement, and never a plaintext password.
      const log = pg.serverLog.join('\n');
      expect(log).toContain('CREATE ROLE');
      for (const p of passwords) expect(log.includes(p)).toBe(false);
    });
  });
});

suite('a local server pmgrants starts (demo, tests, bench)', () => {
  it('is stopped and its directory removed when its process is terminated by a signal', async () => {
    const { spawn } = await import('node:child_process');
    const fs = await import('node:fs');
    const path = await import('node:path');
    const index = path.join(__dirname, '..', '..', 'dist', 'provider', 'engines', 'postgres', 'index.js');
    const script = `require(${JSON.stringify(index)}).startLocalPostgres().then((s) => { console.log(JSON.stringify({ url: s.url, host: s.host, port: s.port })); setInterval(() => {}, 1000); });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const started = await new Promise<{ url: string; port: number }>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
      });
      child.once('exit', (code) => reject(new Error(`exited ${code} before the server started`)));
    });
    // Its directory: the temporary one whose data/postmaster.pid names its port (line 4).
    const tmp = (await import('node:os')).tmpdir();
    const dir = fs
      .readdirSync(tmp)
      .filter((d) => d.startsWith('pmgrants-pg-'))
      .map((d) => path.join(tmp, d))
      .find((d) => {
        try {
          return fs.readFileSync(path.join(d, 'data', 'postmaster.pid'), 'utf8').split('\n')[3] === String(started.port);
        } catch {
          return false;
        }
      });
    expect(dir, 'the server directory, found by its port').toBeDefined();
    const c = new Client({ connectionString: started.url });
    await c.connect();
    await c.end();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    const again = new Client({ connectionString: started.url, connectionTimeoutMillis: 2000 });
    await expect(again.connect()).rejects.toThrow();
    expect(fs.existsSync(dir!)).toBe(false);
  });
});
