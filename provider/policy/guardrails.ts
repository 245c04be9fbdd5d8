/**
 * Guardrails as pure functions over a small set of facts, so `pmgrants validate` (rules.ts, over the
 * policy) and the Pulumi policy pack (policy-pack/, over the dynamic resources' inputs) enforce the
 * same rules with the same messages. No positions here: the caller knows where a fact came from.
 */
import { daysUntilExpiry, expiryText, isExpired } from '../model/expiry';
import { personaCatalogue } from '../model/personas';
import { Guardrails, Policy, PrincipalKind, SecurityMode } from '../model/types';

/** Principal kinds that stand for one person or one login, refused by `groupsOnly`. */
export const INDIVIDUAL_KINDS: readonly PrincipalKind[] = ['sql-login', 'entra-user', 'windows-user'];

export type GuardrailRule = 'guardrail-mode' | 'guardrail-groups-only' | 'guardrail-wildcard' | 'guardrail-owner-team' | 'guardrail-max-grant-days';

/** One grant as the guardrails see it: which persona, to whom (with their kinds), and whether it said apps: ["*"]. */
export interface GrantFact {
  persona: string;
  /** Principal keys (or database names) with their kinds; kind is absent for a principal the policy does not declare. */
  to: { principal: string; kind?: PrincipalKind }[];
  /** The grant named every app with "*". */
  allApps: boolean;
  /** The grant's expires, as the policy wrote it (model/expiry.ts). */
  expires?: string;
}

/** What the guardrails look at. Built from a policy (guardrailFacts) or from Pulumi resource inputs. */
export interface GuardrailFacts {
  mode: SecurityMode;
  grants: GrantFact[];
  apps: { app: string; ownerTeam?: string }[];
}

export interface GuardrailViolation {
  rule: GuardrailRule;
  message: string;
  hint?: string;
  /** Where in the facts: the grant index (and principal index), or the app. For locating, not for display. */
  at: { grant: number; principal?: number } | { app: string } | { mode: true };
}

export function modeViolation(g: Guardrails | undefined, mode: SecurityMode): GuardrailViolation | undefined {
  if (!g?.forbidModes?.includes(mode)) return undefined;
  return { rule: 'guardrail-mode', message: `this stack forbids security mode ${mode}`, hint: 'use system_managed', at: { mode: true } };
}

/** "a sql-login", "an entra-user": the article a kind's name is read with. */
export function withArticle(kind: string): string {
  return `${/^[aeiou]/i.test(kind) ? 'an' : 'a'} ${kind}`;
}

export function groupsOnlyViolation(g: Guardrails | undefined, principal: string, kind: PrincipalKind | undefined): string | undefined {
  if (!g?.groupsOnly || kind === undefined || !INDIVIDUAL_KINDS.includes(kind)) return undefined;
  return `"${principal}" is ${withArticle(kind)}; this stack allows grants to groups and applications only`;
}

export function wildcardViolation(g: Guardrails | undefined, persona: string): string | undefined {
  if (!g?.forbidWildcardFor?.includes(persona)) return undefined;
  return `this stack forbids "*" for ${persona}; list the apps`;
}

export function ownerTeamViolation(g: Guardrails | undefined, app: string, ownerTeam: string | undefined): string | undefined {
  if (!g?.requireOwnerTeam || ownerTeam) return undefined;
  return `app "${app}" names no ownerTeam; this stack requires one`;
}

/** How an app speaks of personal data: it lists personal columns, says it has none, or says nothing. */
export type PersonalDataDeclaration = 'columns' | 'none' | undefined;

export function personalDataDeclaration(spec: { personalData?: { columns?: Record<string, unknown>; none?: boolean } } | undefined): PersonalDataDeclaration {
  if (Object.keys(spec?.personalData?.columns ?? {}).length > 0) return 'columns';
  return spec?.personalData?.none === true ? 'none' : undefined;
}

/** requirePersonalData: every app declares its personal columns or says it has none. */
export function personalDataViolation(g: Guardrails | undefined, app: string, declared: PersonalDataDeclaration): string | undefined {
  if (!g?.requirePersonalData || declared !== undefined) return undefined;
  return `app "${app}" declares no personal columns; this stack requires personalData.columns, or personalData.none: true for an app without personal data`;
}

/**
 * maxGrantDays: a grant of a listed persona (every persona when none are listed) must expire, and
 * (with a clock) at most `days` days from now. A grant that has already expired is not judged: it
 * gives nothing. Not part of checkGuardrails, whose rules need no clock.
 */
export function maxGrantDaysViolation(g: Guardrails | undefined, grant: Pick<GrantFact, 'persona' | 'expires'>, now?: Date): string | undefined {
  const limit = g?.maxGrantDays;
  if (!limit || (limit.personas && !limit.personas.includes(grant.persona))) return undefined;
  if (grant.expires === undefined) return `this stack allows ${grant.persona} only as temporary access: add expires, at most ${limit.days} days ahead`;
  if (!now || isExpired(grant.expires, now)) return undefined;
  const days = daysUntilExpiry(grant.expires, now);
  if (days === undefined || days <= limit.days) return undefined;
  return `this grant of ${grant.persona} runs until ${expiryText(grant.expires)}, ${days} days from now; this stack allows at most ${limit.days}`;
}

/** Every guardrail violation in the facts, in a stable order (mode, grants, apps). */
export function checkGuardrails(g: Guardrails | undefined, facts: GuardrailFacts): GuardrailViolation[] {
  if (!g) return [];
  const out: GuardrailViolation[] = [];
  const mode = modeViolation(g, facts.mode);
  if (mode) out.push(mode);
  facts.grants.forEach((grant, gi) => {
    grant.to.forEach((p, pi) => {
      const m = groupsOnlyViolation(g, p.principal, p.kind);
      if (m) out.push({ rule: 'guardrail-groups-only', message: m, at: { grant: gi, principal: pi } });
    });
    if (grant.allApps) {
      const m = wildcardViolation(g, grant.persona);
      if (m) out.push({ rule: 'guardrail-wildcard', message: m, at: { grant: gi } });
    }
  });
  for (const a of facts.apps) {
    const m = ownerTeamViolation(g, a.app, a.ownerTeam);
    if (m) out.push({ rule: 'guardrail-owner-team', message: m, at: { app: a.app } });
  }
  return out;
}

/** The grant of a policy as a fact; a principal the policy does not declare has no kind (validate reports it). */
export function grantFact(policy: Pick<Policy, 'principals'>, grant: Policy['grants'][number]): GrantFact {
  const principals = policy.principals ?? {};
  return {
    persona: grant.persona,
    to: grant.to.map((p) => (Object.hasOwn(principals, p) ? { principal: p, kind: principals[p].kind } : { principal: p })),
    allApps: (grant.apps ?? []).includes('*'),
    ...(grant.expires !== undefined ? { expires: grant.expires } : {}),
  };
}

/** The facts of a whole policy, grants in policy order (so violation indices are grant indices). */
export function guardrailFacts(policy: Policy): GuardrailFacts {
  return {
    mode: policy.security.mode,
    grants: policy.grants.map((g) => grantFact(policy, g)),
    apps: Object.keys(policy.apps ?? {}).map((app) => ({ app, ...(policy.apps[app].ownerTeam ? { ownerTeam: policy.apps[app].ownerTeam } : {}) })),
  };
}

/**
 * The policy's grants split the way the Pulumi resources are: warehouse-wide personas on the Warehouse
 * resource, and on each App the grants that reach that app. The resources carry these as inputs, so
 * the policy pack can judge them.
 */
export function grantFactsByPart(policy: Policy): { warehouse: GrantFact[]; apps: Record<string, GrantFact[]> } {
  const catalogue = personaCatalogue(policy.personas, policy.options?.builtinPersonas ?? true);
  const warehouse: GrantFact[] = [];
  const apps: Record<string, GrantFact[]> = Object.fromEntries(Object.keys(policy.apps).map((a) => [a, [] as GrantFact[]]));
  for (const grant of policy.grants) {
    const fact = grantFact(policy, grant);
    if (catalogue[grant.persona]?.scope === 'warehouse') {
      warehouse.push(fact);
      continue;
    }
    const targets = (grant.apps ?? []).includes('*') ? Object.keys(apps) : (grant.apps ?? []).filter((a) => Object.hasOwn(apps, a));
    for (const app of targets) apps[app].push(fact);
  }
  return { warehouse, apps };
}
