/**
 * Two Pulumi stacks on ONE PostgreSQL server, the README's promotion story: the shipped policy with the
 * shipped overlays stacks/test.yaml and stacks/prod.yaml (each its own database), driven by the real
 * Pulumi engine (see pulumi.e2e.test.ts for the harness). Here test's prefix is pmg_, of which prod's
 * pmg_prod_ is an extension: every prod role is under test's prefix, and prod's app roles carry the same
 * app keys in their markers, so test's inspects read prod's roles; only the warehouse (database) each
 * marker names keeps test's `up` and `destroy` off them. `up` of one stack leaves the other's roles,
 * password verifiers, memberships, schema, table and default privileges exactly as they were, and its
 * delivered passwords keep working; `destroy` of one stack succeeds and leaves the other as it was.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type * as Automation from '@pulumi/pulumi/automation';
import { startTestServer, TestServer } from '../support/pg';
import { scenario } from '../support/scenario';
import { engineUnavailableReason, pmgrantsTestStack, pulumiProjectDir, REPO } from '../unit/pulumi-dist';

const unavailable = engineUnavailableReason();
if (unavailable) console.warn(`Skipping the Pulumi shared-server end-to-end test: ${unavailable}`);
else console.warn(`Pulumi shared-server end-to-end test with ${spawnSync('pulumi', ['version'], { encoding: 'utf8' }).stdout.trim()}`);

const STEP_TIMEOUT = 240_000;
const DATABASES = { test: 'PM_Warehouse_Test', prod: 'PM_Warehouse_Prod' } as const;
type StackName = keyof typeof DATABASES;
/** Each stack's roles: test's prefix takes in prod's names, which are not test's. */
const ROLES_OF: Record<StackName, string> = {
  test: `left(rolname, 4) = 'pmg_' AND left(rolname, 9) <> 'pmg_prod_'`,
  prod: `left(rolname, 9) = 'pmg_prod_'`,
};
const APPS = ['invoice-handling', 'order-to-cash', 'purchase-to-pay'];
const SCHEMAS = ['invoices', 'o2c', 'p2p'];

let pg: TestServer;
let dir: string;
const stacks = {} as Record<StackName, Automation.Stack>;
const delivered = {} as Record<StackName, Record<string, { login: string; password: string; schema: string }>>;

/**
 * One stack's security as the superuser sees it: its roles with comments and verifiers, their
 * memberships, and in its database the schema, table and default privileges and the database's ACL.
 */
async function snapshot(stack: StackName): Promise<unknown> {
  const c = await pg.connect(pg.url(DATABASES[stack]));
  try {
    const roles = await c.query(`SELECT rolname, rolpassword, shobj_description(oid, 'pg_authid') AS comment FROM pg_authid WHERE ${ROLES_OF[stack]} ORDER BY 1`);
    const members = await c.query(
      `SELECT r.rolname AS role, m.rolname AS member FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
       WHERE (r.oid IN (SELECT oid FROM pg_roles WHERE ${ROLES_OF[stack]}) OR m.oid IN (SELECT oid FROM pg_roles WHERE ${ROLES_OF[stack]})) AND NOT m.rolsuper ORDER BY 1, 2`,
    );
    const acls = await c.query(
      `SELECT nspname::text AS name, nspowner::regrole::text AS owner, nspacl::text AS acl FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
       UNION ALL SELECT 'database', datdba::regrole::text, datacl::text FROM pg_database WHERE datname = current_database() ORDER BY 1`,
    );
    const tables = await c.query(
      `SELECT n.nspname || '.' || c.relname AS name, c.relowner::regrole::text AS owner, c.relacl::text AS acl FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'v', 'm', 'S') AND n.nspname = ANY ($1) ORDER BY 1`,
      [SCHEMAS],
    );
    const defaults = await c.query(
      `SELECT d.defaclrole::regrole::text AS role, coalesce(n.nspname, '*') AS schema, d.defaclobjtype AS kind, d.defaclacl::text AS acl
       FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace ORDER BY 1, 2, 3`,
    );
    return { roles: roles.rows, members: members.rows, acls: acls.rows, tables: tables.rows, defaults: defaults.rows };
  } finally {
    await c.end();
  }
}

/** A table in each of a stack's app schemas, made by its owner role: table privileges come from the default ones. */
async function createTables(stack: StackName): Promise<void> {
  const c = await pg.connect(pg.url(DATABASES[stack]));
  try {
    for (const [i, app] of APPS.entries()) {
      await c.query(`SET ROLE "${stack === 'prod' ? 'pmg_prod_' : 'pmg_'}${app}_owner"; CREATE TABLE ${SCHEMAS[i]}.facts (id int); RESET ROLE`);
    }
  } finally {
    await c.end();
  }
}

async function loginsWork(stack: StackName): Promise<number> {
  const apps = Object.values(delivered[stack]);
  for (const a of apps) {
    const c = await pg.connectAs(a.login, a.password, DATABASES[stack]);
    expect((await c.query(`SELECT has_schema_privilege(current_user, $1, 'USAGE') AS usage`, [a.schema])).rows).toEqual([{ usage: true }]);
    await c.end();
  }
  return apps.length;
}

scenario('two Pulumi stacks (test, prod) on one PostgreSQL server, test\'s prefix taking in prod\'s names', (s) => {
  beforeAll(async () => {
    pg = await startTestServer();
    dir = pulumiProjectDir('pmgrants-pulumi-shared-');
    fs.cpSync(path.join(REPO, 'stacks'), path.join(dir, 'stacks'), { recursive: true });
    const testOverlay = path.join(dir, 'stacks', 'test.yaml');
    const shippedTest = fs.readFileSync(testOverlay, 'utf8');
    expect(shippedTest).toContain('prefix: pmg_test_');
    fs.writeFileSync(testOverlay, shippedTest.replace('prefix: pmg_test_', 'prefix: pmg_'));
    const shipped = fs.readFileSync(path.join(REPO, 'examples', 'uipath-system-managed.yaml'), 'utf8');
    fs.writeFileSync(path.join(dir, 'policy.yaml'), shipped.replace('engine: sqlserver', 'engine: postgres'));

    for (const name of Object.keys(DATABASES) as StackName[]) {
      const url = await pg.createDatabase(DATABASES[name]);
      stacks[name] = await pmgrantsTestStack(dir, name, { policyFile: path.join(dir, 'policy.yaml'), stacksDir: path.join(dir, 'stacks'), databaseUrl: url });
    }
  }, STEP_TIMEOUT);

  afterAll(async () => {
    await pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  s.step(
    'up prod, then up test (which reads every prod role): test leaves prod exactly as it was, privileges of tables included, and back; both stacks\' delivered passwords log in',
    async () => {
      const up = async (name: StackName) => {
        const result = await stacks[name].up();
        expect(result.summary.result).toBe('succeeded');
        delivered[name] = result.outputs.apps.value as (typeof delivered)[StackName];
      };
      await up('prod');
      await createTables('prod');
      const prod = await snapshot('prod');
      expect((prod as { tables: { acl: string | null }[] }).tables.every((t) => t.acl !== null)).toBe(true);
      await up('test');
      expect(await snapshot('prod')).toEqual(prod);
      await createTables('test');
      const test = await snapshot('test');
      await up('prod');
      expect(await snapshot('test')).toEqual(test);
      await up('test');
      expect(await snapshot('prod')).toEqual(prod);
      for (const name of ['test', 'prod'] as const) {
        const prefix = name === 'prod' ? 'pmg_prod_' : 'pmg_';
        expect(Object.values(delivered[name]).map((a) => a.login).sort()).toEqual(APPS.map((app) => `${prefix}${app}_app`));
      }
      expect(await loginsWork('test')).toBe(3);
      expect(await loginsWork('prod')).toBe(3);
      for (const name of ['test', 'prod'] as const) expect((await stacks[name].preview()).changeSummary).toEqual({ same: 5 });
    },
    STEP_TIMEOUT,
  );

  s.step(
    'destroy test (prefix pmg_) succeeds and leaves prod as it was; prod still converges and its passwords still work',
    async () => {
      const before = await snapshot('prod');
      const destroyed = await stacks.test.destroy();
      expect(destroyed.summary.result).toBe('succeeded');
      expect(await snapshot('prod')).toEqual(before);
      expect(await loginsWork('prod')).toBe(3);
      expect((await stacks.prod.preview()).changeSummary).toEqual({ same: 5 });
      // test's logins and personas are gone (its schema owners stay: they own the schemas, which hold data).
      const c = await pg.connect(pg.url());
      const left = await c.query(`SELECT rolname FROM pg_roles WHERE ${ROLES_OF.test} ORDER BY 1`);
      await c.end();
      expect(left.rows.map((r) => r.rolname)).toEqual(APPS.map((app) => `pmg_${app}_owner`));
      expect((await stacks.prod.destroy()).summary.result).toBe('succeeded');
    },
    STEP_TIMEOUT,
  );
}, unavailable ? describe.skip : describe);
