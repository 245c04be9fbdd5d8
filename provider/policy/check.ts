import { Diagnostic, hasErrors, sortDiagnostics, summarizeRepeated } from '../diagnostics/diagnostic';
import { Policy } from '../model/types';
import { applyOverlay, compositeLocator, restrictApps, StackFile } from './overlay';
import { nameCharacterDiagnostics } from './name-characters';
import { semanticDiagnostics } from './rules';
import { ExpiryCheckOptions } from './rules-expiry';
import { POLICY_RULES } from './ruleset';
import { locatorFor, schemaDiagnostics } from './schema';
import { SourceFile } from './source';
import { pushAll } from '../model/collections';

export interface CheckedPolicy {
  /** The policy to compile: overlay merged, the stack's app subset applied. Undefined when there are errors. */
  policy: Policy | undefined;
  diagnostics: Diagnostic[];
}

/**
 * The whole validation, pure: base policy (+ stack overlay) -> policy + every diagnostic at once.
 * Schema errors and semantic rules are both reported when the shape allows the rules to run.
 * `expiry.now` is the clock expiring grants are judged by (none: no grant counts as expired).
 */
export function checkPolicy(base: SourceFile, stack?: SourceFile, expiry: ExpiryCheckOptions = {}): CheckedPolicy {
  const diagnostics: Diagnostic[] = [];
  if (stack) pushAll(diagnostics, schemaDiagnostics('stack', stack.value, locatorFor(stack)));
  if (hasErrors(diagnostics)) return { policy: undefined, diagnostics: summarizeRepeated(sortDiagnostics(diagnostics)) };

  const merged = stack ? applyOverlay(base.value, stack.value as StackFile) : base.value;
  const locate = compositeLocator(base, stack);
  // Names with forbidden characters are found whatever the shape; a key the schema refuses for the
  // same reason is reported once, by the more specific rule.
  const nameProblems = nameCharacterDiagnostics(merged, locate, stack ? { value: stack.value, locate: locatorFor(stack) } : undefined);
  const named = new Set(nameProblems.map((d) => d.path));
  const schemaProblems = schemaDiagnostics('policy', merged, locate).filter((d) => !named.has(d.path));
  pushAll(pushAll(diagnostics, nameProblems), schemaProblems);
  if (schemaProblems.length > 0) {
    return { policy: undefined, diagnostics: summarizeRepeated(sortDiagnostics(diagnostics)) };
  }
  const policy = withDefaults(merged as Policy);
  pushAll(diagnostics, semanticDiagnostics(policy, locate, POLICY_RULES, expiry));
  const restricted = restrictApps(policy, stack);
  pushAll(diagnostics, restricted.diagnostics);
  const sorted = summarizeRepeated(sortDiagnostics(diagnostics));
  return { policy: hasErrors(sorted) ? undefined : restricted.policy, diagnostics: sorted };
}

function withDefaults(p: Policy): Policy {
  const apps = Object.fromEntries(Object.entries(p.apps).map(([k, a]) => [k, { ...a, source: a.source ?? 'closed' }]));
  const personas = p.personas
    ? Object.fromEntries(Object.entries(p.personas).map(([k, s]) => [k, { ...s, scope: s.scope ?? 'app' }]))
    : undefined;
  return { ...p, principals: p.principals ?? {}, apps, ...(personas ? { personas } : {}) };
}
