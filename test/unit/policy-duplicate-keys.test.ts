import { describe, expect, it } from 'vitest';
import { LineCounter, parseAllDocuments } from 'yaml';
import { parseSource } from '../../provider/policy/source';

/** Where yaml's own `uniqueKeys: true` check reports duplicate keys (line:column). */
function yamlsOwn(text: string): string[] {
  const lineCounter = new LineCounter();
  const [doc] = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false }) as ReturnType<typeof parseAllDocuments> & { errors: { code: string; pos: [number, number] }[] }[];
  return doc.errors.filter((e) => e.code === 'DUPLICATE_KEY').map((e) => {
    const p = lineCounter.linePos(e.pos[0]);
    return `${p.line}:${p.col}`;
  });
}

describe('parseSource finds duplicate keys where yaml\'s own check does, in one pass per mapping', () => {
  const cases = [
    'a: 1\na: 2\n',
    'a: 1\nb: {x: 1, x: 2}\n',
    '&k a: 1\na: 2\n',
    '? a\n: 1\n? a\n: 2\n',
    '1: a\n1.0: b\n"1": c\n',
    'null: 1\n~: 2\n: 3\n',
    '.nan: 1\n.nan: 2\n',
    'true: 1\nTrue: 2\n',
    'x:\n  - {a: 1, a: 1}\n  - a: 1\n    a: 2\n',
    '[a]: 1\n[a]: 2\n',
    'a: 1\nb: 2\na: 3\na: 4\n',
    '0: a\n-0: b\n',
    '{a: 1, a: 2, b: {c: 1, c: 2}}\n',
    'a: &x 1\n*x : 2\n1: 3\n',
  ];
  for (const text of cases) {
    it(JSON.stringify(text), () => {
      const ours = parseSource('x.yaml', text).diagnostics.filter((d) => d.code === 'yaml-duplicate-key');
      expect(ours.map((d) => `${d.line}:${d.column}`)).toEqual(yamlsOwn(text));
      for (const d of ours) expect(d.message).toMatch(/^(key ".*"|a key) appears twice in this mapping \(first on line \d+, column \d+\); keys must be unique$/);
    });
  }
});

describe('a duplicate key is named, with where it first was', () => {
  it('names the key and the position of its first occurrence', () => {
    const text = 'apiVersion: pmgrants/v1\napps:\n  p2p: { schema: p2p }\n  o2c: { schema: o2c }\n  p2p: { schema: p2p2 }\n';
    const [d] = parseSource('x.yaml', text).diagnostics;
    expect(d).toMatchObject({ code: 'yaml-duplicate-key', line: 5, column: 3 });
    expect(d.message).toBe('key "p2p" appears twice in this mapping (first on line 3, column 3); keys must be unique');
  });

  it('names a key as written even when another spelling equals it', () => {
    const [d] = parseSource('x.yaml', 'a: 1\n1: x\n1.0: y\n').diagnostics;
    expect(d.message).toBe('key "1.0" appears twice in this mapping (first on line 2, column 1); keys must be unique');
  });
});
