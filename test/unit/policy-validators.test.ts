/**
 * provider/policy/validators.generated.ts holds the policy and stack validators, compiled ahead of time by
 * scripts/generate-validators.mjs (ajv standalone code). These tests check that the committed module is
 * what the generator makes from the current schemas, and that its validators report exactly the errors
 * (every field: keyword, paths, params, message, schema, parentSchema, data; in the same order) of the
 * ajv instance provider/policy/schema.ts compiled at run time before, which schema.ts's diagnostics rely on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import policySchema from '../../schemas/policy.schema.json';
import stackSchema from '../../schemas/stack.schema.json';
import { applyOverlay, StackFile } from '../../provider/policy/overlay';
import { parseSource } from '../../provider/policy/source';
import { validatePolicy, validateStack } from '../../provider/policy/validators.generated';
// @ts-ignore -- a plain ES module without type declarations
import { generateValidatorsSource, OUTPUT, uncheckedUniqueItems, validationSchema } from '../../scripts/generate-validators.mjs';
import { diagnosticsOfErrors, duplicateItemErrors, locatorFor, schemaDiagnostics } from '../../provider/policy/schema';
import type { ErrorObject } from 'ajv';

const REPO = path.resolve(__dirname, '..', '..');

type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };
const generated: Record<'policy' | 'stack', Validate> = { policy: validatePolicy as Validate, stack: validateStack as Validate };

/**
 * The run-time compile schema.ts did before the validators were generated, with its exact options; of the
 * schemas as the generator reads them (validationSchema), or `full` as published (every uniqueItems).
 */
function runtimeValidators(full = false): Record<'policy' | 'stack', ValidateFunction> {
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, code: { optimize: false }, validateSchema: false });
  const policy = full ? policySchema : validationSchema(policySchema);
  ajv.addSchema(policy);
  return { policy: ajv.getSchema(policySchema.$id)!, stack: ajv.compile(full ? stackSchema : validationSchema(stackSchema)) };
}

function yamlFiles(dir: string): string[] {
  const abs = path.join(REPO, dir);
  return fs
    .readdirSync(abs)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** The document value the CLI validates, or undefined when the file does not parse (the CLI stops there). */
function valueOf(file: string): unknown {
  const { source } = parseSource(file, fs.readFileSync(path.join(REPO, file), 'utf8'));
  return source ? source.value : undefined;
}

/**
 * Wrong variants of a valid document, so that every keyword of the schemas gets to fail: each value
 * replaced by a value of another type (and strings by an empty, an over-long and an upper-case one),
 * an unknown key added to each mapping, each key of a mapping renamed to a name the key pattern refuses,
 * each list emptied or its first item doubled, each required key removed.
 */
function* mutations(doc: unknown): Generator<[string, unknown]> {
  const clone = (v: unknown): unknown => structuredClone(v);
  function* at(value: unknown, pointer: string, replace: (v: unknown) => unknown): Generator<[string, unknown]> {
    const swaps: unknown[] = [null, 42, 0, -1, 1.5, 1e6, true, 'text', [], {}, ['x'], { x: 1 }];
    if (typeof value === 'string') swaps.push('', 'x'.repeat(300), value.toUpperCase(), `${value}!`, '*');
    for (const s of swaps) yield [`${pointer} = ${JSON.stringify(s).slice(0, 20)}`, replace(clone(s))];
    if (Array.isArray(value)) {
      yield [`${pointer} emptied`, replace([])];
      if (value.length) yield [`${pointer} doubled`, replace([clone(value[0]), ...clone(value as unknown[])])];
      for (let i = 0; i < value.length; i++) {
        yield* at(value[i], `${pointer}/${i}`, (v) => replace(value.map((x, j) => (j === i ? v : clone(x)))));
      }
    } else if (value !== null && typeof value === 'object') {
      const obj = value as Record<string, unknown>;
      yield [`${pointer} + unknown key`, replace({ ...(clone(obj) as object), unknownKey: 1 })];
      yield [`${pointer} + bad key`, replace({ ...(clone(obj) as object), 'Bad Key!': clone(Object.values(obj)[0] ?? {}) })];
      for (const k of Object.keys(obj)) {
        const without = clone(obj) as Record<string, unknown>;
        delete without[k];
        yield [`${pointer}/${k} removed`, replace(without)];
        yield* at(obj[k], `${pointer}/${k}`, (v) => replace({ ...(clone(obj) as object), [k]: v }));
      }
    }
  }
  yield* at(doc, '', (v) => v);
}

describe('generated policy validators', () => {
  it('provider/policy/validators.generated.ts is what the generator makes from the current schemas', () => {
    const expected: string = generateValidatorsSource();
    const committed = fs.existsSync(OUTPUT) ? fs.readFileSync(OUTPUT, 'utf8') : '';
    if (committed !== expected) {
      const a = committed.split('\n');
      const b = expected.split('\n');
      let line = 0;
      while (line < a.length && a[line] === b[line]) line++;
      expect.fail(
        `${path.relative(REPO, OUTPUT)} is out of date (first difference at line ${line + 1}): ` +
          'run `npm run generate:validators` and commit the result',
      );
    }
  });

  const runtime = runtimeValidators();
  const documents: [string, unknown][] = [];
  const policyFiles = [...yamlFiles('examples'), ...yamlFiles('test/fixtures/invalid'), 'test/fixtures/guardrails/policy.yaml'];
  const stackFiles = [...yamlFiles('stacks'), ...yamlFiles('test/fixtures/guardrails/stacks')];
  for (const f of [...policyFiles, ...stackFiles]) {
    const value = valueOf(f);
    if (value !== undefined) documents.push([f, value]);
  }
  // What the CLI validates for a stack: every example with every stack's overlay merged in.
  for (const p of [...yamlFiles('examples'), 'test/fixtures/guardrails/policy.yaml']) {
    for (const s of stackFiles) {
      const base = valueOf(p);
      const stack = valueOf(s);
      if (base !== undefined && stack !== null && typeof stack === 'object') documents.push([`${p} + ${s}`, applyOverlay(base, stack as StackFile)]);
    }
  }

  function compare(kind: 'policy' | 'stack', name: string, value: unknown): boolean {
    const expectedValid = runtime[kind](value);
    const expectedErrors = runtime[kind].errors;
    const actualValid = generated[kind](value);
    const actualErrors = generated[kind].errors;
    expect(actualValid, `${kind} validator on ${name}`).toBe(expectedValid);
    expect(actualErrors, `${kind} validator errors on ${name}`).toStrictEqual(expectedErrors);
    // Same key order too (toStrictEqual ignores it), as schema.ts's output would show any difference.
    expect(JSON.stringify(actualErrors), `${kind} validator errors on ${name}`).toBe(JSON.stringify(expectedErrors));
    return actualValid;
  }

  it('reads the fixtures, examples and stacks it compares on', () => {
    const names = documents.map(([n]) => n);
    for (const f of ['examples/uipath-system-managed.yaml', 'test/fixtures/invalid/schema-violations.yaml', 'stacks/prod.yaml']) expect(names).toContain(f);
  });

  it('report the same errors as a run-time ajv compile on every example, invalid fixture and stack (both validators on each)', () => {
    let invalid = 0;
    for (const [name, value] of documents) {
      for (const kind of ['policy', 'stack'] as const) if (!compare(kind, name, value)) invalid++;
    }
    expect(invalid).toBeGreaterThan(documents.length);
  });

  it('report the same errors on wrong variants of every example and stack', () => {
    const keywords = new Set<string>();
    let count = 0;
    const originals = [...yamlFiles('examples'), ...stackFiles];
    for (const file of originals) {
      const kind = file.includes('stacks/') ? 'stack' : 'policy';
      for (const [what, value] of mutations(valueOf(file))) {
        if (!compare(kind, `${file} ${what}`, value)) {
          for (const e of generated[kind].errors as { keyword: string }[]) keywords.add(e.keyword);
        }
        count++;
      }
    }
    expect(count).toBeGreaterThan(1000);
    // Every keyword the schemas use has been seen failing (uniqueItems, left to schema.ts on these lists,
    // by the test of the one-pass duplicate check below).
    for (const k of ['additionalProperties', 'required', 'type', 'enum', 'const', 'pattern', 'propertyNames', 'anyOf', 'minLength', 'maxLength', 'minimum', 'maximum', 'minItems']) {
      expect([...keywords], `some variant fails "${k}"`).toContain(k);
    }
  });

  it('leave out only the uniqueItems that schema.ts checks in one pass (UNIQUE_LISTS)', () => {
    expect(uncheckedUniqueItems(policySchema)).toEqual([
      '/properties/protected/items/else/properties/members',
      '/$defs/app/properties/personas',
      '/$defs/persona/properties/rights',
      '/$defs/persona/properties/openSourceRights',
      '/$defs/persona/properties/manages',
      '/$defs/grant/properties/to',
      '/$defs/grant/properties/apps',
      '/$defs/guardrails/properties/forbidModes',
      '/$defs/guardrails/properties/forbidWildcardFor',
      '/$defs/guardrails/properties/maxGrantDays/properties/personas',
    ]);
    expect(uncheckedUniqueItems(stackSchema)).toEqual([]);
  });

  it('with the one-pass duplicate check, give the diagnostics of the published schemas (every uniqueItems) on every variant', () => {
    const full = runtimeValidators(true);
    const sorted = (d: unknown[]) => d.map((x) => JSON.stringify(x)).sort();
    let duplicates = 0;
    const originals = [...yamlFiles('examples'), ...stackFiles, ...yamlFiles('test/fixtures/invalid')];
    for (const file of originals) {
      const kind = file.includes('stacks/') ? 'stack' : 'policy';
      const { source } = parseSource(file, fs.readFileSync(path.join(REPO, file), 'utf8'));
      if (!source) continue;
      const locate = locatorFor(source);
      for (const [what, value] of mutations(source.value)) {
        const expected = full[kind](value) ? [] : diagnosticsOfErrors(full[kind].errors as ErrorObject[], value, locate);
        expect(sorted(schemaDiagnostics(kind, value, locate)), `${file} ${what}`).toEqual(sorted(expected));
        duplicates += duplicateItemErrors(kind, value).length;
      }
    }
    expect(duplicates).toBeGreaterThan(50);
  });

  it('find duplicates in long lists in one pass, with the indices ajv reports', () => {
    const to = Array.from({ length: 200_000 }, (_, i) => `p${i}`);
    to.push('p5', 'p7', 'p5');
    const started = performance.now();
    const errors = duplicateItemErrors('policy', { grants: [{ persona: 'x', to }] });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(errors).toMatchObject([{ keyword: 'uniqueItems', instancePath: '/grants/0/to', params: { i: 200_002, j: 200_000 } }]);
    // The same as ajv's item-by-item comparison on a short list.
    const full = runtimeValidators(true).policy;
    const short = ['a', 'b', 'a', 'c', 'b', 'c', 'd'];
    full({ grants: [{ persona: 'x', to: short }] });
    const ajvError = (full.errors as ErrorObject[]).find((e) => e.keyword === 'uniqueItems')!;
    expect(duplicateItemErrors('policy', { grants: [{ persona: 'x', to: short }] })[0].params).toEqual(ajvError.params);
  });
});
