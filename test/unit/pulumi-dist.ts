/**
 * The Pulumi tests load pmgrants' COMPILED modules (dist/, built by `npm test` before vitest runs)
 * through Node's own require, as Pulumi does: the engine runs dist/index.js, the dynamic-provider
 * process loads dist/provider/pulumi/providers.js, Pulumi's closure serializer reads plain CommonJS,
 * and the engines registry require()s its engines by relative path, which vitest's transform cannot.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Automation from '@pulumi/pulumi/automation';
import { expect } from 'vitest';
import { postgresUnavailableReason, TestServer } from '../support/pg';

export const REPO = path.resolve(__dirname, '..', '..');
export const DIST = path.join(REPO, 'dist');

const nodeRequire = createRequire(path.join(REPO, 'package.json'));

/** require() a compiled module by its path under dist/ (e.g. 'provider/pulumi/program'). */
export function distRequire<T>(modulePath: string): T {
  const base = path.join(DIST, modulePath);
  const file = fs.existsSync(`${base}.js`) ? `${base}.js` : path.join(base, 'index.js');
  if (!fs.existsSync(file)) throw new Error(`${path.relative(REPO, file)} is missing: run "npm run build" (npm test builds first)`);
  return nodeRequire(file) as T;
}

/** require() a package as the compiled modules see it (the same instance, e.g. @pulumi/pulumi). */
export function packageRequire<T>(name: string): T {
  return nodeRequire(name) as T;
}

/** Why the real Pulumi engine cannot run the end-to-end tests here, or undefined. */
export function engineUnavailableReason(): string | undefined {
  const onPath = (name: string) =>
    (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
      try {
        fs.accessSync(path.join(dir, name), fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  if (!onPath('pulumi')) return 'the Pulumi engine (pulumi) is not on PATH; run PATH="$(scripts/pulumi-engine.sh):$PATH" first (it builds the engine from the Go module proxy)';
  if (!onPath('pulumi-resource-pulumi-nodejs')) return 'pulumi-resource-pulumi-nodejs (the dynamic-provider launcher) is not on PATH; scripts/pulumi-engine.sh puts it next to pulumi';
  if (!fs.existsSync(path.join(DIST, 'provider', 'pulumi', 'providers.js'))) return 'dist/ is not built; run npm run build';
  return postgresUnavailableReason();
}

/**
 * A Pulumi project directory of its own for an end-to-end test (stack settings files land there, not in
 * the repository): the repository's Pulumi.yaml, links to node_modules and dist, and an empty `state/`
 * for the local file backend.
 */
export function pulumiProjectDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.copyFileSync(path.join(REPO, 'Pulumi.yaml'), path.join(dir, 'Pulumi.yaml'));
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  fs.symlinkSync(DIST, path.join(dir, 'dist'));
  fs.mkdirSync(path.join(dir, 'state'));
  return dir;
}

/**
 * The pmgrants program (from dist/) as an inline Automation API stack in `dir`: local file backend in
 * `dir/state`, a passphrase, no update check, fully offline; with its policy, overlays and (secret)
 * database URL set.
 */
export async function pmgrantsTestStack(
  dir: string,
  stackName: string,
  config: { policyFile: string; stacksDir: string; databaseUrl: string },
): Promise<Automation.Stack> {
  const auto = packageRequire<typeof Automation>('@pulumi/pulumi/automation');
  const program = distRequire<typeof import('../../provider/pulumi/program')>('provider/pulumi/program');
  const stack = await auto.LocalWorkspace.createOrSelectStack(
    { stackName, projectName: 'pmgrants', program: async () => program.definePmgrantsStack().outputs },
    {
      workDir: dir,
      envVars: {
        PULUMI_BACKEND_URL: `file://${path.join(dir, 'state')}`,
        PULUMI_CONFIG_PASSPHRASE: 'pmgrants-e2e-passphrase',
        PULUMI_SKIP_UPDATE_CHECK: '1',
        PULUMI_HOME: path.join(dir, '.pulumi-home'),
      },
    },
  );
  await stack.setConfig('pmgrants:policy', { value: config.policyFile });
  await stack.setConfig('pmgrants:stacksDir', { value: config.stacksDir });
  await stack.setConfig('pmgrants:databaseUrl', { value: config.databaseUrl, secret: true });
  return stack;
}

/**
 * A project directory of its own (pulumiProjectDir) holding the test's policy (`policy.yaml`) and the
 * overlay stacks/<stackName>.yaml that points it at `database`, and the pmgrants stack on it.
 */
export async function pmgrantsPolicyStack(
  prefix: string,
  stackName: string,
  config: { database: string; policyText: string; databaseUrl: string },
): Promise<{ dir: string; stack: Automation.Stack }> {
  const dir = pulumiProjectDir(prefix);
  const stacksDir = path.join(dir, 'stacks');
  fs.mkdirSync(stacksDir);
  fs.writeFileSync(path.join(stacksDir, `${stackName}.yaml`), `apiVersion: pmgrants/v1\noverlay:\n  warehouse: { database: ${config.database} }\n`);
  fs.writeFileSync(path.join(dir, 'policy.yaml'), config.policyText);
  const stack = await pmgrantsTestStack(dir, stackName, { policyFile: path.join(dir, 'policy.yaml'), stacksDir, databaseUrl: config.databaseUrl });
  return { dir, stack };
}

/** The apps' logins and passwords the stack delivers (its `apps` output), each one proved by logging in to `database` as it. */
export async function deliveredLoginsLogIn(stack: Automation.Stack, server: TestServer, database: string): Promise<Record<string, { login: string; password: string }>> {
  const delivered = (await stack.outputs()).apps.value as Record<string, { login: string; password: string }>;
  for (const a of Object.values(delivered)) {
    const c = await server.connectAs(a.login, a.password, database);
    try {
      expect((await c.query('SELECT current_user AS u')).rows[0].u).toBe(a.login);
    } finally {
      await c.end();
    }
  }
  return delivered;
}
