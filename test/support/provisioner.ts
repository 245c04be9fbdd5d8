/**
 * The least-privilege provisioning login that `pmgrants doctor` asks for on PostgreSQL, and applying a
 * policy as it: what the end-to-end tests run as, the way an operator would set pmgrants up.
 */
import * as path from 'node:path';
import { expect } from 'vitest';
import { connectPostgres } from '../../provider/engines/postgres';
import { loadPolicy } from '../../provider/policy/load';
import { applyRendered, planLive } from '../../provider/pipeline/plan';
import { runCliCaptured } from './cli';
import { TestServer } from './pg';

/**
 * A plain login `name` with `password`, given exactly the statements doctor prints for its failed
 * checks (run as a superuser), after which every check passes. Its URL.
 */
export async function provisionerDoctorAsksFor(pg: TestServer, database: string, policyFile: string, password: string, name = 'provisioner'): Promise<string> {
  const admin = await pg.connect(pg.url(database));
  await admin.query(`CREATE ROLE ${name} LOGIN PASSWORD '${password}'`);
  const url = pg.urlAs(name, password, database);
  const doctor = () => runCliCaptured(['doctor', policyFile], { env: { PMGRANTS_DATABASE_URL: url }, cwd: path.dirname(policyFile) });
  const first = await doctor();
  const fixes = [...first.out.matchAll(/^\s+fix: (.*)$/gm)].map((m) => m[1]);
  expect(fixes.length, first.out + first.err).toBeGreaterThan(0);
  for (const fix of fixes) await admin.query(fix);
  await admin.end();
  const second = await doctor();
  expect(second.out, second.out + second.err).toMatch(/All \d+ checks passed/);
  return url;
}

/** Apply the policy file through the engine, as the login of `url`; the generated passwords. */
export async function applyAs(url: string, file: string): Promise<Map<string, string>> {
  const conn = await connectPostgres(url);
  try {
    return (await applyRendered(conn, await planLive(conn, loadPolicy(file).policy!))).secrets;
  } finally {
    await conn.close();
  }
}
