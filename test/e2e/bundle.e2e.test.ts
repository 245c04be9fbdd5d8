/**
 * The CLI as users run it: bin/pmgrants, which runs the one-file bundle dist/pmgrants.js (npm run
 * build). Each command is run both through the bundle and through tsc's output, and must print the
 * same; the live commands read the catalog SQL through the package root, as an installed bundle does.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailableReason, startTestServer, TestServer } from '../support/pg';
import { generatePolicy, standardSize } from '../../bench/generate';

const root = path.resolve(__dirname, '..', '..');
const launcher = path.join(root, 'bin', 'pmgrants');
const bundle = path.join(root, 'dist', 'pmgrants.js');
const codeCache = path.join(root, 'dist', 'pmgrants.jsc');
const unbundled = path.join(root, 'dist', 'provider', 'cli', 'main.js');
const node = fs.existsSync(path.join(root, 'node_modules', '.bin', 'node')) ? path.join(root, 'node_modules', '.bin', 'node') : process.execPath;

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(command, args, { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the CLI bundle', () => {
  it('is built, and newer than the code it bundles', () => {
    expect(fs.existsSync(bundle), 'dist/pmgrants.js is missing: run npm run build').toBe(true);
    expect(fs.statSync(bundle).mtimeMs, 'dist/pmgrants.js is older than dist/provider/cli/main.js: run npm run build').toBeGreaterThanOrEqual(fs.statSync(unbundled).mtimeMs);
  });

  it('a reader that closes early (plan | head) ends the output quietly: no stack trace, exit 0', () => {
    // A plan far larger than a pipe's buffer, read one byte of: pmgrants then writes into a closed pipe.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-epipe-'));
    const file = path.join(dir, 'large.yaml');
    fs.writeFileSync(file, generatePolicy(standardSize(20)).yaml);
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `"${launcher}" plan "${file}" --offline | head -c 1 >/dev/null`], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('bin/pmgrants --version prints the version in package.json', () => {
    const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect(run(launcher, ['--version'])).toEqual({ code: 0, stdout: `pmgrants ${version}\n`, stderr: '' });
  });

  it('validates every example and prints every offline plan exactly as the unbundled CLI does', () => {
    const examples = fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.yaml'));
    expect(examples.length).toBeGreaterThanOrEqual(5);
    for (const example of examples) {
      const file = path.join('examples', example);
      for (const args of [['validate', file], ['plan', file, '--offline', '--format', 'sql'], ['plan', file, '--offline', '--format', 'markdown']]) {
        const viaBundle = run(launcher, args);
        expect(viaBundle.code, `${args.join(' ')}: ${viaBundle.stderr}`).toBe(0);
        expect(viaBundle).toEqual(run(node, [unbundled, ...args]));
      }
    }
  });

  it('bin/pmgrants starts the bundle with the code cache npm run build made, and prints the same with or without it', () => {
    expect(fs.existsSync(codeCache), 'dist/pmgrants.jsc is missing: run npm run build').toBe(true);
    const withCache = run(launcher, ['plan', 'examples/mpmx-personas.yaml', '--offline'], { PMGRANTS_DEBUG: '1' });
    expect(withCache.stderr).toBe(`pmgrants: code cache used (${codeCache})\n`);
    expect(withCache.stdout).toBe(run(node, [unbundled, 'plan', 'examples/mpmx-personas.yaml', '--offline']).stdout);
  });

  it('a code cache made for another bundle, or refused by V8, is ignored and the bundle still runs', () => {
    // Beside the real bundle, so it finds the package root as the real one does.
    const other = path.join(root, 'dist', `pmgrants.other-${process.pid}.js`);
    try {
      const launch = path.join(root, 'dist', 'provider', 'cli', 'launch.js');
      // Same length, other content: V8 alone would take the cache (it compares lengths only).
      const source = fs.readFileSync(bundle, 'utf8');
      fs.writeFileSync(other, source.replace('"use strict";', "'use strict';"));
      expect(fs.statSync(other).size).toBe(fs.statSync(bundle).size);
      const probe = (bundleFile: string, flags: string[] = []) =>
        run(node, [
          ...flags,
          '-e',
          `const l = require(${JSON.stringify(launch)}).loadBundle(${JSON.stringify(bundleFile)}, ${JSON.stringify(codeCache)}, false);` +
            `l.exports.runCli(['--version'], { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), env: {}, interactive: false, confirm: async () => false, cwd: '.' })` +
            `.then((code) => console.log(l.cache, code));`,
        ]);
      const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
      expect(probe(bundle)).toEqual({ code: 0, stdout: `pmgrants ${version}\nused 0\n`, stderr: '' });
      expect(probe(other).stdout).toBe(`pmgrants ${version}\nmade for another bundle 0\n`);
      expect(probe(bundle, ['--min-semi-space-size=64']).stdout).toBe(`pmgrants ${version}\nrejected by V8 0\n`);
    } finally {
      fs.rmSync(other, { force: true });
    }
  });

  it('reports an invalid policy with the same diagnostics and exit code', () => {
    const invalid = path.join('test', 'fixtures', 'invalid', 'schema-violations.yaml');
    const viaBundle = run(launcher, ['validate', invalid]);
    expect(viaBundle.code).toBe(1);
    expect(viaBundle).toEqual(run(node, [unbundled, 'validate', invalid]));
  });
});

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the bundled CLI against PostgreSQL: ${unavailable}`);

(unavailable ? describe.skip : describe)('the CLI bundle against PostgreSQL', () => {
  let pg: TestServer;
  let work: string;
  beforeAll(async () => {
    pg = await startTestServer();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-bundle-'));
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('plans, applies (passwords to a 0600 file) and converges, reading the catalog SQL from the package root', async () => {
    const policy = path.join(work, 'policy.yaml');
    const example = fs.readFileSync(path.join(root, 'examples', 'ibm-custom-apps.yaml'), 'utf8');
    fs.writeFileSync(policy, example);
    const database = /database:\s*([A-Za-z0-9_]+)/.exec(example)![1];
    await pg.createDatabase(database);
    const env = { PMGRANTS_DATABASE_URL: pg.url(database) };
    const secrets = path.join(work, 'secrets.json');
    expect(run(launcher, ['plan', policy, '--detailed-exitcode'], env).code).toBe(2);
    const applied = run(launcher, ['apply', policy, '--yes', '--secrets-file', secrets], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^Applied \d+ changes?/m);
    expect(fs.statSync(secrets).mode & 0o777).toBe(0o600);
    const again = run(launcher, ['plan', policy, '--detailed-exitcode'], env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
  });
});
