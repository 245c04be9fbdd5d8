import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import policySchema from '../../schemas/policy.schema.json';
import stackSchema from '../../schemas/stack.schema.json';

/** Validation at run time skips the meta-schema check (provider/policy/schema.ts); it is done here. */
describe('the shipped JSON Schemas are valid draft 2020-12 schemas', () => {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
  it('policy.schema.json', () => {
    expect(ajv.validateSchema(policySchema)).toBe(true);
    expect(ajv.errors ?? null).toBeNull();
  });
  it('stack.schema.json', () => {
    ajv.addSchema(policySchema);
    expect(ajv.validateSchema(stackSchema)).toBe(true);
    expect(() => ajv.compile(stackSchema)).not.toThrow();
  });
});
