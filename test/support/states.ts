/**
 * Shared test data for the pure core: random policies (fast-check) and what a perfect inspect would
 * return after a state was applied.
 */
import fc from 'fast-check';
import { DesiredState, Policy, PrincipalSpec, ActualState } from '../../provider/model/types';

const key = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);

/** Random valid postgres policies: 1–5 apps and principals, up to 8 grants of the built-in personas. */
export function policyArbitrary(principal: PrincipalSpec): fc.Arbitrary<Policy> {
  return fc
    .record({
      mode: fc.constantFrom('system_managed' as const, 'single_account' as const),
      apps: fc.uniqueArray(key, { minLength: 1, maxLength: 5 }),
      principals: fc.uniqueArray(key, { minLength: 1, maxLength: 5 }),
      grants: fc.array(
        fc.record({ persona: fc.constantFrom('app_admin', 'process_admin', 'data_consumer'), to: fc.nat(), apps: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), open: fc.boolean() }),
        { maxLength: 8 },
      ),
    })
    .map(({ mode, apps, principals, grants }): Policy => ({
      apiVersion: 'pmgrants/v1',
      warehouse: { engine: 'postgres', database: 'w' },
      security: { mode },
      principals: Object.fromEntries(principals.map((p) => [`u-${p}`, { ...principal }])),
      apps: Object.fromEntries(apps.map((a, i) => [a, { schema: `s_${a}`, source: i % 2 ? ('open' as const) : ('closed' as const) }])),
      grants: grants.map((g) => ({
        persona: g.persona,
        to: [`u-${principals[g.to % principals.length]}`],
        ...(g.persona === 'app_admin' ? {} : { apps: g.open ? ['*'] : [...new Set(g.apps.map((i) => apps[i % apps.length]))] }),
      })),
    }));
}

/** What a perfect inspect returns after applying `desired`: pmgrants manages all but the principals. */
export function asApplied(desired: DesiredState): ActualState {
  return {
    engine: desired.engine,
    database: desired.database,
    logins: desired.logins,
    users: desired.users,
    roles: desired.roles,
    schemas: desired.schemas,
    memberships: desired.memberships,
    permissions: desired.permissions,
    managed: [...desired.logins, ...desired.roles, ...desired.users.filter((u) => u.purpose !== 'principal')].map((p) => p.name).sort(),
  };
}
