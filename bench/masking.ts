/**
 * What personal data costs, on PostgreSQL:
 *
 * 1. inspect and plan of a converged warehouse of `--apps` apps (1,000) with `--tables` tables (20) of
 *    `--columns` columns (30) each, two of them personal in every table (a pseudonym and a redaction),
 *    against the same warehouse and policy without personal data: the ratio of the no-op plan's medians;
 * 2. a masked read against a clear one: `SELECT *` of a table of `--rows` rows (100,000) through its
 *    masked view, as a data consumer, against the same query on the table, as a process admin.
 *
 * One fresh cluster per warehouse. Medians of `--reps` (5) runs; one run on a noisy machine: read the
 * ratios. Results: bench/results/masking-latest.{json,md}.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { connectPostgres, LocalPostgres, startLocalPostgres } from '../provider/engines/postgres';
import { quoteIdent } from '../provider/engines/postgres/quote';
import { EngineConnection } from '../provider/engines/engine';
import { Policy } from '../provider/model/types';
import { loadPolicy } from '../provider/policy/load';
import { applyRendered, planLive } from '../provider/pipeline/plan';
import { databaseUrl } from './fixture';
import { generatePolicy, standardSize } from './generate';
import { machineInfo } from './machine';
import { formatMs, median } from './stats';

interface Options {
  apps: number;
  tables: number;
  columns: number;
  rows: number;
  reps: number;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { apps: 1000, tables: 20, columns: 30, rows: 100_000, reps: 5, out: path.join(__dirname, '..', '..', 'bench', 'results') };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const key = flag.replace(/^--/, '') as keyof Options;
    if (!(key in o)) throw new Error(`unknown option ${flag} (--apps --tables --columns --rows --reps --out)`);
    (o as unknown as Record<string, unknown>)[key] = key === 'out' ? value : Number(value);
  }
  if (o.columns < 4) throw new Error('--columns must be at least 4');
  return o;
}

const log = (text: string) => process.stderr.write(`${text}\n`);

/**
 * The first apply with personal data makes one masked view per table in one transaction, two locks each:
 * 20,000 views need about 40,000 slots of the lock table (max_locks_per_transaction x max_connections,
 * 64 x 100 by default), so on a default server it fails with "out of shared memory" (docs/postgres.md).
 * The bench's servers get 512 (51,200 slots); the plain warehouse is measured with the same setting.
 */
const LOCKS_PER_TRANSACTION = 512;

/** Column names of a table: id, case_id, user_name (personal), email (personal), then c5, c6, ... */
function columnsOf(count: number): string[] {
  return ['id', 'case_id', 'user_name', 'email', ...Array.from({ length: count - 4 }, (_, i) => `c${i + 5}`)];
}

/** A fresh cluster with one database of `apps` schemas of `tables` tables of `columns` text columns. */
async function startBigWarehouse(database: string, apps: readonly string[], o: Options): Promise<{ server: LocalPostgres; url: string }> {
  const server = await startLocalPostgres({ settings: { max_locks_per_transaction: String(LOCKS_PER_TRANSACTION) } });
  const admin = new Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${quoteIdent(database)}`);
  await admin.end();
  const url = databaseUrl(server.url, database);
  const c = new Client({ connectionString: url });
  await c.connect();
  const cols = columnsOf(o.columns).map((n, i) => `${quoteIdent(n)} ${i === 0 ? 'bigint' : 'text'}`).join(', ');
  for (let i = 0; i < apps.length; i += 20) {
    const sql = apps.slice(i, i + 20).flatMap((s) => [`CREATE SCHEMA ${quoteIdent(s)}`, ...Array.from({ length: o.tables }, (_, t) => `CREATE TABLE ${quoteIdent(s)}.t${t + 1} (${cols})`)]);
    await c.query(`BEGIN;\n${sql.join(';\n')};\nCOMMIT`);
    if (i % 200 === 0) log(`  ${i + 20} of ${apps.length} schemas`);
  }
  await c.end();
  return { server, url };
}

function withPersonalData(policy: Policy): Policy {
  const copy = structuredClone(policy) as Policy & { apps: Record<string, Record<string, unknown>> };
  for (const app of Object.values(copy.apps)) app.personalData = { columns: { '*.user_name': 'pseudonym', '*.email': 'redact' } };
  return copy;
}

/** Medians of the converged warehouse's no-op plan (inspect, diff, render) and of its inspect's round trips. */
async function noopPlan(conn: EngineConnection, policy: Policy, reps: number): Promise<{ ms: number; samples: number[]; changes: number }> {
  const samples: number[] = [];
  let changes = 0;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const rendered = await planLive(conn, policy);
    samples.push(performance.now() - t);
    changes = rendered.plan.changes.length;
  }
  return { ms: median(samples), samples: samples.map((s) => Math.round(s)), changes };
}

async function measureWarehouse(
  label: string,
  policy: Policy,
  apps: readonly string[],
  o: Options,
  expectViews: number,
): Promise<{ firstApplyMs: number; views: number; noop: { ms: number; samples: number[]; changes: number } }> {
  log(`${label}: ${apps.length} schemas x ${o.tables} tables x ${o.columns} columns`);
  const wh = await startBigWarehouse(policy.warehouse.database, apps, o);
  const conn = await connectPostgres(wh.url);
  try {
    const t = performance.now();
    await applyRendered(conn, await planLive(conn, policy));
    const firstApplyMs = performance.now() - t;
    log(`  first apply ${formatMs(firstApplyMs)}`);
    const analyze = new Client({ connectionString: wh.url });
    await analyze.connect();
    await analyze.query('ANALYZE');
    // What was measured is what it claims: one masked view per table with personal data, none without.
    const views = Number((await analyze.query(`SELECT count(*) AS n FROM pg_catalog.pg_views WHERE schemaname LIKE '%\\_masked'`)).rows[0].n);
    await analyze.end();
    if (views !== expectViews) throw new Error(`${label}: ${views} masked views, expected ${expectViews}`);
    const noop = await noopPlan(conn, policy, o.reps);
    log(`  no-op plan ${formatMs(noop.ms)} (median of ${o.reps}), ${noop.changes} changes`);
    return { firstApplyMs, views, noop };
  } finally {
    await conn.close();
    await wh.server.stop();
  }
}

/** The masked read against the clear one, on one table of `rows` rows: medians of SELECT * through each. */
async function measureReads(o: Options): Promise<{ clearMs: number; maskedMs: number; clear: number[]; masked: number[] }> {
  const yaml = `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: reads }
security: { mode: system_managed }
principals:
  consumer: { kind: sql-login, name: consumer }
  admin: { kind: sql-login, name: admin }
apps:
  p2p:
    schema: p2p
    source: closed
    personalData:
      columns: { "*.user_name": pseudonym, "*.email": redact }
grants:
  - { persona: data_consumer, to: [consumer], apps: [p2p] }
  - { persona: process_admin, to: [admin], apps: [p2p] }
`;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-bench-masking-')), 'policy.yaml');
  fs.writeFileSync(file, yaml);
  const policy = loadPolicy(file).policy!;
  const wh = await startBigWarehouse('reads', ['p2p'], { ...o, tables: 1 });
  const c = new Client({ connectionString: wh.url });
  await c.connect();
  try {
    const cols = columnsOf(o.columns);
    await c.query(
      `INSERT INTO p2p.t1 SELECT n, 'case-' || (n % 5000), 'user-' || (n % 300), 'user' || (n % 300) || '@example.com', ${cols
        .slice(4)
        .map(() => `md5(n::text)`)
        .join(', ')} FROM generate_series(1, ${o.rows}) n`,
    );
    const conn = await connectPostgres(wh.url);
    try {
      await applyRendered(conn, await planLive(conn, policy));
    } finally {
      await conn.close();
    }
    // The policy's sql-login principals exist now; the bench signs in as them.
    await c.query(`ALTER ROLE consumer PASSWORD 'bench-consumer'; ALTER ROLE admin PASSWORD 'bench-admin'; ANALYZE`);
    const as = async (user: string, password: string, sql: string) => {
      const u = new URL(wh.url);
      u.username = user;
      u.password = password;
      const client = new Client({ connectionString: u.toString() });
      await client.connect();
      const samples: number[] = [];
      try {
        await client.query(sql); // warm
        for (let i = 0; i < o.reps; i++) {
          const t = performance.now();
          await client.query(sql);
          samples.push(performance.now() - t);
        }
      } finally {
        await client.end();
      }
      return samples;
    };
    const clear = await as('admin', 'bench-admin', 'SELECT * FROM p2p.t1');
    const masked = await as('consumer', 'bench-consumer', 'SELECT * FROM p2p_masked.t1');
    // The consumer read pseudonyms and redactions, not the clear values.
    const sample = await c.query(`SELECT user_name, email FROM p2p_masked.t1 LIMIT 1`);
    if (!/^u_[0-9a-f]{16}$/.test(String(sample.rows[0].user_name)) || String(sample.rows[0].email).includes('@')) throw new Error(`the masked view reads ${JSON.stringify(sample.rows[0])}`);
    return { clearMs: median(clear), maskedMs: median(masked), clear: clear.map((s) => Math.round(s)), masked: masked.map((s) => Math.round(s)) };
  } finally {
    await c.end();
    await wh.server.stop();
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const g = generatePolicy(standardSize(o.apps));
  const plain = await measureWarehouse('without personal data', g.policy, g.apps, o, 0);
  const personal = await measureWarehouse('with personal data', withPersonalData(g.policy), g.apps, o, o.apps * o.tables);
  log(`masked read: ${o.rows} rows, ${o.columns} columns`);
  const reads = await measureReads(o);
  const results = {
    machine: machineInfo(),
    options: o,
    plain,
    personal,
    ratios: { noopPlan: personal.noop.ms / plain.noop.ms, firstApply: personal.firstApplyMs / plain.firstApplyMs, maskedRead: reads.maskedMs / reads.clearMs },
    reads,
  };
  const md = [
    `# Personal data on PostgreSQL: what it costs`,
    '',
    `Generated by \`npm run bench:masking\`; one run on a ${results.machine.cores}-core machine (${results.machine.commit ?? 'uncommitted'}); medians of ${o.reps}; max_locks_per_transaction ${LOCKS_PER_TRANSACTION} (the default 64 cannot hold the first apply's ${o.apps * o.tables} masked views).`,
    '',
    `| ${o.apps} apps x ${o.tables} tables x ${o.columns} columns | without personal data | with 2 personal columns per table | ratio |`,
    '| --- | ---: | ---: | ---: |',
    `| first apply | ${formatMs(plain.firstApplyMs)} | ${formatMs(personal.firstApplyMs)} | ${results.ratios.firstApply.toFixed(2)} |`,
    `| plan of the converged warehouse (inspect, diff, render) | ${formatMs(plain.noop.ms)} | ${formatMs(personal.noop.ms)} | ${results.ratios.noopPlan.toFixed(2)} |`,
    '',
    `| SELECT * of ${o.rows.toLocaleString('en')} rows, ${o.columns} columns | clear (process admin, the table) | masked (data consumer, the view) | ratio |`,
    '| --- | ---: | ---: | ---: |',
    `| median | ${formatMs(reads.clearMs)} | ${formatMs(reads.maskedMs)} | ${results.ratios.maskedRead.toFixed(2)} |`,
    '',
  ].join('\n');
  fs.mkdirSync(o.out, { recursive: true });
  fs.writeFileSync(path.join(o.out, 'masking-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(o.out, 'masking-latest.md'), md);
  process.stdout.write(md);
}

main().catch((e: unknown) => {
  process.stderr.write(`masking bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
