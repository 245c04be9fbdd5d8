/**
 * No list is spread into call arguments (`a.push(...b)`, `Math.max(...b)`, `f(...b)`): every item goes
 * on the stack, and past about 120,000 items (principals, grants, diagnostics, statements) the call
 * throws "Maximum call stack size exceeded". provider/model/collections.ts has pushAll and maxOf for
 * that. Forwarding a function's own rest parameter (`fn(kind, ...args)`) is bounded by its call and
 * allowed. The TypeScript parser finds them, so no spelling slips past.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !e.name.endsWith('.generated.ts') ? [p] : [];
  });
}

/** Whether `expr` names a rest parameter of a function around it. */
function isRestParameter(expr: ts.Expression): boolean {
  if (!ts.isIdentifier(expr)) return false;
  for (let n: ts.Node | undefined = expr.parent; n; n = n.parent) {
    if (ts.isFunctionLike(n) && n.parameters.some((p) => p.dotDotDotToken && ts.isIdentifier(p.name) && p.name.text === expr.text)) return true;
  }
  return false;
}

/** Every spread into call or `new` arguments, as file:line: code. */
function callSpreads(files: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node): void => {
      if (ts.isSpreadElement(n) && (ts.isCallExpression(n.parent) || ts.isNewExpression(n.parent)) && !isRestParameter(n.expression)) {
        const { line } = sf.getLineAndCharacterOfPosition(n.getStart());
        found.push(`${path.relative(root, file)}:${line + 1}: ${n.parent.getText().slice(0, 100)}`);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return found;
}

describe('no spread into call arguments', () => {
  it('provider/, policy-pack/ and the Pulumi program spread no list into a call', () => {
    const files = [...sourceFiles(path.join(root, 'provider')), ...sourceFiles(path.join(root, 'policy-pack')), path.join(root, 'index.ts')];
    expect(files.length).toBeGreaterThan(50);
    expect(callSpreads(files)).toEqual([]);
  });

  it('the check finds the spellings that overflow, and lets rest-parameter forwarding pass', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-spread-'));
    const file = path.join(dir, 'x.ts');
    fs.writeFileSync(
      file,
      ['out.push(...items);', 'const m = Math.max(0, ...xs);', 'new Set(...args2);', 'function f(...args: number[]) { return g(1, ...args); }', 'const a = [...items];', 'const o = { ...obj };'].join('\n'),
    );
    try {
      expect(callSpreads([file]).map((l) => l.replace(/^.*x\.ts:/, ''))).toEqual(['1: out.push(...items)', '2: Math.max(0, ...xs)', '3: new Set(...args2)']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
