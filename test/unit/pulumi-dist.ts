/**
 * The Pulumi tests load pmgrants' COMPILED modules (dist/, built by `npm test` before vitest runs)
 * through Node's own require, as Pulumi does: the engine runs dist/index.js, the dynamic-provider
 * process loads dist/provider/pulumi/providers.js, Pulumi's closure serializer reads plain CommonJS,
 * and the engines registry require()s its engines by relative path, which vitest's transform cannot.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { postgresUnavailableReason } from '../support/pg';

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
