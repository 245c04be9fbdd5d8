/**
 * pmgrants export of personal data on a real PostgreSQL: the masks of pmgrants' masked views become
 * apps.<app>.personalData again, and the roles reading the companion schemas personas that see
 * personal data masked or hidden. Two warehouses: one whose roles a DBA made and a policy adopted
 * (the export adopts them again, and plans to no changes), and the IBM example (its roles are
 * pmgrants' own, so only the personal columns come back). Commands run in-process through runCli.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { Client } from 'pg';
import { runCliCaptured } from '../support/cli';
import { loadPolicy } from '../../provider/policy/load';
import { columnMask, personalColumnRules } from '../../provider/model/masking';
import { postgresUnavailableReason, startTestServer, TestServer } from '../support/pg';
import { scenario } from '../support/scenario';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the personal-data export end-to-end tests: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

let pg: TestServer;
let dir: string;

beforeAll(async () => {
  if (unavailable) return;
  pg = await startTestServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-export-personal-'));
}, 60_000);

afterAll(async () => {
  await pg?.closeAll();
  await pg?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const cliOn = (url: () => string) => (args: string[]) => runCliCaptured(args, { env: { PMGRANTS_DATABASE_URL: url() }, cwd: dir });

/** The policy's lines without the header comments. */
const body = (text: string) =>
  text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');

/** The notes of an exported policy, one per item (a long note continues on lines indented under its dash). */
const notesOf = (text: string) =>
  text
    .replace(/\n# {5}/g, ' ')
    .split('\n')
    .filter((l) => l.startsWith('#   - '))
    .map((l) => l.slice('#   - '.length));

/** Every masked column of the live tables of `schemas`, with its mask under `rules` of each app: `schema.table.column mask-json`. */
async function maskedColumns(admin: Client, apps: Record<string, { schema: string; personalData?: { columns?: Record<string, unknown> } }>): Promise<string[]> {
  const out: string[] = [];
  for (const app of Object.values(apps)) {
    const rules = personalColumnRules(app.personalData as Parameters<typeof personalColumnRules>[0]);
    const { rows } = await admin.query(
      `SELECT c.relname AS t, a.attname AS c FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
       WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2`,
      [app.schema],
    );
    for (const r of rows) {
      const mask = columnMask(rules, r.t, r.c);
      if (mask) out.push(`${app.schema}.${r.t}.${r.c} ${JSON.stringify(mask)}`);
    }
  }
  return out.sort();
}

// ---------------------------------------------------------------------------------------------------
// A warehouse whose roles a DBA made, adopted by a policy with personal columns.

const ADOPTED_DB = 'pd_adopted';

const HAND_MADE = `
CREATE ROLE etl LOGIN PASSWORD 'etl-Passw0rd';
CREATE ROLE p2p_admins NOLOGIN;
CREATE ROLE p2p_consumers NOLOGIN;
CREATE ROLE p2p_auditors NOLOGIN;
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE carol LOGIN;
CREATE SCHEMA p2p AUTHORIZATION etl;
SET ROLE etl;
CREATE TABLE p2p.cases (id int PRIMARY KEY, user_name text, birth_date date, amount numeric);
CREATE TABLE p2p.vendors (id int PRIMARY KEY, user_name text, contact_email text, contact_name text, phone text, iban text);
CREATE TABLE p2p.events (case_id int, activity text, at timestamptz);
RESET ROLE;
GRANT p2p_admins TO alice;
GRANT p2p_consumers TO bob;
GRANT p2p_auditors TO carol;
`;

const ADOPTING_POLICY = `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: ${ADOPTED_DB} }
security: { mode: system_managed }
options: { prefix: pa_, enforcement: additive, builtinPersonas: false }
principals:
  alice: { kind: sql-login }
  bob:   { kind: sql-login }
  carol: { kind: sql-login }
personas:
  admins:    { rights: [select, insert, update, delete], personalData: clear }
  consumers: { rights: [select], personalData: masked }
  auditors:  { rights: [select], personalData: hidden }
apps:
  p2p:
    schema: p2p
    personas: [admins, auditors, consumers]
    roles: { owner: etl, app: etl, admins: p2p_admins, auditors: p2p_auditors, consumers: p2p_consumers }
    personalData:
      columns:
        "*.user_name": pseudonym
        "vendors.contact_*": redact
        "vendors.phone": { mask: partial, first: 2, last: 2 }
        "vendors.iban": { mask: redact, text: "[iban]" }
        "cases.birth_date": nullify
grants:
  - { persona: admins, to: [alice], apps: [p2p] }
  - { persona: auditors, to: [carol], apps: [p2p] }
  - { persona: consumers, to: [bob], apps: [p2p] }
`;

let adoptedUrl = '';
const adopted = cliOn(() => adoptedUrl);

scenario(
  'pmgrants export of a PostgreSQL warehouse with masked views, on roles a DBA made',
  (s) => {
    let admin: Client;
    const policyFile = () => path.join(dir, 'adopting.yaml');
    const exported = () => path.join(dir, 'adopted-again.yaml');
    let text: string;

    s.step('a policy adopting the hand-made roles masks the personal columns of the tables there', async () => {
      adoptedUrl = await pg.createDatabase(ADOPTED_DB);
      admin = await pg.connect(adoptedUrl);
      await admin.query(HAND_MADE);
      fs.writeFileSync(policyFile(), ADOPTING_POLICY);
      const applied = await adopted(['apply', policyFile(), '--yes', '--secrets-file', path.join(dir, 'adopted-secrets.json')]);
      expect(applied.code, applied.out + applied.err).toBe(0);
      expect(applied.out).toContain('+ masked view p2p_masked.vendors');
      expect(applied.out).toContain('+ masked view p2p_hidden.cases');
      expect((await adopted(['plan', policyFile(), '--detailed-exitcode'])).code).toBe(0);
    }, 120_000);

    s.step('export declares the same personal columns with the same masks, and the personas that read them masked or hidden', async () => {
      // Without --prefix, the export says which prefix keeps the masking owner and its key.
      const unprefixed = await adopted(['export', '--engine', 'postgres']);
      expect(notesOf(unprefixed.out)).toContain(
        'pa_masker owns the masked views, but with prefix pmg_ the policy\'s masking owner is pmg_masker: export with --prefix pa_ (else the first apply makes pmg_masker and another pseudonym key, pmg_masking, and remakes every masked view with new pseudonyms)',
      );
      expect(unprefixed.out).toContain("#   ~ masked view p2p_masked.cases");
      const r = await adopted(['export', '--engine', 'postgres', '--prefix', 'pa_', '-o', exported()]);
      expect(r.code, r.err).toBe(0);
      text = fs.readFileSync(exported(), 'utf8');
      expect(r.err, text).toBe(`exported 1 app, 3 personas and 3 principals from ${ADOPTED_DB} to ${exported()}; 4 things not expressed (see the comments); planned against the same database: no changes\n`);
      expect(body(text)).toBe(`apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: ${ADOPTED_DB} }
security: { mode: system_managed }
options: { prefix: pa_, enforcement: additive, builtinPersonas: false }
principals:
  alice: { kind: sql-login }
  bob:   { kind: sql-login }
  carol: { kind: sql-login }
personas:
  p2p_admins: { scope: app, rights: [select, insert, update, delete], personalData: clear, description: "adopted from role p2p_admins" }
  p2p_auditors: { scope: app, rights: [select], personalData: hidden, description: "adopted from role p2p_auditors" }
  p2p_consumers: { scope: app, rights: [select], personalData: masked, description: "adopted from role p2p_consumers" }
apps:
  p2p:
    schema: p2p
    personas: [p2p_admins, p2p_auditors, p2p_consumers]
    roles: { owner: etl, app: etl, p2p_admins: p2p_admins, p2p_auditors: p2p_auditors, p2p_consumers: p2p_consumers }
    personalData:
      columns:
        "cases.birth_date": nullify
        "cases.user_name": pseudonym
        "vendors.contact_email": redact
        "vendors.contact_name": redact
        "vendors.iban": { mask: redact, text: "[iban]" }
        "vendors.phone": { mask: partial, first: 2, last: 2 }
        "vendors.user_name": pseudonym
grants:
  - { persona: p2p_admins, to: [alice], apps: [p2p] }
  - { persona: p2p_auditors, to: [carol], apps: [p2p] }
  - { persona: p2p_consumers, to: [bob], apps: [p2p] }
`);
      expect(notesOf(text)).toContain(
        "schema p2p_masked (owned by pa_masker) holds pmgrants' masked views or pseudonym key for personal data, not an app: the masks its views record are the personal columns of schema p2p, and the roles reading it see them masked",
      );
      const original = loadPolicy(policyFile()).policy!;
      const again = loadPolicy(exported()).policy!;
      expect(await maskedColumns(admin, again.apps)).toEqual(await maskedColumns(admin, original.apps));
      expect(await maskedColumns(admin, again.apps)).toHaveLength(7);
    }, 60_000);

    s.step('the exported policy validates, and planned against the same database it changes nothing (no masked view remade or dropped)', async () => {
      const v = await adopted(['validate', exported()]);
      expect(v.code, v.out + v.err).toBe(0);
      expect(loadPolicy(exported()).diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
      const plan = await adopted(['plan', exported(), '--detailed-exitcode']);
      expect(plan.out).toContain(`No changes. ${ADOPTED_DB} matches the policy.`);
      expect(plan.code).toBe(0);
    }, 60_000);

    s.step('a table made afterwards: the exported policy masks it as the original would (the exact patterns name no new table), and says so in the plan', async () => {
      await admin.query('SET ROLE etl; CREATE TABLE p2p.contacts (id int, user_name text); RESET ROLE');
      const original = await adopted(['plan', policyFile(), '--format', 'json']);
      const again = await adopted(['plan', exported(), '--format', 'json']);
      const descriptions = (out: string) => (JSON.parse(out) as { changes: { description: string }[] }).changes.map((c) => c.description).sort();
      // The original's "*.user_name" masks the new table's column; the exported exact patterns do not
      // name it, so its views show it in clear: the plan says how many personal columns each view masks.
      expect(descriptions(original.out)).toEqual([
        'masked view p2p_hidden.contacts (new table p2p.contacts: 1 personal column to hide)',
        'masked view p2p_masked.contacts (new table p2p.contacts: 1 personal column to mask)',
      ]);
      expect(descriptions(again.out)).toEqual([
        'masked view p2p_hidden.contacts (new table p2p.contacts: no personal columns)',
        'masked view p2p_masked.contacts (new table p2p.contacts: no personal columns)',
      ]);
    }, 60_000);
  },
  suite,
);

// ---------------------------------------------------------------------------------------------------
// The IBM example, applied by pmgrants, its tables made by the apps' logins.

const IBM_DB = 'ibm_claims';
let ibmUrl = '';
const ibm = cliOn(() => ibmUrl);

scenario(
  'pmgrants export of the IBM personal-data example',
  (s) => {
    let admin: Client;
    const example = path.join(__dirname, '..', '..', 'examples', 'ibm-personal-data.yaml');
    const exported = () => path.join(dir, 'ibm-exported.yaml');
    let text: string;

    s.step('the example applied, its tables made, and applied again: every table has its masked and hidden views', async () => {
      ibmUrl = await pg.createDatabase(IBM_DB);
      admin = await pg.connect(ibmUrl);
      const secrets = path.join(dir, 'ibm-secrets.json');
      const first = await ibm(['apply', example, '--yes', '--secrets-file', secrets]);
      expect(first.code, first.out + first.err).toBe(0);
      await admin.query(`
        SET ROLE pmg_claims_app;
        CREATE TABLE claims.events (case_id int, activity text, resource text, claimant_id int, at timestamptz);
        CREATE TABLE claims.claimants (claimant_id int, name text, email text, birth_date date, city text);
        SET ROLE pmg_invoices_app;
        CREATE TABLE p2p_invoices.events (case_id int, activity text, resource text);
        CREATE TABLE p2p_invoices.vendors (id int, name text, contact_name text, contact_phone text, iban text);
        RESET ROLE;`);
      const second = await ibm(['apply', example, '--yes', '--secrets-file', secrets]);
      expect(second.code, second.out + second.err).toBe(0);
      expect(second.out).toContain('+ masked view claims_masked.claimants');
      expect((await ibm(['plan', example, '--detailed-exitcode'])).code).toBe(0);
    }, 120_000);

    s.step('export declares the same personal columns with the same masks, as exact patterns', async () => {
      const r = await ibm(['export', '--engine', 'postgres', '-o', exported()]);
      expect(r.code, r.err).toBe(0);
      text = fs.readFileSync(exported(), 'utf8');
      const again = loadPolicy(exported()).policy!;
      expect(again.apps.claims.personalData).toEqual({
        columns: {
          'claimants.birth_date': 'nullify',
          'claimants.claimant_id': 'pseudonym',
          'claimants.email': { mask: 'partial', first: 1, last: 0 },
          'claimants.name': 'redact',
          'events.claimant_id': 'pseudonym',
          'events.resource': 'pseudonym',
        },
      });
      expect(again.apps.p2p_invoices.personalData).toEqual({
        columns: {
          'events.resource': 'pseudonym',
          'vendors.contact_name': 'redact',
          'vendors.contact_phone': 'redact',
          'vendors.iban': { mask: 'partial', first: 4, last: 2 },
        },
      });
      const original = loadPolicy(example).policy!;
      const byApp = (p: typeof original) => Object.fromEntries(Object.values(p.apps).map((a) => [a.schema, a]));
      expect(await maskedColumns(admin, byApp(again))).toEqual(await maskedColumns(admin, byApp(original)));
      // The personas are pmgrants' own roles (pmg_claims_data_consumer, ...): not adopted, and said so.
      expect(Object.keys(again.personas ?? {})).toEqual([]);
      expect(notesOf(text).some((n) => n.startsWith('pmg_claims_data_consumer: not adopted (managed by pmgrants); its rights stay as they are (claims_masked: select)'))).toBe(true);
    }, 60_000);

    s.step('the exported policy validates, and its plan against the same database drops no masked view', async () => {
      const v = await ibm(['validate', exported()]);
      expect(v.code, v.out + v.err).toBe(0);
      const plan = await ibm(['plan', exported(), '--format', 'json']);
      expect(plan.code, plan.err).toBe(0);
      const changes = (JSON.parse(plan.out) as { changes: { kind: string; description: string }[] }).changes;
      expect(changes.filter((c) => /masked-view|masking/.test(c.kind))).toEqual([]);
      expect(changes.filter((c) => /^(drop|revoke)/.test(c.kind))).toEqual([]);
      const { rows } = await admin.query("SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE '%\\_masked' OR n.nspname LIKE '%\\_hidden'");
      expect(rows[0].n).toBe(8);
    }, 60_000);
  },
  suite,
);
