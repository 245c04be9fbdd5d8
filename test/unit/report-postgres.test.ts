/**
 * PostgreSQL effective access from plain catalog rows (no server): ownership per object, column
 * grants, predefined roles with PUBLIC's grants, the provisioning role's administration, the engine's
 * built-in defaults, each path listed once, memberships that pass nothing, and VALID UNTIL. The end-to-end truth of the same rules against real
 * servers is test/e2e/report-truth.e2e.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { postgresAccessFacts, PostgresAccessRows } from '../../provider/engines/postgres/access-facts';
import { HeldRight } from '../../provider/model/access';
import { compilePolicy } from '../../provider/model/compile';
import { Policy } from '../../provider/model/types';
import { buildReport } from '../../provider/report/compute';

/** A role row: [name, superuser, inherit, login, bypassrls, comment, createrole]. */
const role = (name: string, extra: { login?: boolean; createrole?: boolean; comment?: string; inherit?: boolean } = {}): PostgresAccessRows['roles'][number] => [
  name,
  false,
  extra.inherit ?? true,
  extra.login ?? true,
  false,
  extra.comment ?? null,
  extra.createrole ?? false,
];
const member = (r: string, m: string): PostgresAccessRows['memberships'][number] => [r, m, { admin_option: false }];

const rows: PostgresAccessRows = {
  identity: { database: 'wh', oid: 1, version: '15.18', versionNum: 150018, server: 'local socket' },
  roles: [
    role('owner', { login: false, comment: 'pmgrants:managed {"purpose":"schema-owner","app":"o2c"}' }),
    role('app', { comment: 'pmgrants:managed {"purpose":"generated-login","app":"o2c"}' }),
    role('lead'),
    role('dana'),
    role('colreader'),
    role('reader'),
    role('prov', { createrole: true }),
    role('pg_read_all_data', { login: false }),
    role('team', { login: false }),
    role('erin', { inherit: false }),
  ],
  memberships: [member('owner', 'app'), member('owner', 'lead'), member('pg_read_all_data', 'reader'), member('owner', 'prov'), member('app', 'prov'), member('owner', 'team'), member('team', 'erin')],
  schemas: [['o2c', 'owner', ['owner=UC/owner', 'app=UC/owner', 'dana=U/owner', '=U/owner'], ['owner=arwdDxt/owner'], ['=X/owner', 'owner=X/owner']]],
  objects: [
    ['o2c', 'tables', 'owner', ['owner=arwdDxt/owner', 'app=arwd/owner', '=a/owner'], ['orders']],
    ['o2c', 'tables', 'app', ['app=arwdDxt/app'], ['app_made']],
    ['o2c', 'tables', 'dana', ['dana=arwdDxt/dana'], ['side']],
    ['o2c', 'functions', 'owner', ['owner=X/owner'], ['calc()']],
  ],
  columns: [['o2c', 'side', 'note', ['colreader=r/dana', 'colreader=w/dana']]],
  defaultAcls: [],
  databaseAcl: ['=Tc/owner'],
};
const scope = { policyRoles: ['owner', 'app', 'lead'], policyMemberships: [['owner', 'app'] as const, ['owner', 'lead'] as const] };
const facts = postgresAccessFacts(rows, scope);
const held = (principal: string, right: string): HeldRight | undefined => facts.held.find((h) => h.principal === principal && h.right === right);

describe('PostgreSQL access facts', () => {
  it('computes alter from who owns each object, through the memberships that reach the owner', () => {
    expect(held('lead', 'alter')).toMatchObject({ objects: ['calc()', 'orders'], paths: [{ kind: 'ownership', via: ['owner'] }] });
    expect(held('app', 'alter')?.objects).toEqual(['app_made', 'calc()', 'orders']); // its own table and the owner role's, not dana's
    expect(held('dana', 'alter')).toMatchObject({ objects: ['side'], paths: [{ kind: 'ownership', via: [] }] });
    expect(held('dana', 'select')).toMatchObject({ objects: ['side'], partial: 'on side (1 of 3 tables)' });
  });

  it('lists column grants, reached through PUBLIC\'s USAGE, with their visibility when they read', () => {
    expect(held('colreader', 'select')).toMatchObject({ objects: [], columns: [{ object: 'side', column: 'note', visibility: 'clear' }] });
    expect(held('colreader', 'update')).toMatchObject({ objects: [], columns: [{ object: 'side', column: 'note' }] });
    expect(held('colreader', 'update')!.columns![0].visibility).toBeUndefined();
    expect(held('colreader', 'select')!.paths[0].detail).toBe('SELECT (note) on side granted to colreader');
  });

  it('gives pg_read_all_data\'s members USAGE on every schema, so PUBLIC\'s grants on single objects reach them', () => {
    expect(held('reader', 'select')).toMatchObject({ bypass: true, paths: [{ kind: 'bypass', via: ['pg_read_all_data'] }] });
    expect(held('reader', 'select')!.paths).toHaveLength(1);
    // Without PUBLIC's USAGE on the schema, PUBLIC's INSERT on orders reaches only who has USAGE otherwise.
    const noPublicUsage = postgresAccessFacts({ ...rows, schemas: [[rows.schemas[0][0], 'owner', ['owner=UC/owner', 'app=UC/owner', 'dana=U/owner'], ['owner=arwdDxt/owner'], ['=X/owner']]] }, scope);
    const insert = (who: string) => noPublicUsage.held.find((h) => h.principal === who && h.right === 'insert');
    expect(insert('reader')).toMatchObject({ objects: ['orders'], paths: [{ kind: 'public', detail: 'INSERT on orders (1 of 3 tables) granted to PUBLIC; USAGE on schema o2c through pg_read_all_data' }] });
    expect(insert('reader')!.bypass).toBeUndefined();
    expect(insert('colreader')).toBeUndefined();
    expect(insert('dana')!.objects).toEqual(['orders', 'side']);
  });

  it('marks the provisioning role\'s memberships in the policy\'s roles as administration: privileged, not drift', () => {
    const select = held('prov', 'select')!;
    expect(select.bypass).toBe(true);
    expect(select.paths.every((p) => p.kind === 'admin')).toBe(true);
    expect(facts.principals.find((p) => p.name === 'prov')).toMatchObject({ administrator: true, notes: [expect.stringMatching(/^CREATEROLE/)] });
    expect(facts.memberships).toContainEqual({ role: 'owner', member: 'prov', admin: true });
    expect(facts.memberships).toContainEqual({ role: 'owner', member: 'lead' });
  });

  it('judges an empty kind on future objects: PUBLIC\'s built-in EXECUTE is the engine\'s, not a grant', () => {
    const empty = postgresAccessFacts({ ...rows, objects: rows.objects.filter((o) => o[1] !== 'functions') }, scope);
    expect(empty.held.find((h) => h.principal === 'dana' && h.right === 'execute')).toMatchObject({ inherent: true, paths: [{ kind: 'engine' }] });
    const revoked = postgresAccessFacts({ ...rows, objects: rows.objects.filter((o) => o[1] !== 'functions'), defaultAcls: [[null, 'owner', 'f', ['owner=X/owner']]] }, scope);
    expect(revoked.held.find((h) => h.principal === 'dana' && h.right === 'execute')).toBeUndefined();
  });

  it('lists every path of a cell once', () => {
    // NOINHERIT: SET ROLE team and SET ROLE owner (through team) reach the owner's grant by the same chain.
    expect(held('erin', 'select')!.paths).toEqual([{ kind: 'set-role', via: ['team', 'owner'], detail: expect.stringMatching(/^owner owns orders/), objects: ['orders'] }]);
    for (const h of facts.held) {
      const keys = h.paths.map((p) => JSON.stringify(p));
      expect(new Set(keys).size, `${h.principal} ${h.right}`).toBe(keys.length);
    }
  });

  it("reads each role's VALID UNTIL (the eighth column) as its password's end; none without one", () => {
    const until = postgresAccessFacts({ ...rows, roles: rows.roles.map((r) => (r[0] === 'app' ? [...r.slice(0, 7), '2030-01-01T10:00:00+00:00'] : r) as PostgresAccessRows['roles'][number]) }, scope);
    expect(until.principals.find((p) => p.name === 'app')?.validUntil).toBe('2030-01-01T10:00:00.000Z');
    expect(until.principals.find((p) => p.name === 'lead')?.validUntil).toBeUndefined();
  });

  it('PostgreSQL 16: a membership that passes nothing (INHERIT FALSE, SET FALSE) is inert: a member of a protected role, not of a team', () => {
    const pg16: PostgresAccessRows = {
      ...rows,
      identity: { ...rows.identity, version: '16.4', versionNum: 160004 },
      roles: [...rows.roles, role('pm_internal', { login: false }), role('mallory')],
      memberships: [
        ...rows.memberships,
        ['pm_internal', 'mallory', { admin_option: true, inherit_option: false, set_option: false }],
        ['team', 'mallory', { admin_option: true, inherit_option: false, set_option: false }],
      ],
    };
    const f = postgresAccessFacts(pg16, scope);
    expect(f.memberships).toContainEqual({ role: 'pm_internal', member: 'mallory', inert: true });
    expect(f.memberships).toContainEqual({ role: 'team', member: 'erin' });
    const policy: Policy = {
      apiVersion: 'pmgrants/v1',
      warehouse: { engine: 'postgres', database: 'wh' },
      security: { mode: 'system_managed' },
      principals: { team: { kind: 'database-role', name: 'team' } },
      apps: { o2c: { schema: 'o2c' } },
      grants: [{ persona: 'data_consumer', to: ['team'], apps: ['o2c'] }],
      protected: ['pm_internal'],
    };
    const report = buildReport(f, { desired: compilePolicy(policy), policy, now: new Date('2030-01-01T00:00:00Z') });
    expect(report.protected).toEqual([{ role: 'pm_internal', entry: 0, members: [{ name: 'mallory', named: false }] }]);
    expect(report.principals.find((p) => p.name === 'erin')).toMatchObject({ origin: 'member', memberOf: ['team'] });
    expect(report.principals.find((p) => p.name === 'mallory')?.memberOf).toBeUndefined();
  });
});
