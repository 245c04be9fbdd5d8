/**
 * Huge inputs: a policy of 150,000 principals with one unknown principal validates without a stack
 * overflow, its 150,000 repeated warnings summed up instead of printed one by one; a grant naming
 * 100,000 unknown principals against 2,000 declared ones looks up "did you mean" for the 20 it lists
 * (through an index), and its output is the first names and a count. The work is bounded by what the
 * code does (counted calls), not by a clock; the generous timeouts only stop a regression to the
 * quadratic work that took minutes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { didYouMean, editDistance, LISTED_PER_RULE, NameSuggester, summarizeRepeated, Diagnostic } from '../../provider/diagnostics/diagnostic';
import { runCliCaptured } from '../support/cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-huge-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A policy of `declared` principals (team-000001...) and one grant to `granted` of them plus `unknown` undeclared names. */
function hugePolicy(declared: number, granted: number, unknown: number): string {
  const keys = Array.from({ length: declared }, (_, i) => `team-${String(i + 1).padStart(6, '0')}`);
  const ghosts = Array.from({ length: unknown }, (_, i) => `ghost-team-${String(i + 1).padStart(6, '0')}`);
  return [
    'apiVersion: pmgrants/v1',
    'warehouse: { engine: postgres, database: warehouse }',
    'options: { prefix: pmg_wh_ }',
    'security: { mode: system_managed }',
    'principals:',
    ...keys.map((k) => `  ${k}: { kind: database-role, name: "Team ${k} of the process mining department" }`),
    'apps:',
    '  sales: { schema: sales, source: open }',
    'grants:',
    `  - { persona: data_consumer, apps: [sales], to: [${[...keys.slice(0, granted), ...ghosts].join(', ')}] }`,
    '',
  ].join('\n');
}

const validate = async (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return { file, ...(await runCliCaptured(['validate', file], { cwd: dir })) };
};

describe('huge policies', () => {
  it('150,000 principals, one unknown, none granted: no stack overflow; 150,000 warnings summed up in one line', { timeout: 180_000 }, async () => {
    const r = await validate('unused.yaml', hugePolicy(150_000, 0, 1));
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/error unknown-principal unknown principal "ghost-team-000001"/);
    expect(r.out).toContain('warning unused-principal 149,980 more unused-principal warnings like the ones above, not listed one by one: "team-000021", "team-000022", "team-000023", "team-000024", "team-000025", ...');
    expect(r.out.match(/ warning unused-principal /g)).toHaveLength(LISTED_PER_RULE + 1);
    expect(r.out.trimEnd().split('\n').pop()).toBe('1 error, 150000 warnings');
  });

  it('100,000 unknown principals against 2,000 declared: did-you-mean for the 20 listed only; the first names and a count', { timeout: 120_000 }, async () => {
    const suggest = vi.spyOn(NameSuggester.prototype, 'suggest');
    try {
      const r = await validate('unknown.yaml', hugePolicy(2_000, 2_000, 100_000));
      expect(r.code).toBe(1);
      expect(suggest.mock.calls.length).toBeLessThanOrEqual(LISTED_PER_RULE);
      expect(r.out.match(/ error unknown-principal /g)).toHaveLength(LISTED_PER_RULE + 1);
      expect(r.out).toContain('error unknown-principal 99,980 more unknown-principal errors like the ones above, not listed one by one: "ghost-team-000021", "ghost-team-000022"');
      expect(r.out.trimEnd().split('\n').pop()).toBe('100000 errors, 0 warnings');
      expect(r.out.length).toBeLessThan(20_000);
    } finally {
      suggest.mockRestore();
    }
  });
});

describe('did you mean through an index', () => {
  /** The answer before the index: the first nearest candidate within a third of the name's length. */
  function naive(name: string, candidates: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const c of candidates) {
      const d = editDistance(name.toLowerCase(), c.toLowerCase());
      if (d < bestDistance) [best, bestDistance] = [c, d];
    }
    return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
  }

  it('gives the same answer as comparing with every candidate', () => {
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    const word = () => Array.from({ length: 1 + rand(14) }, () => 'abcdeE-_'[rand(8)]).join('');
    for (let round = 0; round < 300; round++) {
      const candidates = Array.from({ length: rand(30) }, word);
      const suggester = new NameSuggester(candidates);
      for (let i = 0; i < 10; i++) {
        const name = rand(2) && candidates.length ? candidates[rand(candidates.length)].slice(1) + word().slice(0, 2) : word();
        expect(suggester.suggest(name), `${name} in ${JSON.stringify(candidates)}`).toBe(naive(name, candidates));
      }
    }
    expect(didYouMean('purchase-to-pai', ['order-to-cash', 'purchase-to-pay'])).toBe('purchase-to-pay');
  });

  it('editDistance stops past its cap', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('kitten', 'sitting', 2)).toBe(3);
    expect(editDistance('a', 'abcdef', 2)).toBe(3);
    expect(editDistance('kitten', 'sitting', 3)).toBe(3);
  });
});

describe('summarizeRepeated', () => {
  const d = (code: Diagnostic['code'], severity: Diagnostic['severity'], n: number): Diagnostic => ({ code, severity, message: `principal "p${n}" is granted nothing`, file: 'p.yaml', line: n, column: 3, path: `/principals/p${n}` });

  it('keeps the first of each rule and severity, and sums up the rest where the first of them was', () => {
    const many = Array.from({ length: 25 }, (_, i) => d('unused-principal', 'warning', i + 1));
    const out = summarizeRepeated([d('unknown-app', 'error', 0), ...many], 20);
    expect(out).toHaveLength(22);
    expect(out[21]).toMatchObject({ code: 'unused-principal', severity: 'warning', line: 21, path: '/principals/p21', summarizes: 5 });
    expect(out[21].message).toBe('5 more unused-principal warnings like the ones above, not listed one by one: "p21", "p22", "p23", "p24", "p25"');
    expect(summarizeRepeated(many.slice(0, 20), 20)).toEqual(many.slice(0, 20));
  });
});
