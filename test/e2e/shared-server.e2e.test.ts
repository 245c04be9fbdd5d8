/**
 * Warehouses that share a server never touch each other: the three shipped stacks (stacks/dev.yaml,
 * test.yaml, prod.yaml, each its own database and prefix) on ONE real PostgreSQL cluster, through the
 * CLI, applied in several orders and interleaved with rotate, app removal and prune; plus a fourth
 * warehouse with the default prefix (which every stack's names start with), two warehouses with the
 * same prefix (a plan-time error), and markers written before they named a warehouse.
 *
 * After every step: the stack just applied plans zero changes, every generated login of every stack
 * logs in with the password in its own secrets file, and the security of every OTHER database (its
 * roles with their comments and password verifiers, the memberships that touch them, and the ACLs
 * inside that database) is exactly what it was before the step.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../provider/cli/main';
import { CliIO } from '../../provider/cli/io';
import { quoteIdent } from '../../provider/engines/postgres/quote';
import { postgresUnavailableReason, startTestServer, TestServer } from '../support/pg';
import { scenario } from '../support/scenario';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the shared-server end-to-end tests: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

const root = path.join(__dirname, '..', '..');
const STACKS = { dev: 'PM_Warehouse_Dev', test: 'PM_Warehouse_Test', prod: 'PM_Warehouse_Prod' } as const;
type Stack = keyof typeof STACKS;
const OTHER = 'PM_Warehouse_Other'; // a fourth warehouse, default prefix pmg_
const TWIN = 'PM_Warehouse_Twin'; // same prefix as dev

let pg: TestServer;
let dir: string;
let policyFile: string;
let stacksDir: string;
const urls: Record<string, string> = {};

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => (out += t), err: (t) => (err += t), env: {}, interactive: false, confirm: async () => false, cwd: dir };
  const code = await runCli(args, io);
  return { code, out, err };
}

const secretsFile = (name: string) => path.join(dir, 'secrets', `${name}.json`);
const stackArgs = (stack: Stack) => ['--stack', stack, '--stacks-dir', stacksDir, '--database-url', urls[STACKS[stack]]];

async function apply(stack: Stack) {
  const r = await cli(['apply', policyFile, ...stackArgs(stack), '--yes', '--secrets-file', secretsFile(stack)]);
  expect(r.err).not.toMatch(/warning|error/i);
  expect(r.code).toBe(0);
  return r;
}

async function planExit(stack: Stack) {
  const r = await cli(['plan', policyFile, ...stackArgs(stack), '--detailed-exitcode']);
  return { ...r, changes: r.code === 2 };
}

/** The security of one warehouse as the superuser sees it: what no other warehouse may change. */
async function snapshot(database: string, prefix: string): Promise<unknown> {
  const admin = await pg.connect(pg.url(database));
  try {
    const roles = await admin.query(
      `SELECT a.rolname, a.rolcanlogin, a.rolpassword, d.description
       FROM pg_authid a LEFT JOIN pg_shdescription d ON d.objoid = a.oid AND d.classoid = 'pg_authid'::regclass
       WHERE left(a.rolname, length($1)) = $1 ORDER BY 1`,
      [prefix],
    );
    const memberships = await admin.query(
      `SELECT r.rolname AS role, m.rolname AS member, a.admin_option
       FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
       WHERE (left(r.rolname, length($1)) = $1 OR left(m.rolname, length($1)) = $1) AND NOT m.rolsuper ORDER BY 1, 2`,
      [prefix],
    );
    const acls = await admin.query(
      `SELECT 'database' AS kind, datname::text AS name, datacl::text AS acl FROM pg_database WHERE datname = current_database()
       UNION ALL SELECT 'schema', nspname::text || ' owner ' || pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
       UNION ALL SELECT 'relation', n.nspname || '.' || c.relname, c.relacl::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
       UNION ALL SELECT 'default', n.nspname || ' for ' || pg_get_userbyid(d.defaclrole) || ' ' || d.defaclobjtype::text, d.defaclacl::text FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
       ORDER BY 1, 2`,
    );
    return { roles: roles.rows, memberships: memberships.rows, acls: acls.rows };
  } finally {
    await admin.end();
  }
}

async function snapshots(except: string[] = []): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [stack, database] of Object.entries(STACKS)) if (!except.includes(stack)) out[stack] = await snapshot(database, `pmg_${stack}_`);
  return out;
}

/** Every generated login in the stack's secrets file logs in to its database with its password and reads its app's table. */
async function loginsWork(stack: Stack): Promise<number> {
  const logins = (JSON.parse(fs.readFileSync(secretsFile(stack), 'utf8')) as { logins: Record<string, { password: string }> }).logins;
  const names = Object.keys(logins);
  for (const name of names) {
    const c = await pg.connectAs(name, logins[name].password, STACKS[stack]);
    const schema = name === `pmg_${stack}_purchase-to-pay_app` ? 'p2p' : name === `pmg_${stack}_order-to-cash_app` ? 'o2c' : 'invoices';
    expect((await c.query(`SELECT count(*)::int AS n FROM ${quoteIdent(schema)}.facts`)).rows[0].n).toBe(0);
    await c.end();
  }
  return names.length;
}

/** Apply a stack; it converges; nothing of the others changed; every login of every applied stack works. */
async function step(stack: Stack, applied: Set<Stack>) {
  const before = await snapshots([stack]);
  await apply(stack);
  if (!applied.has(stack)) {
    // A table in each app schema, created by the schema's owner (default privileges cover it).
    const admin = await pg.connect(pg.url(STACKS[stack]));
    for (const [app, schema] of [['purchase-to-pay', 'p2p'], ['order-to-cash', 'o2c'], ['invoice-handling', 'invoices']]) {
      await admin.query(`SET ROLE ${quoteIdent(`pmg_${stack}_${app}_owner`)}; CREATE TABLE ${quoteIdent(schema)}.facts (id int); RESET ROLE`);
    }
    await admin.end();
    applied.add(stack);
  }
  expect((await planExit(stack)).changes).toBe(false);
  expect(await snapshots([stack])).toEqual(before);
  for (const s of applied) expect(await loginsWork(s)).toBe(3);
}

beforeAll(async () => {
  if (unavailable) return;
  pg = await startTestServer();
  for (const database of [...Object.values(STACKS), OTHER, TWIN]) urls[database] = await pg.createDatabase(database);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-shared-'));
  // The shipped policy on PostgreSQL, with the shipped stacks (copied, so one step can remove an app).
  policyFile = path.join(dir, 'policy.yaml');
  const shipped = fs.readFileSync(path.join(root, 'examples', 'uipath-system-managed.yaml'), 'utf8');
  fs.writeFileSync(policyFile, shipped.replace('engine: sqlserver', 'engine: postgres'));
  stacksDir = path.join(dir, 'stacks');
  fs.cpSync(path.join(root, 'stacks'), stacksDir, { recursive: true });
}, 60_000);

afterAll(async () => {
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

scenario('warehouses on one PostgreSQL server (the shipped dev, test and prod stacks)', (s) => {
  const applied = new Set<Stack>();

  s.step('applied in the order dev, test, prod: each converges and leaves the others exactly as they were', async () => {
    for (const stack of ['dev', 'test', 'prod'] as const) await step(stack, applied);
  }, 120_000);

  s.step('rotate in test, then prod, dev and test applied again (another order): only test\'s password changed', async () => {
    const before = await snapshots(['test']);
    const old = JSON.parse(fs.readFileSync(secretsFile('test'), 'utf8')).logins['pmg_test_purchase-to-pay_app'].password;
    const r = await cli(['rotate', policyFile, '--all', ...stackArgs('test'), '--yes', '--secrets-file', secretsFile('test')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(secretsFile('test'), 'utf8')).logins['pmg_test_purchase-to-pay_app'].password).not.toBe(old);
    expect(await snapshots(['test'])).toEqual(before);
    for (const stack of ['prod', 'dev', 'test'] as const) await step(stack, applied);
  }, 120_000);

  s.step('removing an app from dev (and pruning it) drops dev\'s roles only; prod and test keep theirs', async () => {
    fs.appendFileSync(path.join(stacksDir, 'dev.yaml'), 'apps: [purchase-to-pay, invoice-handling]\n');
    const before = await snapshots(['dev']);
    const r = await apply('dev');
    expect(r.out).toContain('  - login pmg_dev_order-to-cash_app (its objects are handed to pmg_dev_order-to-cash_owner first)\n');
    expect((await planExit('dev')).changes).toBe(false);
    expect(await snapshots(['dev'])).toEqual(before);
    for (const stack of ['prod', 'test'] as const) expect(await loginsWork(stack)).toBe(3);
    const admin = await pg.connect(pg.url());
    const left = await admin.query(`SELECT rolname FROM pg_roles WHERE rolname LIKE '%order-to-cash%' ORDER BY 1`);
    await admin.end();
    // dev's schema owner stays (it owns the schema and its table); test's and prod's roles are all there.
    expect(left.rows.map((r) => r.rolname)).toEqual([
      'pmg_dev_order-to-cash_owner',
      ...['prod', 'test'].flatMap((s) => ['app', 'data_consumer', 'owner', 'process_admin'].map((p) => `pmg_${s}_order-to-cash_${p}`)),
    ]);
    // Put it back (dev first: its secrets file still names the dropped login), then the others again.
    fs.copyFileSync(path.join(root, 'stacks', 'dev.yaml'), path.join(stacksDir, 'dev.yaml'));
    for (const stack of ['dev', 'prod', 'test'] as const) await step(stack, applied);
  }, 120_000);

  s.step('a fourth warehouse with the default prefix pmg_ (every stack\'s names start with it), prune on, changes nothing of the stacks', async () => {
    const one = path.join(dir, 'other.yaml');
    fs.writeFileSync(
      one,
      [
        'apiVersion: pmgrants/v1',
        `warehouse: { engine: postgres, database: ${OTHER} }`,
        'security: { mode: system_managed }',
        'principals:',
        '  finance-analysts: { kind: database-role, name: PM_Finance_Analysts }',
        'apps:',
        '  purchase-to-pay: { schema: p2p, source: closed }',
        'grants:',
        '  - { persona: data_consumer, to: [finance-analysts], apps: [purchase-to-pay] }',
        '',
      ].join('\n'),
    );
    const before = await snapshots();
    const plan = await cli(['plan', one, '--database-url', urls[OTHER]]);
    expect(plan.code).toBe(0);
    // Nothing of the stacks is in the plan, though their names start with pmg_ and PM_Finance_Analysts is shared.
    expect(plan.out).not.toMatch(/pmg_(dev|test|prod)_/);
    const r = await cli(['apply', one, '--yes', '--database-url', urls[OTHER], '--secrets-file', secretsFile('other')]);
    expect(r.code).toBe(0);
    expect((await cli(['plan', one, '--detailed-exitcode', '--database-url', urls[OTHER]])).code).toBe(0);
    expect(await snapshots()).toEqual(before);
    for (const stack of ['dev', 'test', 'prod'] as const) {
      expect(await loginsWork(stack)).toBe(3);
      expect((await planExit(stack)).changes).toBe(false);
    }
  }, 120_000);

  s.step('a warehouse whose names collide with another warehouse\'s (same prefix) is refused at plan time, nothing changed', async () => {
    const twinStacks = path.join(dir, 'twin-stacks');
    fs.mkdirSync(twinStacks);
    fs.writeFileSync(path.join(twinStacks, 'twin.yaml'), `apiVersion: pmgrants/v1\noverlay:\n  warehouse: { database: ${TWIN} }\n  options: { prefix: pmg_dev_ }\n`);
    const before = await snapshots();
    for (const command of [['plan'], ['apply', '--yes']]) {
      const r = await cli([...command, policyFile, '--stack', 'twin', '--stacks-dir', twinStacks, '--database-url', urls[TWIN]]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^pmgrants: login "pmg_dev_[a-z-]+_app" belongs to warehouse "PM_Warehouse_Dev" on this server \(and \d+ more of this policy's names belong to other warehouses\), and pmgrants never changes another warehouse's principals: give this warehouse its own prefix \(options\.prefix, e\.g\. "pmg_dev_twin_" in the policy or its stack overlay\) and plan again\n$/);
    }
    expect(await snapshots()).toEqual(before);
  }, 60_000);

  s.step("a stack pointed at another stack's database is refused before anything is read into a plan (the database is the warehouse's identity)", async () => {
    const before = await snapshots();
    for (const command of [['plan'], ['apply', '--yes']]) {
      const r = await cli([...command, policyFile, '--stack', 'dev', '--stacks-dir', stacksDir, '--database-url', urls[STACKS.test]]);
      expect(r.code).toBe(2);
      expect(r.err).toBe(
        'pmgrants: the database URL connects to database "PM_Warehouse_Test", but the policy\'s warehouse is "PM_Warehouse_Dev"; point the URL at "PM_Warehouse_Dev" or fix warehouse.database\n',
      );
    }
    expect(await snapshots()).toEqual(before);
  }, 60_000);

  s.step('markers written before they named a warehouse: claimed by the database holding their privileges; one held in two databases is left alone, with a warning', async () => {
    const admin = await pg.connect(pg.url());
    // dev's roles as an older pmgrants left them: the marker without "warehouse".
    const comments = await admin.query(
      `SELECT r.rolname, d.description FROM pg_roles r JOIN pg_shdescription d ON d.objoid = r.oid WHERE r.rolname LIKE 'pmg\\_dev\\_%' AND d.description LIKE 'pmgrants:managed%'`,
    );
    expect(comments.rows.length).toBe(13);
    for (const { rolname, description } of comments.rows) {
      const legacy = description.replace(/,"warehouse":"PM_Warehouse_Dev"/, '');
      expect(legacy).not.toContain('warehouse');
      await admin.query(`COMMENT ON ROLE ${quoteIdent(rolname)} IS ${quoteLiteral(legacy)}`);
    }
    // One of them also holds a privilege in the fourth warehouse's database.
    const other = await pg.connect(pg.url(OTHER));
    await other.query(`GRANT USAGE ON SCHEMA p2p TO "pmg_dev_purchase-to-pay_data_consumer"`);
    await other.end();
    await admin.end();

    // dev still owns its roles: the one the fourth warehouse's database also holds privileges in, because dev's policy names it.
    const dev = await planExit('dev');
    expect(dev.changes).toBe(false);
    expect(dev.out).toContain(
      'warning: role "pmg_dev_purchase-to-pay_data_consumer" has a pmgrants marker that names no warehouse and holds privileges in this database and in "PM_Warehouse_Other": this warehouse manages it because its policy names it',
    );
    const before = await snapshots();
    const plan = await cli(['plan', path.join(dir, 'other.yaml'), '--detailed-exitcode', '--database-url', urls[OTHER]]);
    expect(plan.code).toBe(0); // nothing to do: the role is not the fourth warehouse's to revoke from or drop
    expect(plan.out).toContain(
      'warning: role "pmg_dev_purchase-to-pay_data_consumer" has a pmgrants marker that names no warehouse and holds privileges in this database and in "PM_Warehouse_Dev": it may belong to another warehouse, so pmgrants leaves it as it is',
    );
    const r = await cli(['apply', path.join(dir, 'other.yaml'), '--yes', '--database-url', urls[OTHER], '--secrets-file', secretsFile('other')]);
    expect(r.code).toBe(0);
    expect(await snapshots()).toEqual(before);
    expect((await planExit('dev')).changes).toBe(false);
    expect(await loginsWork('dev')).toBe(3);
  }, 60_000);
}, suite);

function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
