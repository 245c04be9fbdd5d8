/**
 * Readers during an apply: how long dashboard-style queries take while pmgrants applies to the warehouse
 * they read, against the same readers with no apply running. Two phases on one fresh cluster:
 *
 * 1. the first apply of a policy of `--apps` apps (1,000 by default): readers count the rows of random
 *    apps' tables (grants take no table lock, so they should not notice);
 * 2. the removal of `--remove` apps (100) whose login owns their tables (an app's transformations made
 *    them): the apply's REASSIGN OWNED takes ACCESS EXCLUSIVE on each, so readers of those tables wait
 *    for it: at most the lock timeout while it waits, then until its commit.
 *
 * `--readers` sessions (8) run in a worker thread of their own, so the apply's work in this process
 * never delays their clock. Each phase is compared with a window of the same length and the same
 * readers, no apply running. Results: bench/results/busy-latest.{json,md}. Medians and p99 of single
 * queries; one run, a noisy machine: read the ratios, not the milliseconds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Client } from 'pg';
import { connectPostgres } from '../provider/engines/postgres';
import { quoteIdent } from '../provider/engines/postgres/quote';
import { compilePolicy } from '../provider/model/compile';
import { Policy } from '../provider/model/types';
import { applyRendered, planLive } from '../provider/pipeline/plan';
import { startWarehouse } from './fixture';
import { generatePolicy, standardSize } from './generate';
import { machineInfo } from './machine';
import { formatMs } from './stats';

interface Options {
  apps: number;
  remove: number;
  readers: number;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { apps: 1000, remove: 100, readers: 8, out: path.join(__dirname, '..', '..', 'bench', 'results') };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--apps') o.apps = Number(value);
    else if (flag === '--remove') o.remove = Number(value);
    else if (flag === '--readers') o.readers = Number(value);
    else if (flag === '--out') o.out = value;
    else throw new Error(`unknown option ${flag} (--apps N --remove N --readers N --out DIR)`);
    i++;
  }
  if (!(o.remove > 0 && o.remove < o.apps)) throw new Error('--remove must be between 0 and --apps');
  return o;
}

/** The readers' thread: each session counts the rows of a random table of `tables`, 10 ms apart, until told to stop; it posts every query's latency. */
const READERS = `
const { parentPort, workerData } = require('node:worker_threads');
const { Client } = require(workerData.pg);
let running = true;
parentPort.on('message', (m) => { if (m === 'stop') running = false; });
(async () => {
  const clients = await Promise.all(Array.from({ length: workerData.readers }, async () => {
    const c = new Client({ connectionString: workerData.url, application_name: 'bench-reader' });
    await c.connect();
    return c;
  }));
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const samples = [];
  await Promise.all(clients.map(async (c) => {
    while (running) {
      const table = workerData.tables[Math.floor(random() * workerData.tables.length)];
      const t = performance.now();
      await c.query('SELECT count(*) FROM ' + table);
      samples.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 10));
    }
  }));
  await Promise.all(clients.map((c) => c.end()));
  parentPort.postMessage(samples);
})().catch((e) => parentPort.postMessage({ error: String(e) }));
`;

/** Run the readers while `work` runs (or for `ms` when there is no work): the latencies they saw. */
async function withReaders(url: string, tables: string[], readers: number, work: (() => Promise<unknown>) | number): Promise<{ samples: number[]; ms: number }> {
  const worker = new Worker(READERS, { eval: true, workerData: { url, tables, readers, pg: require.resolve('pg') } });
  const result = new Promise<number[]>((resolve, reject) => {
    worker.once('message', (m: number[] | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
    worker.once('error', reject);
  });
  await new Promise((r) => setTimeout(r, 500)); // connected and reading
  const t0 = performance.now();
  if (typeof work === 'number') await new Promise((r) => setTimeout(r, work));
  else await work();
  const ms = performance.now() - t0;
  worker.postMessage('stop');
  const samples = await result;
  await worker.terminate();
  return { samples, ms };
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

interface Latency {
  queries: number;
  p50: number;
  p99: number;
  max: number;
}

const latencyOf = (samples: readonly number[]): Latency => ({ queries: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples) });

/** The policy without `removed` apps (and without their grants). */
function withoutApps(policy: Policy, removed: ReadonlySet<string>): Policy {
  const copy = structuredClone(policy) as Policy & { grants: { apps?: string[] }[] };
  for (const app of removed) delete (copy.apps as Record<string, unknown>)[app];
  copy.grants = copy.grants.flatMap((g) => (g.apps === undefined ? [g] : g.apps.filter((a) => !removed.has(a)).length > 0 ? [{ ...g, apps: g.apps.filter((a) => !removed.has(a)) }] : []));
  return copy;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = (text: string) => process.stderr.write(`${text}\n`);
  const g = generatePolicy(standardSize(o.apps));
  const policy = g.policy;
  log(`busy bench: ${o.apps} apps, removing ${o.remove}, ${o.readers} reader sessions`);
  const wh = await startWarehouse(policy.warehouse.database, g.apps);
  const admin = new Client({ connectionString: wh.url });
  await admin.connect();
  try {
    // Rows to count: 200 events per app.
    for (let i = 0; i < g.apps.length; i += 200) {
      await admin.query(g.apps.slice(i, i + 200).map((s) => `INSERT INTO ${quoteIdent(s)}.events (case_id, activity, at) SELECT n, 'step', now() FROM generate_series(1, 200) n`).join(';\n'));
    }
    await admin.query('ANALYZE');
    const allTables = g.apps.map((s) => `${quoteIdent(s)}.events`);
    const removed = g.apps.slice(-o.remove);
    const removedTables = removed.flatMap((s) => [`${quoteIdent(s)}.events`, `${quoteIdent(s)}.cases`]);
    const conn = await connectPostgres(wh.url);
    const retries: string[] = [];
    const patience = { onRetry: (note: string) => retries.push(note) };
    let firstApply = 0;
    let removal = 0;
    try {
      log('phase 1: readers alone, then during the first apply');
      const idle1 = await withReaders(wh.url, allTables, o.readers, 10_000);
      const during1 = await withReaders(wh.url, allTables, o.readers, async () => {
        const t = performance.now();
        await applyRendered(conn, await planLive(conn, policy), undefined, { patience });
        firstApply = performance.now() - t;
      });
      log(`  first apply ${formatMs(firstApply)}`);
      // The removed apps' transformations made their tables: their logins own them.
      const logins = compilePolicy(policy).appLogins;
      await admin.query(removed.map((s) => `ALTER TABLE ${quoteIdent(s)}.events OWNER TO ${quoteIdent(logins[s])}; ALTER TABLE ${quoteIdent(s)}.cases OWNER TO ${quoteIdent(logins[s])}`).join(';\n'));
      log(`phase 2: readers of the ${o.remove} apps' tables alone, then while those apps are removed`);
      const idle2 = await withReaders(wh.url, removedTables, o.readers, 10_000);
      const smaller = withoutApps(policy, new Set(removed));
      let removedChanges = 0;
      const during2 = await withReaders(wh.url, removedTables, o.readers, async () => {
        const t = performance.now();
        const rendered = await planLive(conn, smaller);
        removedChanges = rendered.plan.changes.length;
        await applyRendered(conn, rendered, undefined, { patience });
        removal = performance.now() - t;
      });
      log(`  removal ${formatMs(removal)} (${removedChanges} changes)`);
      const converged = (await planLive(conn, smaller)).plan.changes.length === 0;
      const rows = [
        { phase: `readers alone (${(idle1.ms / 1000).toFixed(0)} s)`, ...latencyOf(idle1.samples) },
        { phase: `during the first apply of ${o.apps} apps (${formatMs(firstApply)})`, ...latencyOf(during1.samples) },
        { phase: `readers of ${o.remove} apps' tables alone (${(idle2.ms / 1000).toFixed(0)} s)`, ...latencyOf(idle2.samples) },
        { phase: `during the removal of those ${o.remove} apps (${formatMs(removal)})`, ...latencyOf(during2.samples) },
      ];
      const results = {
        machine: machineInfo(),
        postgres: wh.serverVersion,
        options: { apps: o.apps, remove: o.remove, readers: o.readers },
        firstApplyMs: Math.round(firstApply),
        removalMs: Math.round(removal),
        removalChanges: removedChanges,
        retries,
        converged,
        latency: rows,
        ratios: { firstApplyP50: rows[1].p50 / rows[0].p50, firstApplyP99: rows[1].p99 / rows[0].p99, removalP50: rows[3].p50 / rows[2].p50, removalP99: rows[3].p99 / rows[2].p99 },
      };
      const md = [
        `# Readers during an apply (${o.readers} sessions, PostgreSQL ${wh.serverVersion})`,
        '',
        `Generated by \`npm run bench:busy\`; one run on a ${results.machine.cores}-core machine (${results.machine.commit ?? 'uncommitted'}); lock timeout 3 s (the default).`,
        '',
        '| phase | queries | p50 | p99 | max |',
        '| --- | ---: | ---: | ---: | ---: |',
        ...rows.map((r) => `| ${r.phase} | ${r.queries} | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${r.max.toFixed(1)} ms |`),
        '',
        `Ratios to the readers alone: first apply p50 ${results.ratios.firstApplyP50.toFixed(2)}, p99 ${results.ratios.firstApplyP99.toFixed(2)}; removal p50 ${results.ratios.removalP50.toFixed(2)}, p99 ${results.ratios.removalP99.toFixed(2)}.`,
        `Retries: ${retries.length}${retries.length ? ` (${retries[0]})` : ''}. Converged after the removal: ${converged ? 'yes' : 'NO'}.`,
        '',
      ].join('\n');
      fs.mkdirSync(o.out, { recursive: true });
      fs.writeFileSync(path.join(o.out, 'busy-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
      fs.writeFileSync(path.join(o.out, 'busy-latest.md'), md);
      process.stdout.write(md);
    } finally {
      await conn.close();
    }
  } finally {
    await admin.end();
    await wh.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`busy bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
