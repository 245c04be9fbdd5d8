import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layers of provider/ run one way (docs/architecture.md): a module imports only from its own folder
 * or from a lower layer, and no chain of imports comes back to where it started. The import graph is
 * read from the sources (import, export ... from, require and import() of relative paths).
 */
const ROOT = path.resolve(__dirname, '../../provider');

/** Bottom first. A folder of provider/ (or a file at its top) and the layer it sits in. */
export const LAYERS: readonly (readonly string[])[] = [
  ['model', 'package-root.ts'], // the vocabulary every layer speaks
  ['diagnostics'], // diagnostics, their positions and formatters
  ['policy', 'plan', 'export', 'report'], // the pure core: no I/O, engine-neutral
  ['engines'], // the only code that speaks SQL
  ['pipeline'], // the one orchestrator: compile -> inspect -> slice -> diff -> render -> apply
  ['cli', 'pulumi'], // thin shells over the pipeline
];

/** Arrows the layer order allows but the design does not: engines produce access facts, report/ reads them. */
const FORBIDDEN: readonly [from: string, to: string][] = [['engines', 'report']];

type Graph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative module specifiers a source imports, comments left out. */
export function importedSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const found: string[] = [];
  const patterns = [/\bfrom\s+'(\.[^']*)'/g, /\bimport\s+'(\.[^']*)'/g, /\brequire\(\s*'(\.[^']*)'\s*\)/g, /\bimport\(\s*'(\.[^']*)'\s*\)/g];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[1]);
  return found;
}

function resolveModule(from: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(from), specifier);
  return [`${base}.ts`, path.join(base, 'index.ts'), base].find((f) => f.endsWith('.ts') && fs.existsSync(f));
}

export function importGraph(root: string = ROOT): Graph {
  const graph: Graph = new Map();
  for (const file of sourceFiles(root)) {
    const targets = importedSpecifiers(fs.readFileSync(file, 'utf8'))
      .map((s) => resolveModule(file, s))
      .filter((t): t is string => t !== undefined && t.startsWith(root + path.sep));
    graph.set(path.relative(root, file), [...new Set(targets.map((t) => path.relative(root, t)))]);
  }
  return graph;
}

/** The folder of provider/ a file belongs to (or the file itself, at the top). */
const folderOf = (file: string) => file.split(path.sep)[0];

function layerOf(folder: string): number {
  const i = LAYERS.findIndex((l) => l.includes(folder));
  if (i < 0) throw new Error(`provider/${folder} is in no layer: add it to LAYERS (and docs/architecture.md)`);
  return i;
}

/** Every import that runs upward, sideways into another folder of the same layer, or is forbidden. */
export function layerViolations(graph: Graph): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const [a, b] = [folderOf(from), folderOf(to)];
      if (a === b) continue;
      const upward = layerOf(b) >= layerOf(a);
      const forbidden = FORBIDDEN.some(([x, y]) => x === a && y === b);
      if (upward || forbidden) out.push(`${from} -> ${to}`);
    }
  }
  return out.sort();
}

/** Import cycles (strongly connected components of more than one file, or a file importing itself). */
export function importCycles(graph: Graph): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    indexOf.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
  return cycles;
}

describe('layering: provider/ imports run one way', () => {
  const graph = importGraph();

  it('reads the import graph of every source file', () => {
    expect(graph.get(path.join('cli', 'main.ts'))).toContain(path.join('cli', 'args.ts'));
    expect(graph.size).toBeGreaterThan(50);
  });

  it('no import runs upward, sideways into another folder of its layer, or from engines/ into report/', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it('no import cycle', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('finds an upward import, a sideways one and a cycle when there are some', () => {
    const bent: Graph = new Map([
      ['model/types.ts', ['plan/diff.ts']],
      ['plan/diff.ts', ['model/types.ts', 'report/types.ts']],
      ['engines/engine.ts', ['report/types.ts', 'model/types.ts']],
      ['report/types.ts', []],
    ]);
    expect(layerViolations(bent)).toEqual(['engines/engine.ts -> report/types.ts', 'model/types.ts -> plan/diff.ts', 'plan/diff.ts -> report/types.ts']);
    expect(importCycles(bent)).toEqual([['model/types.ts', 'plan/diff.ts']]);
  });

  it('reads import, export from, require and import() of relative paths, not comments', () => {
    const text = [
      "import { a } from './a';",
      "import type { B } from '../b';",
      "export { c } from './c';",
      "const d = require('./d');",
      "type E = import('./e').E;",
      "// import { f } from './f';",
      "/* import { g } from './g'; */",
      "import * as fs from 'node:fs';",
    ].join('\n');
    expect(importedSpecifiers(text)).toEqual(['./a', '../b', './c', './d', './e']);
  });
});
