import { Diagnostic, hasErrors, sortDiagnostics, summarizeRepeated } from '../diagnostics/diagnostic';
import { Policy } from '../model/types';
import { applyOverlay, compositeLocator, restrictApps, StackFile } from './overlay';
import { nameCharacterDiagnostics } from './name-characters';
import { semanticDiagnostics } from './rules';
import { ExpiryCheckOptions } from './rules-expiry';
import { POLICY_RULES } from './ruleset';
import { locatorFor, schemaCheck, schemaDiagnostics } from './schema';
import { NOTHING_REJECTED, prunePolicy } from './prune';
import { SourceFile } from './source';
import { pushAll } from '../model/collections';

export interface CheckedPolicy {
  /** The policy to compile: overlay merged, the stack's app subset applied. Undefined when there are errors. */
  policy: Policy | undefined;
  diagnostics: Diagnostic[];
}

/**
 * The whole validation, pure: base policy (+ stack overlay) -> policy + every diagnostic at once.
 * The semantic rules run on every part the schema accepted (prune.ts), in the same run as the schema,
 * so a schema error never hides a rule's; only when what is left cannot be trusted (a required section
 * refused) do they wait for the schema errors to be fixed.
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
  const schema = schemaCheck('policy', merged, locate);
  pushAll(pushAll(diagnostics, nameProblems), schema.diagnostics.filter((d) => !named.has(d.path)));
  const accepted = schema.rejected.length === 0 ? { value: merged, rejected: NOTHING_REJECTED } : prunePolicy(merged, schema.rejected);
  let restricted: Policy | undefined;
  if (accepted) {
    const policy = withDefaults(accepted.value as Policy);
    pushAll(diagnostics, semanticDiagnostics(policy, locate, POLICY_RULES, expiry, accepted.rejected));
    const r = restrictApps(policy, stack);
    pushAll(diagnostics, r.diagnostics);
    restricted = r.policy;
  }
  const sorted = summarizeRepeated(sortDiagnostics(diagnostics));
  return { policy: hasErrors(sorted) ? undefined : restricted, diagnostics: sorted };
}

/** The defaults the rules and the compiler count on: source closed, persona scope app, no principals. */
export function withDefaults(p: Policy): Policy {
  const apps = Object.fromEntries(Object.entries(p.apps).map(([k, a]) => [k, { ...a, source: a.source ?? 'closed' }]));
  const personas = p.personas
    ? Object.fromEntries(Object.entries(p.personas).map(([k, s]) => [k, { ...s, scope: s.scope ?? 'app' }]))
    : undefined;
  return { ...p, principals: p.principals ?? {}, apps, ...(personas ? { personas } : {}) };
}
