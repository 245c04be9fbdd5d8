/**
 * Promotion is the product's main story: every shipped example goes dev -> test -> prod with the shipped
 * stacks (stacks/*.yaml), unless it deliberately shows a pattern production refuses; then its comments
 * say so and this test holds the exact refusal. `pmgrants diff-stacks` runs over every example and every
 * pair of stacks, as a reviewer of a promotion would run it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliCaptured } from '../support/cli';

const root = path.join(__dirname, '..', '..');
const stacksDir = path.join(root, 'stacks');
const EXAMPLES = fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.yaml')).sort();
/** The stacks in promotion order: dev, test, prod, then any other. */
const PROMOTION = ['dev', 'test', 'prod'];
const rank = (s: string) => (PROMOTION.includes(s) ? PROMOTION.indexOf(s) : PROMOTION.length);
const STACKS = fs
  .readdirSync(stacksDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
const PAIRS = STACKS.flatMap((from, i) => STACKS.slice(i + 1).map((to) => [from, to] as const));

/**
 * Examples that show a pattern a stack refuses on purpose: the stack, the rule ids it reports (each
 * once, nothing else at error level) and a phrase the example's comments must hold to say so.
 */
const DELIBERATE: Record<string, { stack: string; errors: string[]; comment: RegExp }> = {
  'uipath-single-account.yaml': { stack: 'prod', errors: ['guardrail-mode'], comment: /Deliberately not for production: stacks\/prod\.yaml forbids this mode/ },
};

/** The `file:line:col severity rule-id` of each diagnostic line a command printed. */
function diagnosticsIn(text: string): { severity: string; rule: string }[] {
  return [...text.matchAll(/^\S+:\d+:\d+ (error|warning|info) (\S+) /gm)].map((m) => ({ severity: m[1], rule: m[2] }));
}

describe('every example promotes through the shipped stacks', () => {
  it('there are examples and at least dev, test and prod stacks', () => {
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(5);
    expect(STACKS).toEqual(expect.arrayContaining(['dev', 'test', 'prod']));
  });

  for (const example of EXAMPLES) {
    for (const [from, to] of PAIRS) {
      it(`diff-stacks ${example} ${from} ${to}`, async () => {
        const r = await runCliCaptured(['diff-stacks', path.join(root, 'examples', example), from, to, '--stacks-dir', stacksDir], { cwd: root });
        const refused = DELIBERATE[example];
        const errors = diagnosticsIn(r.err).filter((d) => d.severity === 'error');
        // The policy's own warnings are the same for both stacks: printed once.
        const blocks = r.err.split(/^\d+ errors?, \d+ warnings?$/m).map((b) => b.trim()).filter(Boolean);
        expect(new Set(blocks).size, r.err).toBe(blocks.length);
        if (refused && (from === refused.stack || to === refused.stack)) {
          expect(r.code, r.err).toBe(1);
          expect(errors.map((d) => d.rule)).toEqual(refused.errors);
          expect(r.out).toBe('');
        } else {
          expect(errors, r.err).toEqual([]);
          expect(r.code, r.err).toBe(0);
          expect(r.out).toContain(`: ${from} -> ${to}`);
        }
      });
    }
  }

  it('an example refused on purpose says so in its comments', () => {
    for (const [example, { comment }] of Object.entries(DELIBERATE)) {
      expect(fs.readFileSync(path.join(root, 'examples', example), 'utf8')).toMatch(comment);
    }
  });

  it('the examples meant for production carry no warning there (groups, listed apps, owner teams)', async () => {
    for (const example of EXAMPLES.filter((e) => !DELIBERATE[e])) {
      const r = await runCliCaptured(['validate', path.join(root, 'examples', example), '--stack', 'prod', '--stacks-dir', stacksDir], { cwd: root });
      expect(r.code, r.out).toBe(0);
      expect(diagnosticsIn(r.out).filter((d) => d.severity !== 'info'), r.out).toEqual([]);
    }
  });
});
