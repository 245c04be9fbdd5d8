/**
 * `npm run bench`: pmgrants at 10 / 50 / 100 / 1,000 apps (up to 20,000 grants), round trips counted,
 * side by side with ldap2pg 5.9 and pgbedrock 0.4.2 on the same work. Writes bench/results/latest.json,
 * latest.md and latest.svg. See docs/performance.md for what each number means.
 *
 * Options (argv, or the environment variable in brackets):
 *   --sizes 10,50,100,1000   app counts [BENCH_SIZES]
 *   --reps N                 repetitions of validate+compile, inspect, no-op plan and no-op apply (5) [BENCH_REPS]
 *   --apply-reps N           first applies, each on a fresh cluster (3) [BENCH_APPLY_REPS]
 *   --peers ldap2pg,pgbedrock|none                                     [BENCH_PEERS]
 *   --peer-max-apps N        largest size the peers (and the pmgrants CLI beside them) run at (1000) [BENCH_PEER_MAX_APPS]
 *   --peer-reps N            fresh clusters per peer and size, up to 100 apps (5) [BENCH_PEER_REPS]
 *   --large-peer-reps N      the same above 100 apps, where a peer run takes minutes (1) [BENCH_LARGE_PEER_REPS]
 *   --peer-timeout S         give up on one peer command after S seconds (900) [BENCH_PEER_TIMEOUT]
 *   --tables N               tables in each app schema of the starting warehouse (2; plus one view) [BENCH_TABLES]
 *   --out DIR                where results go (bench/results; bench/results/tmp with --quick) [BENCH_OUT]
 *   --quick                  10 and 50 apps, 3 repetitions, one first apply, peers at 10 apps once;
 *                            results go to bench/results/tmp (not committed) unless --out says otherwise
 *   --validate               only the validate benchmark (bench/validate.ts): `pmgrants validate` on 10,000,
 *                            40,000 and 150,000 principals, --reps runs each (3); writes validate.json/.md in --out
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { compilePolicy } from '../provider/model/compile';
import { DesiredState, Policy } from '../provider/model/types';
import { checkPolicy } from '../provider/policy/check';
import { parseSource } from '../provider/policy/source';
import { applyRendered, planLive } from '../provider/pipeline/plan';
import { EngineConnection } from '../provider/engines/engine';
import { connectPostgres, inspectParams, inspectQuery, postgresDialect, scramSha256Verifier } from '../provider/engines/postgres';
import { Client } from 'pg';
import { CatalogCounts, catalogCounts, DEFAULT_TABLES, startWarehouse } from './fixture';
import { DEFAULT_APP_COUNTS, GeneratedPolicy, generatePolicy, PRINCIPAL_PREFIXES, standardSize } from './generate';
import { currentLoad, machineInfo, MachineInfo } from './machine';
import { ldap2pgConfig, PeerName, PeerTool, peerCommands, peerFoundNothing, pgbedrockSpec, runTimed, urlParts } from './peers';
import { writeReports } from './report';
import { validateMain } from './validate';
import { Summary, formatMs, summarize } from './stats';

export interface BenchOptions {
  sizes: number[];
  reps: number;
  applyReps: number;
  peers: PeerName[];
  peerMaxApps: number;
  peerReps: number;
  largePeerReps: number;
  peerTimeoutS: number;
  tables: number;
  out: string;
  quick: boolean;
}

const ROOT = path.resolve(__dirname, '..', '..');

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number, not "${value}"`);
  return n;
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const args = new Map<string, string>();
  let quick = env.BENCH_QUICK === '1';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(fs.readFileSync(__filename, 'utf8').split('*/')[0].replace(/^\/\*\*?|^ \* ?/gm, '') + '\n');
      process.exit(0);
    } else if (a.startsWith('--')) {
      const [k, inline] = a.slice(2).split('=', 2);
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`--${k} needs a value`);
      args.set(k, v);
    } else throw new Error(`unexpected argument "${a}" (see --help)`);
  }
  const known = ['sizes', 'reps', 'apply-reps', 'peers', 'peer-max-apps', 'peer-reps', 'large-peer-reps', 'peer-timeout', 'tables', 'out'];
  for (const k of args.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k} (see --help)`);
  const get = (k: string, envName: string) => args.get(k) ?? env[envName];
  const sizesText = get('sizes', 'BENCH_SIZES');
  const sizes = sizesText ? sizesText.split(',').map((s) => positiveInt('--sizes', s.trim())) : quick ? [10, 50] : [...DEFAULT_APP_COUNTS];
  const peersText = get('peers', 'BENCH_PEERS') ?? 'ldap2pg,pgbedrock';
  const peers = peersText === 'none' || peersText === '' ? [] : peersText.split(',').map((p) => p.trim());
  for (const p of peers) if (p !== 'ldap2pg' && p !== 'pgbedrock') throw new Error(`unknown peer "${p}" (ldap2pg, pgbedrock or none)`);
  const num = (k: string, envName: string, normal: number, fast: number) => {
    const v = get(k, envName);
    return v === undefined ? (quick ? fast : normal) : positiveInt(`--${k}`, v);
  };
  return {
    sizes: [...new Set(sizes)].sort((a, b) => a - b),
    reps: num('reps', 'BENCH_REPS', 5, 3),
    applyReps: num('apply-reps', 'BENCH_APPLY_REPS', 3, 1),
    peers: peers as PeerName[],
    peerMaxApps: num('peer-max-apps', 'BENCH_PEER_MAX_APPS', 1000, 10),
    peerReps: num('peer-reps', 'BENCH_PEER_REPS', 5, 1),
    largePeerReps: num('large-peer-reps', 'BENCH_LARGE_PEER_REPS', 1, 1),
    peerTimeoutS: num('peer-timeout', 'BENCH_PEER_TIMEOUT', 900, 900),
    tables: num('tables', 'BENCH_TABLES', DEFAULT_TABLES, DEFAULT_TABLES),
    // A quick run is a smoke test: it does not overwrite the committed results.
    out: path.resolve(get('out', 'BENCH_OUT') ?? path.join(ROOT, 'bench', 'results', ...(quick ? ['tmp'] : []))),
    quick,
  };
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

export interface SizeResult {
  name: string;
  apps: number;
  principals: number;
  grants: number;
  mix: GeneratedPolicy['mix'];
  policyBytes: number;
  /** What the policy compiles to on PostgreSQL. */
  model: { roles: number; memberships: number; permissions: number };
  validateCompile: Summary;
  /** The first (cold, just after start) validate+compile, not part of the summary. */
  validateCompileCold: number;
  phases: { parse: Summary; check: Summary; compile: Summary };
  inspect: Summary & { roundTrips: number[] };
  noopPlan: Summary & { changes: number[] };
  noopApply: Summary & { statements: number[] };
  firstApply: Summary & { planMs: Summary; applyMs: Summary; changes: number; statements: number; roundTrips: number; applyRoundTrips: number };
  converged: boolean;
  catalog?: CatalogCounts;
  /** Where the time goes, measured beside the main numbers (see costs()). */
  costs?: Costs;
}

/**
 * Cost notes measured on the first cluster of a size: the inspect query's JSON size, the pure part of a
 * plan (compile + realize), and what one generated login's SCRAM verifier costs in pmgrants and in the
 * server (CREATE ROLE ... PASSWORD '<verifier>' vs without a password, in a rolled-back transaction).
 */
export interface Costs {
  inspectJsonBytes: number;
  compileRealize: Summary;
  scramClientMsPerLogin: number;
  scramServerMsPerLogin: number;
}

export interface ToolResult {
  tool: string;
  version: string;
  apps: number;
  firstApply?: Summary;
  noopCheck?: Summary;
  /** Each check run found nothing to change. */
  converged?: boolean;
  catalog?: CatalogCounts;
  skipped?: string;
  notes: string[];
}

export interface BenchResults {
  tool: 'pmgrants';
  startedAt: string;
  finishedAt?: string;
  options: BenchOptions;
  machine: MachineInfo;
  sizes: SizeResult[];
  comparison: ToolResult[];
  peersSetup: { name: string; status: string; detail: string }[];
  checks: { name: string; ok: boolean; detail: string }[];
}

// ---------------------------------------------------------------------------------------------

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const time = async <T>(f: () => Promise<T> | T): Promise<[T, number]> => {
  const t = performance.now();
  const v = await f();
  return [v, performance.now() - t];
};

function validateAndCompile(g: GeneratedPolicy): { policy: Policy; desired: DesiredState; parse: number; check: number; compile: number } {
  const t0 = performance.now();
  const parsed = parseSource(`${g.size.name}.yaml`, g.yaml);
  const t1 = performance.now();
  if (!parsed.source) throw new Error(`${g.size.name}: the generated YAML does not parse: ${parsed.diagnostics.map((d) => d.message).join('; ')}`);
  const checked = checkPolicy(parsed.source);
  const t2 = performance.now();
  if (!checked.policy) throw new Error(`${g.size.name}: the generated policy is invalid: ${checked.diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  const desired = compilePolicy(checked.policy, { now: new Date() });
  const t3 = performance.now();
  return { policy: checked.policy, desired, parse: t1 - t0, check: t2 - t1, compile: t3 - t2 };
}

async function measurePmgrants(g: GeneratedPolicy, options: BenchOptions, machine: MachineInfo): Promise<SizeResult> {
  const label = g.size.name;
  // validate + compile: from YAML text, in process. One cold run first (reported apart), then reps.
  const cold = validateAndCompile(g);
  const phases = { parse: [] as number[], check: [] as number[], compile: [] as number[] };
  const totals: number[] = [];
  for (let i = 0; i < options.reps; i++) {
    const r = validateAndCompile(g);
    phases.parse.push(r.parse);
    phases.check.push(r.check);
    phases.compile.push(r.compile);
    totals.push(r.parse + r.check + r.compile);
  }
  const policy = cold.policy;
  const realized = postgresDialect.realize(cold.desired);
  log(`${label}: validate+compile ${formatMs(summarize(totals).median)} (median of ${options.reps}; cold ${formatMs(cold.parse + cold.check + cold.compile)})`);

  const first = { total: [] as number[], plan: [] as number[], apply: [] as number[], changes: 0, statements: 0, roundTrips: 0, applyRoundTrips: 0 };
  const inspect = { ms: [] as number[], trips: [] as number[] };
  const noopPlan = { ms: [] as number[], changes: [] as number[] };
  const noopApply = { ms: [] as number[], statements: [] as number[] };
  let converged = true;
  let catalog: CatalogCounts | undefined;
  let costs: Costs | undefined;
  for (let rep = 0; rep < options.applyReps; rep++) {
    log(`${label}: fresh cluster ${rep + 1}/${options.applyReps} (${g.size.apps} schemas, ${options.tables} tables and a view each)`);
    const wh = await startWarehouse(policy.warehouse.database, g.apps, options.tables);
    machine.postgres ??= wh.serverVersion;
    let conn: EngineConnection | undefined;
    try {
      conn = await connectPostgres(wh.url);
      const trips0 = conn.roundTrips();
      const t0 = performance.now();
      const rendered = await planLive(conn, policy);
      const t1 = performance.now();
      const result = await applyRendered(conn, rendered);
      const t2 = performance.now();
      first.total.push(t2 - t0);
      first.plan.push(t1 - t0);
      first.apply.push(t2 - t1);
      first.changes = rendered.plan.changes.length;
      first.statements = result.statements;
      first.applyRoundTrips = result.roundTrips;
      first.roundTrips = conn.roundTrips() - trips0;
      log(`${label}: first apply ${formatMs(t2 - t0)}: ${first.changes} changes, ${result.statements} statements in ${result.roundTrips} round trips`);
      if (rep > 0) continue;

      // The database is now in the policy's state: everything below must find nothing to do.
      const again = await planLive(conn, policy);
      if (again.plan.changes.length !== 0) {
        converged = false;
        log(`${label}: NOT CONVERGED: ${again.plan.changes.length} changes after apply`);
      }
      for (let i = 0; i < options.reps; i++) {
        const before = conn.roundTrips();
        const [, ms] = await time(() => conn!.inspect(realized));
        inspect.ms.push(ms);
        inspect.trips.push(conn.roundTrips() - before);
      }
      for (let i = 0; i < options.reps; i++) {
        const [r, ms] = await time(() => planLive(conn!, policy));
        noopPlan.ms.push(ms);
        noopPlan.changes.push(r.plan.changes.length);
      }
      for (let i = 0; i < options.reps; i++) {
        const [r, ms] = await time(async () => applyRendered(conn!, await planLive(conn!, policy)));
        noopApply.ms.push(ms);
        noopApply.statements.push(r.statements);
      }
      if (noopPlan.changes.some((c) => c !== 0) || noopApply.statements.some((s) => s !== 0)) converged = false;
      log(`${label}: inspect ${formatMs(summarize(inspect.ms).median)} in ${inspect.trips[0]} round trip(s); no-op plan ${formatMs(summarize(noopPlan.ms).median)}; no-op apply ${formatMs(summarize(noopApply.ms).median)}`);
      catalog = await catalogCounts(wh.url, [realized.prefix, ...PRINCIPAL_PREFIXES]);
      costs = await measureCosts(wh.url, policy, realized, options.reps);
    } finally {
      await conn?.close();
      await wh.stop();
    }
  }
  const roles = new Set([...realized.roles.map((r) => r.name), ...realized.logins.map((l) => l.name), ...realized.users.map((u) => u.name)]).size;
  return {
    name: label,
    apps: g.size.apps,
    principals: g.size.principals,
    grants: g.size.grants,
    mix: g.mix,
    policyBytes: Buffer.byteLength(g.yaml),
    model: { roles, memberships: realized.memberships.length, permissions: realized.permissions.length },
    validateCompile: summarize(totals),
    validateCompileCold: Math.round((cold.parse + cold.check + cold.compile) * 100) / 100,
    phases: { parse: summarize(phases.parse), check: summarize(phases.check), compile: summarize(phases.compile) },
    inspect: { ...summarize(inspect.ms), roundTrips: inspect.trips },
    noopPlan: { ...summarize(noopPlan.ms), changes: noopPlan.changes },
    noopApply: { ...summarize(noopApply.ms), statements: noopApply.statements },
    firstApply: {
      ...summarize(first.total),
      planMs: summarize(first.plan),
      applyMs: summarize(first.apply),
      changes: first.changes,
      statements: first.statements,
      roundTrips: first.roundTrips,
      applyRoundTrips: first.applyRoundTrips,
    },
    converged,
    ...(catalog ? { catalog } : {}),
    ...(costs ? { costs } : {}),
  };
}

async function measureCosts(url: string, policy: Policy, realized: DesiredState, reps: number): Promise<Costs> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    // The inspect query's result as the server sends it (text, before JSON.parse).
    const raw = await c.query({ text: inspectQuery(), values: inspectParams(realized), rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
    const inspectJsonBytes = (raw.rows[0] as string[]).reduce((n, v) => n + Buffer.byteLength(v ?? ''), 0);
    const compileRealize: number[] = [];
    for (let i = 0; i < reps; i++) compileRealize.push((await time(() => postgresDialect.realize(compilePolicy(policy, { now: new Date() }))))[1]);
    const n = 50;
    const [verifiers, clientMs] = await time(() => Array.from({ length: n }, () => scramSha256Verifier('x'.repeat(32))));
    const createRoles = async (withPassword: boolean) => {
      await c.query('BEGIN');
      const sql = verifiers.map((v, i) => `CREATE ROLE bench_cost_${i} WITH LOGIN${withPassword ? ` PASSWORD '${v}'` : ''}`).join(';\n');
      const [, ms] = await time(() => c.query(sql));
      await c.query('ROLLBACK');
      return ms;
    };
    const plain: number[] = [];
    const withPassword: number[] = [];
    for (let i = 0; i < 3; i++) {
      plain.push(await createRoles(false));
      withPassword.push(await createRoles(true));
    }
    const med = (xs: number[]) => summarize(xs).median;
    return {
      inspectJsonBytes,
      compileRealize: summarize(compileRealize),
      scramClientMsPerLogin: Math.round((clientMs / n) * 100) / 100,
      scramServerMsPerLogin: Math.round(((med(withPassword) - med(plain)) / n) * 100) / 100,
    };
  } finally {
    await c.end();
  }
}

/** Install (or find) the peers with bench/setup-peers.sh; parse its PEER lines. */
function setupPeers(wanted: PeerName[]): { tools: PeerTool[]; report: BenchResults['peersSetup'] } {
  if (wanted.length === 0) return { tools: [], report: [] };
  const script = path.join(ROOT, 'bench', 'setup-peers.sh');
  log(`setting up peers with ${path.relative(process.cwd(), script) || script} (cached after the first run)`);
  let out = '';
  try {
    out = execFileSync('sh', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900_000 });
  } catch (err) {
    const reason = `setup-peers.sh failed: ${(err as Error).message.split('\n')[0]}`;
    return { tools: [], report: wanted.map((name) => ({ name, status: 'skipped', detail: reason })) };
  }
  const tools: PeerTool[] = [];
  const report: BenchResults['peersSetup'] = [];
  for (const line of out.split('\n')) {
    const m = /^PEER (\S+) (ok|skipped) (.*)$/.exec(line.trim());
    if (!m || !wanted.includes(m[1] as PeerName)) continue;
    if (m[2] === 'ok') {
      const [exe, version] = m[3].split(' ');
      tools.push({ name: m[1] as PeerName, exe, version });
      report.push({ name: m[1], status: 'ok', detail: `${m[1]} ${version} (${exe})` });
    } else report.push({ name: m[1], status: 'skipped', detail: m[3] });
  }
  for (const name of wanted) if (!report.some((r) => r.name === name)) report.push({ name, status: 'skipped', detail: 'setup-peers.sh did not report it' });
  return { tools, report };
}

/** pmgrants through its CLI (process start, file read, connect, plan printing included), like the peers. */
async function measureCli(g: GeneratedPolicy, options: BenchOptions, realized: DesiredState, work: string): Promise<ToolResult> {
  const result: ToolResult = { tool: 'pmgrants (CLI)', version: readVersion(), apps: g.size.apps, notes: [] };
  const policyFile = path.join(work, `${g.size.name}.yaml`);
  fs.writeFileSync(policyFile, g.yaml);
  // As users run it: the launcher, which runs the one-file bundle (npm run bench builds it).
  const launcher = path.join(ROOT, 'bin', 'pmgrants');
  const first: number[] = [];
  const check: number[] = [];
  let converged = true;
  for (let rep = 0; rep < peerReps(options, g.size.apps); rep++) {
    const wh = await startWarehouse(realized.database, g.apps, options.tables);
    try {
      const env = { PATH: process.env.PATH, HOME: process.env.HOME, PMGRANTS_DATABASE_URL: wh.url };
      const secrets = path.join(work, `secrets-${g.size.name}-${rep}.json`);
      const apply = await runTimed(launcher, ['apply', policyFile, '--yes', '--secrets-file', secrets], env, options.peerTimeoutS * 1000);
      fs.rmSync(secrets, { force: true });
      if (apply.code !== 0) throw new Error(`pmgrants apply exited ${apply.code}: ${apply.stderr.slice(-500)}`);
      first.push(apply.ms);
      const plan = await runTimed(launcher, ['plan', policyFile, '--detailed-exitcode'], env, options.peerTimeoutS * 1000);
      if (plan.code !== 0) converged = false;
      check.push(plan.ms);
      if (rep === 0) result.catalog = await catalogCounts(wh.url, [realized.prefix, ...PRINCIPAL_PREFIXES]);
    } finally {
      await wh.stop();
    }
  }
  result.firstApply = summarize(first);
  result.noopCheck = summarize(check);
  result.converged = converged;
  result.notes.push('first apply: `bin/pmgrants apply --yes`; no-op check: `bin/pmgrants plan --detailed-exitcode` (exit 0 = nothing to do); the launcher runs the one-file bundle dist/pmgrants.js');
  return result;
}

async function measurePeer(tool: PeerTool, g: GeneratedPolicy, options: BenchOptions, realized: DesiredState, work: string): Promise<ToolResult> {
  const result: ToolResult = { tool: tool.name, version: tool.version, apps: g.size.apps, notes: [] };
  const first: number[] = [];
  const check: number[] = [];
  let converged = true;
  for (let rep = 0; rep < peerReps(options, g.size.apps); rep++) {
    const wh = await startWarehouse(realized.database, g.apps, options.tables);
    try {
      const configFile = path.join(work, `${tool.name}-${g.size.name}.yml`);
      let config: string;
      if (tool.name === 'ldap2pg') config = ldap2pgConfig(realized);
      else {
        // pgbedrock manages every role and schema of the cluster: start from what it sees (not timed).
        const p = urlParts(wh.url, realized.database);
        const generated = execFileSync(tool.exe, ['generate', '-h', p.host, '-p', p.port, '-U', p.user, '-w', p.password, '-d', p.database], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 256 * 1024 * 1024,
        });
        config = pgbedrockSpec(realized, generated);
      }
      fs.writeFileSync(configFile, config, { mode: 0o600 });
      const cmds = peerCommands(tool, configFile, wh.url, realized.database);
      const apply = await runTimed(tool.exe, cmds.apply, cmds.env, options.peerTimeoutS * 1000);
      if (apply.timedOut) {
        result.skipped = `first apply did not finish within ${options.peerTimeoutS} s`;
        break;
      }
      if (apply.code !== 0) throw new Error(`${tool.name} apply exited ${apply.code}: ${(apply.stderr || apply.stdout).slice(-800)}`);
      first.push(apply.ms);
      const c = await runTimed(tool.exe, cmds.check, cmds.env, options.peerTimeoutS * 1000);
      if (c.timedOut) {
        result.skipped = `check did not finish within ${options.peerTimeoutS} s`;
        break;
      }
      check.push(c.ms);
      if (!peerFoundNothing(tool, c)) {
        converged = false;
        log(`${tool.name} ${g.size.name}: the check after apply still finds changes: ${(c.stdout + c.stderr).slice(-600)}`);
      }
      if (rep === 0) result.catalog = await catalogCounts(wh.url, [realized.prefix, ...PRINCIPAL_PREFIXES]);
    } finally {
      await wh.stop();
    }
  }
  if (first.length) result.firstApply = summarize(first);
  if (check.length) result.noopCheck = summarize(check);
  result.converged = converged;
  if (tool.name === 'pgbedrock') {
    result.notes.push('first apply: `pgbedrock configure --live`; no-op check: `pgbedrock configure --check`');
    result.notes.push('its check always lists a commented-out re-set of the postgres password (it compares md5 hashes; the server stores SCRAM); that line alone counts as nothing to do');
  } else {
    result.notes.push('first apply: `ldap2pg --real`; no-op check: `ldap2pg --check` (exit 0 = nothing to do)');
  }
  return result;
}

/** Fresh clusters per tool at a size: fewer above 100 apps, where one peer run takes minutes. */
export function peerReps(options: BenchOptions, apps: number): number {
  return apps > 100 ? options.largePeerReps : options.peerReps;
}

function readVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const machine = machineInfo();
  const results: BenchResults = {
    tool: 'pmgrants',
    startedAt: new Date().toISOString(),
    options,
    machine,
    sizes: [],
    comparison: [],
    peersSetup: [],
    checks: [],
  };
  log(`${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; load ${machine.loadAtStart.join(' ')}`);
  log(`sizes ${options.sizes.join(', ')} apps; ${options.reps} repetitions, ${options.applyReps} first applies; peers: ${options.peers.join(', ') || 'none'} up to ${options.peerMaxApps} apps, ${options.peerReps} runs each (${options.largePeerReps} above 100 apps)`);
  const generated = options.sizes.map((apps) => generatePolicy(standardSize(apps)));

  for (const g of generated) results.sizes.push(await measurePmgrants(g, options, machine));

  const { tools, report } = setupPeers(options.peers);
  results.peersSetup = report;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-bench-'));
  try {
    for (const g of generated) {
      if (g.size.apps > options.peerMaxApps) continue;
      const realized = postgresDialect.realize(compilePolicy(validateAndCompile(g).policy, { now: new Date() }));
      log(`${g.size.name}: pmgrants CLI, ${peerReps(options, g.size.apps)} fresh cluster(s)`);
      results.comparison.push(await measureCli(g, options, realized, work));
      // One tool after another, each on its own fresh clusters: never two at once.
      for (const tool of tools) {
        log(`${g.size.name}: ${tool.name} ${tool.version}, ${peerReps(options, g.size.apps)} fresh cluster(s)`);
        try {
          const r = await measurePeer(tool, g, options, realized, work);
          results.comparison.push(r);
          log(`${g.size.name}: ${tool.name} first apply ${formatMs(r.firstApply?.median)}, no-op check ${formatMs(r.noopCheck?.median)}${r.skipped ? ` (${r.skipped})` : ''}`);
        } catch (err) {
          const reason = (err as Error).message.split('\n').slice(0, 3).join(' ');
          log(`${g.size.name}: ${tool.name} failed: ${reason}`);
          results.comparison.push({ tool: tool.name, version: tool.version, apps: g.size.apps, skipped: `failed: ${reason}`, notes: [] });
        }
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  for (const name of options.peers) {
    for (const g of generated) {
      if (g.size.apps > options.peerMaxApps && tools.some((t) => t.name === name)) {
        const t = tools.find((x) => x.name === name)!;
        results.comparison.push({ tool: name, version: t.version, apps: g.size.apps, skipped: `not run above ${options.peerMaxApps} apps (--peer-max-apps)`, notes: [] });
      }
    }
  }

  // Checks the issue asks the runner to assert.
  const trips = results.sizes.map((s) => s.inspect.roundTrips).flat();
  results.checks.push({
    name: 'inspect-round-trips-constant',
    ok: trips.length > 0 && trips.every((t) => t === trips[0]),
    detail: `inspect round trips per size: ${results.sizes.map((s) => `${s.apps} apps: ${[...new Set(s.inspect.roundTrips)].join('/')}`).join(', ')}`,
  });
  results.checks.push({
    name: 'converges',
    ok: results.sizes.every((s) => s.converged),
    detail: `planning again after apply finds nothing to do: ${results.sizes.map((s) => `${s.apps} apps: ${s.converged ? 'yes' : 'NO'}`).join(', ')}`,
  });
  results.checks.push({
    name: 'apply-batches',
    ok: results.sizes.every((s) => s.firstApply.applyRoundTrips < s.firstApply.statements / 10),
    detail: results.sizes.map((s) => `${s.apps} apps: ${s.firstApply.statements} statements in ${s.firstApply.applyRoundTrips} round trips`).join(', '),
  });
  machine.loadAtEnd = currentLoad();
  results.finishedAt = new Date().toISOString();
  return results;
}

async function main() {
  if (process.argv.includes('--validate')) {
    await validateMain(ROOT, process.argv.slice(2), log);
    return;
  }
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const results = await runBench(options);
  const files = writeReports(results, options.out);
  for (const f of files) log(`wrote ${path.relative(process.cwd(), f) || f}`);
  process.stdout.write(fs.readFileSync(files.find((f) => f.endsWith('.md'))!, 'utf8'));
  const failed = results.checks.filter((c) => !c.ok);
  for (const c of failed) log(`CHECK FAILED ${c.name}: ${c.detail}`);
  process.exit(failed.length ? 1 : 0);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
