/**
 * `npm run bench:pulumi`: pmgrants under the real Pulumi engine, beside a floor program, at the given
 * numbers of apps. The floor is the same number of dynamic resources carrying exactly the inputs
 * pmgrants' resources carry, whose create, diff, read, update and delete return at once (no database):
 * what the engine itself costs for such a stack. Both run through the Automation API (inline program,
 * local file backend), pmgrants on a PostgreSQL server of its own per size, step by step in lockstep:
 * each step on the floor, then on pmgrants. Results are written after every step.
 *
 * Steps per size and program: up (create everything), preview with nothing changed, up with one grant
 * changed (one resource updated), refresh, destroy, and the first up again with PULUMI_SKIP_CHECKPOINTS=true
 * (the engine writes the state only at the end); and, after the first up, the state's bytes per
 * resource and the bytes of the serialized provider text each resource stores, then ANALYZE on
 * pmgrants' database (the statistics of a warehouse in use know its roles). Results, with the
 * ratio of each pmgrants figure to the floor's: bench/results/pulumi-latest.json and .md.
 *
 * Options: --sizes 100,500,1000 (default) | --sizes 20,100 for a quick run; --steps up,preview,... (default
 * all; a step left out shows as "not run"); --out DIR.
 * Needs the engine on PATH (the npm script puts scripts/pulumi-engine.sh's directory there).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import type * as Automation from '@pulumi/pulumi/automation';
import { Client } from 'pg';
import { startLocalPostgres } from '../provider/engines/postgres/local-server';
import { quoteIdent } from '../provider/engines/postgres/quote';
import { compilePolicy } from '../provider/model/compile';
import { Policy } from '../provider/model/types';
import { appsOf, partitionDesired } from '../provider/plan/slice';
import { grantFactsByPart } from '../provider/policy/guardrails';
import { loadPolicy } from '../provider/policy/load';
import { definePmgrantsStack } from '../provider/pulumi/program';
import { partInputs } from '../provider/pulumi/wire';
import { GrantsInputs } from '../provider/pulumi/resources';
import { generatePolicy } from './generate';
import { currentLoad, machineInfo } from './machine';

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const DATABASE = 'bench_wh';
const STEPS = ['up', 'preview', 'upOneGrant', 'refresh', 'destroy', 'upSkipCheckpoints'] as const;
type Step = (typeof STEPS)[number];

interface ProgramResult {
  seconds: Record<Step, number>;
  resources: number;
  stateBytes: number;
  stateBytesPerResource: number;
  providerTextBytes: number;
  changes: Partial<Record<Step, Record<string, number>>>;
}

interface SizeResult {
  apps: number;
  grants: number;
  pmgrants: ProgramResult;
  floor: ProgramResult;
  /** pmgrants / floor, per step and for the state. */
  ratios: Record<Step | 'stateBytesPerResource', number>;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The benchmark policy: n apps, 50 principals, 2n + 1 grant entries (as the earlier measurement). */
function benchPolicy(apps: number): Policy {
  return generatePolicy({ name: `${apps}-apps`, apps, principals: 50, grants: Math.max(50, 2 * apps + 1) }).policy;
}

/** The same policy with one grant changed: one more app for a grant that names apps. */
function oneGrantChanged(policy: Policy): Policy {
  const keys = Object.keys(policy.apps);
  const grants = policy.grants.map((g) => ({ ...g }));
  for (const g of grants) {
    if (!g.apps || g.apps.includes('*')) continue;
    const extra = keys.find((k) => !g.apps!.includes(k));
    if (extra) {
      g.apps = [...g.apps, extra];
      return { ...policy, grants };
    }
  }
  throw new Error('no grant to change');
}

// The floor's provider: serialized by Pulumi into the state like pmgrants' own; captures nothing.
const floorProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    return { id: `floor-${String(inputs.app ?? 'warehouse')}`, outs: inputs };
  },
  async diff(_id, olds, news) {
    const keys = new Set([...Object.keys(olds), ...Object.keys(news)].filter((k) => k !== '__provider'));
    const changes = [...keys].some((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    return { changes };
  },
  async read(id, props) {
    return { id, props };
  },
  async update(_id, _olds, news) {
    return { outs: news };
  },
  async delete() {},
};

class FloorResource extends pulumi.dynamic.Resource {
  constructor(name: string, inputs: GrantsInputs, opts?: pulumi.CustomResourceOptions) {
    super(floorProvider, name, { ...inputs }, opts, 'floor', 'Part');
  }
}

/** The floor program: the inputs pmgrants' program gives its resources, on do-nothing resources. */
function defineFloorStack(policyFile: string, stacksDir: string): void {
  const loaded = loadPolicy(policyFile, { stack: 'bench', stacksDir });
  if (!loaded.policy) throw new Error(`the benchmark policy does not load: ${loaded.diagnostics.map((d) => d.message).join('; ')}`);
  const policy = loaded.policy;
  const desired = compilePolicy(policy);
  const parts = partitionDesired(desired);
  const facts = grantFactsByPart(policy);
  const engine = policy.warehouse.engine;
  const warehouse = new FloorResource('warehouse', partInputs(parts.get('warehouse')!, engine, { grants: facts.warehouse }));
  for (const app of appsOf(desired)) {
    const ownerTeam = policy.apps[app]?.ownerTeam;
    new FloorResource(app, partInputs(parts.get(`app:${app}`)!, engine, { app, grants: facts.apps[app] ?? [], ...(ownerTeam ? { ownerTeam } : {}) }), { dependsOn: [warehouse] });
  }
}

function writePolicy(dir: string, policy: Policy): void {
  fs.writeFileSync(path.join(dir, 'policy.json'), JSON.stringify({ ...policy, warehouse: { ...policy.warehouse, database: DATABASE } }, null, 1));
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return [Number(process.hrtime.bigint() - t0) / 1e9, r];
}

interface Program {
  kind: 'pmgrants' | 'floor';
  result: ProgramResult;
  /** Run one step, recording its time and resource changes. */
  step(name: Step, fn: (stack: Automation.Stack) => Promise<{ summary?: { resourceChanges?: Record<string, number> }; changeSummary?: Record<string, number> }>): Promise<void>;
  stack: Automation.Stack;
  dir: string;
  policy: Policy;
  /** Bring the database's statistics up to date (pmgrants only; the floor has no database). */
  analyze(): Promise<void>;
  close(): Promise<void>;
}

/** A program's stack (workspace, state directory, policy, and for pmgrants its own PostgreSQL server), ready for its first up. */
async function openProgram(kind: 'pmgrants' | 'floor', apps: number, log: (s: string) => void): Promise<Program> {
  const auto: typeof Automation = require('@pulumi/pulumi/automation');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pmgrants-bench-pulumi-${kind}-`));
  const server = kind === 'pmgrants' ? await startLocalPostgres() : undefined;
  const close = async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    fs.copyFileSync(path.join(ROOT, 'Pulumi.yaml'), path.join(dir, 'Pulumi.yaml'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    fs.symlinkSync(DIST, path.join(dir, 'dist'));
    fs.mkdirSync(path.join(dir, 'state'));
    const stacksDir = path.join(dir, 'stacks');
    fs.mkdirSync(stacksDir);
    fs.writeFileSync(path.join(stacksDir, 'bench.yaml'), `apiVersion: pmgrants/v1\noverlay:\n  warehouse: { database: ${DATABASE} }\n`);
    const policy = benchPolicy(apps);
    writePolicy(dir, policy);
    const policyFile = path.join(dir, 'policy.json');
    const program = kind === 'pmgrants' ? async () => definePmgrantsStack().outputs : async () => defineFloorStack(policyFile, stacksDir);
    const stack = await auto.LocalWorkspace.createOrSelectStack(
      { stackName: 'bench', projectName: 'pmgrants', program },
      {
        workDir: dir,
        envVars: {
          PULUMI_BACKEND_URL: `file://${path.join(dir, 'state')}`,
          PULUMI_CONFIG_PASSPHRASE: 'pmgrants-bench-passphrase',
          PULUMI_SKIP_UPDATE_CHECK: '1',
          PULUMI_HOME: path.join(dir, '.pulumi-home'),
        },
      },
    );
    if (server) {
      const admin = new Client({ connectionString: server.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${quoteIdent(DATABASE)}`);
      await admin.end();
    }
    // The floor never connects; Pulumi.yaml requires both settings of every stack of the project.
    const url = new URL(server?.url ?? 'postgres://unused@127.0.0.1:1/postgres');
    url.pathname = `/${DATABASE}`;
    await stack.setConfig('pmgrants:policy', { value: policyFile });
    await stack.setConfig('pmgrants:stacksDir', { value: stacksDir });
    await stack.setConfig('pmgrants:databaseUrl', { value: url.toString(), secret: true });
    const result: ProgramResult = { seconds: {} as Record<Step, number>, resources: 0, stateBytes: 0, stateBytesPerResource: 0, providerTextBytes: 0, changes: {} };
    return {
      kind,
      result,
      stack,
      dir,
      policy,
      close,
      async analyze() {
        if (!server) return;
        const c = new Client({ connectionString: url.toString() });
        await c.connect();
        try {
          await c.query('ANALYZE');
        } finally {
          await c.end();
        }
      },
      async step(name, fn) {
        const [seconds, r] = await timed(() => fn(stack));
        result.seconds[name] = seconds;
        result.changes[name] = r.summary?.resourceChanges ?? r.changeSummary ?? {};
        log(`  ${kind} ${apps} apps: ${name} ${seconds.toFixed(1)} s ${JSON.stringify(result.changes[name])}`);
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** After the first up: the state's bytes per resource and the provider text each resource stores. */
async function measureState(program: Program): Promise<void> {
  const exported = await program.stack.exportStack();
  const resources = (exported.deployment.resources as { type: string; outputs?: Record<string, unknown> }[]).filter((r) => r.type.startsWith('pulumi-nodejs:dynamic/'));
  program.result.resources = resources.length;
  program.result.stateBytes = Buffer.byteLength(JSON.stringify(exported.deployment));
  program.result.stateBytesPerResource = Math.round(program.result.stateBytes / resources.length);
  program.result.providerTextBytes = Buffer.byteLength(String(resources[0]?.outputs?.__provider ?? ''));
}

/**
 * Both programs of one size, step by step: each step runs on the floor and then on pmgrants before the
 * next step starts, so that the pairs compared ran close together (the machine's load drifts), and a
 * run cut short still has whole pairs. `record` is called after every pair.
 */
async function runSize(apps: number, steps: readonly Step[], log: (s: string) => void, record: (floor: ProgramResult, pmgrants: ProgramResult) => void): Promise<void> {
  const floor = await openProgram('floor', apps, log);
  let pmgrants: Program | undefined;
  try {
    pmgrants = await openProgram('pmgrants', apps, log);
    const both = [floor, pmgrants];
    const pair = async (name: Step, fn: (program: Program) => (stack: Automation.Stack) => Promise<{ summary?: { resourceChanges?: Record<string, number> }; changeSummary?: Record<string, number> }>) => {
      if (!steps.includes(name)) return;
      for (const p of both) await p.step(name, fn(p));
      record(floor.result, pmgrants!.result);
    };
    await pair('up', () => (stack) => stack.up());
    for (const p of both) await measureState(p);
    record(floor.result, pmgrants.result);
    // A warehouse in use has catalog statistics that know its roles (autovacuum analyzes them, here
    // or not, within minutes): every later step runs on such statistics, as it would for a user.
    await pmgrants.analyze();
    await pair('preview', () => (stack) => stack.preview());
    for (const p of both) writePolicy(p.dir, oneGrantChanged(p.policy));
    await pair('upOneGrant', () => (stack) => stack.up());
    await pair('refresh', () => (stack) => stack.refresh());
    await pair('destroy', () => (stack) => stack.destroy());
    // The same first up with the engine told to write the state only at the end (docs/pulumi.md says
    // when a user may choose it); the stack is left as it is (its directory and server go next).
    for (const p of both) {
      p.stack.workspace.envVars.PULUMI_SKIP_CHECKPOINTS = 'true';
      writePolicy(p.dir, p.policy);
    }
    await pair('upSkipCheckpoints', () => (stack) => stack.up());
  } finally {
    await pmgrants?.close();
    await floor.close();
  }
}

function markdown(results: SizeResult[], machine: ReturnType<typeof machineInfo>): string {
  const lines = [
    '# pmgrants under the Pulumi engine, beside the floor',
    '',
    `Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.os}, Node ${machine.node}; commit ${machine.commit ?? 'unknown'}.`,
    `Load average at start ${machine.loadAtStart.map((l) => l.toFixed(1)).join(' / ')}, at end ${(machine.loadAtEnd ?? []).map((l) => l.toFixed(1)).join(' / ')}.`,
    'Floor: the same number of dynamic resources with the same inputs, doing nothing. One run per size; each step ran on the floor, then on pmgrants.',
    '',
    '| apps | step | pmgrants | floor | ratio |',
    '| ---: | --- | ---: | ---: | ---: |',
  ];
  const names: Record<Step, string> = {
    up: 'up (create)',
    preview: 'preview, no change',
    upOneGrant: 'up, one grant changed',
    refresh: 'refresh',
    destroy: 'destroy',
    upSkipCheckpoints: 'up (create), PULUMI_SKIP_CHECKPOINTS=true',
  };
  for (const r of results) {
    for (const s of STEPS) {
      if (r.pmgrants.seconds[s] === undefined || r.floor.seconds[s] === undefined) lines.push(`| ${r.apps} | ${names[s]} | not run | not run | |`);
      else lines.push(`| ${r.apps} | ${names[s]} | ${r.pmgrants.seconds[s].toFixed(1)} s | ${r.floor.seconds[s].toFixed(1)} s | ${r.ratios[s].toFixed(2)} |`);
    }
    lines.push(`| ${r.apps} | state bytes per resource | ${r.pmgrants.stateBytesPerResource} | ${r.floor.stateBytesPerResource} | ${r.ratios.stateBytesPerResource.toFixed(2)} |`);
    lines.push(`| ${r.apps} | serialized provider text per resource | ${r.pmgrants.providerTextBytes} | ${r.floor.providerTextBytes} | |`);
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const sizes = (argValue('--sizes') ?? '100,500,1000').split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 2) throw new Error(`--sizes takes app counts of at least 2, not "${s}"`);
    return n;
  });
  const out = path.resolve(argValue('--out') ?? path.join(ROOT, 'bench', 'results'));
  // The first up always runs (every other step needs its stack); the others can be left out.
  const steps = (argValue('--steps')?.split(',') ?? [...STEPS]) as Step[];
  const unknown = steps.filter((s) => !STEPS.includes(s));
  if (unknown.length > 0) throw new Error(`--steps takes some of ${STEPS.join(', ')}, not "${unknown.join(', ')}"`);
  if (!steps.includes('up')) steps.unshift('up');
  const machine = machineInfo();
  const results: SizeResult[] = [];
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const write = () => {
    machine.loadAtEnd = currentLoad();
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'pulumi-latest.json'), `${JSON.stringify({ machine, sizes, results }, null, 2)}\n`);
    fs.writeFileSync(path.join(out, 'pulumi-latest.md'), markdown(results, machine));
  };
  for (const apps of sizes) {
    log(`bench:pulumi: ${apps} apps`);
    const grants = benchPolicy(apps).grants.length;
    await runSize(apps, steps, log, (floor, pmgrants) => {
      const ratios = Object.fromEntries([
        ...STEPS.filter((s) => floor.seconds[s] !== undefined && pmgrants.seconds[s] !== undefined).map((s) => [s, pmgrants.seconds[s] / floor.seconds[s]]),
        ['stateBytesPerResource', floor.stateBytesPerResource ? pmgrants.stateBytesPerResource / floor.stateBytesPerResource : 0],
      ]) as SizeResult['ratios'];
      const entry: SizeResult = { apps, grants, pmgrants, floor, ratios };
      const at = results.findIndex((r) => r.apps === apps);
      if (at >= 0) results[at] = entry;
      else results.push(entry);
      // Written after every step: a run cut short keeps what it measured.
      write();
    });
  }
  process.stdout.write(markdown(results, machine));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:pulumi failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
