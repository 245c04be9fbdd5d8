import { createHash, createHmac } from 'node:crypto';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import { DesiredState, Permission, Policy } from '../../provider/model/types';
import { diffState } from '../../provider/plan/diff';
import { claimOf, partitionDesired, sliceActual } from '../../provider/plan/slice';
import { Change } from '../../provider/plan/change';
import { describeChange } from '../../provider/plan/describe';
import { actualFromCatalog, renderChange, catalogRowsOf, CatalogRows, CatalogWire, inspectParams, postgresDialect, preflightChecks, prepareStatements, ProvisioningFacts } from '../../provider/engines/postgres';
import { catalogSql, catalogSqlDirs, inspectQuery } from '../../provider/engines/postgres/catalog';
import { applyErrorMessage, connectErrorMessage } from '../../provider/engines/postgres/errors';
import { scramSha256Verifier, scramSha256VerifierAsync } from '../../provider/engines/postgres/scram';
import { beginSql, dropLoginsSql, lockHolderSql, tryLockSql, unlockSql, waitLockSql, waitPasswordSessionsSql } from '../../provider/engines/postgres/apply';
import { passwordSessionLockSql } from '../../provider/engines/postgres/passwords';
import { passwordSql } from '../../provider/engines/postgres/marker';
import { describeLockHolder, lockTimeoutError, waitingForLockMessage } from '../../provider/engines/lock';
import { parseMarker } from '../../provider/engines/postgres/marker';

const policy: Policy = {
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'postgres', database: 'wh' },
  security: { mode: 'system_managed' },
  principals: { ana: { kind: 'sql-login' }, ops: { kind: 'entra-group', objectId: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e04' } },
  apps: { p2p: { schema: 'p2p', source: 'closed' }, inv: { schema: 'invoices', source: 'open' } },
  grants: [
    { persona: 'data_consumer', to: ['ana'], apps: ['p2p'] },
    { persona: 'process_admin', to: ['ops'], apps: ['inv'] },
    { persona: 'app_admin', to: ['ops'] },
  ],
};
const desired = postgresDialect.realize(compilePolicy(policy));
const permsOf = (d: DesiredState, grantee: string) =>
  d.permissions.filter((p) => p.grantee === grantee).map((p) => `${p.on.type === 'engine' ? `${p.on.kind}:${p.on.name}${p.on.forRole ? `:for:${p.on.forRole}` : ''}` : p.on.type === 'schema' ? `schema:${p.on.name}` : p.on.type} ${p.privilege}`);

describe('realizePostgres: neutral rights -> PostgreSQL privileges', () => {
  it('a data consumer: USAGE on the schema, SELECT on all tables now and by default (for the owner and the app login), CONNECT', () => {
    expect(permsOf(desired, 'pmg_p2p_data_consumer').sort()).toEqual([
      'database CONNECT',
      'default-tables:p2p:for:pmg_p2p_app SELECT',
      'default-tables:p2p:for:pmg_p2p_owner SELECT',
      'schema:p2p USAGE',
      'tables:p2p SELECT',
    ]);
  });

  it('view-definition grants nothing; alter becomes membership in the owner role; create-objects is CREATE', () => {
    const admin = permsOf(desired, 'pmg_inv_process_admin');
    expect(admin).toContain('schema:invoices CREATE');
    expect(admin).toContain('functions:invoices EXECUTE');
    expect(admin).toContain('sequences:invoices USAGE');
    expect(admin.some((p) => /view|definition/i.test(p))).toBe(false);
    expect(desired.memberships).toContainEqual({ role: 'pmg_inv_owner', member: 'pmg_inv_process_admin' });
    expect(desired.memberships).toContainEqual({ role: 'pmg_inv_owner', member: 'pmg_inv_app' });
    // The data consumer of an open app may read definitions: nothing to grant in PostgreSQL either.
    expect(permsOf(desired, 'pmg_inv_data_consumer').filter((p) => p.startsWith('schema'))).toEqual(['schema:invoices USAGE']);
  });

  it('manage-membership becomes WITH ADMIN OPTION; no neutral right survives; the login gets no default privileges for itself', () => {
    expect(desired.memberships).toContainEqual({ role: 'pmg_inv_data_consumer', member: 'pmg_inv_process_admin', admin: true });
    expect(desired.memberships).toContainEqual({ role: 'pmg_p2p_data_consumer', member: 'pmg_app_admin', admin: true });
    expect(desired.permissions.every((p) => /^[A-Z]+$/.test(p.privilege))).toBe(true);
    expect(desired.permissions.some((p) => p.on.type === 'engine' && p.on.forRole === p.grantee)).toBe(false);
    expect(desired.engine).toBe('postgres');
  });

  it('is deterministic and idempotent in key space: realizing twice gives the same state', () => {
    expect(postgresDialect.realize(compilePolicy(policy))).toEqual(desired);
  });

  it('names the PostgreSQL limitation for closed-source readers', () => {
    expect(postgresDialect.limitations!(compilePolicy(policy)).join(' ')).toMatch(/definitions to every role/);
  });
});

function rows(over: Partial<CatalogRows>): CatalogRows {
  return {
    database: 'wh',
    roles: [],
    memberships: [],
    schemas: [],
    'schema-acls': [],
    'database-acl': null,
    'object-acls': [],
    'default-acls': [],
    ...over,
  };
}
const tables = (name: string): Permission['on'] => ({ type: 'engine', kind: 'tables', name });
const perm = (grantee: string, on: Permission['on'], privilege: string): Permission => ({ grantee, on, privilege, effect: 'GRANT', withGrantOption: false });

describe('actualFromCatalog: catalog rows -> ActualState keyed like the desired state', () => {
  it('managed = prefix + marker; logins are reported as login and user; marker time becomes passwordSetAt', () => {
    const a = actualFromCatalog(
      rows({
        roles: [
          { name: 'pmg_p2p_app', canLogin: true, comment: 'pmgrants:managed {"purpose":"generated-login","passwordSetAt":"2030-01-01T00:00:00.000Z"}', managed: true },
          { name: 'pmg_old_app', canLogin: true, comment: 'pmgrants:managed {}', managed: true },
          { name: 'pmg_handmade', canLogin: false, comment: 'by hand', managed: false },
          { name: 'ana', canLogin: true, comment: null, managed: false },
        ],
        // Markers without "warehouse" (written before it was recorded): claimed by where their privileges are.
        'legacy-role-databases': [
          ['pmg_p2p_app', ['wh']],
          ['pmg_old_app', ['wh']],
        ],
      }),
      desired,
    );
    expect(a.managed).toEqual(['pmg_old_app', 'pmg_p2p_app']);
    expect(a.passwordSetAt).toEqual({ 'pmg_p2p_app': '2030-01-01T00:00:00.000Z' });
    expect(a.logins.map((l) => l.name)).toEqual(['pmg_old_app', 'pmg_p2p_app']);
    expect(a.users.map((u) => u.name)).toEqual(['ana', 'pmg_old_app', 'pmg_p2p_app']);
    expect(a.roles.map((r) => r.name)).toEqual(['pmg_handmade']);
  });

  it('a privilege on every table not owned by the grantee is held on "tables"; on part of them on "some-tables"', () => {
    const a = actualFromCatalog(
      rows({
        roles: ['pmg_p2p_owner', 'pmg_p2p_app', 'pmg_p2p_data_consumer'].map((name) => ({ name, canLogin: false, comment: null, managed: true })),
        schemas: [{ name: 'p2p', owner: 'pmg_p2p_owner' }],
        'object-acls': [
          // The schema owner's two tables: the app login holds SELECT on both, the consumer on one of them.
          ['p2p', 'tables', 'pmg_p2p_owner', ['pmg_p2p_owner=arwdDxt/pmg_p2p_owner', 'pmg_p2p_app=r/pmg_p2p_owner', 'pmg_p2p_data_consumer=r/pmg_p2p_owner'], 1],
          ['p2p', 'tables', 'pmg_p2p_owner', ['pmg_p2p_owner=arwdDxt/pmg_p2p_owner', 'pmg_p2p_app=r/pmg_p2p_owner'], '1'],
          // The app login owns the third table (its own ACL entry does not count); the consumer holds SELECT there too.
          ['p2p', 'tables', 'pmg_p2p_app', ['pmg_p2p_app=arwdDxt/pmg_p2p_app', 'pmg_p2p_data_consumer=r/pmg_p2p_app'], 1],
        ],
      }),
      desired,
    );
    const held = a.permissions.filter((p) => p.privilege === 'SELECT' && p.on.type === 'engine');
    expect(held).toContainEqual({ grantee: 'pmg_p2p_app', on: tables('p2p'), privilege: 'SELECT', effect: 'GRANT', withGrantOption: false });
    expect(held).toContainEqual({ grantee: 'pmg_p2p_data_consumer', on: { type: 'engine', kind: 'some-tables', name: 'p2p' }, privilege: 'SELECT', effect: 'GRANT', withGrantOption: false });
    // The diff completes the partial holding: revoke the partial key, grant on all tables.
    const plan = diffState(desired, { ...a, managed: ['pmg_p2p_data_consumer'] });
    const mine = plan.changes.filter((c) => (c.kind === 'grant' || c.kind === 'revoke') && c.permission.grantee === 'pmg_p2p_data_consumer' && c.permission.on.type === 'engine' && !c.permission.on.kind.startsWith('default'));
    expect(mine.map((c) => `${c.kind} ${(c as { permission: Permission }).permission.on.type === 'engine' ? ((c as { permission: { on: { kind: string } } }).permission.on.kind) : ''}`)).toEqual(['revoke some-tables', 'grant tables']);
  });

  it('a schema with no table (or only the grantee\'s own) holds exactly what the policy wants there, so the diff converges', () => {
    const a = actualFromCatalog(rows({ schemas: [{ name: 'p2p', owner: 'pmg_p2p_owner' }, { name: 'invoices', owner: 'pmg_inv_owner' }] }), desired);
    const wanted = desired.permissions.filter((p) => p.on.type === 'engine' && ['tables', 'sequences', 'functions'].includes(p.on.kind));
    const reported = a.permissions.filter((p) => p.on.type === 'engine' && ['tables', 'sequences', 'functions'].includes(p.on.kind));
    expect(reported).toEqual(wanted);
    // Nothing is reported for a schema that does not exist yet (the plan grants after creating it) but
    // PostgreSQL's built-in default for the functions its creators will make: PUBLIC may execute them.
    expect(actualFromCatalog(rows({}), desired).permissions.filter((p) => !(p.on.type === 'engine' && p.on.kind === 'global-default-functions'))).toEqual([]);
  });

  it('maps default ACL object types and keeps the grant option', () => {
    const a = actualFromCatalog(
      rows({
        roles: [{ name: 'pmg_p2p_data_consumer', canLogin: false, comment: null, managed: true }, { name: 'x', canLogin: false, comment: null, managed: false }],
        'default-acls': [
          ['p2p', 'pmg_p2p_owner', 'r', ['pmg_p2p_data_consumer=r*/pmg_p2p_owner', 'not_scoped=r/pmg_p2p_owner', '=r/pmg_p2p_owner']],
          ['p2p', 'pmg_p2p_owner', 'f', ['x=X/pmg_p2p_owner', 'pmg_p2p_owner=X/pmg_p2p_owner']],
        ],
      }),
      desired,
    );
    // On an app schema every grantee counts (the policy's ACL), PUBLIC ('') included; the creator's own entry never does.
    expect(a.permissions.filter((p) => p.on.type === 'engine' && p.on.name === 'p2p').map((p) => [p.grantee, p.on, p.withGrantOption])).toEqual([
      ['', { type: 'engine', kind: 'default-tables', name: 'p2p', forRole: 'pmg_p2p_owner' }, false],
      ['not_scoped', { type: 'engine', kind: 'default-tables', name: 'p2p', forRole: 'pmg_p2p_owner' }, false],
      ['pmg_p2p_data_consumer', { type: 'engine', kind: 'default-tables', name: 'p2p', forRole: 'pmg_p2p_owner' }, true],
      ['x', { type: 'engine', kind: 'default-functions', name: 'p2p', forRole: 'pmg_p2p_owner' }, false],
    ]);
  });

  it('memberships come as oids: named from the roles and member-names columns, one per role and member (admin if any grantor gave it)', () => {
    const wire: CatalogWire = {
      ...rows({}),
      roles: [
        [10, 'pmg_p2p_data_consumer', false, null, true],
        [11, 'ana', true, null, false],
      ],
      // PostgreSQL 16+: ana holds the consumer role from two grantors, once with ADMIN OPTION.
      memberships: [
        [10, 10, 12],
        [11, 11, 10],
        [false, true, false],
      ],
      'member-names': [[12, 'hand_made']],
    };
    const catalog = catalogRowsOf(wire);
    expect(catalog.memberships).toEqual([
      ['pmg_p2p_data_consumer', 'ana', true],
      ['hand_made', 'pmg_p2p_data_consumer', false],
    ]);
    expect(catalog.roles).toEqual([
      { name: 'pmg_p2p_data_consumer', canLogin: false, comment: null, managed: true },
      { name: 'ana', canLogin: true, comment: null, managed: false },
    ]);
    expect(catalog).not.toHaveProperty('member-names');
    expect(() => catalogRowsOf({ ...wire, 'member-names': [] })).toThrow(/role oid 12, which it did not list/);
  });

  it('an inspect scoped to one part: other parts\' managed roles its ACLs and memberships name are managed and their privileges read; another warehouse\'s are not', () => {
    const a = actualFromCatalog(
      rows({
        roles: [{ name: 'pmg_p2p_owner', canLogin: false, comment: 'pmgrants:managed {"purpose":"schema-owner","app":"p2p","warehouse":"wh"}', managed: true }],
        memberships: [['pmg_o2c_data_consumer', 'pmg_p2p_owner', false]],
        schemas: [{ name: 'p2p', owner: 'pmg_p2p_owner' }],
        'schema-acls': [['p2p', 'pmg_p2p_owner', ['pmg_p2p_owner=UC/pmg_p2p_owner', 'pmg_o2c_data_consumer=U/pmg_p2p_owner', 'pmg_x_reader=U/pmg_p2p_owner']]],
        'outside-managed': [
          ['pmg_o2c_data_consumer', 'pmgrants:managed {"purpose":"persona","app":"o2c","warehouse":"wh"}'],
          ['pmg_x_reader', 'pmgrants:managed {"purpose":"persona","app":"x","warehouse":"other_wh"}'],
        ],
      }),
      desired,
    );
    expect(a.managed).toEqual(['pmg_o2c_data_consumer', 'pmg_p2p_owner']);
    // Another warehouse's role is read on this app schema like any grantee, and marked foreign: the diff never revokes it.
    expect(a.permissions.filter((p) => p.on.type === 'schema').map((p) => `${p.grantee} ${p.privilege}`)).toEqual(['pmg_o2c_data_consumer USAGE', 'pmg_x_reader USAGE']);
    expect(a.foreign).toEqual({ pmg_x_reader: 'other_wh' });
    expect(diffState(desired, a).changes.filter((c) => 'permission' in c && c.permission.grantee === 'pmg_x_reader')).toEqual([]);
  });

  it('inspectParams: $4 scopes the query to a part (null: the whole warehouse)', () => {
    expect(inspectParams(desired)[3]).toBeNull();
    expect(inspectParams(desired, { scope: 'warehouse' })[3]).toBe('');
    expect(inspectParams(desired, { scope: 'app', app: 'p2p' })[3]).toBe('"app":"p2p"');
  });

  it('inspectParams names every role and schema the desired state uses', () => {
    const [prefix, roles, schemas] = inspectParams(desired);
    expect(prefix).toBe('pmg_');
    expect(roles).toEqual(expect.arrayContaining(['ana', 'ops', 'pmg_p2p_owner', 'pmg_app_admin', 'pmg_inv_app']));
    expect(schemas).toEqual(['invoices', 'p2p']);
  });

  it('inspectParams: $5 names the principals the state holds itself, not those it only refers to', () => {
    const p2p = partitionDesired(desired).get('app:p2p')!;
    const [, roles, , , own] = inspectParams(p2p, { scope: 'app', app: 'p2p' });
    expect(own).toEqual([...new Set([...p2p.logins, ...p2p.users, ...p2p.roles].map((x) => x.name))].sort());
    expect(own).toContain('pmg_p2p_owner');
    // The warehouse-wide persona the app's permissions name is referred to, not held.
    expect(roles).toContain('pmg_app_admin');
    expect(own).not.toContain('pmg_app_admin');
  });
});

describe('column grants on app schemas', () => {
  const columnRows = rows({
    roles: [{ name: 'pmg_p2p_data_consumer', canLogin: false, comment: 'pmgrants:managed {"purpose":"persona"}', managed: true }],
    schemas: [{ name: 'p2p', owner: 'pmg_p2p_owner' }],
    'column-acls': [
      ['p2p', 'cases', 'name', ['=r/pmg_p2p_owner', 'bi_reader=rw/pmg_p2p_owner']],
      ['p2p', 'cases', 'amount', ['pmg_p2p_data_consumer=r/pmg_p2p_owner']],
    ],
  });
  const actual = actualFromCatalog(columnRows, desired);
  const plan = diffState(desired, actual);
  const revokes = plan.changes.filter((c) => c.kind === 'revoke' && c.permission.on.type === 'engine' && c.permission.on.kind.startsWith('column:'));

  it('inspect reads them from anyone on an app schema, one permission per grantee, column and privilege', () => {
    const columns = actual.permissions.filter((p) => p.on.type === 'engine' && p.on.kind.startsWith('column:'));
    expect(columns.map((p) => `${p.grantee || 'PUBLIC'} ${p.privilege} ${p.on.type === 'engine' ? p.on.kind : ''}`).sort()).toEqual([
      'PUBLIC SELECT column:["cases","name"]',
      'bi_reader SELECT column:["cases","name"]',
      'bi_reader UPDATE column:["cases","name"]',
      'pmg_p2p_data_consumer SELECT column:["cases","amount"]',
    ]);
  });

  it('the plan revokes them like table grants, whoever holds them, column by column', () => {
    const statements = revokes.flatMap((c) => renderChange(c, desired).map((st) => st.sql));
    expect(statements.sort()).toEqual([
      'REVOKE SELECT ("amount") ON TABLE "p2p"."cases" FROM "pmg_p2p_data_consumer"',
      'REVOKE SELECT ("name") ON TABLE "p2p"."cases" FROM "bi_reader"',
      'REVOKE SELECT ("name") ON TABLE "p2p"."cases" FROM PUBLIC',
      'REVOKE UPDATE ("name") ON TABLE "p2p"."cases" FROM "bi_reader"',
    ]);
    expect(revokes.map((c) => describeChange(c).text)).toContain('revoke SELECT on column p2p.cases.name from PUBLIC');
  });

  it('additive enforcement leaves them, and a column is never granted', () => {
    expect(diffState({ ...desired, enforcement: 'additive' }, actual).changes.filter((c) => c.kind === 'revoke' && c.permission.on.type === 'engine' && c.permission.on.kind.startsWith('column:'))).toEqual([]);
    const grant = { kind: 'grant' as const, permission: { ...(revokes[0] as { permission: Permission }).permission } };
    expect(() => renderChange(grant, desired)).toThrow(/never granted/);
  });
});

describe('objects whose owner the provisioning role cannot act as', () => {
  // The p2p owner's table, which the consumer reads, beside a DBA's table and its serial's sequence and
  // another team's function: what object-acls.sql leaves out, unreachable-objects.sql names.
  const strayRows = rows({
    roles: ['pmg_p2p_owner', 'pmg_p2p_data_consumer', 'pmg_p2p_app', 'pmg_inv_process_admin'].map((name) => ({ name, canLogin: false, comment: null, managed: true })),
    schemas: [
      { name: 'p2p', owner: 'pmg_p2p_owner' },
      { name: 'invoices', owner: 'pmg_inv_owner' },
    ],
    'object-acls': [
      ['p2p', 'tables', 'pmg_p2p_owner', ['pmg_p2p_owner=arwdDxt/pmg_p2p_owner', 'pmg_p2p_data_consumer=r/pmg_p2p_owner', 'pmg_p2p_app=arwdx/pmg_p2p_owner'], 1],
      // The invoices owner's function, which the process admin may not execute yet.
      ['invoices', 'functions', 'pmg_inv_owner', ['pmg_inv_owner=X/pmg_inv_owner'], 1],
    ],
    'unreachable-objects': [
      ['p2p', 'tables', 'p2p.audit', 'dba', 'TABLE p2p.audit'],
      ['p2p', 'sequences', 'p2p.audit_id_seq', 'dba', null],
      ['invoices', 'functions', 'invoices.bi_fn(n integer)', 'bi_team', 'ROUTINE invoices.bi_fn(n integer)'],
    ],
  });
  const actual = actualFromCatalog(strayRows, desired);
  const plan = diffState(desired, actual);
  const grantsAndRevokes = plan.changes.filter((c): c is Extract<Change, { kind: 'grant' | 'revoke' }> => c.kind === 'grant' || c.kind === 'revoke');

  it('inspect names them, with the securables that cover them and the statement that hands each to the schema owner', () => {
    expect(actual.unreachable).toEqual([
      { schema: 'p2p', name: 'p2p.audit', owner: 'dba', coveredBy: ['tables', 'some-tables'], handOver: 'ALTER TABLE p2p.audit OWNER TO "pmg_p2p_owner"' },
      { schema: 'p2p', name: 'p2p.audit_id_seq', owner: 'dba', coveredBy: ['sequences', 'some-sequences'] },
      { schema: 'invoices', name: 'invoices.bi_fn(n integer)', owner: 'bi_team', coveredBy: ['functions', 'some-functions'], handOver: 'ALTER ROUTINE invoices.bi_fn(n integer) OWNER TO "pmg_inv_owner"' },
    ]);
    // Their privileges are not read: the consumer holds SELECT on every table it could be given.
    expect(actual.permissions).toContainEqual({ grantee: 'pmg_p2p_data_consumer', on: tables('p2p'), privilege: 'SELECT', effect: 'GRANT', withGrantOption: false });
    expect(actualFromCatalog(rows({}), desired).unreachable).toBeUndefined();
  });

  it('the plan names them once per schema and owner, as warnings', () => {
    expect(plan.warnings).toEqual([
      'invoices.bi_fn(n integer) is owned by bi_team, a role the provisioning login cannot act as: pmgrants neither grants nor revokes on it and applies the rest of the plan; hand it to the owner of schema invoices (ALTER ROUTINE invoices.bi_fn(n integer) OWNER TO "pmg_inv_owner"), or grant on it as bi_team',
      'p2p.audit, p2p.audit_id_seq are owned by dba, a role the provisioning login cannot act as: pmgrants neither grants nor revokes on them and applies the rest of the plan; hand them to the owner of schema p2p (ALTER TABLE p2p.audit OWNER TO "pmg_p2p_owner"), or grant on them as dba',
    ]);
  });

  it('grants and revokes of the kinds that cover them leave them out; the others are as before', () => {
    const withExcept = grantsAndRevokes.filter((c) => c.except);
    expect(withExcept.length).toBeGreaterThan(0);
    for (const c of withExcept) {
      const on = c.permission.on;
      expect(on.type === 'engine' && ['tables', 'sequences', 'functions'].includes(on.kind.replace(/^some-/, '')), describeChange(c).text).toBe(true);
    }
    const execute = grantsAndRevokes.find((c) => c.kind === 'grant' && c.permission.grantee === 'pmg_inv_process_admin' && c.permission.on.type === 'engine' && c.permission.on.kind === 'functions')!;
    expect(execute.except).toEqual([{ name: 'invoices.bi_fn(n integer)', owner: 'bi_team' }]);
    expect(describeChange(execute).text).toBe('grant EXECUTE on functions invoices to pmg_inv_process_admin (not on invoices.bi_fn(n integer): owned by bi_team)');
    // Default privileges and schema privileges cover no existing object.
    expect(grantsAndRevokes.filter((c) => c.except && (c.permission.on.type !== 'engine' || c.permission.on.kind.startsWith('default')))).toEqual([]);
    expect(grantsAndRevokes.filter((c) => !c.except && c.permission.on.type === 'engine' && c.permission.on.name === 'invoices' && c.permission.on.kind === 'functions')).toEqual([]);
  });

  it('renders such a grant as one GRANT naming, when it runs, each object of the kind whose owner the role can act as', () => {
    const [statement] = renderChange(
      { kind: 'grant', permission: { grantee: 'odd%name', on: tables('p2p'), privilege: 'SELECT', effect: 'GRANT', withGrantOption: true }, except: [{ name: 'p2p.audit', owner: 'dba' }] },
      desired,
    );
    expect(statement.display).toBe('GRANT SELECT ON ALL TABLES IN SCHEMA "p2p" TO "odd%name" WITH GRANT OPTION -- except p2p.audit (owned by dba): GRANT SELECT ON TABLE <every other table of p2p> TO "odd%name" WITH GRANT OPTION');
    expect(statement.sql).toBe(`SELECT set_config('pmgrants.schema', 'p2p', true), set_config('pmgrants.kind', 'tables', true), set_config('pmgrants.command', 'GRANT SELECT ON TABLE %s TO "odd%%name" WITH GRANT OPTION', true);
DO $pmgrants$
DECLARE
  s text := current_setting('pmgrants.schema');
  k text := current_setting('pmgrants.kind');
  objects text;
BEGIN
  IF k = 'functions' THEN
    SELECT string_agg(format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)), ', ' ORDER BY p.oid) INTO objects
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = s AND pg_catalog.pg_has_role(p.proowner, 'USAGE');
  ELSE
    SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY c.oid) INTO objects
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = s AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
      AND c.relkind = ANY (CASE WHEN k = 'sequences' THEN '{S}' ELSE '{r,v,m,f,p}' END::"char"[]);
  END IF;
  IF objects IS NOT NULL THEN
    EXECUTE format(current_setting('pmgrants.command'), objects);
  END IF;
END
$pmgrants$`);
    const [revoke] = renderChange({ kind: 'revoke', permission: perm('', { type: 'engine', kind: 'functions', name: 'invoices' }, 'EXECUTE'), except: [{ name: 'invoices.bi_fn(n integer)', owner: 'bi_team' }] }, desired);
    expect(revoke.sql).toContain(`set_config('pmgrants.command', 'REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', true)`);
    // Without exceptions, the bulk form as before.
    expect(renderChange({ kind: 'revoke', permission: perm('', { type: 'engine', kind: 'functions', name: 'invoices' }, 'EXECUTE') }, desired)[0].sql).toBe('REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA "invoices" FROM PUBLIC');
  });

  it('converges: with every reachable object granted, the plan has no change, only the same warnings', () => {
    const applied = { ...actual, permissions: desired.permissions };
    const again = diffState(desired, applied);
    expect(again.changes.filter((c) => c.kind === 'grant' || c.kind === 'revoke')).toEqual([]);
    expect(again.warnings).toEqual(plan.warnings);
  });

  it('a part of the warehouse (a Pulumi resource) keeps those of its own schemas', () => {
    const claim = claimOf({ scope: 'app', app: 'p2p' }, [partitionDesired(desired).get('app:p2p')!], actual);
    expect(sliceActual(actual, claim, partitionDesired(desired).get('app:p2p')!).unreachable?.map((u) => u.name)).toEqual(['p2p.audit', 'p2p.audit_id_seq']);
  });
});

describe('catalog SQL files', () => {
  it('are found from the sources and from dist/ (tsc does not copy them)', () => {
    const fromDist = catalogSqlDirs(path.join(__dirname, '..', '..', 'dist', 'provider', 'engines', 'postgres'));
    expect(catalogSql('roles', fromDist.slice(1))).toContain('FROM scoped_roles');
    expect(() => catalogSql('no-such-query', ['/nonexistent'])).toThrow(/installation is incomplete: catalog query no-such-query.sql not found/);
  });

  it('compose into one statement with seven parameters', () => {
    const sql = inspectQuery();
    expect(sql.startsWith('WITH scoped_roles AS (')).toBe(true);
    expect(new Set(sql.replace(/--[^\n]*/g, '').match(/\$(\d)/g))).toEqual(new Set(['$1', '$2', '$3', '$4', '$5', '$6', '$7']));
    expect(sql.replace(/--[^\n]*/g, '')).not.toContain(';'); // one statement
  });
});

describe('prepareStatements: logins are created without a password, first, and their SCRAM verifiers set on other sessions', () => {
  it('creates a new login in the first transaction, with a marker that has no password time, and keeps the password for later', () => {
    const statements = postgresDialect.render([{ kind: 'create-login', login: { name: 'pmg_p2p_app', purpose: 'app-login', password: 'generated' } }], desired);
    const prepared = prepareStatements(statements, () => 'x'.repeat(32), undefined, () => 'g1');
    expect(prepared.secrets).toEqual(new Map([['pmg_p2p_app', 'x'.repeat(32)]]));
    expect(prepared.logins.map((u) => u.sql)).toEqual([
      'CREATE ROLE "pmg_p2p_app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT',
      `COMMENT ON ROLE "pmg_p2p_app" IS 'pmgrants:managed {"purpose":"generated-login"}'`,
      'GRANT "pmg_p2p_app" TO CURRENT_USER',
    ]);
    expect(prepared.newLogins).toEqual(['pmg_p2p_app']);
    expect(prepared.units).toEqual([]);
    expect(prepared.passwords).toEqual([{ login: 'pmg_p2p_app', password: 'x'.repeat(32), generation: 'g1', index: 0, early: true }]);
    expect(prepared.logins.map((u) => u.sql).join('\n')).not.toContain('x'.repeat(32));
    expect(prepared.hidden).toContain('x'.repeat(32));
  });

  it('a login whose name the plan also drops (a principal that changed kind) is created in the main transaction, after the drop', () => {
    const statements = postgresDialect.render(
      [
        { kind: 'drop-user', user: 'pmg_p2p_app' },
        { kind: 'create-login', login: { name: 'pmg_p2p_app', purpose: 'app-login', password: 'generated' } },
      ],
      desired,
    );
    const prepared = prepareStatements(statements, () => 'x'.repeat(32), undefined, () => 'g1');
    expect(prepared.logins).toEqual([]);
    expect(prepared.newLogins).toEqual([]);
    expect(prepared.units.map((u) => u.sql.split('\n').pop())).toEqual([
      'DROP ROLE IF EXISTS "pmg_p2p_app"',
      'CREATE ROLE "pmg_p2p_app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT',
      `COMMENT ON ROLE "pmg_p2p_app" IS 'pmgrants:managed {"purpose":"generated-login"}'`,
      'GRANT "pmg_p2p_app" TO CURRENT_USER',
    ]);
    expect(prepared.passwords).toEqual([{ login: 'pmg_p2p_app', password: 'x'.repeat(32), generation: 'g1', index: 1, early: false }]);
  });

  it('a rotation is only a password to set after the commit', () => {
    const statements = postgresDialect.render([{ kind: 'rotate-password', login: 'pmg_p2p_app', reason: 'forced' }], desired);
    const prepared = prepareStatements(statements, () => 'y'.repeat(32), undefined, () => 'g1');
    expect(prepared.units).toEqual([]);
    expect(prepared.logins).toEqual([]);
    expect(prepared.passwords).toEqual([{ login: 'pmg_p2p_app', password: 'y'.repeat(32), generation: 'g1', index: 0, early: false }]);
  });

  it('dropLoginsSql drops every new login in one statement', () => {
    expect(dropLoginsSql(['pmg_a', 'we"ird'])).toBe('DROP ROLE "pmg_a", "we""ird"');
  });

  it('unlockSql releases the apply lock only when this session holds it', () => {
    expect(unlockSql).toMatch(/^SELECT pg_catalog\.pg_advisory_unlock\(8101245045667951731\) FROM pg_catalog\.pg_locks WHERE .*pid = pg_catalog\.pg_backend_pid\(\) AND granted/);
  });

  it('the apply lock before the plan: try without waiting, then wait at most the lock timeout; the apply then takes it no more', () => {
    expect(tryLockSql).toMatch(/^SELECT pg_catalog\.pg_try_advisory_lock\(8101245045667951731\) AS locked, EXISTS \(SELECT 1 FROM pg_catalog\.pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND classid::bigint = \(8101245037078344567::bigint >> 32\) AND objid::bigint = \(8101245037078344567::bigint & 4294967295\) AND granted AND database = .*\) AS password_sessions$/);
    // A killed apply's password sessions may still be setting passwords: lockForApply waits for them.
    expect(passwordSessionLockSql).toBe('SELECT pg_catalog.pg_advisory_lock_shared(8101245037078344567)');
    expect(waitPasswordSessionsSql(120)).toBe("SET LOCAL lock_timeout = '120000ms';\nSELECT pg_catalog.pg_advisory_lock(8101245037078344567);\nSELECT pg_catalog.pg_advisory_unlock(8101245037078344567)");
    expect(waitLockSql(120)).toBe("SET LOCAL lock_timeout = '120000ms';\nSELECT pg_catalog.pg_advisory_lock(8101245045667951731)");
    expect(waitLockSql(0.4)).toBe("SET LOCAL lock_timeout = '400ms';\nSELECT pg_catalog.pg_advisory_lock(8101245045667951731)");
    expect(() => waitLockSql(0)).toThrow(/positive number of seconds/);
    // Under lockForApply the apply's first round trip opens its transaction without taking the lock.
    expect(beginSql(120, false)).toBe("BEGIN;\nSET LOCAL lock_timeout = '120000ms'");
    expect(beginSql(120)).toBe("BEGIN;\nSET LOCAL lock_timeout = '120000ms';\nSELECT pg_advisory_lock(8101245045667951731)");
    // The holder: the granted apply lock in this database (advisory locks are per database).
    expect(lockHolderSql).toMatch(/^SELECT a\.pid, a\.backend_start, a\.application_name FROM pg_catalog\.pg_locks l JOIN pg_catalog\.pg_stat_activity a ON a\.pid = l\.pid WHERE locktype = 'advisory' AND objsubid = 1 AND classid::bigint = \(8101245045667951731::bigint >> 32\) AND objid::bigint = \(8101245045667951731::bigint & 4294967295\) AND l\.granted AND database = \(SELECT oid FROM pg_catalog\.pg_database WHERE datname = pg_catalog\.current_database\(\)\) LIMIT 1$/);
  });

  it('the waiting line and the timeout error name the holder, as far as it is known, in one line', () => {
    const since = new Date('2026-12-03T10:15:02.900Z');
    expect(waitingForLockMessage('wh', { session: 'pid 4242', since, program: 'pmgrants' })).toBe('waiting for another pmgrants apply on wh (pid 4242, started 2026-12-03 10:15:02 UTC) to finish');
    expect(describeLockHolder({ session: 'pid 7', program: 'psql\n\u001b[31mred' })).toBe('pid 7, application "psql??[31mred"');
    expect(describeLockHolder({})).toBe('holder unknown');
    expect(lockTimeoutError('wh', { session: 'pid 7' }, 120).message).toBe('another pmgrants apply on wh (pid 7) still held the apply lock after 120 s; nothing was applied, try again when it has finished');
  });

  it('passwordSql sends the verifier, never the plaintext, and stamps the marker with the time', () => {
    const verifier = scramSha256Verifier('z'.repeat(32));
    const sql = passwordSql('pmg_p2p_app', verifier, new Date('2030-01-02T03:04:05.000Z'));
    expect(sql).toMatch(/^ALTER ROLE "pmg_p2p_app" WITH PASSWORD 'SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+' VALID UNTIL 'infinity';\n/);
    expect(sql.split('\n')[1]).toBe(`COMMENT ON ROLE "pmg_p2p_app" IS 'pmgrants:managed {"purpose":"generated-login","passwordSetAt":"2030-01-02T03:04:05.000Z"}'`);
    expect(sql).not.toContain('z'.repeat(32));
  });

  it('passwordSql records the password generation in the marker, and inspect reads it back', () => {
    const sql = passwordSql('pmg_p2p_app', scramSha256Verifier('z'.repeat(32)), new Date('2030-01-02T03:04:05.000Z'), undefined, 'gen-1');
    const comment = /IS '(.*)'$/.exec(sql.split('\n')[1])![1];
    expect(comment).toBe('pmgrants:managed {"purpose":"generated-login","passwordSetAt":"2030-01-02T03:04:05.000Z","passwordGeneration":"gen-1"}');
    expect(parseMarker(comment)).toEqual({ purpose: 'generated-login', passwordSetAt: '2030-01-02T03:04:05.000Z', passwordGeneration: 'gen-1' });
    expect(comment).not.toContain('z'.repeat(32));
  });

  it('the thread-pool verifier is the same function of password and salt', async () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    expect(await scramSha256VerifierAsync('pencil', salt, 4096)).toBe(scramSha256Verifier('pencil', salt, 4096));
  });

  it('refuses a statement whose parameter is not a trailing password placeholder', () => {
    expect(() => prepareStatements([{ sql: 'SELECT $1 AS x', params: [{ name: '$1', value: 'v' }], display: 'x', target: 'warehouse' }])).toThrow(/at most one parameter/);
  });

  it('the verifier matches RFC 7677\'s example exchange (user "user", password "pencil")', () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const verifier = scramSha256Verifier('pencil', salt, 4096);
    const [, iterSalt, keys] = verifier.split('$');
    expect(iterSalt).toBe('4096:W22ZaJ0SNY7soEsUEjb6gQ==');
    const [storedKey, serverKey] = keys.split(':').map((k) => Buffer.from(k, 'base64'));
    const authMessage =
      'n=user,r=rOprNGfwEbeRWgbNEkqO,' +
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,' +
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    // The server signature a server holding this verifier sends back:
    expect(createHmac('sha256', serverKey).update(authMessage).digest('base64')).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    // The client proof of the example verifies against StoredKey:
    const clientSignature = createHmac('sha256', storedKey).update(authMessage).digest();
    const proof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    const clientKey = Buffer.from(proof.map((b, i) => b ^ clientSignature[i]));
    expect(createHash('sha256').update(clientKey).digest().equals(storedKey)).toBe(true);
  });
});

describe('error sentences', () => {
  it('map SQLSTATEs to one sentence and scrub secrets', () => {
    expect(applyErrorMessage({ code: '57P01', message: 'terminating connection due to administrator command' })).toBe(
      'the connection was lost during apply; the transaction was rolled back, run apply again',
    );
    expect(applyErrorMessage(new Error('Connection terminated unexpectedly'))).toBe('the connection was lost during apply; the transaction was rolled back, run apply again');
    expect(applyErrorMessage({ code: '42501', message: 'permission denied to create role' })).toBe(
      'the provisioning role lacks a privilege (permission denied to create role); nothing was applied, run "pmgrants doctor" for the statement that fixes it',
    );
    expect(applyErrorMessage({ code: '2BP01', message: 'role "x" cannot be dropped because some objects depend on it', detail: 'privileges for table t\nowner of y' })).toBe(
      'role "x" cannot be dropped because some objects depend on it (privileges for table t); nothing was applied',
    );
    expect(applyErrorMessage({ code: '42710', message: 'role "x" already exists' })).toMatch(/^role "x" already exists, so the database changed since the plan was made/);
    // A transaction that fills the lock table (bench:masking's first apply of 20,000 masked views on a default server).
    expect(applyErrorMessage({ code: '53200', message: 'out of shared memory' })).toBe(
      "the server ran out of lock slots (out of shared memory): the apply's transaction locks more objects than max_locks_per_transaction x max_connections allows (each masked view made or replaced takes two); raise max_locks_per_transaction (a restart) and apply again, or apply in smaller steps; the transaction was rolled back and nothing was applied",
    );
    expect(applyErrorMessage({ code: 'XX000', message: "syntax near 'hunter2'" }, ['hunter2'])).toBe(
      "the server refused the apply: syntax near '********'; the transaction was rolled back and nothing was applied",
    );
    expect(connectErrorMessage({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, 'db:5432/wh')).toBe(
      'cannot connect to PostgreSQL at db:5432/wh: nothing accepts connections there (connection refused): is the server running, and are the host and port right?',
    );
  });
});

describe('preflightChecks', () => {
  const facts: ProvisioningFacts = {
    user: 'provisioner',
    database: 'wh',
    version: '16.4',
    versionNum: 160004,
    passwordEncryption: 'md5',
    superuser: false,
    createRole: false,
    createInDatabase: false,
    grantConnect: false,
    schemas: [{ schema: 'p2p', owner: 'someone', member: false }],
  };

  it('gives each failed check the exact statement that fixes it', () => {
    const failed = Object.fromEntries(preflightChecks(facts, desired).filter((c) => !c.ok).map((c) => [c.name, c.fix]));
    expect(failed).toEqual({
      'create-role': 'ALTER ROLE "provisioner" CREATEROLE;',
      'create-schema': 'GRANT CREATE ON DATABASE "wh" TO "provisioner";',
      'schema-ownership': 'GRANT "someone" TO "provisioner" WITH ADMIN OPTION;',
      'grant-connect': 'GRANT CONNECT ON DATABASE "wh" TO "provisioner" WITH GRANT OPTION;',
      'password-encryption': "ALTER SYSTEM SET password_encryption = 'scram-sha-256'; SELECT pg_reload_conf();",
    });
  });

  it('asks for ADMIN OPTION on an existing schema owner from PostgreSQL 16 (granting a role needs it), membership alone up to 15', () => {
    const ownership = (f: Partial<ProvisioningFacts>) => preflightChecks({ ...facts, ...f }, desired).find((c) => c.name === 'schema-ownership')!;
    const memberOnly = [{ schema: 'p2p', owner: 'someone', member: true, admin: false }];
    expect(ownership({ schemas: memberOnly })).toMatchObject({ ok: false, fix: 'GRANT "someone" TO "provisioner" WITH ADMIN OPTION;' });
    expect(ownership({ schemas: memberOnly }).detail).toMatch(/WITH ADMIN OPTION/);
    expect(ownership({ schemas: [{ ...memberOnly[0], admin: true }] }).ok).toBe(true);
    expect(ownership({ schemas: memberOnly, version: '15.8', versionNum: 150008 }).ok).toBe(true);
    expect(ownership({ schemas: [{ ...memberOnly[0], member: false }], version: '15.8', versionNum: 150008 })).toMatchObject({ ok: false, fix: 'GRANT "someone" TO "provisioner";' });
  });

  it('passes a superuser on the right database', () => {
    const checks = preflightChecks({ ...facts, superuser: true, passwordEncryption: 'scram-sha-256' }, desired);
    expect(checks.every((c) => c.ok)).toBe(true);
    expect(preflightChecks({ ...facts, superuser: true, database: 'other', passwordEncryption: 'scram-sha-256' }, desired).find((c) => !c.ok)?.name).toBe('database');
  });
});
