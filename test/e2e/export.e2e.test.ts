/**
 * pmgrants export on a real PostgreSQL whose security was set up by hand (plain SQL below, not by
 * pmgrants): export -> validate -> plan gives zero changes, and what the policy language cannot say
 * (a table-level grant, a column grant) is in the comments. Commands run in-process through runCli.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'pg';
import { runCliCaptured } from '../support/cli';
import { loadPolicy } from '../../provider/policy/load';
import { postgresUnavailableReason, startTestServer, TestServer } from '../support/pg';
import { scenario } from '../support/scenario';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the export end-to-end tests: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

/** What a DBA did by hand before pmgrants: two app schemas, an ETL login owning them, reader and editor roles. */
const HAND_MADE = `
CREATE ROLE etl LOGIN PASSWORD 'etl-Passw0rd';
CREATE ROLE p2p_readers NOLOGIN;
CREATE ROLE p2p_editors NOLOGIN;
CREATE ROLE o2c_readers NOLOGIN;
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE "Carol" LOGIN;
CREATE ROLE analysts NOLOGIN;
CREATE ROLE auditor LOGIN;
CREATE ROLE hr LOGIN;
CREATE SCHEMA p2p AUTHORIZATION etl;
CREATE SCHEMA o2c AUTHORIZATION etl;
SET ROLE etl;
CREATE TABLE p2p.invoices (id int PRIMARY KEY, supplier_id int, amount numeric);
CREATE TABLE p2p.suppliers (id int PRIMARY KEY, name text, iban text);
CREATE VIEW p2p.open_invoices AS SELECT id, amount FROM p2p.invoices WHERE amount > 0;
CREATE TABLE o2c.orders (id int PRIMARY KEY, customer text);
CREATE VIEW o2c.order_counts AS SELECT customer, count(*) AS orders FROM o2c.orders GROUP BY customer;
GRANT USAGE ON SCHEMA p2p TO p2p_readers, p2p_editors;
GRANT SELECT ON ALL TABLES IN SCHEMA p2p TO p2p_readers;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA p2p TO p2p_editors;
ALTER DEFAULT PRIVILEGES IN SCHEMA p2p GRANT SELECT ON TABLES TO p2p_readers;
ALTER DEFAULT PRIVILEGES IN SCHEMA p2p GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO p2p_editors;
ALTER DEFAULT PRIVILEGES IN SCHEMA p2p GRANT USAGE ON SEQUENCES TO p2p_editors;
GRANT USAGE ON SCHEMA o2c TO o2c_readers;
GRANT SELECT ON ALL TABLES IN SCHEMA o2c TO o2c_readers;
ALTER DEFAULT PRIVILEGES IN SCHEMA o2c GRANT SELECT ON TABLES TO o2c_readers;
GRANT USAGE ON SCHEMA p2p TO auditor;
GRANT SELECT ON p2p.invoices TO auditor;
GRANT USAGE ON SCHEMA p2p TO hr;
GRANT SELECT (id, name) ON p2p.suppliers TO hr;
RESET ROLE;
GRANT p2p_readers TO alice, analysts;
GRANT p2p_editors TO bob;
GRANT o2c_readers TO "Carol", analysts;
`;

let pg: TestServer;
let admin: Client;
let dir: string;
let dbUrl: string;

const cli = (args: string[]) => runCliCaptured(args, { env: { PMGRANTS_DATABASE_URL: dbUrl }, cwd: dir });

/** The database's security as the superuser sees it: roles, memberships, and every privilege on its objects. */
async function security() {
  const q = async (sql: string) => (await admin.query(sql)).rows;
  return {
    roles: await q(
      `SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolpassword, shobj_description(oid, 'pg_authid') AS comment
       FROM pg_authid WHERE rolname !~ '^pg_' ORDER BY 1`,
    ),
    members: (await q(`SELECT r.rolname AS role, m.rolname AS member FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE r.rolname !~ '^pg_'`)).sort((a, b) =>
      `${a.role} ${a.member}`.localeCompare(`${b.role} ${b.member}`),
    ),
    schemas: await q(`SELECT nspname, nspowner::regrole::text AS owner, nspacl::text AS acl FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1`),
    objects: await q(
      `SELECT n.nspname, c.relname, c.relkind, c.relowner::regrole::text AS owner, c.relacl::text AS acl, (SELECT array_agg(a.attname || '=' || a.attacl::text ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL) AS columns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('p2p', 'o2c', 'public') ORDER BY 1, 2`,
    ),
    defaults: await q(`SELECT defaclrole::regrole::text AS role, defaclnamespace::regnamespace::text AS schema, defaclobjtype, defaclacl::text AS acl FROM pg_default_acl ORDER BY 1, 2, 3`),
    database: await q(`SELECT datacl::text AS acl FROM pg_database WHERE datname = current_database()`),
  };
}

beforeAll(async () => {
  if (unavailable) return;
  pg = await startTestServer();
  dbUrl = await pg.createDatabase('adopt_wh');
  admin = await pg.connect(dbUrl);
  await admin.query(HAND_MADE);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-export-'));
}, 60_000);

afterAll(async () => {
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

scenario('pmgrants export of a hand-made PostgreSQL warehouse', (s) => {
  let text: string;
  const file = () => path.join(dir, 'adopted.yaml');

  s.step('writes a policy adopting the owner, the roles and their members, and says what it could not express', async () => {
    const r = await cli(['export', '--engine', 'postgres', '-o', 'adopted.yaml']);
    expect(r.err).toBe('exported 2 apps, 3 personas and 4 principals from adopt_wh to adopted.yaml; 5 things not expressed (see the comments); planned against the same database: no changes\n');
    expect(r.code).toBe(0);
    text = fs.readFileSync(file(), 'utf8');
    expect(text.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=.*schemas\/policy\.schema\.json$/);
    // The table-level and the column grant are comments, as are the USAGE-only holders they leave.
    const comments = text.replace(/\n# {5}/g, ' '); // a long note continues on lines indented under its dash
    expect(comments).toContain('#   - auditor has USAGE on schema p2p but no schema-wide right on its objects');
    expect(comments).toContain('#   - auditor has SELECT on p2p.invoices only (1 of 3 tables and views): an object-level grant, which no persona expresses');
    expect(comments).toContain('#   - hr has SELECT (id) on p2p.suppliers: a column grant, which no persona expresses');
    expect(comments).toContain('#   - hr has SELECT (name) on p2p.suppliers: a column grant, which no persona expresses');
    expect(text).toContain('# Planned against adopt_wh right after export: no changes.');
    const body = text
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
    expect(body).toBe(`apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: adopt_wh }
security: { mode: system_managed }
options: { enforcement: additive, builtinPersonas: false }
principals:
  alice:    { kind: sql-login }
  analysts: { kind: database-role }
  bob:      { kind: sql-login }
  carol:    { kind: sql-login, name: Carol }
personas:
  o2c_readers: { scope: app, rights: [select], description: "adopted from role o2c_readers" }
  p2p_editors: { scope: app, rights: [select, insert, update, delete], description: "adopted from role p2p_editors" }
  p2p_readers: { scope: app, rights: [select], description: "adopted from role p2p_readers" }
apps:
  o2c:
    schema: o2c
    personas: [o2c_readers]
    roles: { owner: etl, app: etl, o2c_readers: o2c_readers }
  p2p:
    schema: p2p
    personas: [p2p_editors, p2p_readers]
    roles: { owner: etl, app: etl, p2p_editors: p2p_editors, p2p_readers: p2p_readers }
grants:
  - { persona: o2c_readers, to: [analysts, carol], apps: [o2c] }
  - { persona: p2p_editors, to: [bob], apps: [p2p] }
  - { persona: p2p_readers, to: [alice, analysts], apps: [p2p] }
`);
  });

  s.step('the exported policy validates', async () => {
    const r = await cli(['validate', file()]);
    expect(r.code).toBe(0);
    expect(loadPolicy(file()).diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
  });

  s.step('planned against the same database it makes zero changes (detailed exit code 0)', async () => {
    const r = await cli(['plan', file(), '--detailed-exitcode']);
    expect(r.out).toContain('No changes. adopt_wh matches the policy.');
    expect(r.code).toBe(0);
  });

  s.step('adding a grant to the exported policy plans exactly that membership, and apply touches nothing else', async () => {
    fs.writeFileSync(file(), text.replace('to: [bob]', 'to: [alice, bob]'));
    const plan = await cli(['plan', file(), '--format', 'json']);
    const doc = JSON.parse(plan.out) as { changes: { description: string }[] };
    expect(doc.changes.map((c) => c.description)).toEqual(['member alice of p2p_editors']);
    const before = await security();
    expect((await cli(['apply', file(), '--yes'])).code).toBe(0);
    const after = await security();
    // Exactly one membership more; roles (their attributes, passwords and comments), every other
    // membership, and the schema, table, default and database privileges as they were.
    expect(after.members).toEqual([...before.members, { role: 'p2p_editors', member: 'alice' }].sort((a, b) => `${a.role} ${a.member}`.localeCompare(`${b.role} ${b.member}`)));
    expect({ ...after, members: [] }).toEqual({ ...before, members: [] });
    expect((await cli(['plan', file(), '--detailed-exitcode'])).code).toBe(0);
  });

  s.step('rotate refuses the adopted login: its password is not pmgrants\' to replace', async () => {
    const one = await cli(['rotate', file(), 'p2p', '--yes']);
    expect(one.err).toBe('pmgrants: app "p2p" runs as the adopted login etl, whose password pmgrants does not manage; rotate it where it is managed\n');
    expect(one.code).toBe(2);
    const all = await cli(['rotate', file(), '--all', '--yes']);
    expect(all.err).toBe('pmgrants: every app runs as an adopted login; pmgrants manages no password to rotate\n');
    expect(all.code).toBe(2);
  });

  s.step('--schemas limits the apps; an unknown schema and an existing output file are one sentence each', async () => {
    const one = await cli(['export', '--engine', 'postgres', '--schemas', 'o2c']);
    expect(one.code).toBe(0);
    expect(one.out).toContain('  o2c:\n');
    expect(one.out).not.toContain('  p2p:\n');
    expect(one.err).toMatch(/exported 1 app, 1 persona and 2 principals from adopt_wh; 0 things not expressed/);
    const unknown = await cli(['export', '--engine', 'postgres', '--schemas', 'o2c,nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe('pmgrants: database adopt_wh has no schema "nope" (it has: o2c, p2p, public)\n');
    const exists = await cli(['export', '--engine', 'postgres', '-o', 'adopted.yaml']);
    expect(exists.code).toBe(2);
    expect(exists.err).toBe('pmgrants: adopted.yaml exists; pass --force to overwrite it\n');
  });
}, suite);
