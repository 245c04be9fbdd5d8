#!/usr/bin/env node
/**
 * docs/report.png: the HTML access report of the demo's database, with the drift a DBA might leave by
 * hand (an unmanaged reader, an extra grant to a persona role, a revoked one, a NOINHERIT login), shown
 * in headless Chromium with one path opened. Run after `npm run build`; needs Debian's chromium.
 *   node scripts/report-screenshot.cjs [out.png]
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dist = (m) => require(path.join(root, 'dist', 'provider', m));
const { startLocalPostgres, connectPostgres } = dist('engines/postgres');
const { planLive, applyRendered } = dist('engines/session');
const { loadPolicy } = dist('policy/load');
const { compilePolicy } = dist('model/compile');
const { buildReport } = dist('report/compute');
const { formatReportHtml } = dist('report/html');
const { Client } = require('pg');

async function main() {
  const out = path.resolve(process.argv[2] ?? path.join(root, 'docs', 'report.png'));
  process.chdir(root);
  const loaded = loadPolicy('examples/uipath-system-managed.yaml').policy;
  const policy = { ...loaded, warehouse: { ...loaded.warehouse, engine: 'postgres', database: 'pmgrants_demo' } };
  const server = await startLocalPostgres({});
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-shot-'));
  try {
    const admin = new Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE pmgrants_demo');
    await admin.end();
    const url = new URL(server.url);
    url.pathname = '/pmgrants_demo';
    const conn = await connectPostgres(url.toString());
    await applyRendered(conn, await planLive(conn, policy));
    const db = new Client({ connectionString: url.toString() });
    await db.connect();
    const desired = compilePolicy(policy, { now: new Date() });
    for (const s of desired.schemas) await db.query(`SET ROLE "${s.owner}"; CREATE TABLE "${s.name}".cases (case_id int primary key, amount numeric); RESET ROLE`);
    await db.query('CREATE ROLE bi_reader LOGIN; GRANT USAGE ON SCHEMA o2c TO bi_reader; GRANT SELECT ON o2c.cases TO bi_reader');
    await db.query('GRANT INSERT, UPDATE ON p2p.cases TO "pmg_purchase-to-pay_data_consumer"');
    await db.query('REVOKE SELECT ON invoices.cases FROM "pmg_invoice-handling_data_consumer"');
    await db.query('CREATE ROLE contractor LOGIN NOINHERIT; GRANT "PM_Sales_Ops" TO contractor');
    await db.end();
    const report = buildReport(await conn.readAccess(desired), { desired, policy, policyFile: 'examples/uipath-system-managed.yaml', asOf: 'Q4 2026 access review', now: new Date() });
    await conn.close();
    const html = path.join(work, 'report.html');
    fs.writeFileSync(html, formatReportHtml(report));
    const shown = report.cells.findIndex((c) => c.principal === 'contractor' && c.right === 'select');
    execFileSync('chromium', [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${path.join(work, 'profile')}`, '--hide-scrollbars',
      `--screenshot=${out}`, '--window-size=1400,1250', `file://${html}#show=${shown}`,
    ], { stdio: 'ignore' });
    console.log(`${out}: ${JSON.stringify(report.summary.cells)}`);
  } finally {
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exitCode = 1;
});
