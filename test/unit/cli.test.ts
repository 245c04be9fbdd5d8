import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, COMMANDS } from '../../provider/cli/main';
import { CliIO } from '../../provider/cli/io';
import { runCliCaptured } from '../support/cli';

const root = path.join(__dirname, '..', '..');
const ex = (f: string) => path.join(root, 'examples', f);

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runCliCaptured(args, { env, cwd: root });

describe('pmgrants CLI', () => {
  it('--help lists every command and the exit codes', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const [spec] of COMMANDS) expect(r.out).toContain(spec.name);
    expect(r.out).toMatch(/Exit codes: 0 ok, 1 policy invalid, 2 usage/);
  });

  it('every command has --help', async () => {
    for (const [spec] of COMMANDS) {
      const r = await run([spec.name, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: pmgrants ${spec.name}`);
    }
  });

  it('validate: exit 0 on a valid policy, 1 on an invalid one, 2 on usage errors', async () => {
    expect((await run(['validate', ex('uipath-system-managed.yaml')])).code).toBe(0);
    const bad = await run(['validate', path.join(root, 'test/fixtures/invalid/unknown-references.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('unknown-references.yaml:9:61 error unknown-app unknown app "purchase-to-pai" (did you mean "purchase-to-pay"?)');
    const usage = await run(['validate', '--bogus']);
    expect(usage.code).toBe(2);
    expect(usage.err).toBe("pmgrants: validate: unknown option '--bogus'; see 'pmgrants validate --help'\n");
    expect((await run(['frobnicate'])).err).toBe("pmgrants: unknown command \"frobnicate\"; run 'pmgrants --help' for the list\n");
  });

  it('a stack with no overlay file is a usage error: exit 2, one sentence, for every command that loads a policy', async () => {
    const policy = ex('uipath-system-managed.yaml');
    for (const args of [['validate', policy], ['plan', policy, '--offline'], ['diff-stacks', policy, 'dev']]) {
      const r = await run([...args, args[0] === 'diff-stacks' ? 'staging' : '--stack=staging', '--stacks-dir', path.join(root, 'stacks')]);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toBe(`pmgrants: ${policy}: no overlay for stack "staging" (looked for stacks/staging.yaml)\n`);
    }
  });

  it('validate --format github and sarif carry positions', async () => {
    const f = path.join(root, 'test/fixtures/invalid/unknown-references.yaml');
    const gh = await run(['validate', f, '--format', 'github']);
    expect(gh.out).toContain(`::error file=${f},line=9,col=61,title=unknown-app::unknown app "purchase-to-pai" (did you mean "purchase-to-pay"?)`);
    const sarif = JSON.parse((await run(['validate', f, '--format', 'sarif'])).out);
    expect(sarif.runs[0].results.find((r: { level: string }) => r.level === 'error').locations[0].physicalLocation.region).toEqual({ startLine: 9, startColumn: 36 });
  });

  it('validate --stack prod rejects single_account', async () => {
    const r = await run(['validate', ex('uipath-single-account.yaml'), '--stack', 'prod', '--stacks-dir', path.join(root, 'stacks')]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/uipath-single-account\.yaml:14:9 error guardrail-mode this stack forbids security mode single_account/);
  });

  it('plan --neutral prints the engine-neutral creation plan in every format', async () => {
    const text = await run(['plan', ex('uipath-system-managed.yaml'), '--neutral']);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^pmgrants plan for database AutomationSuite_ProcessMining_Warehouse/);
    expect(text.out).toMatch(/Plan: \d+ to add, 0 to change, 0 to remove\.\n$/);
    const md = await run(['plan', ex('uipath-system-managed.yaml'), '--neutral', '--format', 'markdown']);
    expect(md.out).toContain('#### purchase-to-pay');
    expect(md.out).toContain('| logins created | 3 |');
    const json = JSON.parse((await run(['plan', ex('uipath-system-managed.yaml'), '--neutral', '--format', 'json'])).out);
    expect(json.formatVersion).toBe(1);
    expect(json.summary.add).toBe(json.changes.length);
  });

  it('plan without a database says how to give one', async () => {
    const r = await run(['plan', ex('uipath-system-managed.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toBe('pmgrants: no database to connect to: pass --database-url or set PMGRANTS_DATABASE_URL (or use --offline to print the creation plan)\n');
  });

  it('plan on an invalid policy exits 1 with diagnostics on stderr', async () => {
    const r = await run(['plan', path.join(root, 'test/fixtures/invalid/schema-violations.yaml'), '--offline']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error api-version');
    expect(r.out).toBe('');
  });

  it('bad --format is a usage error', async () => {
    const r = await run(['plan', ex('uipath-system-managed.yaml'), '--neutral', '--format', 'yaml']);
    expect(r).toMatchObject({ code: 2, err: 'pmgrants: --format must be one of text, markdown, json, sql, not "yaml"\n' });
  });
});

describe('apply --yes prints its plan in pieces while the apply runs', () => {
  it('prints every piece once, in order, and lets other callbacks run between the pieces', async () => {
    const { printInPieces } = await import('../../provider/cli/commands/apply');
    const written: string[] = [];
    const io = { out: (t: string) => written.push(t) } as unknown as CliIO;
    const pieces = ['a\n', 'b é\n', 'c\n'];
    // An I/O-phase callback scheduled before printing runs before the printing is over.
    let piecesBefore = -1;
    setImmediate(() => (piecesBefore = written.length));
    await printInPieces(io, pieces);
    expect(piecesBefore).toBeGreaterThan(0);
    expect(piecesBefore).toBeLessThan(3);
    expect(written).toEqual(pieces);
  });

});
