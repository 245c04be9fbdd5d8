/**
 * parseSource reads most policies the quick way (js-yaml, provider/policy/fast-yaml.ts) and the rest
 * in full (the yaml package). Whenever the quick way reads a file, it must read it exactly as the full
 * parse does: no problem the full parse would report, the same value, and the same line and column for
 * every node and key a diagnostic can point at (and for paths that do not exist).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generatePolicy, standardSize } from '../../bench/generate';
import { parseFast } from '../../provider/policy/fast-yaml';
import { parseSource, parseSourceFully, PathSegment } from '../../provider/policy/source';

const root = path.resolve(__dirname, '..', '..');

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const f = path.join(dir, e.name);
    return e.isDirectory() ? yamlFiles(f) : /\.ya?ml$/.test(e.name) ? [f] : [];
  });
}

/** Every path into a value, plus a missing key or item under each collection. */
function pathsOf(value: unknown, at: PathSegment[] = [], out: PathSegment[][] = []): PathSegment[][] {
  out.push(at);
  if (Array.isArray(value)) {
    value.forEach((v, i) => pathsOf(v, [...at, i], out));
    out.push([...at, value.length], [...at, 'x']);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) pathsOf(v, [...at, k], out);
    out.push([...at, 'no-such-key']);
  }
  return out;
}

/** 'quick' when the quick way read the text, after checking it read it as the full parse does; else 'full'. */
function readAlike(text: string): 'quick' | 'full' {
  if (!parseFast(text)) return 'full';
  const quick = parseSource('p.yaml', text);
  const full = parseSourceFully('p.yaml', text);
  expect(quick.diagnostics).toEqual([]);
  expect(full.diagnostics).toEqual([]);
  expect(quick.source!.value).toEqual(full.source!.value);
  for (const p of pathsOf(full.source!.value)) {
    for (const key of [false, true]) expect(quick.source!.locate(p, key), `${JSON.stringify(p)} key=${key}`).toEqual(full.source!.locate(p, key));
  }
  return 'quick';
}

describe('reading a policy the quick way', () => {
  it('reads every example, stack and bench policy the quick way, exactly as the full parse', () => {
    const files = [...yamlFiles(path.join(root, 'examples')), ...yamlFiles(path.join(root, 'stacks'))];
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(readAlike(fs.readFileSync(f, 'utf8')), f).toBe('quick');
    for (const apps of [10, 50]) expect(readAlike(generatePolicy(standardSize(apps)).yaml)).toBe('quick');
  });

  it('every test fixture is read alike or left to the full parse', () => {
    const files = yamlFiles(path.join(root, 'test', 'fixtures'));
    expect(files.length).toBeGreaterThan(10);
    const ways = files.map((f) => readAlike(fs.readFileSync(f, 'utf8')));
    expect(ways).toContain('quick');
    expect(ways).toContain('full');
  });

  it('leaves to the full parse what it cannot promise to read alike', () => {
    const base = 'apiVersion: pmgrants/v1\nwarehouse: { engine: postgres, database: wh }\n';
    for (const extra of [
      'a: &x { b: 1 }\nc: *x\n', // anchors and aliases
      'a: !!str 5\n', // tags
      'a: |\n  two\n  lines\n', // block scalar
      'a: "folded\n  over two lines"\n', // a flow scalar spanning lines
      'a:\n', // an empty (null) node
      'a: ~\n', // null
      '~: 1\n', // a null key
      '[1, 2]: 1\n', // a collection as a key
      '<<: { b: 1 }\n', // a merge key
      'a: 1\na: 2\n', // duplicate keys
      '---\na: 1\n', // a second document
      '\ta: 1\n', // a tab
    ]) {
      expect(parseFast(base + extra), JSON.stringify(extra)).toBeUndefined();
    }
    expect(parseFast('%YAML 1.2\n---\na: 1\n')).toBeUndefined();
    expect(parseFast('- a\n- b\n')).toBeUndefined(); // not a mapping
    expect(parseFast('')).toBeUndefined();
  });

  it('resolves plain scalars by the YAML 1.2 core schema as the yaml package does', () => {
    const scalars = ['1_000', '0o17', '017', '0x1F', '+5', '-0', '1e3', '.5', '1.', '.inf', '-.Inf', '.NaN', 'True', 'FALSE', 'yes', 'on', '2024-01-01', '0b11', '1:30', '+.5e-3'];
    const text = `apiVersion: pmgrants/v1\n${scalars.map((s, i) => `k${i}: ${s}`).join('\n')}\nflow: [${scalars.join(', ')}]\n`;
    expect(readAlike(text)).toBe('quick');
  });

  it('thousands of mutated policies: whatever the quick way reads, it reads as the full parse does', () => {
    const texts = [
      fs.readFileSync(path.join(root, 'examples', 'uipath-system-managed.yaml'), 'utf8'),
      fs.readFileSync(path.join(root, 'examples', 'mpmx-personas.yaml'), 'utf8'),
      generatePolicy(standardSize(10)).yaml.slice(0, 3000),
    ];
    const pieces = [' ', '  ', '\n', '\n  ', ':', ': ', '- ', '-', '{', '}', '[', ']', ',', '#', '"', "'", '\\', '\t', '?', '&a ', '*a', '!', '|', '>', '~', '0', '1.5', 'e3', '0x', '_', '%', '@', '`', 'true', 'null', '<<', '__proto__', '\r\n', '\u00e9', '\u2028'];
    const edit = fc.record({
      text: fc.constantFrom(...texts.keys()),
      edits: fc.array(fc.record({ at: fc.nat(), cut: fc.nat({ max: 3 }), insert: fc.constantFrom(...pieces) }), { minLength: 1, maxLength: 4 }),
    });
    let quick = 0;
    fc.assert(
      fc.property(edit, ({ text, edits }) => {
        let t = texts[text];
        for (const e of edits) {
          const at = e.at % (t.length + 1);
          t = t.slice(0, at) + e.insert + t.slice(at + e.cut);
        }
        if (readAlike(t) === 'quick') quick++;
      }),
      { numRuns: 3000, seed: 20261123 },
    );
    // Most single edits leave a readable policy: the comparison above ran on many of them.
    expect(quick).toBeGreaterThan(1000);
    // About 30 s of one core; a machine busy with other work can take twice that.
  }, 240_000);
});
