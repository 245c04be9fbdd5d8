import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import planSchema from '../../schemas/plan.schema.json';
import { loadPolicy } from '../../provider/policy/load';
import { planOffline, viewOf } from '../../provider/pipeline/plan';
import { dialectFor } from '../../provider/engines/registry';
import { formatPlan, formatPlanText, planTextPieces } from '../../provider/plan/format';
import { EngineName } from '../../provider/model/types';
import { CHANGE_ORDER } from '../../provider/plan/change';

const root = path.join(__dirname, '..', '..');
const validatePlan = new Ajv2020({ allErrors: true, strict: true }).compile(planSchema);

describe('plan formats', () => {
  for (const example of ['uipath-system-managed.yaml', 'ibm-custom-apps.yaml', 'mpmx-personas.yaml']) {
    const policy = loadPolicy(path.join(root, 'examples', example)).policy!;
    for (const neutral of [true, false]) {
      it(`${example}${neutral ? ' (neutral)' : ''}: json validates against schemas/plan.schema.json and is stable`, () => {
        const rendered = planOffline(policy, neutral ? undefined : dialectFor(policy.warehouse.engine as EngineName));
        const json = formatPlan('json', viewOf(rendered, 'offline'));
        const doc = JSON.parse(json);
        expect(validatePlan(doc), JSON.stringify(validatePlan.errors)).toBe(true);
        expect(formatPlan('json', viewOf(planOffline(policy, neutral ? undefined : dialectFor(policy.warehouse.engine as EngineName)), 'offline'))).toBe(json);
        expect(doc.changes.every((c: { statements: string[] }) => (neutral ? c.statements.length === 0 : true))).toBe(true);
      });
    }
  }

  it('the schema names every change kind, and no other', () => {
    const kinds = (planSchema as { properties: { changes: { items: { properties: { kind: { enum: string[] } } } } } }).properties.changes.items.properties.kind.enum;
    expect([...kinds].sort()).toEqual([...CHANGE_ORDER].sort());
  });

  it('text: the pieces an apply prints, whatever their size, make the text plan; a statement of several lines is indented on each', () => {
    const policy = loadPolicy(path.join(root, 'examples', 'uipath-system-managed.yaml')).policy!;
    const rendered = planOffline(policy, dialectFor(policy.warehouse.engine as EngineName));
    const view = viewOf(rendered, 'offline');
    const text = formatPlanText(view);
    for (const size of [1, 2, 7, 1000]) {
      const pieces = [...planTextPieces(view, size)];
      expect(pieces.join('')).toBe(text);
      expect(pieces.every((p) => p.endsWith('\n'))).toBe(true);
      expect(pieces.length).toBe(Math.floor(rendered.plan.changes.length / size) + 1);
    }
    const statements = (rendered as { statements: { display: string }[][] }).statements;
    const multi = { ...view, statements: [[{ ...statements[0][0], display: 'BEGIN\n  SELECT 1;\nEND' }], ...statements.slice(1)] } as typeof view;
    expect([...planTextPieces(multi, 3)].join('')).toBe(formatPlanText(multi));
    expect(formatPlanText(multi).split('\n').slice(3, 6)).toEqual(['      BEGIN', '        SELECT 1;', '      END']);
  });

  it('markdown groups per app, shows counts, and marks removals and DENY', () => {
    const policy = loadPolicy(path.join(root, 'examples', 'uipath-system-managed.yaml')).policy!;
    const rendered = planOffline(policy);
    const plan = {
      ...rendered.plan,
      changes: [
        ...rendered.plan.changes.slice(0, 2),
        { kind: 'revoke' as const, permission: { grantee: 'pmg_purchase-to-pay_data_consumer', on: { type: 'schema' as const, name: 'p2p' }, privilege: 'insert', effect: 'GRANT' as const, withGrantOption: false } },
        { kind: 'grant' as const, permission: { grantee: 'pmg_purchase-to-pay_data_consumer', on: { type: 'schema' as const, name: 'p2p' }, privilege: 'delete', effect: 'DENY' as const, withGrantOption: false } },
      ],
    };
    const md = formatPlan('markdown', viewOf({ desired: rendered.desired, plan }, 'offline'));
    expect(md).toContain('**Plan: 3 to add, 0 to change, 1 to remove.**');
    expect(md).toContain('| permissions revoked | 1 |');
    expect(md).toContain('#### purchase-to-pay');
    expect(md).toContain('- revoke insert on schema p2p from pmg_purchase-to-pay_data_consumer');
    expect(md).toContain('+ (!) grant DENY delete on schema p2p to pmg_purchase-to-pay_data_consumer');
  });

  it('statements never carry a password, only the mask', () => {
    for (const example of ['uipath-system-managed.yaml', 'ibm-custom-apps.yaml']) {
      const policy = loadPolicy(path.join(root, 'examples', example)).policy!;
      const rendered = planOffline(policy, dialectFor(policy.warehouse.engine as EngineName)) as { statements: { display: string; params: { name: string; secretFor?: string }[] }[][] };
      const logins = rendered.statements.flat().filter((s) => s.params.some((p) => p.secretFor));
      expect(logins.length).toBeGreaterThan(0);
      for (const s of logins) expect(s.display).toContain('********');
    }
  });
});
