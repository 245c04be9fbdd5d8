/**
 * Schema errors do not hide rule errors: the rules run on every part the schema accepted, in the same
 * run (provider/policy/prune.ts). And the rules never crash on what is left: every example, broken at
 * every node in several ways, is checked with the rules' guard off (strict).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Diagnostic } from '../../provider/diagnostics/diagnostic';
import { checkPolicy, withDefaults } from '../../provider/policy/check';
import { prunePolicy } from '../../provider/policy/prune';
import { semanticDiagnostics } from '../../provider/policy/rules';
import { POLICY_RULES } from '../../provider/policy/ruleset';
import { schemaCheck } from '../../provider/policy/schema';
import { parseSource } from '../../provider/policy/source';
import { Policy } from '../../provider/model/types';

const root = path.join(__dirname, '..', '..');
/** The diagnostics of a policy text, each as `show` writes it (default: position, severity, rule). */
const check = (text: string, show: (d: Diagnostic) => string = (d) => `${d.line}:${d.column} ${d.severity} ${d.code}`) => checkPolicy(parseSource('p.yaml', text).source!).diagnostics.map(show);

const HEAD = `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: wh }
options: { prefix: pmg_wh_ }
security: { mode: system_managed }
principals:
  analysts: { kind: database-role }
apps:
  p2p: { schema: p2p, ownerTeam: analysts, source: open }
`;

describe('schema errors do not hide rule errors', () => {
  it('to: [] and five rule problems (unknown principals, persona scope): all six in one run', () => {
    const text = `${HEAD}grants:
  - { persona: data_consumer, to: [], apps: [p2p] }
  - { persona: data_consumer, to: [analyst], apps: [p2p] }
  - { persona: process_admin, to: [finance] }
  - { persona: app_admin, to: [admins, analysts], apps: [p2p] }
`;
    expect(check(text)).toEqual([
      '10:35 error invalid-value',
      '11:36 error unknown-principal',
      '12:5 error persona-scope',
      '12:36 error unknown-principal',
      '13:32 error unknown-principal',
      '13:57 error persona-scope',
    ]);
  });

  it('a date that does not exist is reported beside enum errors, not after they are fixed', () => {
    const text = `${HEAD}  o2c: { schema: o2c, source: half-open }
grants:
  - { persona: data_consumer, to: [analysts], apps: [p2p], expires: 2027-02-30 }
  - { persona: reader, to: [analysts], apps: [p2p] }
`;
    expect(check(text, (d) => `${d.code} ${d.message}`)).toEqual([
      'invalid-value apps.o2c.source is "half-open"; allowed: open, closed',
      'invalid-value "2027-02-30" is not a real date or date-time',
      'unknown-persona unknown persona "reader"',
    ]);
  });

  it('a refused principal, app or persona is not reported again where it is named, nor as granted nothing', () => {
    const text = `apiVersion: pmgrants/v1
warehouse: { engine: postgres, database: wh }
options: { prefix: pmg_wh_ }
security: { mode: system_managed }
principals:
  analysts: { kind: database-role }
  auditors: { kind: entra-grp }
  owners: { kind: database-role, colour: blue }
personas:
  viewer: { rights: [look] }
apps:
  p2p: { schema: p2p, ownerTeam: analysts, source: open }
  o2c: { schema: 42, ownerTeam: owners }
grants:
  - { persona: viewer, to: [auditors], apps: [p2p, o2c] }
  - { persona: data_consumer, to: [owners], apps: [o2c] }
  - { persona: data_consumer, to: [ghost], apps: [p2p] }
`;
    expect(check(text, (d) => `${d.code} ${d.path}`)).toEqual([
      'invalid-value /principals/auditors/kind',
      'unknown-property /principals/owners/colour',
      'invalid-value /personas/viewer/rights/0',
      'invalid-type /apps/o2c/schema',
      'unknown-principal /grants/2/to/0',
    ]);
  });

  it('when what is left cannot be trusted (a required section refused), the rules wait', () => {
    const text = `apiVersion: pmgrants/v1
warehouse: { engine: oracle, database: wh }
security: { mode: system_managed }
apps: { p2p: { schema: p2p } }
grants:
  - { persona: data_consumer, to: [ghost], apps: [p2p] }
`;
    expect(check(text)).toEqual(['2:22 error invalid-value']);
  });
});

/** Every node of a document as a path, with the document itself. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const here = [at];
  if (Array.isArray(v)) return [...here, ...v.flatMap((x, i) => paths(x, [...at, i]))];
  if (v && typeof v === 'object') return [...here, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...at, k]))];
  return here;
}

function setAt(doc: unknown, at: (string | number)[], value: unknown): unknown {
  if (at.length === 0) return value;
  const copy: Record<string | number, unknown> | unknown[] = Array.isArray(doc) ? [...doc] : { ...(doc as object) };
  (copy as Record<string | number, unknown>)[at[0]] = setAt((doc as Record<string | number, unknown>)[at[0]], at.slice(1), value);
  return copy;
}

describe('the rules never crash on what the schema left', () => {
  const WRONG: unknown[] = [null, 42, 'Bad Name!', [], {}, [null], [{}], { x: 1 }, true];

  it('every example, each node replaced by each wrong value: strict rules run on the rest without an exception', () => {
    let runs = 0;
    for (const example of fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.yaml'))) {
      const doc = parseSource(example, fs.readFileSync(path.join(root, 'examples', example), 'utf8')).source!.value;
      const locate = () => ({ file: example, line: 1, column: 1 });
      for (const at of paths(doc).filter((p) => p.length > 0)) {
        for (const wrong of WRONG) {
          const broken = setAt(doc, at, wrong);
          const schema = schemaCheck('policy', broken, locate);
          const pruned = prunePolicy(broken, schema.rejected);
          if (!pruned) continue;
          runs++;
          expect(() => semanticDiagnostics(withDefaults(pruned.value as unknown as Policy), locate, POLICY_RULES, { now: new Date() }, pruned.rejected, true), `${example} ${at.join('.')} = ${JSON.stringify(wrong)}`).not.toThrow();
        }
      }
    }
    expect(runs).toBeGreaterThan(500);
  });
});
