import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../provider/policy/load';
import { planOffline, viewOf, RenderedPlan } from '../../provider/pipeline/plan';
import { dialectFor } from '../../provider/engines/registry';
import { formatPlan, formatPlanSummary } from '../../provider/plan/format';
import { printable, printableStatement } from '../../provider/diagnostics/printable';
import { Policy, EngineName } from '../../provider/model/types';
import { Change } from '../../provider/plan/change';

const root = path.join(__dirname, '..', '..');
const base = loadPolicy(path.join(root, 'examples', 'uipath-system-managed.yaml')).policy!;

/** Characters a terminal or a markdown renderer acts on, raw, anywhere in an output line. */
const RAW_UNPRINTABLE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;

/**
 * The plan of a policy whose names (the database, one principal, and a role only the catalog holds,
 * which the plan drops) are `name`: names the validation would refuse, as a catalog can hold them.
 */
function plans(name: string, engine: EngineName) {
  const policy: Policy = {
    ...base,
    warehouse: { ...base.warehouse, engine, database: `wh${name}` },
    principals: { ...base.principals, 'finance-analysts': { kind: 'database-role', name: `fin${name}` } },
  };
  const dialect = dialectFor(engine);
  const offline = planOffline(policy, dialect) as RenderedPlan;
  const drop: Change = { kind: 'drop-role', role: `pmg_old${name}` };
  const revoke: Change = { kind: 'revoke', permission: { grantee: `x${name}`, on: { type: 'schema', name: `s${name}` }, privilege: engine === 'postgres' ? 'USAGE' : 'SELECT', effect: 'GRANT', withGrantOption: false } };
  const rendered: RenderedPlan = {
    ...offline,
    plan: { ...offline.plan, changes: [...offline.plan.changes, drop, revoke], warnings: [`role "${name}" is not managed`] },
    statements: [...offline.statements, dialect.render([drop], offline.desired), dialect.render([revoke], offline.desired)],
  };
  const view = viewOf(rendered, `live: host/${name}`);
  return { text: formatPlan('text', view), markdown: formatPlan('markdown', view), summary: formatPlanSummary(view) };
}

// No NUL: neither engine can hold one in a name, and both renderers refuse it.
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }).map((s) => s.replace(/\u0000/g, '')),
  fc.array(fc.constantFrom('\n', '\r', '\u001b[31m', '\u202e', '\u2066', '\u0085', '\u2028', '```', '~~~', '|', '"', "'", '[', ']', '--', '/*', '*/', '\\', '# ', '+ role', '\ud800', 'a', ' '), { maxLength: 12 }).map((a) => a.join('')),
);

describe('no name can forge a plan line', () => {
  for (const engine of ['postgres', 'sqlserver', 'azure-sql'] as EngineName[]) {
    it(`${engine}: text, markdown and summary have the lines of a harmless name, and no raw control character`, () => {
      const harmless = plans('x', engine);
      const count = (s: string) => s.split('\n').length;
      const fences = (s: string) => s.split('\n').filter((l) => /^ {0,3}(```|~~~)/.test(l)).length;
      fc.assert(
        fc.property(hostile, (name) => {
          const p = plans(name, engine);
          for (const format of ['text', 'markdown', 'summary'] as const) {
            expect(count(p[format]), `${format} ${JSON.stringify(name)}`).toBe(count(harmless[format]));
            expect(RAW_UNPRINTABLE.test(p[format]), `${format} ${JSON.stringify(name)}`).toBe(false);
          }
          // Markdown: the same code blocks open and close; a name never ends one early.
          expect(fences(p.markdown)).toBe(fences(harmless.markdown));
          // Text: the change lines are where they were.
          const signs = (s: string) => s.split('\n').map((l) => /^ {2}[+~-] /.test(l));
          expect(signs(p.text)).toEqual(signs(harmless.text));
        }),
        { numRuns: 150 },
      );
    });
  }

  it('a newline in a name forges nothing: it is shown as \\n inside the quoted name', () => {
    const p = plans('\n  + role forged', 'postgres');
    expect(p.text).toContain('  - role pmg_old\\n  + role forged (refused if it still owns objects)\n');
    expect(p.text).toContain('      DROP ROLE IF EXISTS "pmg_old\\n  + role forged" -- refused if it still owns objects or has open sessions\n');
    expect(p.text.split('\n').filter((l) => l.startsWith('  + role forged'))).toEqual([]);
    expect(p.markdown).toContain('- role pmg_old\\n  + role forged (refused if it still owns objects)\n');
  });

  it('ESC and bidi overrides are escaped, in the header too', () => {
    const p = plans('\u001b[2J\u202e', 'sqlserver');
    expect(p.text.split('\n')[0]).toBe('pmgrants plan for database wh\\x1b[2J\\u202e (sqlserver, live: host/\\x1b[2J\\u202e)');
    expect(p.markdown.split('\n')[0]).toBe('### pmgrants plan: `wh\\x1b[2J\\u202e` (sqlserver)');
  });

  it('backticks in a database name keep the markdown heading one code span', () => {
    const p = plans('`` ```', 'postgres');
    expect(p.markdown.split('\n')[0]).toBe('### pmgrants plan: ```` wh`` ``` ```` (postgres)');
  });
});

describe('printable and printableStatement', () => {
  it('escape what is not printable and leave the rest', () => {
    expect(printable('a\nb\tc\u001bd\u007fe\u0085f\u202eg\u200bh\ud800i\u{e0001}j')).toBe('a\\nb\\tc\\x1bd\\x7fe\\x85f\\u202eg\\u200bh\\ud800i\\u{e0001}j');
    const ok = 'CONTOSO\\Finance Zürich 名前 😀 "quoted" [x]';
    expect(printable(ok)).toBe(ok);
  });
  it('keep the layout of a statement and escape line breaks inside its quoted names', () => {
    expect(printableStatement('BEGIN\n  DROP ROLE "a\nb";\nEND', false)).toBe('BEGIN\n  DROP ROLE "a\\nb";\nEND');
    expect(printableStatement("EXEC(N'DROP USER [a\n]]b]');\nGO", true)).toBe("EXEC(N'DROP USER [a\\n]]b]');\nGO");
    expect(printableStatement('DROP ROLE [a\n]]\nb]', true)).toBe('DROP ROLE [a\\n]]\\nb]');
    expect(printableStatement("-- the app's login\nDROP ROLE \"x\ny\"", false)).toBe("-- the app's login\nDROP ROLE \"x\\ny\"");
    expect(printableStatement('SELECT 1 /* it\'s\n */\n', false)).toBe("SELECT 1 /* it's\n */\n");
    // PostgreSQL has no bracket quoting: a [ is an array subscript.
    expect(printableStatement('SELECT a[1]\nFROM "t\nu"', false)).toBe('SELECT a[1]\nFROM "t\\nu"');
  });
});
