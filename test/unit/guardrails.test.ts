import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkGuardrails, GuardrailFacts, guardrailFacts } from '../../provider/policy/guardrails';
import { loadPolicy } from '../../provider/policy/load';

const dir = path.join(__dirname, '..', 'fixtures', 'guardrails');
const policyFile = path.join(dir, 'policy.yaml');
const stacksDir = path.join(dir, 'stacks');
const rel = (f: string) => path.relative(dir, f);

const guardrailLines = (stack: string) =>
  loadPolicy(policyFile, { stack, stacksDir })
    .diagnostics.filter((d) => d.code.startsWith('guardrail-'))
    .map((d) => `${rel(d.file)}:${d.line}:${d.column} ${d.code} ${d.message}`);

describe('guardrails of a stack, each at its exact file:line:col', () => {
  it('without a stack the fixture policy is valid', () => {
    const loaded = loadPolicy(policyFile);
    expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('stacks/strict.yaml: one violation of every rule, pointing into the policy', () => {
    expect(guardrailLines('strict')).toEqual([
      'policy.yaml:5:19 guardrail-mode this stack forbids security mode single_account',
      'policy.yaml:13:3 guardrail-owner-team app "order-to-cash" names no ownerTeam; this stack requires one',
      'policy.yaml:16:54 guardrail-wildcard this stack forbids "*" for process_admin; list the apps',
      'policy.yaml:17:46 guardrail-groups-only "alice" is an entra-user; this stack allows grants to groups and applications only',
      'policy.yaml:17:53 guardrail-groups-only "reporting" is a sql-login; this stack allows grants to groups and applications only',
    ]);
  });

  it('a mode the overlay sets is reported in the overlay', () => {
    expect(guardrailLines('overlaid')).toEqual(['stacks/overlaid.yaml:5:11 guardrail-mode this stack forbids security mode single_account']);
  });
});

describe('checkGuardrails (shared by validate and the policy pack)', () => {
  const facts: GuardrailFacts = {
    mode: 'system_managed',
    grants: [{ persona: 'data_consumer', to: [{ principal: 'ghost' }], allApps: true }],
    apps: [{ app: 'p2p', ownerTeam: 'team' }],
  };
  it('no guardrails, no violations', () => {
    expect(checkGuardrails(undefined, { ...facts, mode: 'single_account' })).toEqual([]);
  });
  it('a principal of unknown kind is not judged by groupsOnly; "*" only for the listed personas', () => {
    expect(checkGuardrails({ groupsOnly: true, forbidWildcardFor: ['process_admin'], requireOwnerTeam: true }, facts)).toEqual([]);
  });
  it('the facts of a policy keep grant and principal indices', () => {
    const loaded = loadPolicy(policyFile);
    const v = checkGuardrails({ groupsOnly: true }, guardrailFacts(loaded.policy!));
    expect(v.map((x) => x.at)).toEqual([
      { grant: 2, principal: 1 },
      { grant: 2, principal: 2 },
    ]);
  });
});
