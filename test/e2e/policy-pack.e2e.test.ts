/**
 * The pmgrants policy pack under the real Pulumi engine: `pulumi preview --policy-pack policy-pack` on a
 * stack named prod. Preview does not touch the database, so no server is needed.
 *
 * How the engine runs a Node.js policy pack: with a Node.js language host on its plugin path it asks the
 * host to run it (RunPlugin); without one it runs `pulumi-analyzer-policy-nodejs <engine> .` in the
 * pack's directory, a launcher that starts @pulumi/pulumi's run-policy-pack. The language host that can
 * be built here (v3.68.0, opt-in in scripts/pulumi-engine.sh) predates RunPlugin, so this test gives the
 * engine a bin directory of its own: the engine binary (linked, or copied, so that the engine does not
 * find the host next to it), the dynamic-provider launcher and the analyzer launcher. Skips, saying why,
 * when the engine is not on PATH or dist/ is not built.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Automation from '@pulumi/pulumi/automation';
import { DIST, distRequire, packageRequire, REPO } from '../unit/pulumi-dist';

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function unavailableReason(): string | undefined {
  if (!onPath('pulumi')) return 'the Pulumi engine (pulumi) is not on PATH; run PATH="$(scripts/pulumi-engine.sh):$PATH" first';
  if (!onPath('pulumi-resource-pulumi-nodejs')) return 'pulumi-resource-pulumi-nodejs (the dynamic-provider launcher) is not on PATH';
  if (!fs.existsSync(path.join(DIST, 'policy-pack', 'index.js'))) return 'dist/ is not built; run npm run build';
  return undefined;
}

const unavailable = unavailableReason();
if (unavailable) console.warn(`Skipping the policy pack end-to-end test: ${unavailable}`);
else console.warn(`Policy pack end-to-end test with ${spawnSync('pulumi', ['version'], { encoding: 'utf8' }).stdout.trim()}`);
const suite = unavailable ? describe.skip : describe;
const STEP_TIMEOUT = 180_000;

/** The launcher the engine runs for a Node.js policy pack when it has no language host (cwd: the pack). */
const ANALYZER_LAUNCHER = `#!/bin/sh
PULUMI_RUN_POLICY_PACK=$(node -e "console.log(require.resolve('@pulumi/pulumi/cmd/run-policy-pack'))")
if [ ! -z "$PULUMI_RUN_POLICY_PACK" ]; then
    node "$PULUMI_RUN_POLICY_PACK" "$@"
fi
`;

let dir: string;
let env: Record<string, string>;

async function previewOn(stackName: string, policy: string): Promise<{ ok: boolean; output: string }> {
  const auto = packageRequire<typeof Automation>('@pulumi/pulumi/automation');
  const program = distRequire<typeof import('../../provider/pulumi/program')>('provider/pulumi/program');
  const stack = await auto.LocalWorkspace.createOrSelectStack(
    { stackName, projectName: 'pmgrants', program: async () => program.definePmgrantsStack().outputs },
    { workDir: dir, envVars: env },
  );
  await stack.setConfig('pmgrants:policy', { value: path.join(REPO, 'examples', policy) });
  // No overlay: the stack's own guardrails are not merged, so only the pack can refuse.
  await stack.setConfig('pmgrants:overlay', { value: 'none' });
  await stack.setConfig('pmgrants:databaseUrl', { value: 'postgres://admin:never-used@db.invalid/wh', secret: true });
  try {
    const r = await stack.preview({ policyPacks: [path.join(REPO, 'policy-pack')] });
    return { ok: true, output: r.stdout };
  } catch (err) {
    return { ok: false, output: String((err as Error).message) };
  }
}

suite('the policy pack under the real Pulumi engine', () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-policy-pack-e2e-'));
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    const engine = fs.realpathSync(onPath('pulumi')!);
    try {
      fs.linkSync(engine, path.join(bin, 'pulumi'));
    } catch {
      fs.copyFileSync(engine, path.join(bin, 'pulumi'));
      fs.chmodSync(path.join(bin, 'pulumi'), 0o755);
    }
    fs.symlinkSync(onPath('pulumi-resource-pulumi-nodejs')!, path.join(bin, 'pulumi-resource-pulumi-nodejs'));
    fs.writeFileSync(path.join(bin, 'pulumi-analyzer-policy-nodejs'), ANALYZER_LAUNCHER, { mode: 0o755 });
    fs.copyFileSync(path.join(REPO, 'Pulumi.yaml'), path.join(dir, 'Pulumi.yaml'));
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
    fs.symlinkSync(DIST, path.join(dir, 'dist'));
    fs.mkdirSync(path.join(dir, 'state'));
    // Without a language host on PATH (the one next to the original engine is not next to this copy).
    const pathDirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => !fs.existsSync(path.join(d, 'pulumi-language-nodejs')));
    env = {
      PATH: [bin, ...pathDirs].join(path.delimiter),
      PULUMI_BACKEND_URL: `file://${path.join(dir, 'state')}`,
      PULUMI_CONFIG_PASSPHRASE: 'pmgrants-policy-pack-e2e',
      PULUMI_SKIP_UPDATE_CHECK: '1',
      PULUMI_HOME: path.join(dir, '.pulumi-home'),
    };
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it(
    'rejects a prod stack in single_account, naming the violated guardrail (the mode, and nothing else)',
    async () => {
      const r = await previewOn('prod', 'uipath-single-account.yaml');
      expect(r.ok).toBe(false);
      expect(r.output).toMatch(/pmgrants-guardrails@v0\.1\.0/);
      expect(r.output).toMatch(/\[mandatory\]\s+pmgrants-forbid-modes\s+\(pulumi-nodejs:dynamic\/pmgrants:Warehouse: warehouse\)/);
      expect(r.output).toMatch(/guardrail-mode: the warehouse of stack prod: this stack forbids security mode single_account; use system_managed/);
      // The example is refused for its mode alone: its apps name an owner team, as prod requires.
      expect(r.output).not.toMatch(/guardrail-owner-team|guardrail-groups-only|guardrail-wildcard/);
    },
    STEP_TIMEOUT,
  );

  it(
    'lets the same policy through on dev, and the prod-ready example through on prod',
    async () => {
      const dev = await previewOn('dev', 'uipath-single-account.yaml');
      expect(dev.output).not.toMatch(/guardrail-/);
      expect(dev.ok).toBe(true);
      const prod = await previewOn('prod', 'uipath-system-managed.yaml');
      expect(prod.output).not.toMatch(/guardrail-/);
      expect(prod.ok).toBe(true);
    },
    STEP_TIMEOUT,
  );
});
