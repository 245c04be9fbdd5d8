/**
 * Rules of expiring grants (grants[].expires) and the maxGrantDays guardrail. Pure: the clock is an
 * option, and without one only the rules that need no clock run (a real date, known personas).
 */
import { Diagnostic, RuleId, Severity } from '../diagnostics/diagnostic';
import { daysUntilExpiry, expiryInstant, expiryText, isExpired } from '../model/expiry';
import { personaCatalogue } from '../model/personas';
import { Policy } from '../model/types';
import { grantFact, maxGrantDaysViolation } from './guardrails';
import { Locator } from './schema';
import { PathSegment } from './source';

/** How many days ahead validate warns of a grant's expiry by default. */
export const DEFAULT_EXPIRY_WARNING_DAYS = 14;

export interface ExpiryCheckOptions {
  /** The clock; without it no grant counts as expired or expiring, and maxGrantDays checks only that grants expire. */
  now?: Date;
  /** Warn of grants that expire within this many days (default 14; 0: never). */
  expiryWarningDays?: number;
}

/**
 * How long a grant has left, never more than it has: whole days from two days on ("in 12 days" for
 * 12.9), whole hours below that ("in 45 hours", not "in 2 days"), "within the hour" in the last one.
 */
export function timeLeft(expires: string, now: Date): string {
  const ms = expiryInstant(expires)!.getTime() - now.getTime();
  const days = Math.floor(ms / 86_400_000);
  if (days >= 2) return `in ${days} days`;
  const hours = Math.floor(ms / 3_600_000);
  return hours >= 1 ? `in ${hours} hour${hours === 1 ? '' : 's'}` : 'within the hour';
}

function grantLabel(policy: Policy, gi: number): string {
  const g = policy.grants[gi];
  return `grant ${gi + 1} (${g.persona} to ${g.to.join(', ')})`;
}

/** Diagnostics of the grants' expiries and of guardrails.maxGrantDays, each located in the policy. */
export function expiryDiagnostics(policy: Policy, locate: Locator, options: ExpiryCheckOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [];
  const report = (severity: Severity, code: RuleId, path: PathSegment[], message: string, hint?: string) => {
    const loc = locate(path, false);
    out.push({ code, severity, message, file: loc.file, line: loc.line, column: loc.column, path: '/' + path.join('/'), ...(hint ? { hint } : {}) });
  };
  const { now } = options;
  const warningDays = options.expiryWarningDays ?? DEFAULT_EXPIRY_WARNING_DAYS;
  const limit = policy.guardrails?.maxGrantDays;

  policy.grants.forEach((grant, gi) => {
    const at: PathSegment[] = ['grants', gi, 'expires'];
    if (grant.expires !== undefined && expiryInstant(grant.expires) === undefined) {
      report('error', 'invalid-value', at, `"${grant.expires}" is not a real date or date-time`, 'write a date as YYYY-MM-DD, or a date-time with a zone, e.g. 2027-03-31T17:00:00Z');
      return;
    }
    if (grant.expires !== undefined && now) {
      const days = daysUntilExpiry(grant.expires, now)!;
      if (isExpired(grant.expires, now)) {
        report('warning', 'grant-expired', at, `${grantLabel(policy, gi)} expired on ${expiryText(grant.expires)}: it is not applied, and the next plan revokes it`, 'remove the grant, or move expires later to renew it');
      } else if (days <= warningDays) {
        report('warning', 'grant-expiring', at, `${grantLabel(policy, gi)} expires ${timeLeft(grant.expires, now)}, on ${expiryText(grant.expires)}`, 'move expires later to renew it, or let it lapse');
      }
    }
    const violation = maxGrantDaysViolation(policy.guardrails, grantFact(policy, grant), now);
    if (violation) report('error', 'guardrail-max-grant-days', grant.expires === undefined ? ['grants', gi] : at, violation);
  });

  if (limit?.personas) {
    const catalogue = personaCatalogue(policy.personas, policy.options?.builtinPersonas ?? true);
    limit.personas.forEach((p, i) => {
      if (!(p in catalogue)) report('error', 'unknown-persona', ['guardrails', 'maxGrantDays', 'personas', i], `unknown persona "${p}"`);
    });
  }
  return out;
}
