/**
 * Least privilege on PostgreSQL, without a server: PUBLIC's EXECUTE on routines (their NULL ACL is the
 * default, which includes it), the default privileges in every schema of the roles that create the app
 * schemas' objects, and an app schema's ACLs held by grantees outside the policy.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import { DesiredState, Permission, Policy, ActualState } from '../../provider/model/types';
import { diffState, outsiderOnAppSchemas, PUBLIC_GRANTEE } from '../../provider/plan/diff';
import { describeChange } from '../../provider/plan/describe';
import { actualFromCatalog, CatalogRows, postgresDialect } from '../../provider/engines/postgres';
import { appPart, claimOf, sliceActual, sliceDesired } from '../../provider/plan/slice';

const policy: Policy = {
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'postgres', database: 'wh' },
  security: { mode: 'system_managed' },
  principals: { readers: { kind: 'database-role' }, editor: { kind: 'sql-login' } },
  apps: { p2p: { schema: 'p2p', source: 'closed' }, inv: { schema: 'invoices', source: 'closed', roles: { owner: 'inv_owner_adopted' } } },
  grants: [
    { persona: 'process_admin', to: ['editor'], apps: ['p2p'] },
    { persona: 'data_consumer', to: ['readers'], apps: ['p2p', 'inv'] },
  ],
  options: { tolerateGrantees: ['backup_reader'] },
};
const desired = postgresDialect.realize(compilePolicy(policy));

const role = (name: string, managed = true) => ({ name, canLogin: name.endsWith('_app'), comment: null, managed });
/** The catalog of the applied policy: every role, both schemas, and what the test adds. */
function rows(over: Partial<CatalogRows>): CatalogRows {
  return {
    database: 'wh',
    roles: [...desired.roles.map((r) => role(r.name, !r.adopted)), ...desired.logins.map((l) => role(l.name)), role('readers', false), role('editor', false)],
    memberships: [],
    schemas: desired.schemas.map((s) => ({ name: s.name, owner: s.owner })),
    'schema-acls': [],
    'database-acl': null,
    'object-acls': [],
    'default-acls': [],
    ...over,
  };
}
const held = (a: ActualState, grantee: string) =>
  a.permissions
    .filter((p) => p.grantee === grantee)
    .map((p) => `${p.privilege} ${p.on.type === 'engine' ? `${p.on.kind}:${p.on.name}${p.on.forRole ? `:for:${p.on.forRole}` : ''}` : p.on.type === 'schema' ? `schema:${p.on.name}` : p.on.type}`)
    .sort();

describe('inspect: PUBLIC and outsiders on app schemas', () => {
  it("a routine's ACL as the catalog query spells it (acldefault for NULL) shows PUBLIC's EXECUTE on the app schema; on other schemas only scoped roles count", () => {
    const a = actualFromCatalog(
      rows({
        schemas: [...desired.schemas.map((s) => ({ name: s.name, owner: s.owner })), { name: 'scratch', owner: 'pmg_p2p_owner' }],
        'object-acls': [
          ['p2p', 'functions', 'pmg_p2p_owner', ['=X/pmg_p2p_owner', 'pmg_p2p_owner=X/pmg_p2p_owner', 'pmg_p2p_process_admin=X/pmg_p2p_owner'], 2],
          ['p2p', 'functions', 'pmg_p2p_app', ['pmg_p2p_app=X/pmg_p2p_app', 'pmg_p2p_process_admin=X/pmg_p2p_app'], 1],
          ['p2p', 'tables', 'pmg_p2p_owner', ['pmg_p2p_owner=arwdDxtm/pmg_p2p_owner', 'stranger=r/pmg_p2p_owner', 'readers=a/pmg_p2p_owner'], 1],
          ['scratch', 'functions', 'pmg_p2p_owner', ['=X/pmg_p2p_owner', 'stranger=X/pmg_p2p_owner'], 1],
        ],
        'schema-acls': [['p2p', 'pmg_p2p_owner', ['pmg_p2p_owner=UC/pmg_p2p_owner', '=U/pmg_p2p_owner', 'backup_reader=U/pmg_p2p_owner']]],
      }),
      desired,
    );
    // PUBLIC may execute 2 of p2p's 3 routines: a partial holding, revoked as a whole.
    expect(held(a, PUBLIC_GRANTEE).filter((p) => !p.includes('global-default'))).toEqual(['EXECUTE some-functions:p2p', 'USAGE schema:p2p']);
    expect(held(a, 'stranger')).toEqual(['SELECT tables:p2p']);
    expect(held(a, 'backup_reader')).toEqual(['USAGE schema:p2p']);
    expect(held(a, 'readers')).toEqual(['INSERT tables:p2p']);

    const changes = diffState(desired, a).changes.filter((c) => c.kind === 'revoke');
    expect(changes.map((c) => describeChange(c).text)).toEqual([
      ...['pmg_inv_app', 'pmg_p2p_app', 'pmg_p2p_owner'].map((r) => `revoke EXECUTE on global-default-functions for ${r} from PUBLIC`),
      'revoke USAGE on schema p2p from PUBLIC',
      'revoke EXECUTE on some-functions p2p from PUBLIC',
      // The policy's principals get rights through persona roles, never directly.
      'revoke INSERT on tables p2p from readers',
      'revoke SELECT on tables p2p from stranger',
    ]);
    const sql = postgresDialect.render(changes, desired).map((s) => s.sql);
    expect(sql).toEqual([
      ...['pmg_inv_app', 'pmg_p2p_app', 'pmg_p2p_owner'].map((r) => `ALTER DEFAULT PRIVILEGES FOR ROLE "${r}" REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC`),
      'REVOKE USAGE ON SCHEMA "p2p" FROM PUBLIC',
      'REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA "p2p" FROM PUBLIC',
      'REVOKE INSERT ON ALL TABLES IN SCHEMA "p2p" FROM "readers"',
      'REVOKE SELECT ON ALL TABLES IN SCHEMA "p2p" FROM "stranger"',
    ]);
    // Additive enforcement never revokes.
    expect(diffState({ ...desired, enforcement: 'additive' }, a).changes.filter((c) => c.kind === 'revoke')).toEqual([]);
  });

  it("default privileges in every schema: PostgreSQL's built-in PUBLIC EXECUTE until the creator has its own entry; adopted and unmanaged creators are not pmgrants' to change", () => {
    const creatorsWithPublic = (a: ActualState) =>
      a.permissions.filter((p) => p.grantee === PUBLIC_GRANTEE && p.on.type === 'engine' && p.on.kind === 'global-default-functions').map((p) => (p.on.type === 'engine' ? p.on.forRole : ''));
    // Nothing yet: every creator pmgrants makes (owners, app logins), not the adopted inv_owner_adopted.
    expect(creatorsWithPublic(actualFromCatalog(rows({}), desired))).toEqual(['pmg_inv_app', 'pmg_p2p_app', 'pmg_p2p_owner']);
    // Not yet created at all: the role will get the built-in default, so the plan revokes it after creating the role.
    const fresh = actualFromCatalog({ ...rows({}), roles: [] }, desired);
    expect(creatorsWithPublic(fresh)).toEqual(['pmg_inv_app', 'pmg_p2p_app', 'pmg_p2p_owner']);
    // A creator that exists without pmgrants' marker is someone else's.
    const unmarked = rows({});
    unmarked.roles = unmarked.roles.map((r) => (r.name === 'pmg_p2p_owner' ? { ...r, managed: false } : r));
    expect(creatorsWithPublic(actualFromCatalog(unmarked, desired))).toEqual(['pmg_inv_app', 'pmg_p2p_app']);
    const first = diffState(desired, fresh).changes;
    expect(first.findIndex((c) => c.kind === 'revoke')).toBeGreaterThan(first.findIndex((c) => c.kind === 'create-role'));

    const revoked = actualFromCatalog(
      rows({
        'default-acls': [
          ['', 'pmg_p2p_owner', 'f', ['pmg_p2p_owner=X/pmg_p2p_owner']],
          ['', 'pmg_p2p_app', 'f', ['pmg_p2p_app=X/pmg_p2p_app', 'stranger=X/pmg_p2p_app']],
          ['', 'pmg_p2p_app', 'r', ['backup_reader=r/pmg_p2p_app', 'readers=r/pmg_p2p_app']],
          ['', 'inv_owner_adopted', 'f', ['inv_owner_adopted=X/inv_owner_adopted', 'stranger=X/inv_owner_adopted']],
          // Types keep PostgreSQL's default (PUBLIC USAGE reads no data): not read.
          ['', 'pmg_p2p_owner', 'T', ['pmg_p2p_owner=U/pmg_p2p_owner', 'stranger=U/pmg_p2p_owner']],
        ],
      }),
      desired,
    );
    expect(creatorsWithPublic(revoked)).toEqual(['pmg_inv_app']);
    const plan = diffState(desired, revoked).changes.filter((c) => c.kind === 'revoke').map((c) => describeChange(c).text);
    expect(plan).toEqual([
      'revoke EXECUTE on global-default-functions for pmg_inv_app from PUBLIC',
      'revoke SELECT on global-default-tables for pmg_p2p_app from readers',
      'revoke EXECUTE on global-default-functions for pmg_p2p_app from stranger',
    ]);
  });
});

describe('diff: who is outside the policy on an app schema', () => {
  const on = (name: string): Permission['on'] => ({ type: 'schema', name });
  const perm = (grantee: string, where: Permission['on']): Permission => ({ grantee, on: where, privilege: 'USAGE', effect: 'GRANT', withGrantOption: false });
  const outsider = outsiderOnAppSchemas(desired);

  it('PUBLIC, unknown roles and the policy principals are; tolerated grantees, persona roles, owners, logins and adopted roles are not', () => {
    expect(outsider(perm(PUBLIC_GRANTEE, on('p2p')))).toBe(true);
    expect(outsider(perm('stranger', on('invoices')))).toBe(true);
    expect(outsider(perm('readers', on('p2p')))).toBe(true);
    for (const named of ['backup_reader', 'pmg_p2p_data_consumer', 'pmg_p2p_owner', 'pmg_p2p_app', 'inv_owner_adopted']) expect(outsider(perm(named, on('p2p')))).toBe(false);
  });

  it('only on app schemas, their objects and default privileges, and the creators\' defaults in every schema', () => {
    expect(outsider(perm('stranger', on('public')))).toBe(false);
    expect(outsider(perm('stranger', { type: 'database' }))).toBe(false);
    expect(outsider(perm('stranger', { type: 'engine', kind: 'tables', name: 'reporting' }))).toBe(false);
    expect(outsider(perm('stranger', { type: 'engine', kind: 'default-tables', name: 'p2p', forRole: 'pmg_p2p_owner' }))).toBe(true);
    expect(outsider(perm('stranger', { type: 'engine', kind: 'global-default-functions', name: '', forRole: 'pmg_p2p_owner' }))).toBe(true);
  });

  it('options.tolerateGrantees reaches the desired state sorted and without repeats', () => {
    const d: DesiredState = compilePolicy({ ...policy, options: { tolerateGrantees: ['b', 'a', 'b'] } });
    expect(d.tolerateGrantees).toEqual(['a', 'b']);
    expect(compilePolicy({ ...policy, options: {} }).tolerateGrantees).toBeUndefined();
  });
});

describe('slices (one Pulumi resource per app): the creators\' default privileges in every schema', () => {
  const revokedFor = (d: DesiredState, a: ActualState) =>
    diffState(d, a)
      .changes.filter((c) => c.kind === 'revoke' && c.permission.on.type === 'engine' && c.permission.on.kind === 'global-default-functions')
      .map((c) => (c.kind === 'revoke' && c.permission.on.type === 'engine' ? c.permission.on.forRole : ''));
  const slicePlan = (whole: DesiredState, app: string) => {
    const slice = sliceDesired(whole, appPart(app));
    const live = actualFromCatalog(
      { ...rows({}), roles: [...whole.roles.map((r) => role(r.name, !r.adopted)), ...whole.logins.map((l) => role(l.name))] },
      slice,
    );
    return revokedFor(slice, sliceActual(live, claimOf(appPart(app), [slice], live), slice));
  };

  it("system_managed: each app's part revokes PUBLIC's EXECUTE for its own owner role and login only", () => {
    expect(slicePlan(desired, 'p2p')).toEqual(['pmg_p2p_app', 'pmg_p2p_owner']);
    expect(slicePlan(desired, 'inv')).toEqual(['pmg_inv_app']);
  });

  it("single_account: the shared login is the warehouse's, but the apps whose objects it creates revoke it", () => {
    const shared = postgresDialect.realize(compilePolicy({ ...policy, security: { mode: 'single_account' }, apps: { p2p: policy.apps.p2p } }));
    expect(slicePlan(shared, 'p2p')).toEqual(['pmg_p2p_owner', 'pmg_shared']);
  });
});
