import { CORE_RULES, PolicyRule } from './rules';
import { expiryDiagnostics } from './rules-expiry';
import { PROTECTED_RULES } from './rules-protected';
import { PERSONAL_DATA_RULES } from './rules-personal-data';

/** Expiring grants and the maxGrantDays guardrail (rules-expiry.ts), with the clock the context carries. */
const EXPIRY_RULES: readonly PolicyRule[] = [
  {
    id: 'grant-expired',
    severity: 'warning',
    description: 'expiring grants (grants[].expires) and guardrails.maxGrantDays; see rules-expiry.ts for their ids',
    check: (ctx) => ctx.push(expiryDiagnostics(ctx.policy, ctx.locate, ctx.expiry)),
  },
];

/**
 * Every semantic rule validate runs: the tables of each module, joined. A module with rules of its own
 * exports a `PolicyRule[]` and is added here.
 */
export const POLICY_RULES: readonly PolicyRule[] = [...CORE_RULES, ...EXPIRY_RULES, ...PROTECTED_RULES, ...PERSONAL_DATA_RULES];
