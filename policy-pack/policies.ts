/**
 * The rules of the pmgrants policy pack: the stack guardrails of validate (provider/policy/guardrails.ts),
 * judged on the inputs of pmgrants' dynamic resources during `pulumi preview` / `up`. Pure: index.ts
 * wraps them in a PolicyPack, and the unit tests call them with plain arguments.
 *
 * Why both: validate enforces the guardrails of the stack overlay the program merges. The pack is the
 * organisation's own copy of those rules, configured outside the project: it still holds when a stack
 * runs with another overlay (pmgrants:overlay none) or a policy edited to dodge them.
 *
 * Every policy applies to the stacks named in its `stacks` config (default ["prod"]; "*" = every stack),
 * read from the resource's URN (urn:pulumi:<stack>::<project>::<type>::<name>).
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';
import type { Guardrails, SecurityMode } from '../provider/model/types';
import { GrantFact, groupsOnlyViolation, maxGrantDaysViolation, modeViolation, ownerTeamViolation, personalDataViolation, wildcardViolation } from '../provider/policy/guardrails';

/** Type tokens of the pmgrants dynamic resources (provider/pulumi/resources.ts: RESOURCE_MODULE, RESOURCE_TYPES). */
export const WAREHOUSE_TYPE = 'pulumi-nodejs:dynamic/pmgrants:Warehouse';
export const APP_TYPE = 'pulumi-nodejs:dynamic/pmgrants:App';

/** What the rules read from a pmgrants resource's inputs (provider/pulumi/resources.ts: GrantsInputs). */
interface ResourceFacts {
  app?: string;
  mode?: SecurityMode;
  grants?: GrantFact[];
  ownerTeam?: string;
  /** Whether the app declares its personal columns ('columns') or says it has none ('none'). */
  personalData?: 'columns' | 'none';
  /** Set when the policy itself is invalid: the resource's check fails anyway, nothing to judge. */
  diagnostics?: string[];
}

interface CommonConfig {
  /** Stacks the policy applies to; "*" matches every stack. */
  stacks: string[];
}

export const DEFAULT_STACKS = ['prod'];

const stacksSchema = {
  type: 'array' as const,
  items: { type: 'string' as const },
  default: DEFAULT_STACKS,
  description: 'Stacks this guardrail applies to ("*" = every stack).',
};

/** The stack of a resource URN: urn:pulumi:<stack>::<project>::<type>::<name>. */
export function stackOfUrn(urn: string): string | undefined {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
}

function appliesTo(config: CommonConfig, urn: string): boolean {
  const stack = stackOfUrn(urn);
  return config.stacks.includes('*') || (stack !== undefined && config.stacks.includes(stack));
}

/** The resource's facts, when it is a pmgrants resource whose policy compiled; otherwise undefined. */
function factsOf(args: ResourceValidationArgs): { kind: 'warehouse' | 'app'; facts: ResourceFacts } | undefined {
  const kind = args.type === WAREHOUSE_TYPE ? 'warehouse' : args.type === APP_TYPE ? 'app' : undefined;
  if (!kind) return undefined;
  const facts = args.props as ResourceFacts;
  if ((facts.diagnostics ?? []).length > 0) return undefined;
  return { kind, facts };
}

function configOf<T extends CommonConfig>(args: ResourceValidationArgs, defaults: T): T {
  const given = (args.getConfig<Partial<T>>() ?? {}) as Partial<T>;
  const out = { ...defaults };
  for (const [k, v] of Object.entries(given)) if (v !== undefined && v !== null) (out as Record<string, unknown>)[k] = v;
  return out;
}

const where = (kind: 'warehouse' | 'app', facts: ResourceFacts, stack: string | undefined) =>
  `${kind === 'app' ? `app "${facts.app ?? '?'}"` : 'the warehouse'} of stack ${stack ?? '?'}`;

const grantText = (g: GrantFact) => `the ${g.persona} grant to ${g.to.map((p) => p.principal).join(', ')}`;

interface ModeConfig extends CommonConfig {
  forbidModes: SecurityMode[];
}
interface WildcardConfig extends CommonConfig {
  personas: string[];
}

export const forbidModes: ResourceValidationPolicy = {
  name: 'pmgrants-forbid-modes',
  description: 'Refuses a security mode on the configured stacks (guardrails.forbidModes; default: single_account on prod).',
  enforcementLevel: 'mandatory',
  configSchema: {
    properties: {
      stacks: stacksSchema,
      forbidModes: { type: 'array', items: { enum: ['system_managed', 'single_account'] }, default: ['single_account'], description: 'Security modes refused.' },
    },
  },
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const found = factsOf(args);
    // The mode is the warehouse's: judged once, on the Warehouse resource.
    if (!found || found.kind !== 'warehouse' || !found.facts.mode) return;
    const config = configOf<ModeConfig>(args, { stacks: DEFAULT_STACKS, forbidModes: ['single_account'] });
    if (!appliesTo(config, args.urn)) return;
    const guardrails: Guardrails = { forbidModes: config.forbidModes };
    const v = modeViolation(guardrails, found.facts.mode);
    if (v) report(`guardrail-mode: ${where(found.kind, found.facts, stackOfUrn(args.urn))}: ${v.message}; ${v.hint}`);
  },
};

export const groupsOnly: ResourceValidationPolicy = {
  name: 'pmgrants-groups-only',
  description: 'Grants may go to groups and applications only, never to individual users or logins (guardrails.groupsOnly).',
  enforcementLevel: 'mandatory',
  configSchema: { properties: { stacks: stacksSchema } },
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const found = factsOf(args);
    if (!found) return;
    const config = configOf<CommonConfig>(args, { stacks: DEFAULT_STACKS });
    if (!appliesTo(config, args.urn)) return;
    for (const g of found.facts.grants ?? []) {
      for (const p of g.to) {
        const m = groupsOnlyViolation({ groupsOnly: true }, p.principal, p.kind);
        if (m) report(`guardrail-groups-only: ${where(found.kind, found.facts, stackOfUrn(args.urn))}: ${grantText(g)}: ${m}`);
      }
    }
  },
};

export const forbidWildcard: ResourceValidationPolicy = {
  name: 'pmgrants-forbid-wildcard',
  description: 'Personas that may not be granted on every app at once with apps: ["*"] (guardrails.forbidWildcardFor; default: process_admin).',
  enforcementLevel: 'mandatory',
  configSchema: {
    properties: {
      stacks: stacksSchema,
      personas: { type: 'array', items: { type: 'string' }, default: ['process_admin'], description: 'Personas refused with apps: ["*"].' },
    },
  },
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const found = factsOf(args);
    if (!found) return;
    const config = configOf<WildcardConfig>(args, { stacks: DEFAULT_STACKS, personas: ['process_admin'] });
    if (!appliesTo(config, args.urn)) return;
    for (const g of found.facts.grants ?? []) {
      if (!g.allApps) continue;
      const m = wildcardViolation({ forbidWildcardFor: config.personas }, g.persona);
      if (m) report(`guardrail-wildcard: ${where(found.kind, found.facts, stackOfUrn(args.urn))}: ${grantText(g)}: ${m}`);
    }
  },
};

export const requireOwnerTeam: ResourceValidationPolicy = {
  name: 'pmgrants-require-owner-team',
  description: 'Every app must name an ownerTeam (guardrails.requireOwnerTeam).',
  enforcementLevel: 'mandatory',
  configSchema: { properties: { stacks: stacksSchema } },
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const found = factsOf(args);
    if (!found || found.kind !== 'app') return;
    const config = configOf<CommonConfig>(args, { stacks: DEFAULT_STACKS });
    if (!appliesTo(config, args.urn)) return;
    const m = ownerTeamViolation({ requireOwnerTeam: true }, found.facts.app ?? '?', found.facts.ownerTeam);
    if (m) report(`guardrail-owner-team: stack ${stackOfUrn(args.urn) ?? '?'}: ${m}`);
  },
};

export const requirePersonalData: ResourceValidationPolicy = {
  name: 'pmgrants-require-personal-data',
  description: 'Every app must declare its personal columns or say it has none (guardrails.requirePersonalData). Off until its config lists stacks.',
  enforcementLevel: 'mandatory',
  configSchema: { properties: { stacks: { ...stacksSchema, default: [] } } },
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const found = factsOf(args);
    if (!found || found.kind !== 'app') return;
    const config = configOf<CommonConfig>(args, { stacks: [] });
    if (!appliesTo(config, args.urn)) return;
    const m = personalDataViolation({ requirePersonalData: true }, found.facts.app ?? '?', found.facts.personalData);
    if (m) report(`guardrail-personal-data: stack ${stackOfUrn(args.urn) ?? '?'}: ${m}`);
  },
};

interface MaxGrantDaysConfig extends CommonConfig {
  days: number;
  /** Personas whose grants must expire; empty: every persona. */
  personas: string[];
}

export const DEFAULT_MAX_GRANT_DAYS = 90;

export const maxGrantDays: ResourceValidationPolicy = {
  name: 'pmgrants-max-grant-days',
  description:
    'Grants of the configured personas must expire, at most `days` days from now (guardrails.maxGrantDays; default: app_admin and process_admin, 90 days). Off until its config lists stacks.',
  enforcementLevel: 'mandatory',
  configSchema: {
    properties: {
      stacks: { ...stacksSchema, default: [] },
      days: { type: 'integer', minimum: 1, default: DEFAULT_MAX_GRANT_DAYS, description: 'The longest a grant may run, counted from now.' },
      personas: { type: 'array', items: { type: 'string' }, default: ['app_admin', 'process_admin'], description: 'Personas whose grants must expire ([] = every persona).' },
    },
  },
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const found = factsOf(args);
    if (!found) return;
    const config = configOf<MaxGrantDaysConfig>(args, { stacks: [], days: DEFAULT_MAX_GRANT_DAYS, personas: ['app_admin', 'process_admin'] });
    if (!appliesTo(config, args.urn)) return;
    const guardrails: Guardrails = { maxGrantDays: { days: config.days, ...(config.personas.length > 0 ? { personas: config.personas } : {}) } };
    const now = new Date();
    for (const g of found.facts.grants ?? []) {
      const m = maxGrantDaysViolation(guardrails, g, now);
      if (m) report(`guardrail-max-grant-days: ${where(found.kind, found.facts, stackOfUrn(args.urn))}: ${grantText(g)}: ${m}`);
    }
  },
};

export const POLICIES: ResourceValidationPolicy[] = [forbidModes, groupsOnly, forbidWildcard, requireOwnerTeam, maxGrantDays, requirePersonalData];
