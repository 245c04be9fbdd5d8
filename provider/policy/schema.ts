import type { ErrorObject } from 'ajv';
import { Diagnostic, RuleId, didYouMean } from '../diagnostics/diagnostic';
import { MASK_KINDS } from '../model/masking';
import { SourceFile, fromPointer, PathSegment } from './source';
import { validatePolicy, validateStack } from './validators.generated';

/** A validator as ajv's standalone code defines it: true or false, and the errors of the last call. */
interface Validate {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/**
 * The validators of schemas/policy.schema.json and schemas/stack.schema.json, compiled ahead of time
 * (options allErrors, verbose, strict, allowUnionTypes) into validators.generated.ts by
 * scripts/generate-validators.mjs: a run loads a ready module instead of compiling the schemas with ajv.
 * After a schema change run `npm run generate:validators`; test/unit/policy-validators.test.ts fails
 * while the module is out of date, and checks it reports exactly what a run-time compile would.
 */
const validators: Record<'policy' | 'stack', Validate> = { policy: validatePolicy as Validate, stack: validateStack as Validate };

/** Where a schema error should point: a file, and the JSON path inside the merged document. */
export type Locator = (path: readonly PathSegment[], key?: boolean) => { file: string; line: number; column: number };

export function locatorFor(source: SourceFile): Locator {
  return (path, key) => {
    const p = source.locate(path, key) ?? { line: 1, column: 1 };
    return { file: source.file, ...p };
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value.length > 40 ? value.slice(0, 40) + '…' : value}"`;
  return String(value);
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let v: unknown = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

const PATTERN_HELP: Record<string, string> = {
  '^[a-z][a-z0-9_-]*$': "lowercase letters, digits, '-' and '_', starting with a letter",
  '^[a-z][a-z0-9_]{0,14}_$': "lowercase letters, digits and '_', at most 16 characters, ending in '_'",
  '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$': 'a GUID such as 6f1c2d3e-0000-4000-8000-000000000001',
  '^[A-Za-z0-9._-]+$': 'a host name',
  '^[1-9][0-9]{0,5}(m|h|d)$': 'a whole number and m (minutes), h (hours) or d (days), e.g. 8h',
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$': 'a date (2027-03-31) or a date-time with a zone (2027-03-31T17:00:00Z)',
};

/**
 * Run ajv and turn its errors into diagnostics: one per path, in the project's own codes,
 * pointing at the YAML node (or key) the error is about.
 */
export function schemaDiagnostics(kind: 'policy' | 'stack', value: unknown, locate: Locator): Diagnostic[] {
  return schemaCheck(kind, value, locate).diagnostics;
}

/**
 * The schema's diagnostics, and where each error is in the document: its node, or for an unknown
 * property or a refused name that key (prune.ts cuts these parts out so the rules can run on the rest).
 */
export function schemaCheck(kind: 'policy' | 'stack', value: unknown, locate: Locator): { diagnostics: Diagnostic[]; rejected: string[][] } {
  const validate = validators[kind];
  const valid = validate(value);
  const errors = [...((valid ? [] : validate.errors ?? []) as ErrorObject[]), ...duplicateItemErrors(kind, value)];
  if (errors.length === 0) return { diagnostics: [], rejected: [] };
  const rejected = errors.map((e) => {
    const at = fromPointer(e.instancePath);
    if (e.keyword === 'additionalProperties') return [...at, String(e.params.additionalProperty)];
    if (e.propertyName !== undefined) return [...at, String(e.propertyName)];
    return at;
  });
  return { diagnostics: diagnosticsOfErrors(errors, value, locate), rejected };
}

/**
 * The lists whose `uniqueItems` the generated validators leave out (scripts/generate-validators.mjs,
 * validationSchema): instance paths, '*' for each key of a mapping ({}) or item of a list ([]).
 * test/unit/policy-validators.test.ts checks this matches the schemas.
 */
const UNIQUE_LISTS: Record<'policy' | 'stack', readonly (readonly string[])[]> = {
  policy: [
    ['apps', '{}', 'personas'],
    ['personas', '{}', 'rights'],
    ['personas', '{}', 'openSourceRights'],
    ['personas', '{}', 'manages'],
    ['grants', '[]', 'to'],
    ['grants', '[]', 'apps'],
    ['guardrails', 'forbidModes'],
    ['guardrails', 'forbidWildcardFor'],
    ['guardrails', 'maxGrantDays', 'personas'],
    ['protected', '[]', 'members'],
  ],
  stack: [
    ['guardrails', 'forbidModes'],
    ['guardrails', 'forbidWildcardFor'],
    ['guardrails', 'maxGrantDays', 'personas'],
  ],
};

/** ajv's deep equality (fast-deep-equal) as a key: equal values, and only those, get the same key. */
function equalityKey(v: unknown): string {
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  if (v === null || typeof v !== 'object') return `${typeof v}:${String(v)}`;
  if (Array.isArray(v)) return `[${v.map(equalityKey).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${equalityKey((v as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

/**
 * What ajv's `uniqueItems` reports on the lists of UNIQUE_LISTS, found in one pass per list instead of
 * comparing every item with every other: for the last item equal to an earlier one (i), the nearest
 * earlier equal item (j); one error per list.
 */
export function duplicateItemErrors(kind: 'policy' | 'stack', value: unknown): ErrorObject[] {
  const out: ErrorObject[] = [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const visit = (node: unknown, rest: readonly string[], pointer: string) => {
    if (rest.length === 0) {
      if (!Array.isArray(node) || node.length < 2) return;
      const last = new Map<string, number>();
      let i = -1;
      let j = -1;
      node.forEach((item, n) => {
        const k = equalityKey(item);
        const earlier = last.get(k);
        if (earlier !== undefined) {
          i = n;
          j = earlier;
        }
        last.set(k, n);
      });
      if (i >= 0) {
        out.push({ keyword: 'uniqueItems', instancePath: pointer, schemaPath: '', params: { i, j }, message: `must NOT have duplicate items (items ## ${j} and ${i} are identical)` });
      }
      return;
    }
    const [seg, ...tail] = rest;
    const esc = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');
    if (seg === '{}') {
      if (isObject(node)) for (const k of Object.keys(node)) visit(node[k], tail, `${pointer}/${esc(k)}`);
    } else if (seg === '[]') {
      if (Array.isArray(node)) node.forEach((item, n) => visit(item, tail, `${pointer}/${n}`));
    } else if (isObject(node) && Object.hasOwn(node, seg)) visit(node[seg], tail, `${pointer}/${seg}`);
  };
  if (isObject(value)) for (const list of UNIQUE_LISTS[kind]) visit(value, list, '');
  return out;
}

/** ajv's errors -> diagnostics (exported for the test that compares them with a full ajv compile). */
export function diagnosticsOfErrors(errors: readonly ErrorObject[], value: unknown, locate: Locator): Diagnostic[] {
  // anyOf branches produce one error each; report the anyOf once instead.
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const out = new Map<string, Diagnostic>();
  for (const e of errors) {
    if (anyOfPaths.has(e.instancePath) && e.keyword !== 'anyOf') continue;
    if (e.keyword === 'if') continue;
    // propertyNames reports the failing name once; its inner keyword errors carry propertyName too.
    if (e.propertyName !== undefined && e.keyword !== 'propertyNames') continue;
    const path = fromPointer(e.instancePath);
    const value2 = valueAt(value, path);
    const { code, message, hint, where, atKey } = describeError(e, path, value2);
    const key = `${where.join('/')}\u0000${code}`;
    if (out.has(key)) continue;
    const loc = locate(where, atKey);
    out.set(key, {
      code,
      severity: 'error',
      message,
      file: loc.file,
      line: loc.line,
      column: loc.column,
      path: '/' + where.map(String).join('/'),
      ...(hint ? { hint } : {}),
    });
  }
  return [...out.values()].map((d) => (d.path === '/' ? { ...d, path: '' } : d));
}

/** One ajv error as a diagnostic's rule, sentence, hint and place (a key, for a property's name). */
function describeError(e: ErrorObject, path: PathSegment[], value2: unknown): { code: RuleId; message: string; hint?: string; where: PathSegment[]; atKey: boolean } {
  let code: RuleId = 'invalid-value';
  let message: string;
  let hint: string | undefined;
  let where = path as PathSegment[];
  let atKey = false;
  const field = path.length ? path.join('.') : 'the document';
  switch (e.keyword) {
    case 'additionalProperties': {
      const prop = String(e.params.additionalProperty);
      code = 'unknown-property';
      const known = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
      const near = didYouMean(prop, known);
      message = `unknown property "${prop}"${near ? ` (did you mean "${near}"?)` : ''}`;
      if (!near && known.length) hint = `allowed here: ${known.filter((k) => k !== '$schema').join(', ')}`;
      where = [...path, prop];
      atKey = true;
      break;
    }
    case 'required':
      code = 'missing-property';
      message = `${field === 'the document' ? 'the policy' : field} needs "${e.params.missingProperty}"`;
      break;
    case 'type':
      code = 'invalid-type';
      message = `${field} must be ${e.params.type === 'object' ? 'a mapping' : e.params.type === 'array' ? 'a list' : `a ${e.params.type}`}, not ${describe(value2)}`;
      break;
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      const near = typeof value2 === 'string' ? didYouMean(value2, allowed) : undefined;
      message = `${field} is ${describe(value2)}; allowed: ${allowed.join(', ')}${near ? ` (did you mean "${near}"?)` : ''}`;
      break;
    }
    case 'const':
      if (e.instancePath === '/apiVersion') {
        code = 'api-version';
        message = `apiVersion is ${describe(value2)}; this version of pmgrants reads pmgrants/v1`;
      } else {
        message = `${field} must be ${JSON.stringify(e.params.allowedValue)}`;
      }
      break;
    case 'pattern':
      message = `${field} is ${describe(value2)}; it must be ${PATTERN_HELP[String(e.params.pattern)] ?? `like ${e.params.pattern}`}`;
      break;
    case 'propertyNames': {
      const name = String(e.params.propertyName);
      message = `name "${name}" under ${field} must be ${PATTERN_HELP['^[a-z][a-z0-9_-]*$']} (at most 100 characters)`;
      where = [...path, name];
      atKey = true;
      break;
    }
    case 'anyOf':
      message = /\/personalData\/columns\/[^/]*$/.test(e.instancePath)
        ? `${field} is ${describe(value2)}; it must be a mask (${MASK_KINDS.join(', ')}) or a mapping with one (mask: partial, first: 2, last: 2)`
        : `${field} is ${describe(value2)}; it must be an app key (${PATTERN_HELP['^[a-z][a-z0-9_-]*$']}) or "*"`;
      break;
    case 'minLength':
      message = `${field} must not be empty`;
      break;
    case 'maxLength':
      message = `${field} is longer than ${e.params.limit} characters`;
      break;
    case 'minimum':
    case 'maximum':
      message = `${field} is ${describe(value2)}; it must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${e.params.limit}`;
      break;
    case 'minItems':
      message = `${field} must list at least ${e.params.limit} item${e.params.limit === 1 ? '' : 's'}`;
      break;
    case 'uniqueItems':
      message = `${field} lists the same item twice (items ${e.params.j} and ${e.params.i})`;
      break;
    default:
      message = `${field} ${e.message ?? 'is invalid'}`;
  }
  return { code, message, ...(hint ? { hint } : {}), where, atKey };
}
