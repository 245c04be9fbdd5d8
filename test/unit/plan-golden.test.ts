/**
 * Golden review output: the markdown (pull-request comment) and json plans of one example per engine,
 * byte for byte, in test/fixtures/plans/. Two plans each: the creation plan (offline, against an empty
 * database) and a drift plan (against a database where a member is missing and a managed role holds a
 * privilege, on SQL Server a DENY, that the policy does not give), so revocations and DENY are covered.
 *
 *   PMGRANTS_UPDATE_GOLDEN=1 npx vitest run test/unit/plan-golden.test.ts     # rewrite them after a deliberate change
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import planSchema from '../../schemas/plan.schema.json';
import { dialectFor } from '../../provider/engines/registry';
import { planOffline, RenderedPlan, viewOf } from '../../provider/pipeline/plan';
import { compilePolicy } from '../../provider/model/compile';
import { Permission, ActualState } from '../../provider/model/types';
import { diffState } from '../../provider/plan/diff';
import { formatPlan } from '../../provider/plan/format';
import { loadPolicy } from '../../provider/policy/load';

const root = path.join(__dirname, '..', '..');
const goldenDir = path.join(root, 'test', 'fixtures', 'plans');
const UPDATE = process.env.PMGRANTS_UPDATE_GOLDEN === '1';
const validatePlan = new Ajv2020({ allErrors: true, strict: true }).compile(planSchema);

function expectGolden(name: string, text: string) {
  const file = path.join(goldenDir, name);
  if (UPDATE) fs.writeFileSync(file, text);
  expect(fs.existsSync(file), `${name} is missing: run PMGRANTS_UPDATE_GOLDEN=1 npx vitest run test/unit/plan-golden.test.ts`).toBe(true);
  expect(text).toBe(fs.readFileSync(file, 'utf8'));
}

/** The example's realized state as a database that drifted: one member missing, one privilege too many. */
function driftPlan(example: string, extra: Permission): RenderedPlan {
  const policy = loadPolicy(path.join(root, 'examples', example)).policy!;
  const dialect = dialectFor(policy.warehouse.engine);
  const desired = dialect.realize(compilePolicy(policy));
  const principals = new Set(desired.users.filter((u) => u.purpose === 'principal').map((u) => u.name));
  const missing = desired.memberships.find((m) => principals.has(m.member))!;
  const actual: ActualState = {
    ...desired,
    memberships: desired.memberships.filter((m) => m !== missing),
    permissions: [...desired.permissions, extra],
    managed: [...desired.logins, ...desired.roles].map((x) => x.name).filter((n) => n.startsWith(desired.prefix)),
  };
  const plan = diffState(desired, actual);
  return { desired, plan, statements: plan.changes.map((c) => dialect.render([c], desired)) };
}

const EXAMPLES = [
  {
    engine: 'postgres',
    example: 'ibm-custom-apps.yaml',
    extra: (consumer: string, schema: string): Permission => ({ grantee: consumer, on: { type: 'schema', name: schema }, privilege: 'CREATE', effect: 'GRANT', withGrantOption: false }),
  },
  {
    engine: 'sqlserver',
    example: 'uipath-system-managed.yaml',
    extra: (consumer: string, schema: string): Permission => ({ grantee: consumer, on: { type: 'schema', name: schema }, privilege: 'DELETE', effect: 'DENY', withGrantOption: false }),
  },
];

describe('golden plans (PMGRANTS_UPDATE_GOLDEN=1 rewrites them)', () => {
  for (const { engine, example, extra } of EXAMPLES) {
    const base = example.replace(/\.yaml$/, '');
    const policy = loadPolicy(path.join(root, 'examples', example)).policy!;
    const creation = planOffline(policy, dialectFor(policy.warehouse.engine)) as RenderedPlan;

    it(`${engine}: ${example} creation plan, markdown and json`, () => {
      const view = viewOf(creation, 'offline: creation plan against an empty database');
      expectGolden(`${base}.create.md`, formatPlan('markdown', view));
      const json = formatPlan('json', view);
      expect(validatePlan(JSON.parse(json)), JSON.stringify(validatePlan.errors)).toBe(true);
      expectGolden(`${base}.create.json`, json);
    });

    it(`${engine}: ${example} drift plan (a missing member, a privilege to revoke), markdown and json`, () => {
      const desired = compilePolicy(policy);
      const consumer = desired.roles.find((r) => r.persona === 'data_consumer')!;
      const schema = desired.schemas.find((s) => s.app === consumer.app)!.name;
      const rendered = driftPlan(example, extra(consumer.name, schema));
      expect(rendered.plan.changes.map((c) => c.kind).sort()).toEqual(['add-member', 'revoke']);
      const view = viewOf(rendered, 'live: a drifted test database');
      const md = formatPlan('markdown', view);
      expect(md).toMatch(/^- revoke /m);
      expectGolden(`${base}.drift.md`, md);
      const json = formatPlan('json', view);
      expect(validatePlan(JSON.parse(json)), JSON.stringify(validatePlan.errors)).toBe(true);
      expectGolden(`${base}.drift.json`, json);
    });
  }
});
