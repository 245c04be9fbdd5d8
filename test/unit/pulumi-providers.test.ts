/**
 * provider/pulumi/providers.ts: check, diff (pure), and create/update/read/delete driven through a
 * scripted EngineConnection (inspect returns given live states, apply records the statements). The
 * real database and the real Pulumi engine are exercised by test/e2e/pulumi.e2e.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApplyResult, EngineConnection } from '../../provider/engines/engine';
import type { Statement } from '../../provider/model/statement';
import { compilePolicy } from '../../provider/model/compile';
import { DesiredState, Policy, ActualState } from '../../provider/model/types';
import { appPart, partitionDesired, sliceDesired, WAREHOUSE } from '../../provider/plan/slice';
import { partInputs } from '../../provider/pulumi/wire';
import type { GrantsInputs, GrantsOutputs } from '../../provider/pulumi/resources';
import { distRequire } from './pulumi-dist';

// The compiled modules, as the dynamic-provider process loads them (see pulumi-dist.ts).
const providers = distRequire<typeof import('../../provider/pulumi/providers')>('provider/pulumi/providers');
const { PmgrantsError } = distRequire<typeof import('../../provider/model/errors')>('provider/model/errors');
const { postgresDialect } = distRequire<typeof import('../../provider/engines/postgres')>('provider/engines/postgres');

const URL_WITH_PASSWORD = 'postgres://admin:S3cret-Adm1n@db.example:5432/wh';

const POLICY: Policy = {
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'postgres', database: 'wh' },
  security: { mode: 'system_managed', rotation: { maxAgeDays: 30 } },
  principals: {
    admins: { kind: 'entra-group', objectId: '2b6f1c3e-8d2a-4f0b-9a51-0c7e4d1f2a01' },
    analysts: { kind: 'entra-group', objectId: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04' },
  },
  apps: { p2p: { schema: 'p2p', source: 'closed' }, o2c: { schema: 'o2c', source: 'open' } },
  grants: [
    { persona: 'app_admin', to: ['admins'] },
    { persona: 'data_consumer', to: ['analysts'], apps: ['p2p'] },
  ],
};

function inputsFor(policy: Policy, part: 'warehouse' | string, extra: { rotationToken?: string } = {}): GrantsInputs {
  const desired = compilePolicy(policy);
  const slice = part === 'warehouse' ? sliceDesired(desired, WAREHOUSE) : sliceDesired(desired, appPart(part));
  return partInputs(slice, 'postgres', { ...(part === 'warehouse' ? {} : { app: part }), ...extra });
}

/** What inspect reports after `desired` (realized) was applied: managed principals, and a password time for logins. */
function applied(desired: DesiredState, passwordSetAt = RECENT): ActualState {
  return {
    engine: 'postgres',
    database: desired.database,
    logins: desired.logins,
    users: desired.users,
    roles: desired.roles,
    schemas: desired.schemas,
    memberships: desired.memberships,
    permissions: desired.permissions,
    managed: [...desired.logins, ...desired.roles, ...desired.users.filter((u) => u.purpose !== 'principal')].map((p) => p.name).sort(),
    passwordSetAt: Object.fromEntries(desired.logins.map((l) => [l.name, passwordSetAt])),
  };
}

/** A password time within the rotation age. */
const RECENT = new Date(Date.now() - 86_400_000).toISOString();

const EMPTY: ActualState = { engine: 'postgres', database: 'wh', logins: [], users: [], roles: [], schemas: [], memberships: [], permissions: [], managed: [] };

/** A connection whose inspect answers from `states` in turn (the last one repeats) and whose apply records. */
function scripted(states: ActualState[]) {
  const applied: Statement[][] = [];
  const secrets = new Map<string, string>();
  let inspections = 0;
  let closed = 0;
  /** lock, inspect, apply, release: in the order they happened. */
  const events: string[] = [];
  const conn: EngineConnection = {
    dialect: postgresDialect,
    async inspect() {
      const s = states[Math.min(inspections, states.length - 1)];
      inspections++;
      events.push('inspect');
      return s;
    },
    async lockForApply() {
      events.push('lock');
      return async () => {
        events.push('release');
      };
    },
    async apply(statements, _progress, options): Promise<ApplyResult> {
      events.push('apply');
      applied.push([...statements]);
      const out = new Map<string, string>();
      for (const st of statements) for (const p of st.params) if ('secretFor' in p) out.set(p.secretFor, `pw-for-${p.secretFor}`);
      // Write-ahead, as the engines do: every generated password with its generation, before applying.
      if (options?.deliver && out.size > 0) await options.deliver([...out].map(([login, password]) => ({ login, password, generation: `gen-for-${login}` })));
      for (const [k, v] of out) secrets.set(k, v);
      return { statements: statements.length, roundTrips: 1, secrets: out };
    },
    async preflight() {
      return [];
    },
    roundTrips: () => 0,
    async close() {
      closed++;
    },
  };
  return { conn, applied, secrets, events, inspections: () => inspections, closed: () => closed };
}

const realizedPart = (policy: Policy, part: 'warehouse' | string): DesiredState =>
  postgresDialect.realize(part === 'warehouse' ? sliceDesired(compilePolicy(policy), WAREHOUSE) : sliceDesired(compilePolicy(policy), appPart(part)));

/** The live state of the whole database after applying the whole policy. */
const wholeApplied = (policy: Policy, passwordSetAt?: string) => applied(postgresDialect.realize(compilePolicy(policy)), passwordSetAt);

beforeEach(() => {
  providers.configure({ get: (k) => (k === 'pmgrants:databaseUrl' ? URL_WITH_PASSWORD : undefined) });
});
afterEach(async () => {
  await providers.shutdown();
});

describe('check', () => {
  it('accepts compiled inputs', async () => {
    const news = inputsFor(POLICY, 'p2p');
    expect(await providers.check('app', news, news)).toEqual({ inputs: news, failures: [] });
  });

  it('reports every policy diagnostic as a failure, with no property (the engine would print the whole value)', async () => {
    const news = { ...inputsFor(POLICY, 'warehouse'), diagnostics: ['policy.yaml:3:5 error unknown-app unknown app "x"', 'policy.yaml:9:1 error unknown-principal unknown principal "y"'] };
    const { failures } = await providers.check('warehouse', news, news);
    expect(failures).toEqual([
      { property: '', reason: 'policy.yaml:3:5 error unknown-app unknown app "x"' },
      { property: '', reason: 'policy.yaml:9:1 error unknown-principal unknown principal "y"' },
    ]);
  });

  it('says how to set the admin URL when it is missing, without any value', async () => {
    providers.configure({ get: () => undefined });
    const news = inputsFor(POLICY, 'p2p');
    const { failures } = await providers.check('app', news, news);
    expect(failures.map((f) => f.reason)).toEqual(['no database to connect to: set the admin connection URL with "pulumi config set --secret pmgrants:databaseUrl <url>"']);
  });

  it('rejects an App without app key, a Warehouse with one, and an unknown engine', async () => {
    const app = inputsFor(POLICY, 'p2p');
    const { app: _drop, ...noKey } = app;
    expect((await providers.check('app', noKey, noKey)).failures.map((f) => f.reason)).toEqual(['an App resource needs its app key (input "app")']);
    expect((await providers.check('warehouse', app, app)).failures.map((f) => f.reason)).toEqual(['a Warehouse resource takes no app key']);
    const odd = { ...noKey, engine: 'oracle' } as unknown as GrantsInputs;
    expect((await providers.check('warehouse', odd, odd)).failures.map((f) => f.reason)).toEqual(['unknown engine "oracle"; use one of postgres, sqlserver, azure-sql']);
  });

  it('never puts the admin URL or its password in a failure', async () => {
    const news = { ...inputsFor(POLICY, 'p2p'), engine: 'nope' } as unknown as GrantsInputs;
    const text = JSON.stringify(await providers.check('app', news, news));
    expect(text).not.toContain('S3cret');
    expect(text).not.toContain('db.example');
  });
});

describe('diff (pure: no database)', () => {
  const olds = (policy: Policy, part: string): GrantsOutputs => ({
    ...inputsFor(policy, part),
    login: part === 'warehouse' ? undefined : `pmg_${part}_app`,
    password: 'x',
    passwordSetAt: new Date().toISOString(),
  });

  it('no changes when the inputs are the same', async () => {
    const r = await providers.diff('app', 'id', olds(POLICY, 'p2p'), inputsFor(POLICY, 'p2p'));
    expect(r).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false, reasons: [] });
  });

  it('a grant added to an app changes that app only, in place', async () => {
    const more: Policy = { ...POLICY, grants: [...POLICY.grants, { persona: 'data_consumer', to: ['analysts'], apps: ['o2c'] }] };
    expect((await providers.diff('app', 'id', olds(POLICY, 'o2c'), inputsFor(more, 'o2c'))).changes).toBe(true);
    expect((await providers.diff('app', 'id', olds(POLICY, 'p2p'), inputsFor(more, 'p2p'))).changes).toBe(false);
    expect((await providers.diff('warehouse', 'id', olds(POLICY, 'warehouse'), inputsFor(more, 'warehouse'))).changes).toBe(false);
    const r = await providers.diff('app', 'id', olds(POLICY, 'o2c'), inputsFor(more, 'o2c'));
    expect(r.replaces).toEqual([]);
    expect(r.deleteBeforeReplace).toBe(false);
  });

  it('a new prefix renames everything: replace, deleting first; a new schema name is an update', async () => {
    const renamed: Policy = { ...POLICY, options: { prefix: 'pm_' } };
    const r = await providers.diff('app', 'id', olds(POLICY, 'p2p'), inputsFor(renamed, 'p2p'));
    expect(r).toMatchObject({ changes: true, replaces: ['prefix'], deleteBeforeReplace: true });
    const moved: Policy = { ...POLICY, apps: { ...POLICY.apps, p2p: { schema: 'p2p_v2', source: 'closed' } } };
    expect(await providers.diff('app', 'id', olds(POLICY, 'p2p'), inputsFor(moved, 'p2p'))).toMatchObject({ changes: true, replaces: [], deleteBeforeReplace: false });
    const otherDb: Policy = { ...POLICY, warehouse: { engine: 'postgres', database: 'wh2' } };
    expect((await providers.diff('app', 'id', olds(POLICY, 'p2p'), inputsFor(otherDb, 'p2p'))).replaces).toEqual(['database']);
  });

  it('drift recorded by a refresh is a change', async () => {
    const drifted: GrantsOutputs = { ...olds(POLICY, 'p2p'), drift: ['- revoke CREATE on schema p2p from pmg_p2p_data_consumer'] };
    const r = await providers.diff('app', 'id', drifted, inputsFor(POLICY, 'p2p'));
    expect(r.changes).toBe(true);
    expect(r.replaces).toEqual([]);
  });

  it('a live copy recorded by an earlier version is no change', async () => {
    const earlier = { ...olds(POLICY, 'p2p'), live: { ...applied(realizedPart(POLICY, 'p2p')) } } as GrantsOutputs;
    expect((await providers.diff('app', 'id', earlier, inputsFor(POLICY, 'p2p'))).changes).toBe(false);
  });

  it('a password older than the rotation age is a change', async () => {
    const old = { ...olds(POLICY, 'p2p'), passwordSetAt: '2026-01-01T00:00:00.000Z' };
    const r = await providers.diff('app', 'id', old, inputsFor(POLICY, 'p2p'), new Date('2026-03-01T00:00:00.000Z'));
    expect(r.reasons).toEqual(['the password of pmg_p2p_app is older than 30 days']);
    expect((await providers.diff('app', 'id', old, inputsFor(POLICY, 'p2p'), new Date('2026-01-15T00:00:00.000Z'))).changes).toBe(false);
  });

  it('a new rotation token is a change; an empty drift list is no change', async () => {
    expect((await providers.diff('app', 'id', olds(POLICY, 'p2p'), inputsFor(POLICY, 'p2p', { rotationToken: '2026-05' }))).changes).toBe(true);
    expect((await providers.diff('app', 'id', { ...olds(POLICY, 'p2p'), drift: [] }, inputsFor(POLICY, 'p2p'))).changes).toBe(false);
  });
});

describe('create, update, read, delete', () => {
  it('create applies the part\'s creation plan after one inspect, and returns the password as an output and an id', async () => {
    const after = wholeApplied(POLICY);
    const db = scripted([EMPTY, after]);
    providers.setConnector(async () => db.conn);
    const started = Date.now();
    const { id, outs } = await providers.create('app', inputsFor(POLICY, 'p2p'));
    expect(id).toBe('wh/app/p2p');
    expect(outs.login).toBe('pmg_p2p_app');
    expect(outs.password).toBe('pw-for-pmg_p2p_app');
    // The new password was set by this apply: its time is now, without inspecting again.
    expect(db.inspections()).toBe(1);
    expect(Date.parse(outs.passwordSetAt!)).toBeGreaterThanOrEqual(started - 1000);
    // The state keeps no copy of the database: the outputs are the inputs plus the delivered login.
    expect(Object.keys(outs).filter((k) => !(k in inputsFor(POLICY, 'p2p'))).sort()).toEqual(['login', 'password', 'passwordGeneration', 'passwordSetAt']);
    // Only p2p's objects: nothing of o2c, no warehouse role created.
    const sql = db.applied.flat().map((s) => s.display).join('\n');
    expect(sql).toContain('CREATE SCHEMA IF NOT EXISTS "p2p"');
    expect(sql).not.toContain('o2c');
    expect(sql).not.toMatch(/CREATE ROLE "pmg_app_admin"/);
    expect(JSON.stringify(outs)).not.toContain('undefined');
    // The recorded live state converges: diff against the same inputs finds nothing.
    expect((await providers.diff('app', id, outs, inputsFor(POLICY, 'p2p'))).changes).toBe(false);
  });

  it('create and update inspect, plan and apply under the apply lock, released after; read takes no lock', async () => {
    const db = scripted([EMPTY, wholeApplied(POLICY)]);
    providers.setConnector(async () => db.conn);
    const { id, outs } = await providers.create('app', inputsFor(POLICY, 'p2p'));
    expect(db.events).toEqual(['lock', 'inspect', 'apply', 'release']);
    db.events.length = 0;
    await providers.update('app', id, outs, inputsFor(POLICY, 'p2p'));
    expect(db.events).toEqual(['lock', 'inspect', 'release']);
    db.events.length = 0;
    await providers.read('app', id, outs);
    expect(db.events).toEqual(['inspect']);
  });

  it('create adopts an existing login by setting a new password the stack can deliver', async () => {
    const db = scripted([wholeApplied(POLICY)]);
    providers.setConnector(async () => db.conn);
    const { outs } = await providers.create('app', inputsFor(POLICY, 'p2p'));
    expect(db.applied.flat().map((s) => s.display)).toEqual([`ALTER ROLE "pmg_p2p_app" WITH PASSWORD '********'`]);
    expect(outs.password).toBe('pw-for-pmg_p2p_app');
  });

  it('create never sets the password of an adopted login (apps.<app>.roles.app): the stack delivers none', async () => {
    const adoptedPolicy: Policy = { ...POLICY, apps: { ...POLICY.apps, p2p: { schema: 'p2p', source: 'closed', roles: { owner: 'etl', app: 'etl' } } } };
    const db = scripted([wholeApplied(adoptedPolicy)]);
    providers.setConnector(async () => db.conn);
    const { outs } = await providers.create('app', inputsFor(adoptedPolicy, 'p2p'));
    expect(db.applied).toEqual([]);
    expect(outs.login).toBe('etl');
    expect(outs.password).toBeUndefined();
    const rotated = await providers.update('app', 'id', outs, inputsFor(adoptedPolicy, 'p2p', { rotationToken: 'now' }));
    expect(db.applied).toEqual([]);
    expect(rotated.outs.password).toBeUndefined();
  });

  it('update applies the minimal change set and keeps the password it already holds', async () => {
    const more: Policy = { ...POLICY, grants: [...POLICY.grants, { persona: 'data_consumer', to: ['analysts'], apps: ['o2c'] }] };
    const db = scripted([wholeApplied(POLICY), wholeApplied(more)]);
    providers.setConnector(async () => db.conn);
    const olds: GrantsOutputs = { ...inputsFor(POLICY, 'o2c'), login: 'pmg_o2c_app', password: 'kept', passwordSetAt: RECENT };
    const { outs } = await providers.update('app', 'wh/app/o2c', olds, inputsFor(more, 'o2c'));
    expect(db.applied.flat().map((s) => s.display)).toEqual(['GRANT "pmg_o2c_data_consumer" TO "analysts"']);
    expect(outs.password).toBe('kept');
  });

  it('update with a new rotation token sets a new password', async () => {
    const db = scripted([wholeApplied(POLICY)]);
    providers.setConnector(async () => db.conn);
    const olds: GrantsOutputs = { ...inputsFor(POLICY, 'p2p'), login: 'pmg_p2p_app', password: 'old' };
    const { outs } = await providers.update('app', 'id', olds, inputsFor(POLICY, 'p2p', { rotationToken: 'now' }));
    expect(db.applied.flat().map((s) => s.display)).toEqual([`ALTER ROLE "pmg_p2p_app" WITH PASSWORD '********'`]);
    expect(outs.password).toBe('pw-for-pmg_p2p_app');
  });

  it('update rotates a password older than the rotation age', async () => {
    const old = '2020-01-01T00:00:00.000Z';
    const db = scripted([wholeApplied(POLICY, old)]);
    providers.setConnector(async () => db.conn);
    const olds: GrantsOutputs = { ...inputsFor(POLICY, 'p2p'), login: 'pmg_p2p_app', password: 'old', passwordSetAt: old };
    const { outs } = await providers.update('app', 'id', olds, inputsFor(POLICY, 'p2p'));
    expect(db.applied.flat().map((s) => s.display)).toEqual([`ALTER ROLE "pmg_p2p_app" WITH PASSWORD '********'`]);
    expect(outs.password).toBe('pw-for-pmg_p2p_app');
  });

  it('an update interrupted after setting a password: the marker names a generation the state lacks, and the next update sets a new one', async () => {
    // The server took generation g2 (its marker says so), but the provider died before the state got it.
    const db = scripted([{ ...wholeApplied(POLICY), passwordGeneration: { pmg_p2p_app: 'g2' } }]);
    providers.setConnector(async () => db.conn);
    const olds: GrantsOutputs = { ...inputsFor(POLICY, 'p2p'), login: 'pmg_p2p_app', password: 'old', passwordSetAt: RECENT, passwordGeneration: 'g1' };
    const { outs } = await providers.update('app', 'id', olds, inputsFor(POLICY, 'p2p'));
    expect(db.applied.flat().map((s) => s.display)).toEqual([`ALTER ROLE "pmg_p2p_app" WITH PASSWORD '********'`]);
    expect(outs.password).toBe('pw-for-pmg_p2p_app');
    // The generation the apply handed over with the new password (no second inspect).
    expect(outs.passwordGeneration).toBe('gen-for-pmg_p2p_app');
    expect(db.inspections()).toBe(1);
  });

  it('the same generation in state and marker: no new password', async () => {
    const db = scripted([{ ...wholeApplied(POLICY), passwordGeneration: { pmg_p2p_app: 'g1' } }]);
    providers.setConnector(async () => db.conn);
    const olds: GrantsOutputs = { ...inputsFor(POLICY, 'p2p'), login: 'pmg_p2p_app', password: 'kept', passwordSetAt: RECENT, passwordGeneration: 'g1' };
    const { outs } = await providers.update('app', 'id', olds, inputsFor(POLICY, 'p2p'));
    expect(db.applied).toEqual([]);
    expect(outs).toMatchObject({ password: 'kept', passwordGeneration: 'g1' });
  });

  it('refresh records an undelivered password as drift (so the next up sets a new one), keeping the state\'s generation', async () => {
    const db = scripted([{ ...wholeApplied(POLICY), passwordGeneration: { pmg_p2p_app: 'g2' } }]);
    providers.setConnector(async () => db.conn);
    const props: GrantsOutputs = { ...inputsFor(POLICY, 'p2p'), login: 'pmg_p2p_app', password: 'old', passwordSetAt: RECENT, passwordGeneration: 'g1' };
    const r = await providers.read('app', 'id', props);
    expect(r.inputs.drift).toEqual([`~ login pmg_p2p_app: set a new password (the server holds one this stack's state does not have: an operation was interrupted after setting it)`]);
    expect(r.props.passwordGeneration).toBe('g1');
    // The next up: the program's inputs have no drift, the state's do: a change, so up runs update (which sets a new password, above).
    expect((await providers.diff('app', 'id', r.props, inputsFor(POLICY, 'p2p'))).changes).toBe(true);
  });

  it('refuses to work on a database other than the policy\'s, in one sentence without the URL', async () => {
    const db = scripted([{ ...EMPTY, database: 'postgres' }]);
    providers.setConnector(async () => db.conn);
    const err = await providers.create('app', inputsFor(POLICY, 'p2p')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PmgrantsError);
    expect((err as Error).message).toBe(
      'pmgrants:databaseUrl connects to database "postgres", but this stack\'s policy manages "wh"; point the URL at "wh" or fix warehouse.database',
    );
    expect(db.applied).toEqual([]);
  });

  it('delete revokes and drops only what the app owns; its schema and owner role are kept, with a warning', async () => {
    const db = scripted([wholeApplied(POLICY)]);
    providers.setConnector(async () => db.conn);
    const props: GrantsOutputs = { ...inputsFor(POLICY, 'o2c'), login: 'pmg_o2c_app', password: 'x' };
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await providers.remove('app', 'wh/app/o2c', props);
    } finally {
      process.stderr.write = write;
    }
    const sql = db.applied.flat().map((s) => s.display).join('\n');
    expect(sql).toContain('DROP ROLE IF EXISTS "pmg_o2c_app"');
    expect(sql).toContain('DROP ROLE IF EXISTS "pmg_o2c_data_consumer"');
    expect(sql).not.toContain('DROP ROLE IF EXISTS "pmg_o2c_owner"');
    expect(sql).not.toContain('p2p');
    expect(sql).not.toContain('"analysts"');
    expect(sql).not.toMatch(/DROP ROLE IF EXISTS "pmg_app_admin"/);
    expect(written.join('')).toContain('role "pmg_o2c_owner" is no longer in the policy but still owns schema "o2c"');
  });

  it('delete against a database the URL no longer points at changes nothing', async () => {
    const db = scripted([{ ...wholeApplied(POLICY), database: 'elsewhere' }]);
    providers.setConnector(async () => db.conn);
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await providers.remove('app', 'wh/app/o2c', { ...inputsFor(POLICY, 'o2c') });
    } finally {
      process.stderr.write = write;
    }
    expect(db.applied).toEqual([]);
  });

  it('read records the live part and, when it differs, the drift as an input for the next diff', async () => {
    const live = wholeApplied(POLICY);
    const tampered: ActualState = {
      ...live,
      memberships: live.memberships.filter((m) => !(m.role === 'pmg_p2p_data_consumer' && m.member === 'analysts')),
    };
    const db = scripted([tampered]);
    providers.setConnector(async () => db.conn);
    const props: GrantsOutputs = { ...inputsFor(POLICY, 'p2p'), login: 'pmg_p2p_app', password: 'secret-stays' };
    const r = await providers.read('app', 'wh/app/p2p', props);
    expect(r.props.drift).toEqual(['+ member analysts of pmg_p2p_data_consumer']);
    expect(r.inputs.drift).toEqual(['+ member analysts of pmg_p2p_data_consumer']);
    expect(r.props.password).toBe('secret-stays');
    expect(db.applied).toEqual([]);
    // The next diff sees it.
    expect((await providers.diff('app', r.id, r.props, inputsFor(POLICY, 'p2p'))).changes).toBe(true);
    // A clean read clears it again.
    const clean = scripted([live]);
    providers.setConnector(async () => clean.conn);
    await providers.shutdown();
    const again = await providers.read('app', 'wh/app/p2p', r.props);
    expect(again.props.drift).toBeUndefined();
    expect(again.inputs.drift).toBeUndefined();
  });

  it('create records the database identity; read of a database with another identity reports it as drift even when nothing else differs', async () => {
    const live = wholeApplied(POLICY);
    let identity = 'oid 16384';
    const db = scripted([live]);
    const conn: EngineConnection = { ...db.conn, databaseIdentity: async () => identity };
    providers.setConnector(async () => conn);
    const props: GrantsOutputs = { ...inputsFor(POLICY, 'p2p'), login: 'pmg_p2p_app', password: 'secret-stays', databaseId: 'oid 16384' };
    const same = await providers.read('app', 'wh/app/p2p', props);
    expect(same.props.drift).toBeUndefined();
    identity = 'oid 24576';
    const other = await providers.read('app', 'wh/app/p2p', props);
    expect(other.props.drift).toEqual([providers.recreatedLine('wh')]);
    expect(other.inputs.drift).toEqual([providers.recreatedLine('wh')]);
    // The recorded identity stays the old one until an update records the new one.
    expect(other.props.databaseId).toBe('oid 16384');
    expect((await providers.diff('app', other.id, other.props, inputsFor(POLICY, 'p2p'))).changes).toBe(true);
    const updated = await providers.update('app', other.id, other.props, inputsFor(POLICY, 'p2p'));
    expect(updated.outs.databaseId).toBe('oid 24576');
    expect(updated.outs.drift).toBeUndefined();
  });

  it('read refuses an import in one sentence', async () => {
    await expect(providers.read('app', 'x', undefined)).rejects.toThrow(
      'pmgrants resources cannot be imported: declare the app in the policy and run pulumi up, which adopts what already exists',
    );
  });

  it('runs operations in parallel on a pool of pmgrants:connections connections (default 4), reuses them, and closes them on shutdown', async () => {
    const live = wholeApplied(POLICY);
    let now = 0;
    let most = 0;
    const conn = (): EngineConnection => ({
      ...scripted([live]).conn,
      async inspect() {
        most = Math.max(most, ++now);
        await new Promise((r) => setTimeout(r, 20));
        now--;
        return live;
      },
    });
    let connects = 0;
    let closed = 0;
    providers.setConnector(async () => {
      connects++;
      const c = conn();
      return { ...c, close: async () => void closed++ };
    });
    const apps = ['p2p', 'o2c', 'p2p', 'o2c', 'p2p', 'o2c', 'p2p', 'o2c', 'p2p', 'o2c'];
    const readAll = () => Promise.all(apps.map((app) => providers.read('app', app, { ...inputsFor(POLICY, app) })));
    await readAll();
    expect(providers.DEFAULT_CONNECTIONS).toBe(4);
    expect(most).toBe(4);
    expect(connects).toBe(4);
    await readAll(); // the idle connections are reused
    expect(connects).toBe(4);
    // Creates hold the apply lock from inspect to apply: the process runs them one at a time.
    most = 0;
    await Promise.all(['p2p', 'o2c', 'p2p', 'o2c'].map((app) => providers.create('app', inputsFor(POLICY, app))));
    expect(most).toBe(1);
    await providers.shutdown();
    expect(closed).toBe(4);

    // One connection: one operation at a time.
    providers.configure({ get: (k) => (k === 'pmgrants:databaseUrl' ? URL_WITH_PASSWORD : k === 'pmgrants:connections' ? '1' : undefined) });
    most = 0;
    connects = 0;
    await readAll();
    expect([most, connects]).toEqual([1, 1]);
    await providers.shutdown();
  });
});

describe('credentials per use and protected roles (security.rotation.validFor, pmgrants:checkout, protected)', () => {
  const LIFETIME: Policy = { ...POLICY, security: { mode: 'system_managed', rotation: { validFor: '8h' } }, protected: [{ role: 'pm_internal', members: ['pm_service'] }] };
  const lifetimeInputs = (part: string, extra: { checkoutToken?: string } = {}): GrantsInputs => {
    const slice = part === 'warehouse' ? sliceDesired(compilePolicy(LIFETIME), WAREHOUSE) : sliceDesired(compilePolicy(LIFETIME), appPart(part));
    return partInputs(slice, 'postgres', { ...(part === 'warehouse' ? {} : { app: part }), ...extra });
  };

  it('the inputs carry the lifetime and the protected roles', () => {
    expect(lifetimeInputs('p2p')).toMatchObject({ passwordValidFor: '8h', protected: [{ role: 'pm_internal', members: ['pm_service'] }] });
    expect(lifetimeInputs('p2p', { checkoutToken: 'run-1' }).checkoutToken).toBe('run-1');
  });

  it('diff: a password past its validity is a change, with the instant; before it, none', async () => {
    const olds: GrantsOutputs = { ...lifetimeInputs('p2p'), login: 'pmg_p2p_app', password: 'x', passwordSetAt: '2030-01-01T00:00:00.000Z', passwordValidUntil: '2030-01-01T08:00:00.000Z' };
    const r = await providers.diff('app', 'id', olds, lifetimeInputs('p2p'), new Date('2030-01-01T09:00:00.000Z'));
    expect(r.reasons).toEqual(['the password of pmg_p2p_app expired at 2030-01-01T08:00:00.000Z']);
    expect((await providers.diff('app', 'id', olds, lifetimeInputs('p2p'), new Date('2030-01-01T07:00:00.000Z'))).changes).toBe(false);
  });

  it('update with a new checkout token sets a new password valid for the lifetime, and outputs until when', async () => {
    const db = scripted([wholeApplied(LIFETIME)]);
    providers.setConnector(async () => db.conn);
    let lifetime: unknown;
    const apply = db.conn.apply.bind(db.conn);
    db.conn.apply = async (statements, progress, options) => {
      lifetime = options?.passwordLifetime;
      return apply(statements, progress, options);
    };
    const olds: GrantsOutputs = { ...lifetimeInputs('p2p'), login: 'pmg_p2p_app', password: 'old', passwordSetAt: RECENT };
    const started = Date.now();
    const { outs } = await providers.update('app', 'id', olds, lifetimeInputs('p2p', { checkoutToken: 'run-1' }));
    expect(db.applied.flat().map((s) => s.display)).toEqual([`ALTER ROLE "pmg_p2p_app" WITH PASSWORD '********'`]);
    expect(outs.password).toBe('pw-for-pmg_p2p_app');
    const until = Date.parse(outs.passwordValidUntil!);
    expect(until - Date.parse(outs.passwordSetAt!)).toBe(8 * 3_600_000);
    expect(until).toBeGreaterThanOrEqual(started + 8 * 3_600_000);
    // The passwords' set time is the one the state records (the marker says the same).
    expect(lifetime).toEqual({ validUntil: new Date(until), setAt: new Date(outs.passwordSetAt!) });
  });

  it("a password a checkout delivered is not undelivered to the stack's state: no new password", async () => {
    // Set an hour ago, valid for eight: the taker's still.
    const anHourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const live = { ...wholeApplied(LIFETIME, anHourAgo), passwordGeneration: { pmg_p2p_app: 'taker' } };
    const db = scripted([{ ...live, checkedOut: ['pmg_p2p_app'] }]);
    providers.setConnector(async () => db.conn);
    const olds: GrantsOutputs = { ...lifetimeInputs('p2p'), login: 'pmg_p2p_app', password: 'kept', passwordSetAt: anHourAgo, passwordGeneration: 'mine' };
    await providers.update('app', 'id', olds, lifetimeInputs('p2p'));
    expect(db.applied.flat().map((s) => s.display)).toEqual([]);
    // Without the checkout's mark the same generation is undelivered to the state, and replaced.
    await providers.shutdown();
    const plain = scripted([live]);
    providers.setConnector(async () => plain.conn);
    await providers.update('app', 'id', olds, lifetimeInputs('p2p'));
    expect(plain.applied.flat().map((s) => s.display)).toEqual([`ALTER ROLE "pmg_p2p_app" WITH PASSWORD '********'`]);
  });

  it("the warehouse's warnings name the protected role's member the policy does not; no change touches it", async () => {
    const live = { ...wholeApplied(LIFETIME), memberships: [...wholeApplied(LIFETIME).memberships, { role: 'pm_internal', member: 'pm_service' }, { role: 'pm_internal', member: 'alice' }] };
    const db = scripted([live]);
    providers.setConnector(async () => db.conn);
    const { outs } = await providers.update('warehouse', 'id', { ...lifetimeInputs('warehouse') }, lifetimeInputs('warehouse'));
    expect(outs.warnings).toEqual(['protected role "pm_internal" has a member the policy does not name (protected[0].members): alice; pmgrants leaves it as it is']);
    expect(JSON.stringify(db.applied)).not.toContain('pm_internal');
  });
});
