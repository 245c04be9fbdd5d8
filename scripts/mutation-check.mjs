#!/usr/bin/env node
// The mutation check (docs/testing.md): for each entry of scripts/mutations.mjs, break that behaviour in
// a scratch copy of this checkout, run the test files named for it, and say whether they caught it.
//
//   npm run mutation-check                 every mutation
//   npm run mutation-check -- lock signal  those whose name contains "lock" or "signal"
//   npm run mutation-check -- --list       the list, without running anything
//
// The checkout itself is never changed: the working tree (without node_modules, dist, .git) is copied to a
// temporary directory, built once, and each mutation is applied there, one at a time, and undone. Exit 0
// only when every mutation run was caught; a mutation whose search text is gone is "stale" (and fails).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MUTATIONS } from './mutations.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const filters = args.filter((a) => !a.startsWith('--'));
const chosen = MUTATIONS.filter((m) => filters.length === 0 || filters.some((f) => m.name.includes(f)));

if (args.includes('--list')) {
  for (const m of MUTATIONS) console.log(`${m.name.padEnd(32)} ${m.behaviour}\n${' '.repeat(33)}${m.edits.map((e) => e.file).join(', ')} -> ${m.tests.join(', ')}`);
  process.exit(0);
}
if (chosen.length === 0) {
  console.error(`mutation-check: no mutation matches ${filters.join(', ')}; run with --list`);
  process.exit(2);
}

const log = (text) => process.stdout.write(`${text}\n`);

/** The Pulumi engine on PATH for the Pulumi tests, as .ci/run does (their tests skip, saying so, without it). */
function pulumiPath() {
  const r = spawnSync(path.join(root, 'scripts', 'pulumi-engine.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function run(command, commandArgs, cwd, env) {
  return spawnSync(command, commandArgs, { cwd, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

/** Copy the working tree to a scratch directory; node_modules is linked, not copied. */
function scratchCopy() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-mutation-'));
  const skip = new Set(['node_modules', 'dist', '.git', '.pmgrants']);
  for (const entry of fs.readdirSync(root)) {
    if (skip.has(entry)) continue;
    fs.cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true, filter: (src) => !src.includes(`${path.sep}.pmgrants`) });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

function build(dir, env) {
  const r = run('npx', ['tsc', '-p', 'tsconfig.json'], dir, env);
  if (r.status !== 0) return `tsc failed: ${(r.stdout + r.stderr).trim().split('\n').slice(0, 5).join(' | ')}`;
  const b = run(process.execPath, ['scripts/bundle-cli.mjs'], dir, env);
  if (b.status !== 0) return `bundle failed: ${(b.stdout + b.stderr).trim().split('\n').slice(0, 5).join(' | ')}`;
  return undefined;
}

/** Apply a mutation's edits; the original texts, or why it is stale. */
function applyEdits(dir, mutation) {
  const originals = new Map();
  for (const edit of mutation.edits) {
    const file = path.join(dir, edit.file);
    if (!fs.existsSync(file)) return { stale: `${edit.file} does not exist`, originals };
    const text = fs.readFileSync(file, 'utf8');
    if (!originals.has(file)) originals.set(file, text);
    const count = text.split(edit.search).length - 1;
    if (count !== 1) return { stale: `${edit.file}: the search text is found ${count} times (expected once)`, originals };
    fs.writeFileSync(file, text.replace(edit.search, () => edit.replace));
  }
  return { originals };
}

/** Run the test files; the names of the tests that failed, and whether any ran at all. */
function runTests(dir, env, tests) {
  // The project's vitest config writes this JSON report (beside its default reporter).
  const report = path.join(dir, '.pmgrants', 'test-results.json');
  fs.rmSync(report, { force: true });
  const r = run('npx', ['vitest', 'run', ...tests], dir, env);
  if (!fs.existsSync(report)) return { error: `vitest wrote no report (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}` };
  const json = JSON.parse(fs.readFileSync(report, 'utf8'));
  const failed = [];
  let passed = 0;
  let skipped = 0;
  for (const file of json.testResults) {
    for (const t of file.assertionResults) {
      if (t.status === 'failed') failed.push(`${path.basename(file.name)} > ${t.title}`);
      else if (t.status === 'passed') passed++;
      else skipped++;
    }
    // A file that failed to load (or whose hooks failed) fails without a failed test: say so.
    if (file.status === 'failed' && !file.assertionResults.some((t) => t.status === 'failed')) failed.push(`${path.basename(file.name)} (the file failed: ${String(file.message ?? '').split('\n')[0]})`);
  }
  return { failed, passed, skipped };
}

const started = Date.now();
const pulumiBin = pulumiPath();
const env = { ...process.env, ...(pulumiBin ? { PATH: `${pulumiBin}${path.delimiter}${process.env.PATH}` } : {}) };
if (!pulumiBin) log('note: no Pulumi engine (scripts/pulumi-engine.sh failed): the Pulumi tests skip, so they catch nothing');
const dir = scratchCopy();
log(`mutation-check: ${chosen.length} of ${MUTATIONS.length} mutations, scratch copy ${dir}`);
const baseline = build(dir, env);
if (baseline) {
  log(`the unmutated copy does not build: ${baseline}`);
  process.exit(2);
}
const pristineDist = path.join(dir, '.pristine-dist');
fs.cpSync(path.join(dir, 'dist'), pristineDist, { recursive: true });

const results = [];
for (const mutation of chosen) {
  const t0 = Date.now();
  const { stale, originals } = applyEdits(dir, mutation);
  let outcome;
  if (stale) outcome = { verdict: 'STALE', detail: stale };
  else {
    const usesDist = mutation.build || mutation.tests.some((t) => /\bdist\b/.test(fs.readFileSync(path.join(dir, t), 'utf8')));
    const broken = usesDist ? build(dir, env) : undefined;
    if (broken) outcome = { verdict: 'INVALID', detail: `the mutated copy does not build (${broken})` };
    else {
      const r = runTests(dir, env, mutation.tests);
      if (r.error) outcome = { verdict: 'INVALID', detail: r.error };
      else if (r.failed.length > 0) outcome = { verdict: 'caught', detail: `${r.failed.length} failed:`, failed: r.failed };
      else outcome = { verdict: 'NOT CAUGHT', detail: `${r.passed} passed, ${r.skipped} skipped` };
    }
    if (usesDist) {
      fs.rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
      fs.cpSync(pristineDist, path.join(dir, 'dist'), { recursive: true });
    }
  }
  for (const [file, text] of originals) fs.writeFileSync(file, text);
  const seconds = ((Date.now() - t0) / 1000).toFixed(0);
  results.push({ name: mutation.name, ...outcome });
  log(`${outcome.verdict.padEnd(10)} ${mutation.name.padEnd(30)} ${seconds.padStart(4)} s  ${outcome.detail}`);
  for (const test of outcome.failed ?? []) log(`             - ${test}`);
}

const count = (v) => results.filter((r) => r.verdict === v).length;
log(
  `\n${results.length} mutations: ${count('caught')} caught, ${count('NOT CAUGHT')} not caught, ${count('STALE')} stale, ${count('INVALID')} invalid (${((Date.now() - started) / 60000).toFixed(1)} min)`,
);
if (!args.includes('--keep')) fs.rmSync(dir, { recursive: true, force: true });
else log(`scratch copy kept: ${dir}`);
process.exit(results.every((r) => r.verdict === 'caught') ? 0 : 1);
