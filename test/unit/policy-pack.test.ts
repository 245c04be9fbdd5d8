/**
 * The policy pack's rules (policy-pack/policies.ts), called directly with the arguments Pulumi passes a
 * resource validation: the type, the URN (which names the stack), the resource's inputs and the
 * policy's config. The inputs come from the real program run under Pulumi's mocks, so the pack is
 * tested on exactly what the engine would hand it.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type * as PulumiModule from '@pulumi/pulumi';
import type { ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';
import { APP_TYPE, DEFAULT_STACKS, POLICIES, WAREHOUSE_TYPE, forbidModes, forbidWildcard, groupsOnly, maxGrantDays, requireOwnerTeam, requirePersonalData, stackOfUrn } from '../../policy-pack/policies';
import { loadPolicy } from '../../provider/policy/load';
import { distRequire, packageRequire, REPO } from './pulumi-dist';

const pulumi = packageRequire<typeof PulumiModule>('@pulumi/pulumi');
const program = distRequire<typeof import('../../provider/pulumi/program')>('provider/pulumi/program');
const resources = distRequire<typeof import('../../provider/pulumi/resources')>('provider/pulumi/resources');

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/** The program's resources for `policyFile` on `stack` (no overlay: as if someone set pmgrants:overlay none). */
async function registeredFor(policyFile: string, stack: string): Promise<Registered[]> {
  const registered: Registered[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    'pmgrants',
    stack,
    false,
  );
  pulumi.runtime.setAllConfig(
    { 'pmgrants:policy': policyFile, 'pmgrants:overlay': 'none', 'pmgrants:databaseUrl': 'postgres://admin:secret@db.example/wh' },
    ['pmgrants:databaseUrl'],
  );
  const s = program.definePmgrantsStack();
  await Promise.all([s.warehouse, ...Object.values(s.apps)].map((r) => new Promise((done) => r.urn.apply(done))));
  return registered.filter((r) => r.type.startsWith('pulumi-nodejs:dynamic/pmgrants:'));
}

function argsFor(r: Registered, stack: string, config: Record<string, unknown> = {}): ResourceValidationArgs {
  return {
    type: r.type,
    props: r.inputs,
    urn: `urn:pulumi:${stack}::pmgrants::${r.type}::${r.name}`,
    name: r.name,
    opts: {} as ResourceValidationArgs['opts'],
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => config as T,
  } as unknown as ResourceValidationArgs;
}

/** Every violation the pack's policies report for these resources on `stack`. */
async function violations(rs: Registered[], stack: string, config: Record<string, Record<string, unknown>> = {}, policies: ResourceValidationPolicy[] = POLICIES) {
  const out: string[] = [];
  for (const policy of policies) {
    for (const r of rs) {
      await policy.validateResource!(argsFor(r, stack, config[policy.name] ?? {}), (message) => out.push(`${policy.name} ${r.name}: ${message}`));
    }
  }
  return out;
}

const example = (name: string) => path.join(REPO, 'examples', name);
const stacksDir = path.join(REPO, 'stacks');

describe('the pmgrants policy pack', () => {
  it('judges exactly the pmgrants resource types', () => {
    expect(WAREHOUSE_TYPE).toBe(`pulumi-nodejs:dynamic/${resources.RESOURCE_MODULE}:${resources.RESOURCE_TYPES.warehouse}`);
    expect(APP_TYPE).toBe(`pulumi-nodejs:dynamic/${resources.RESOURCE_MODULE}:${resources.RESOURCE_TYPES.app}`);
    expect(POLICIES.map((p) => p.name)).toEqual(['pmgrants-forbid-modes', 'pmgrants-groups-only', 'pmgrants-forbid-wildcard', 'pmgrants-require-owner-team', 'pmgrants-max-grant-days', 'pmgrants-require-personal-data']);
    for (const p of POLICIES) expect(p.enforcementLevel).toBe('mandatory');
    expect(DEFAULT_STACKS).toEqual(['prod']);
  });

  it('reads the stack from the URN', () => {
    expect(stackOfUrn('urn:pulumi:prod::pmgrants::pulumi-nodejs:dynamic/pmgrants:App::p2p')).toBe('prod');
    expect(stackOfUrn('not a urn')).toBeUndefined();
  });

  it('a prod stack with single_account is rejected by both validate and the policy pack', async () => {
    const file = example('uipath-single-account.yaml');
    const validated = loadPolicy(file, { stack: 'prod', stacksDir });
    expect(validated.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code)).toContain('guardrail-mode');
    expect(validated.policy).toBeUndefined();

    // The same policy without the prod overlay compiles; the pack still refuses it on the prod stack.
    const rs = await registeredFor(file, 'prod');
    expect(rs.find((r) => r.type === WAREHOUSE_TYPE)!.inputs.mode).toBe('single_account');
    const found = await violations(rs, 'prod', {}, [forbidModes]);
    expect(found).toEqual(['pmgrants-forbid-modes warehouse: guardrail-mode: the warehouse of stack prod: this stack forbids security mode single_account; use system_managed']);
    // ... and lets it through on dev.
    expect(await violations(rs, 'dev')).toEqual([]);
  });

  it('the prod-ready example passes every policy on prod', async () => {
    const rs = await registeredFor(example('uipath-system-managed.yaml'), 'prod');
    expect(rs.length).toBeGreaterThan(1);
    expect(await violations(rs, 'prod')).toEqual([]);
  });

  it('reports each guardrail on the resource it concerns, with the messages validate uses', async () => {
    const rs = await registeredFor(path.join(REPO, 'test', 'fixtures', 'guardrails', 'policy.yaml'), 'prod');
    const found = await violations(rs, 'prod');
    expect(found).toEqual([
      'pmgrants-forbid-modes warehouse: guardrail-mode: the warehouse of stack prod: this stack forbids security mode single_account; use system_managed',
      'pmgrants-groups-only purchase-to-pay: guardrail-groups-only: app "purchase-to-pay" of stack prod: the data_consumer grant to p2p-team, alice, reporting: "alice" is an entra-user; this stack allows grants to groups and applications only',
      'pmgrants-groups-only purchase-to-pay: guardrail-groups-only: app "purchase-to-pay" of stack prod: the data_consumer grant to p2p-team, alice, reporting: "reporting" is a sql-login; this stack allows grants to groups and applications only',
      'pmgrants-forbid-wildcard order-to-cash: guardrail-wildcard: app "order-to-cash" of stack prod: the process_admin grant to p2p-team: this stack forbids "*" for process_admin; list the apps',
      'pmgrants-forbid-wildcard purchase-to-pay: guardrail-wildcard: app "purchase-to-pay" of stack prod: the process_admin grant to p2p-team: this stack forbids "*" for process_admin; list the apps',
      'pmgrants-require-owner-team order-to-cash: guardrail-owner-team: stack prod: app "order-to-cash" names no ownerTeam; this stack requires one',
    ]);
    // validate with the equivalent stack overlay finds the same four rules.
    const validated = loadPolicy(path.join(REPO, 'test', 'fixtures', 'guardrails', 'policy.yaml'), { stack: 'strict', stacksDir: path.join(REPO, 'test', 'fixtures', 'guardrails', 'stacks') });
    expect([...new Set(validated.diagnostics.filter((d) => d.code.startsWith('guardrail-')).map((d) => d.code))].sort()).toEqual([
      'guardrail-groups-only',
      'guardrail-mode',
      'guardrail-owner-team',
      'guardrail-wildcard',
    ]);
  });

  it('requirePersonalData: off until its config lists stacks; then each App that neither declares personal columns nor says none', async () => {
    const rs = await registeredFor(example('ibm-personal-data.yaml'), 'prod');
    expect(await violations(rs, 'prod', {}, [requirePersonalData])).toEqual([]);
    expect(await violations(rs, 'prod', { 'pmgrants-require-personal-data': { stacks: ['prod'] } }, [requirePersonalData])).toEqual([]);
    const undeclared = await registeredFor(example('uipath-system-managed.yaml'), 'prod');
    const found = await violations(undeclared, 'prod', { 'pmgrants-require-personal-data': { stacks: ['prod'] } }, [requirePersonalData]);
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]).toMatch(/^pmgrants-require-personal-data \S+: guardrail-personal-data: stack prod: app "\S+" declares no personal columns; this stack requires personalData\.columns, or personalData\.none: true for an app without personal data$/);
  });

  it('config chooses the stacks and the values', async () => {
    const rs = await registeredFor(path.join(REPO, 'test', 'fixtures', 'guardrails', 'policy.yaml'), 'staging');
    expect(await violations(rs, 'staging')).toEqual([]);
    const everywhere = { stacks: ['*'] };
    expect(await violations(rs, 'staging', { 'pmgrants-require-owner-team': everywhere }, [requireOwnerTeam])).toHaveLength(1);
    expect(await violations(rs, 'staging', { 'pmgrants-forbid-wildcard': { stacks: ['staging'], personas: ['data_consumer'] } }, [forbidWildcard])).toEqual([]);
    expect(await violations(rs, 'staging', { 'pmgrants-forbid-modes': { stacks: ['staging'], forbidModes: ['system_managed'] } }, [forbidModes])).toEqual([]);
    expect(await violations(rs, 'staging', { 'pmgrants-groups-only': { stacks: ['staging', 'prod'] } }, [groupsOnly])).toHaveLength(2);
  });

  it('max-grant-days is off until configured; then it refuses grants without expiry, or too long, with the messages validate uses', async () => {
    const rs = await registeredFor(example('power-automate-tiers.yaml'), 'prod');
    expect(await violations(rs, 'prod', {}, [maxGrantDays])).toEqual([]);
    // report_viewer: one grant without expiry on every app, and the audit's grant, which expires (2027-06-30).
    const found = await violations(rs, 'prod', { 'pmgrants-max-grant-days': { stacks: ['prod'], days: 36500, personas: ['report_viewer'] } }, [maxGrantDays]);
    expect(found).toEqual([
      'pmgrants-max-grant-days onboarding: guardrail-max-grant-days: app "onboarding" of stack prod: the report_viewer grant to process-mining-users: this stack allows report_viewer only as temporary access: add expires, at most 36500 days ahead',
      'pmgrants-max-grant-days expense-approval: guardrail-max-grant-days: app "expense-approval" of stack prod: the report_viewer grant to process-mining-users: this stack allows report_viewer only as temporary access: add expires, at most 36500 days ahead',
    ]);
    // The same rule in validate, with the same sentence, at the grant.
    const fixture = path.join(REPO, 'test', 'fixtures', 'expiry');
    const validated = loadPolicy(path.join(fixture, 'policy.yaml'), { stack: 'temporary', stacksDir: path.join(fixture, 'stacks') });
    expect(validated.diagnostics.find((d) => d.code === 'guardrail-max-grant-days')?.message).toBe('this stack allows app_admin only as temporary access: add expires, at most 90 days ahead');
  });

  it('an invalid policy is left to the resource check: the pack reports nothing more', async () => {
    const rs = await registeredFor(path.join(REPO, 'test', 'fixtures', 'invalid', 'unknown-references.yaml'), 'prod');
    expect(rs.map((r) => r.name)).toEqual(['warehouse']);
    expect((rs[0].inputs.diagnostics as string[]).length).toBeGreaterThan(0);
    expect(await violations(rs, 'prod')).toEqual([]);
  });

  it('ignores resources that are not pmgrants\'', async () => {
    const other: Registered = { type: 'aws:s3/bucket:Bucket', name: 'b', inputs: { mode: 'single_account', grants: [] } };
    expect(await violations([other], 'prod')).toEqual([]);
  });
});
