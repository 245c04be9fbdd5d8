/**
 * The inspect scoped to one part of the warehouse (what each Pulumi resource reads) against the whole
 * inspect, on a real PostgreSQL server: for random policies, after hand-made changes that cross parts
 * (a grant on one app's schema to another app's role, a warehouse principal given another app's role,
 * a hand-made prefixed role without marker, a grant outside the policy, an app removed from the
 * policy), every part's slice of the scoped inspect is the slice of the whole one, and plans the same
 * changes.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine } from '../../provider/engines/registry';
import { EngineConnection } from '../../provider/engines/engine';
import { quoteIdent } from '../../provider/engines/postgres/quote';
import { compilePolicy } from '../../provider/model/compile';
import { DesiredState, Policy, ActualState } from '../../provider/model/types';
import { diffState } from '../../provider/plan/diff';
import { appPart, appsOf, claimOf, Part, principalsMentioned, sliceActual, sliceDesired, WAREHOUSE } from '../../provider/plan/slice';
import { scopeOf } from '../../provider/pipeline/inspect';
import { postgresUnavailableReason, startTestServer, TestServer } from '../support/pg';
import { policyArbitrary } from '../support/states';

const unavailable = postgresUnavailableReason();
if (unavailable) console.warn(`Skipping the scoped inspect comparison: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

let pg: TestServer;
beforeAll(async () => {
  if (!unavailable) pg = await startTestServer();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

/** A slice as the diff sees it: `managed` only for the names the slice mentions. */
function comparable(slice: ActualState) {
  const mentioned = principalsMentioned(slice);
  return {
    logins: slice.logins,
    users: slice.users,
    roles: slice.roles,
    schemas: slice.schemas,
    memberships: slice.memberships,
    permissions: slice.permissions,
    managed: slice.managed.filter((n) => mentioned.has(n)),
    passwordSetAt: slice.passwordSetAt ?? {},
  };
}

const partsOf = (desired: DesiredState): Part[] => [WAREHOUSE, ...appsOf(desired).map(appPart)];

let run = 0;

async function applyWhole(conn: EngineConnection, policy: Policy): Promise<void> {
  const desired = conn.dialect.realize(compilePolicy(policy));
  const plan = diffState(desired, await conn.inspect(desired), { now: new Date() });
  const statements = conn.dialect.render(plan.changes, desired);
  if (statements.length > 0) await conn.apply(statements);
}

suite('the inspect scoped to one part gives the same slice as the whole inspect (PostgreSQL)', () => {
  it('property: for every part of random policies after cross-part hand changes', async () => {
    const principal = { kind: 'entra-group' as const, objectId: '2b6f1c3e-8d2a-4f0b-9a51-0c7e4d1f2a01' };
    await fc.assert(
      fc.asyncProperty(policyArbitrary(principal), fc.boolean(), async (generated, dropOne) => {
        run++;
        const database = `scoped_${run}`;
        const prefix = `s${run}_`;
        const before: Policy = { ...generated, warehouse: { engine: 'postgres', database }, options: { prefix } };
        const url = await pg.createDatabase(database);
        const admin = await pg.connect(url);
        const conn = await connectEngine('postgres', url);
        try {
          await applyWhole(conn, before);
          const realized = conn.dialect.realize(compilePolicy(before));
          const apps = appsOf(realized);
          const schemaOf = (app: string) => realized.schemas.find((s) => s.app === app)!.name;
          const personaOf = (app: string) => realized.roles.find((r) => r.app === app && r.purpose === 'persona')?.name;
          // Hand-made changes that cross parts.
          const [first, second] = apps;
          if (second !== undefined && personaOf(second)) await admin.query(`GRANT USAGE ON SCHEMA ${quoteIdent(schemaOf(first))} TO ${quoteIdent(personaOf(second)!)}`);
          const principalRole = realized.users.find((u) => u.purpose === 'principal')?.name;
          if (principalRole && personaOf(first)) await admin.query(`GRANT ${quoteIdent(personaOf(first)!)} TO ${quoteIdent(principalRole)}`);
          await admin.query(`CREATE ROLE ${quoteIdent(`${prefix}handmade`)} NOLOGIN`);
          if (personaOf(first)) await admin.query(`GRANT ${quoteIdent(`${prefix}handmade`)} TO ${quoteIdent(personaOf(first)!)}`);
          if (personaOf(first)) await admin.query(`GRANT CREATE ON SCHEMA public TO ${quoteIdent(personaOf(first)!)}`);
          await admin.query(`CREATE TABLE ${quoteIdent(schemaOf(first))}.t (id int)`);
          // The policy after the change: one app fewer (its roles are dropped by its resource's delete).
          const gone = dropOne && apps.length > 1 ? apps[apps.length - 1] : undefined;
          const after: Policy = gone
            ? { ...before, apps: Object.fromEntries(Object.entries(before.apps).filter(([k]) => k !== gone)), grants: before.grants.map((g) => (g.apps ? { ...g, apps: g.apps.filter((a) => a !== gone) } : g)).filter((g) => !g.apps || g.apps.length > 0) }
            : before;
          const previous = compilePolicy(before);
          const next = compilePolicy(after);
          for (const part of partsOf(previous)) {
            const previousSlice = conn.dialect.realize(sliceDesired(previous, part));
            const stillThere = part.scope === 'warehouse' || part.app !== gone;
            const desired = stillThere
              ? conn.dialect.realize(sliceDesired(next, part))
              : { ...previousSlice, logins: [], users: [], roles: [], schemas: [], memberships: [], permissions: [] };
            const slices = [desired, previousSlice];
            const scope = scopeOf(slices);
            const whole = await conn.inspect(scope);
            const scoped = await conn.inspect(scope, part);
            const fromWhole = sliceActual(whole, claimOf(part, slices, whole), desired);
            const fromScoped = sliceActual(scoped, claimOf(part, slices, scoped), desired);
            expect(comparable(fromScoped), `part ${JSON.stringify(part)}`).toEqual(comparable(fromWhole));
            expect(diffState(desired, fromScoped, { now: new Date() }).changes).toEqual(diffState(desired, fromWhole, { now: new Date() }).changes);
            // And it reads less: nothing of the other apps' own roles.
            const others = apps.filter((a) => part.scope === 'warehouse' || a !== part.app).map((a) => `${prefix}${a}_`);
            const ownRoles = (s: ActualState) => [...s.roles, ...s.logins].map((r) => r.name).filter((n) => others.some((o) => n.startsWith(o)));
            if (part.scope === 'app') expect(ownRoles(scoped).length).toBeLessThanOrEqual(ownRoles(whole).length);
          }
        } finally {
          await conn.close();
          await admin.end();
        }
      }),
      { numRuns: 15, seed: 20261203 },
    );
  }, 240_000);
});
