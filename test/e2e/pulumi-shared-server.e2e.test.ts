/**
 * Two Pulumi stacks on ONE PostgreSQL server, the README's promotion story: the shipped policy with the
 * shipped overlays stacks/test.yaml and stacks/prod.yaml (each its own database and prefix), driven by
 * the real Pulumi engine (see pulumi.e2e.test.ts for the harness). `up` of one stack leaves the other's
 * roles, password verifiers, memberships and privileges exactly as they were, and its delivered
 * passwords keep working; `destroy` of one stack succeeds and leaves the other as it was.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Automation from '@pulumi/pulumi/automation';
import { startTestServer, TestServer } from '../support/pg';
import { engineUnavailableReason, pmgrantsTestStack, pulumiProjectDir, REPO } from '../unit/pulumi-dist';

const unavailable = engineUnavailableReason();
if (unavailable) console.warn(`Skipping the Pulumi shared-server end-to-end test: ${unavailable}`);
else console.warn(`Pulumi shared-server end-to-end test with ${spawnSync('pulumi', ['version'], { encoding: 'utf8' }).stdout.trim()}`);
const suite = unavailable ? describe.skip : describe;

const STEP_TIMEOUT = 240_000;
const DATABASES = { test: 'PM_Warehouse_Test', prod: 'PM_Warehouse_Prod' } as const;
type StackName = keyof typeof DATABASES;

let pg: TestServer;
let dir: string;
const stacks = {} as Record<StackName, Automation.Stack>;
const delivered = {} as Record<StackName, Record<string, { login: string; password: string; schema: string }>>;

/** One stack's security as the superuser sees it (roles of its prefix with comments and verifiers, their memberships, its database's ACLs). */
async function snapshot(stack: StackName): Promise<unknown> {
  const prefix = `pmg_${stack}_`;
  const c = await pg.connect(pg.url(DATABASES[stack]));
  try {
    const roles = await c.query(
      `SELECT a.rolname, a.rolpassword, shobj_description(a.oid, 'pg_authid') AS comment FROM pg_authid a WHERE left(a.rolname, length($1)) = $1 ORDER BY 1`,
      [prefix],
    );
    const members = await c.query(
      `SELECT r.rolname AS role, m.rolname AS member FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
       WHERE (left(r.rolname, length($1)) = $1 OR left(m.rolname, length($1)) = $1) AND NOT m.rolsuper ORDER BY 1, 2`,
      [prefix],
    );
    const acls = await c.query(
      `SELECT nspname::text AS name, nspowner::regrole::text AS owner, nspacl::text AS acl FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
       UNION ALL SELECT 'database', datdba::regrole::text, datacl::text FROM pg_database WHERE datname = current_database() ORDER BY 1`,
    );
    return { roles: roles.rows, members: members.rows, acls: acls.rows };
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

suite('two Pulumi stacks (test, prod) on one PostgreSQL server', () => {
  beforeAll(async () => {
    pg = await startTestServer();
    dir = pulumiProjectDir('pmgrants-pulumi-shared-');
    fs.cpSync(path.join(REPO, 'stacks'), path.join(dir, 'stacks'), { recursive: true });
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

  it(
    'up test, then up prod: prod leaves test exactly as it was, and both stacks\' delivered passwords log in',
    async () => {
      for (const name of ['test', 'prod'] as const) {
        const other: StackName = name === 'test' ? 'prod' : 'test';
        const before = await snapshot(other);
        const up = await stacks[name].up();
        expect(up.summary.result).toBe('succeeded');
        delivered[name] = up.outputs.apps.value as (typeof delivered)[StackName];
        expect(Object.values(delivered[name]).map((a) => a.login).sort()).toEqual(
          ['invoice-handling', 'order-to-cash', 'purchase-to-pay'].map((app) => `pmg_${name}_${app}_app`),
        );
        expect(await snapshot(other)).toEqual(before);
      }
      expect(await loginsWork('test')).toBe(3);
      expect(await loginsWork('prod')).toBe(3);
      for (const name of ['test', 'prod'] as const) expect((await stacks[name].preview()).changeSummary).toEqual({ same: 5 });
    },
    STEP_TIMEOUT,
  );

  it(
    'destroy prod succeeds and leaves test as it was; test still converges and its passwords still work',
    async () => {
      const before = await snapshot('test');
      const destroyed = await stacks.prod.destroy();
      expect(destroyed.summary.result).toBe('succeeded');
      expect(await snapshot('test')).toEqual(before);
      expect(await loginsWork('test')).toBe(3);
      expect((await stacks.test.preview()).changeSummary).toEqual({ same: 5 });
      // prod's logins and personas are gone (its schema owners stay: they own the schemas, which hold data).
      const c = await pg.connect(pg.url());
      const left = await c.query(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'pmg\\_prod\\_%' ORDER BY 1`);
      await c.end();
      expect(left.rows.map((r) => r.rolname)).toEqual(['invoice-handling', 'order-to-cash', 'purchase-to-pay'].map((app) => `pmg_prod_${app}_owner`));
      expect((await stacks.test.destroy()).summary.result).toBe('succeeded');
    },
    STEP_TIMEOUT,
  );
});
