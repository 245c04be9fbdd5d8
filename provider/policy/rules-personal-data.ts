/**
 * Rules of personal data (apps.<app>.personalData, personas.<p>.personalData, model/masking.ts) and
 * the requirePersonalData guardrail. Joined to the core rules in ruleset.ts.
 */
import { identifierLength } from '../model/names';
import { MASKABLE_RIGHTS, maskingNames, personaVisibility, splitPattern } from '../model/masking';
import { PolicyRule, RuleContext } from './rules';
import { personalDataDeclaration, personalDataViolation } from './guardrails';

/** The apps that declare personal columns, in key order. */
function maskedApps(ctx: RuleContext): string[] {
  return ctx.appKeys.filter((a) => Object.keys(ctx.apps[a].personalData?.columns ?? {}).length > 0);
}

const personalColumnPattern: PolicyRule = {
  id: 'personal-column-pattern',
  severity: 'error',
  description: 'a personal-column pattern that can never match a column',
  check(ctx) {
    for (const app of ctx.appKeys) {
      for (const pattern of Object.keys(ctx.apps[app].personalData?.columns ?? {})) {
        const at = ['apps', app, 'personalData', 'columns', pattern];
        const parts = splitPattern(pattern);
        if (!parts) {
          ctx.report('personal-column-pattern', at, `"${pattern}" is not table.column: it needs a table pattern, a dot and a column pattern, e.g. "*.user_name"`, { atKey: true });
          continue;
        }
        for (const [what, glob] of [['table', parts.table], ['column', parts.column]] as const) {
          const least = identifierLength(ctx.engine, glob.replace(/\*/g, ''));
          if (least > ctx.limit.max) {
            ctx.report('personal-column-pattern', at, `the ${what} part of "${pattern}" needs ${least} ${ctx.limit.unit}, more than any identifier can hold (${ctx.limit.max}): it can never match`, { atKey: true });
          }
        }
      }
    }
  },
};

const personalDataUnenforceable: PolicyRule = {
  id: 'personal-data-unenforceable',
  severity: 'error',
  description: 'personal data that the engine or the persona cannot keep masked',
  check(ctx) {
    // Dynamic Data Masking (SQL Server, Azure SQL): partial()'s padding is a double-quoted string, so a
    // redact text cannot hold a double quote (nothing documents an escape for it).
    if (ctx.engine !== 'postgres') {
      for (const app of maskedApps(ctx)) {
        for (const [pattern, column] of Object.entries(ctx.apps[app].personalData?.columns ?? {})) {
          const text = typeof column === 'object' && column !== null && column.mask === 'redact' ? column.text : undefined;
          if (text !== undefined && /["\u0000-\u001f\u007f]/.test(text)) {
            ctx.report('personal-data-unenforceable', ['apps', app, 'personalData', 'columns', pattern, 'text'], `the redact text of "${pattern}" holds a double quote or a control character, which Dynamic Data Masking's partial() cannot show`, {
              hint: 'choose a text without double quotes',
            });
          }
        }
      }
    }
    for (const [key, spec] of Object.entries(ctx.customPersonas)) {
      const visibility = spec.personalData;
      if (visibility === undefined || visibility === 'clear') continue;
      const rights = [...(spec.rights ?? []), ...(spec.openSourceRights ?? [])];
      const beyond = rights.filter((r) => !MASKABLE_RIGHTS.includes(r));
      if (beyond.length === 0) continue;
      ctx.report('personal-data-unenforceable', ['personas', key, 'personalData'], `persona ${key} sees personal data ${visibility}, but ${beyond.join(', ')} reach${beyond.length === 1 ? 'es' : ''} the app's own tables (writes, ownership or routines read them in clear)`, {
        hint: `make it clear, or give it only ${MASKABLE_RIGHTS.join(' and ')}`,
      });
    }
  },
};

/** SQL Server and Azure SQL: what Dynamic Data Masking's built-in functions give instead of a mask they do not have. */
const personalDataApproximated: PolicyRule = {
  id: 'personal-data-approximated',
  severity: 'warning',
  description: "a mask SQL Server's Dynamic Data Masking gives only approximately",
  check(ctx) {
    if (ctx.engine === 'postgres') return;
    for (const app of maskedApps(ctx)) {
      for (const [pattern, column] of Object.entries(ctx.apps[app].personalData?.columns ?? {})) {
        const kind = typeof column === 'string' ? column : column?.mask;
        const instead =
          kind === 'pseudonym'
            ? 'default() (XXXX, 0 or 1900-01-01 by type): the same for every value, so counts of distinct people, hand-overs and joins on it do not survive masking'
            : kind === 'nullify'
              ? 'default() (XXXX, 0 or 1900-01-01 by type), not NULL'
              : undefined;
        if (instead) ctx.report('personal-data-approximated', ['apps', app, 'personalData', 'columns', pattern], `Dynamic Data Masking has no ${kind === 'pseudonym' ? 'keyed pseudonym' : 'NULL mask'}: "${pattern}" reads as ${instead}`, { atKey: true });
      }
    }
  },
};

const personalDataPersonaUnset: PolicyRule = {
  id: 'personal-data-persona-unset',
  severity: 'error',
  description: 'a custom persona that reads an app with personal columns does not say how it sees them',
  check(ctx) {
    const apps = maskedApps(ctx);
    if (apps.length === 0) return;
    for (const [key, spec] of Object.entries(ctx.customPersonas)) {
      if (spec.personalData !== undefined || !(key in ctx.catalogue)) continue;
      const persona = ctx.catalogue[key];
      if (!persona || !(persona.rights ?? []).concat(persona.openSourceRights ?? []).includes('select')) continue;
      const on = persona.scope === 'warehouse' ? apps : apps.filter((a) => ctx.personasOn(a).includes(key));
      if (on.length === 0) continue;
      ctx.report('personal-data-persona-unset', ['personas', key], `persona ${key} reads ${on.join(', ')}, which ${on.length === 1 ? 'has' : 'have'} personal columns: say personalData: clear, masked or hidden (until then it reads them ${personaVisibility(key, spec)})`, {
        atKey: true,
      });
    }
  },
};

/** The schemas and roles masking generates: within the identifier limit, and not another app's schema. */
const personalDataNames: PolicyRule = {
  id: 'name-too-long',
  severity: 'error',
  description: 'names generated for personal data fit the engine and collide with no app schema',
  check(ctx) {
    const apps = maskedApps(ctx);
    if (apps.length === 0 || ctx.engine !== 'postgres') return;
    const appSchemas = new Map(ctx.appKeys.map((a) => [ctx.apps[a].schema, a]));
    for (const app of apps) {
      for (const visibility of ['masked', 'hidden'] as const) {
        const name = maskingNames.companion(ctx.apps[app].schema, visibility);
        if (identifierLength(ctx.engine, name) > ctx.limit.max) {
          ctx.report('name-too-long', ['apps', app, 'schema'], `the companion schema "${name}" of masked views would be longer than ${ctx.limit.max} ${ctx.limit.unit}`, { hint: 'shorten the app schema name' });
        }
        const other = appSchemas.get(name);
        if (other !== undefined) {
          ctx.report('duplicate-schema', ['apps', other, 'schema'], `schema "${name}" is the companion schema of app ${app}'s ${visibility} views`, { hint: `rename app ${other}'s schema` });
        }
      }
    }
    const owner = maskingNames.owner(ctx.prefix);
    for (const g of ctx.generatedNames()) {
      if (g.name === owner) ctx.report('duplicate-name', g.path, `${g.what} "${g.name}" is also the name of the role that owns the masked views`, { hint: 'rename the persona', atKey: g.atKey });
    }
    for (const name of [maskingNames.keySchema(ctx.prefix), owner]) {
      if (identifierLength(ctx.engine, name) > ctx.limit.max) ctx.report('name-too-long', ['options', 'prefix'], `"${name}", which masking generates, would be longer than ${ctx.limit.max} ${ctx.limit.unit}`);
      const other = appSchemas.get(name);
      if (other !== undefined) ctx.report('duplicate-schema', ['apps', other, 'schema'], `schema "${name}" holds the warehouse's pseudonym key`, { hint: `rename app ${other}'s schema` });
    }
  },
};

const guardrailPersonalData: PolicyRule = {
  id: 'guardrail-personal-data',
  severity: 'error',
  description: 'the stack requires every app to declare its personal columns or say it has none',
  check(ctx) {
    for (const app of ctx.appKeys) {
      const m = personalDataViolation(ctx.policy.guardrails, app, personalDataDeclaration(ctx.apps[app]));
      if (m) ctx.report('guardrail-personal-data', ['apps', app], m, { atKey: true });
    }
  },
};

export const PERSONAL_DATA_RULES: readonly PolicyRule[] = [personalColumnPattern, personalDataUnenforceable, personalDataApproximated, personalDataPersonaUnset, personalDataNames, guardrailPersonalData];
