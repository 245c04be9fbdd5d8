import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../provider/policy/load';
import { parseSource } from '../../provider/policy/source';
import { checkPolicy } from '../../provider/policy/check';
import { compilePolicy } from '../../provider/model/compile';

const root = path.join(__dirname, '..', '..');
const examples = fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.yaml'));
const invalid = fs.readdirSync(path.join(root, 'test', 'fixtures', 'invalid')).filter((f) => f.endsWith('.yaml'));
const stacksDir = path.join(root, 'stacks');

describe('examples', () => {
  it('there is one per seed product', () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
  });
  for (const file of examples) {
    it(`${file} is valid, references the schema, and compiles deterministically`, () => {
      const full = path.join(root, 'examples', file);
      const text = fs.readFileSync(full, 'utf8');
      expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/policy.schema.json');
      const loaded = loadPolicy(full);
      expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(loaded.policy).toBeDefined();
      const now = new Date();
      const a = JSON.stringify(compilePolicy(loaded.policy!, { now }));
      const b = JSON.stringify(compilePolicy(loadPolicy(full).policy!, { now }));
      expect(a).toBe(b);
      expect(compilePolicy(loaded.policy!, { now }).roles.length).toBeGreaterThan(0);
    });
    for (const stack of ['dev', 'test']) {
      it(`${file} is valid with stack ${stack}`, () => {
        const loaded = loadPolicy(path.join(root, 'examples', file), { stack, stacksDir });
        expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        expect(loaded.policy!.warehouse.database).toMatch(stack === 'dev' ? /_Dev$/ : /_Test$/);
      });
    }
  }
  it('the system_managed example passes the prod guardrails', () => {
    const loaded = loadPolicy(path.join(root, 'examples', 'uipath-system-managed.yaml'), { stack: 'prod', stacksDir });
    expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(loaded.policy!.warehouse.database).toBe('PM_Warehouse_Prod');
  });
  it('the single_account example is rejected by the prod stack, pointing at the mode', () => {
    const loaded = loadPolicy(path.join(root, 'examples', 'uipath-single-account.yaml'), { stack: 'prod', stacksDir });
    const mode = loaded.diagnostics.find((d) => d.code === 'guardrail-mode');
    expect(mode).toMatchObject({ severity: 'error', line: 14, column: 9, path: '/security/mode' });
    expect(loaded.policy).toBeUndefined();
  });
});

describe('invalid fixtures give exactly the expected diagnostics', () => {
  for (const file of invalid) {
    it(file, () => {
      const full = path.join(root, 'test', 'fixtures', 'invalid', file);
      const expected = fs.readFileSync(full.replace(/\.yaml$/, '.expected'), 'utf8').trim().split('\n');
      const loaded = loadPolicy(full);
      const got = loaded.diagnostics.map((d) => `${d.line}:${d.column} ${d.severity} ${d.code} ${d.message}`);
      expect(got).toEqual(expected);
      expect(loaded.policy).toBeUndefined();
      for (const d of loaded.diagnostics) expect(d.file).toBe(full);
    });
  }
});

describe('hostile input never throws and never hangs', () => {
  const check = (text: string) => {
    const parsed = parseSource('p.yaml', text);
    return parsed.source ? checkPolicy(parsed.source).diagnostics : parsed.diagnostics;
  };
  it('a 20 MB file is refused by size', () => {
    const big = 'apiVersion: pmgrants/v1\n' + '#'.repeat(20 * 1024 * 1024);
    const d = check(big);
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ code: 'file-too-large' });
    expect(d[0].message).toMatch(/20\.0 MiB; the limit is 16 MiB/);
  });
  it('a 20 MB file on disk is refused before it is read', () => {
    const file = path.join(require('node:os').tmpdir(), `pmgrants-big-${process.pid}.yaml`);
    fs.writeFileSync(file, Buffer.alloc(20 * 1024 * 1024, 0x23));
    try {
      expect(loadPolicy(file).diagnostics[0]).toMatchObject({ code: 'file-too-large', file });
    } finally {
      fs.unlinkSync(file);
    }
  });
  it('a missing file and a directory give one sentence each', () => {
    expect(loadPolicy('/nonexistent/policy.yaml').diagnostics).toMatchObject([{ code: 'file-unreadable', message: 'no such file' }]);
    expect(loadPolicy(root).diagnostics).toMatchObject([{ code: 'file-not-regular', message: 'is a directory, not a regular file; a policy must be a regular file' }]);
  });
  it('scalars, lists and nulls at the top level are schema errors, not crashes', () => {
    expect(check('42')[0]).toMatchObject({ code: 'invalid-type', message: 'the document must be a mapping, not 42' });
    expect(check('- a\n- b')[0]).toMatchObject({ code: 'invalid-type' });
    expect(check('~')[0]).toMatchObject({ code: 'empty-policy' });
  });
  it('wrong types deep inside are reported at their position', () => {
    const d = check('apiVersion: pmgrants/v1\nwarehouse: { engine: postgres, database: 7 }\nsecurity: { mode: system_managed }\napps: {}\ngrants: {}\n');
    expect(d.map((x) => `${x.line}:${x.column} ${x.code}`)).toEqual(['2:42 invalid-type', '5:9 invalid-type']);
  });
  it('a collection used as a key is a diagnostic, not a Node warning on stderr', () => {
    const warnings: unknown[] = [];
    const original = process.emitWarning;
    process.emitWarning = ((w: unknown) => void warnings.push(w)) as typeof process.emitWarning;
    try {
      const d = check('apiVersion: pmgrants/v1\n? [a]\n: 1\n');
      expect(d.map((x) => x.code)).toContain('unknown-property');
    } finally {
      process.emitWarning = original;
    }
    expect(warnings).toEqual([]);
  });
  it('an overlay unknown stack is a clear error', () => {
    const d = loadPolicy(path.join(root, 'examples', 'uipath-system-managed.yaml'), { stack: 'staging', stacksDir }).diagnostics;
    expect(d).toMatchObject([{ code: 'unknown-stack', message: 'no overlay for stack "staging" (looked for stacks/staging.yaml)' }]);
  });
});
