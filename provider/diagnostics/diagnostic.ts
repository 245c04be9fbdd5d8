/**
 * A diagnostic is one problem found in a policy, located like a compiler error.
 * The core never throws for problems a user can cause: it returns diagnostics.
 */
export type Severity = 'error' | 'warning' | 'info';

/** The closed set of rule ids. Every diagnostic carries exactly one; docs/policy.md lists them all. */
export const RULES = {
  // reading the file
  'file-unreadable': 'the policy file cannot be read',
  'file-too-large': 'the policy file is larger than the limit',
  'file-not-regular': 'the policy is a FIFO, device, directory or socket, not a regular file',
  'invalid-utf8': 'the file holds bytes that are not UTF-8',
  'empty-policy': 'the policy file holds no document',
  'yaml-syntax': 'the file is not well-formed YAML',
  'yaml-duplicate-key': 'a mapping has the same key twice',
  'yaml-tab-indent': 'tabs used for indentation',
  'yaml-alias-limit': 'aliases expand beyond the limit (a YAML bomb)',
  'yaml-multiple-documents': 'more than one YAML document in a policy file',
  // JSON Schema
  'api-version': 'apiVersion is missing or not pmgrants/v1',
  'unknown-property': 'a property the schema does not define',
  'missing-property': 'a required property is absent',
  'invalid-type': 'a value of the wrong type',
  'invalid-value': 'a value outside the allowed set or pattern',
  // semantic rules
  'unknown-app': 'a grant names an app the policy does not define',
  'unknown-principal': 'a grant names a principal the policy does not define',
  'unknown-persona': 'a grant or persona names a persona that does not exist',
  'duplicate-schema': 'two apps use the same schema',
  'duplicate-name': 'two objects would get the same database name',
  'name-too-long': 'a name exceeds the engine identifier limit',
  'reserved-name': 'a name the engine or pmgrants reserves',
  'name-character': 'a name holds a control, invisible direction or other character no name may hold',
  'empty-persona': 'a persona that grants nothing',
  'persona-scope': 'a grant does not fit the persona scope',
  'builtin-persona': 'a custom persona redefines a built-in one',
  'duplicate-grant': 'the same persona is granted to the same principal on the same app twice',
  'unused-principal': 'a principal that no grant uses',
  'missing-object-id': 'an Entra principal without objectId',
  'principal-kind-engine': 'a principal kind the engine cannot express',
  'single-account-shared-data': 'single_account lets every editor read every app',
  'closed-source-unenforced': 'the engine cannot hide definitions of a closed-source app',
  'no-apps': 'the policy defines no app',
  'default-prefix': 'the policy keeps the default prefix, which a second warehouse on the same server cannot share',
  'adopted-role': 'apps.<app>.roles adopts a role for something that is not owner, app or a persona of the app',
  'persona-not-on-app': 'a grant gives an app a persona that apps.<app>.personas leaves out',
  'grant-expired': 'a grant whose expires has passed: it is not applied, and the next plan revokes it',
  'grant-expiring': 'a grant expires within the warning window (validate --expiry-warning-days)',
  'protected-role': 'a grant, an adopted role or a generated name reaches a protected role',
  'protected-entry': 'a protected entry that protects every name, PUBLIC, or an entry listed twice',
  'password-expiry-unenforced': 'the engine does not expire a password by itself (security.rotation.validFor on SQL Server and Azure SQL)',
  'personal-column-pattern': 'a personal-column pattern that can never match a column',
  'personal-data-unenforceable': 'personal data the engine or a persona cannot keep masked (a mask SQL Server cannot write; a masked persona with rights beyond select)',
  'personal-data-approximated': "a mask SQL Server's Dynamic Data Masking gives only approximately (pseudonym and nullify read as default())",
  'personal-data-persona-unset': 'a custom persona that reads an app with personal columns does not say how it sees them',
  // stacks and guardrails
  'unknown-stack': 'the stack overlay file does not exist',
  'overlay-unknown-app': 'a stack lists an app the policy does not define',
  'guardrail-mode': 'the stack forbids this security mode',
  'guardrail-groups-only': 'the stack allows grants to groups only',
  'guardrail-wildcard': 'the stack forbids "*" for this persona',
  'guardrail-owner-team': 'the stack requires every app to name an owner team',
  'guardrail-max-grant-days': 'the stack requires grants of these personas to expire within maxGrantDays',
  'guardrail-personal-data': 'the stack requires every app to declare its personal columns or say it has none',
} as const;

export type RuleId = keyof typeof RULES;

export interface Diagnostic {
  code: RuleId;
  severity: Severity;
  message: string;
  /** File the problem is in, as the user named it. */
  file: string;
  /** 1-based; 0 when the problem has no position (e.g. an unreadable file). */
  line: number;
  column: number;
  /** JSON pointer into the (merged) policy, '' for the whole document. */
  path: string;
  hint?: string;
  /** Set on the one diagnostic that sums up repeated ones (summarizeRepeated): how many problems it stands for. */
  summarizes?: number;
}

/** How many problems of a severity the diagnostics report, a summed-up one counting for all it stands for. */
export function countOf(diagnostics: readonly Diagnostic[], severity: Severity): number {
  let n = 0;
  for (const d of diagnostics) if (d.severity === severity) n += d.summarizes ?? 1;
  return n;
}

export interface Result<T> {
  value: T | undefined;
  diagnostics: Diagnostic[];
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  const rank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
  return [...diagnostics].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      rank[a.severity] - rank[b.severity] ||
      a.code.localeCompare(b.code) ||
      a.message.localeCompare(b.message),
  );
}

/**
 * Levenshtein distance, for "did you mean", or `cap + 1` as soon as it is known to exceed `cap`: each
 * row's smallest value never decreases, so a row above the cap ends the work.
 */
export function editDistance(a: string, b: string, cap = Infinity): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  const prev = new Array(b.length + 1).fill(0).map((_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    let rowMin = prev[0];
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (prev[j] < rowMin) rowMin = prev[j];
      diag = tmp;
    }
    if (rowMin > cap) return cap + 1;
  }
  return prev[b.length];
}

/** How far a name may be from a candidate to be suggested: a third of its length, at least 2. */
function suggestionLimit(name: string): number {
  return Math.max(2, Math.floor(name.length / 3));
}

/**
 * "Did you mean" over one list of candidates, asked many times: the candidates are indexed by length
 * once, and a name is compared only with those whose length is within its limit, each comparison
 * stopping as soon as it exceeds the best found so far. The answer is didYouMean's: the first nearest
 * candidate (in the list's order) within the limit.
 */
export class NameSuggester {
  private readonly byLength = new Map<number, { name: string; lower: string; order: number }[]>();

  constructor(candidates: Iterable<string>) {
    let order = 0;
    for (const name of candidates) {
      const lower = name.toLowerCase();
      const bucket = this.byLength.get(lower.length);
      if (bucket) bucket.push({ name, lower, order: order++ });
      else this.byLength.set(lower.length, [{ name, lower, order: order++ }]);
    }
  }

  suggest(name: string): string | undefined {
    const lower = name.toLowerCase();
    const limit = suggestionLimit(name);
    let best: { name: string; order: number; distance: number } | undefined;
    for (let length = lower.length - limit; length <= lower.length + limit; length++) {
      for (const c of this.byLength.get(length) ?? []) {
        const cap = best ? best.distance : limit;
        const d = editDistance(lower, c.lower, cap);
        if (d > cap) continue;
        if (!best || d < best.distance || (d === best.distance && c.order < best.order)) best = { name: c.name, order: c.order, distance: d };
      }
    }
    return best?.name;
  }
}

/** The nearest candidate within a third of the name's length, or undefined. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  return new NameSuggester(candidates).suggest(name);
}

/** How many diagnostics of one rule are listed one by one; the rest are summed up in one more. */
export const LISTED_PER_RULE = 20;

/**
 * Diagnostics (sorted) with at most `listed` of each rule id and severity; the others are summed up in
 * one diagnostic of the same rule and severity, where the first of them was, naming a few of their
 * paths and the count. 150,000 principals granted nothing read as 20 warnings and "149,980 more".
 */
export function summarizeRepeated(diagnostics: readonly Diagnostic[], listed = LISTED_PER_RULE): Diagnostic[] {
  const seen = new Map<string, number>();
  const rest = new Map<string, Diagnostic[]>();
  const out: (Diagnostic | string)[] = [];
  for (const d of diagnostics) {
    const key = `${d.code}\u0000${d.severity}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n <= listed) out.push(d);
    else {
      const more = rest.get(key);
      if (more) more.push(d);
      else {
        rest.set(key, [d]);
        out.push(key);
      }
    }
  }
  return out.map((d) => {
    if (typeof d !== 'string') return d;
    const more = rest.get(d)!;
    const first = more[0];
    const kind = `${first.code} ${first.severity === 'info' ? 'note' : first.severity}${more.length === 1 ? '' : 's'}`;
    // What each is about: the name its message quotes first ('unknown principal "x"'), else its path.
    const about = more.slice(0, 5).map((m) => /"(?:[^"\\]|\\.)*"/.exec(m.message)?.[0] ?? (m.path || `${m.file}:${m.line}`));
    return { ...first, summarizes: more.length, message: `${more.length.toLocaleString('en-US')} more ${kind} like the ones above, not listed one by one: ${about.join(', ')}${more.length > about.length ? ', ...' : ''}` };
  });
}
