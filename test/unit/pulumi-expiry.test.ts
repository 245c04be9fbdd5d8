/**
 * Expiring grants under Pulumi: the program compiles the policy with the clock of the run, so once a
 * grant's expiry passes, the App resource's inputs change (the membership leaves `memberships`, and
 * `expired` names it) and the provider's diff reports the change, "grant expired on ..." included.
 * The program runs under pulumi.runtime.setMocks with only Date faked.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type * as PulumiModule from '@pulumi/pulumi';
import { dialectFor } from '../../provider/engines/registry';
import { DesiredState } from '../../provider/model/types';
import { distRequire, packageRequire } from './pulumi-dist';
import { asApplied } from '../support/states';

const pulumi = packageRequire<typeof PulumiModule>('@pulumi/pulumi');
const program = distRequire<typeof import('../../provider/pulumi/program')>('provider/pulumi/program');
const providers = distRequire<typeof import('../../provider/pulumi/providers')>('provider/pulumi/providers');
const wire = distRequire<typeof import('../../provider/pulumi/wire')>('provider/pulumi/wire');
type GrantsInputs = import('../../provider/pulumi/resources').GrantsInputs;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-pulumi-expiry-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.useRealTimers());

const policyFile = path.join(tmp, 'policy.yaml');
fs.writeFileSync(
  policyFile,
  JSON.stringify({
    apiVersion: 'pmgrants/v1',
    warehouse: { engine: 'postgres', database: 'wh' },
    security: { mode: 'system_managed' },
    principals: { analysts: { kind: 'database-role' }, investigators: { kind: 'database-role' } },
    apps: { p2p: { schema: 'p2p' }, o2c: { schema: 'o2c' } },
    grants: [
      { persona: 'data_consumer', to: ['analysts'], apps: ['*'] },
      { persona: 'data_consumer', to: ['investigators'], apps: ['p2p'], expires: '2027-03-31' },
    ],
  }),
);

/** The inputs the program gives each pmgrants resource when it runs at `now`. */
async function inputsAt(now: string): Promise<Record<string, GrantsInputs>> {
  vi.useFakeTimers({ toFake: ['Date'], now: new Date(now) });
  const registered: Record<string, GrantsInputs> = {};
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.type.startsWith('pulumi-nodejs:dynamic/pmgrants:')) registered[args.name] = args.inputs as GrantsInputs;
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    'pmgrants',
    'dev',
    false,
  );
  pulumi.runtime.setAllConfig({ 'pmgrants:policy': policyFile, 'pmgrants:overlay': 'none', 'pmgrants:databaseUrl': 'postgres://a:b@db.example/wh' }, ['pmgrants:databaseUrl']);
  const stack = program.definePmgrantsStack();
  await Promise.all([stack.warehouse, ...Object.values(stack.apps)].map((r) => new Promise((done) => r.urn.apply(done))));
  return JSON.parse(JSON.stringify(registered));
}

describe('expiring grants under Pulumi', () => {
  it('the expiry passing changes only the app whose role the grant reached, and the diff says why', async () => {
    const before = await inputsAt('2027-03-31T12:00:00Z');
    const after = await inputsAt('2027-04-01T00:00:01Z');
    const member = (i: GrantsInputs) => i.memberships.filter((m) => m.member === 'investigators');
    expect(member(before.p2p)).toEqual([{ role: 'pmg_p2p_data_consumer', member: 'investigators', expires: '2027-03-31' }]);
    expect(before.p2p.expired).toBeUndefined();
    expect(member(after.p2p)).toEqual([]);
    expect(after.p2p.expired).toEqual([{ role: 'pmg_p2p_data_consumer', member: 'investigators', expires: '2027-03-31' }]);
    // The grant reached p2p only: o2c and the warehouse are the same before and after.
    expect(after.o2c).toEqual(before.o2c);
    expect(after.warehouse).toEqual(before.warehouse);

    // The resource as the last `up` left it (before expiry), and the diff at the next preview.
    const live = asApplied(dialectFor('postgres').realize(wire.desiredFromInputs(before.p2p) as DesiredState));
    const olds = { ...before.p2p, live: { ...live, memberships: live.memberships.map(({ expires: _e, ...m }) => m) } };
    expect(await providers.diff('app', 'wh/app/p2p', olds, before.p2p)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false, reasons: [] });
    const next = await providers.diff('app', 'wh/app/p2p', olds, after.p2p);
    expect(next).toMatchObject({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(next.reasons).toEqual([
      "the database differs from this app's policy: - member investigators of pmg_p2p_data_consumer (grant expired on 2027-03-31 (end of day UTC))",
    ]);
    expect((await providers.diff('app', 'wh/app/o2c', { ...before.o2c }, after.o2c)).changes).toBe(false);
  });

  it('under additive enforcement the expired membership is still revoked by the resource', () => {
    const after = { enforcement: 'additive', expired: [{ role: 'pmg_p2p_data_consumer', member: 'investigators', expires: '2027-03-31' }] };
    const desired = wire.desiredFromInputs({ engine: 'postgres', database: 'wh', prefix: 'pmg_', mode: 'system_managed', prune: false, appLogins: {}, logins: [], users: [], roles: [], schemas: [], memberships: [], permissions: [], ...after } as GrantsInputs);
    const lines = providers.driftLines(desired, { logins: [], users: [], roles: [], schemas: [], permissions: [], managed: [], memberships: [{ role: 'pmg_p2p_data_consumer', member: 'investigators' }] });
    expect(lines).toEqual(['- member investigators of pmg_p2p_data_consumer (grant expired on 2027-03-31 (end of day UTC))']);
  });
});
