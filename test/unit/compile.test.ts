import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import { Policy } from '../../provider/model/types';

const base: Policy = {
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'sqlserver', database: 'W' },
  security: { mode: 'system_managed', rotation: { maxAgeDays: 30 } },
  principals: {
    admins: { kind: 'entra-group', objectId: '2B6F1C3E-8D2A-4F0B-9A51-0C7E4D1F2A01' },
    owners: { kind: 'entra-group', objectId: '7a1e5c2d-3b4f-4a6e-8c9d-1e2f3a4b5c02' },
    analysts: { kind: 'sql-login', name: 'analysts_login' },
  },
  apps: {
    open: { schema: 'op', source: 'open' },
    closed: { schema: 'cl', source: 'closed' },
  },
  grants: [
    { persona: 'app_admin', to: ['admins'] },
    { persona: 'process_admin', to: ['owners'], apps: ['closed'] },
    { persona: 'data_consumer', to: ['analysts'], apps: ['*'] },
  ],
};

const rights = (state: ReturnType<typeof compilePolicy>, grantee: string, schema: string) =>
  state.permissions
    .filter((p) => p.grantee === grantee && p.on.type === 'schema' && p.on.name === schema)
    .map((p) => p.privilege)
    .sort();

describe('compilePolicy', () => {
  const state = compilePolicy(base);

  it('gives each app schema its own owner role without a login', () => {
    expect(state.schemas).toEqual([
      { name: 'cl', owner: 'pmg_closed_owner', app: 'closed' },
      { name: 'op', owner: 'pmg_open_owner', app: 'open' },
    ]);
    expect(state.logins.map((l) => l.name)).not.toContain('pmg_closed_owner');
  });

  it('system_managed: one generated login and user per app, with rights on its own schema only', () => {
    expect(state.logins).toEqual([
      { name: 'pmg_closed_app', purpose: 'app-login', app: 'closed', password: 'generated' },
      { name: 'pmg_open_app', purpose: 'app-login', app: 'open', password: 'generated' },
    ]);
    expect(rights(state, 'pmg_closed_app', 'cl')).toContain('select');
    expect(rights(state, 'pmg_closed_app', 'op')).toEqual([]);
    expect(rights(state, 'pmg_open_app', 'cl')).toEqual([]);
    expect(state.appLogins).toEqual({ closed: 'pmg_closed_app', open: 'pmg_open_app' });
  });

  it('single_account: one shared login with rights on every app schema', () => {
    const s = compilePolicy({ ...base, security: { mode: 'single_account' } });
    expect(s.logins.map((l) => l.name)).toEqual(['pmg_shared']);
    expect(rights(s, 'pmg_shared', 'cl')).toContain('alter');
    expect(rights(s, 'pmg_shared', 'op')).toContain('alter');
    expect(s.appLogins).toEqual({ closed: 'pmg_shared', open: 'pmg_shared' });
  });

  it('data_consumer reads; on open-source apps it may also read definitions, on closed ones not (seed 003)', () => {
    expect(rights(state, 'pmg_open_data_consumer', 'op')).toEqual(['select', 'view-definition']);
    expect(rights(state, 'pmg_closed_data_consumer', 'cl')).toEqual(['select']);
  });

  it('process_admin changes its app only and manages its consumers', () => {
    expect(rights(state, 'pmg_closed_process_admin', 'cl')).toEqual(
      ['alter', 'create-objects', 'delete', 'execute', 'insert', 'references', 'select', 'update', 'view-definition'].sort(),
    );
    expect(rights(state, 'pmg_closed_process_admin', 'op')).toEqual([]);
    expect(state.permissions).toContainEqual({
      grantee: 'pmg_closed_process_admin',
      on: { type: 'role', name: 'pmg_closed_data_consumer' },
      privilege: 'manage-membership',
      effect: 'GRANT',
      withGrantOption: false,
    });
  });

  it('app_admin is one warehouse role with full data rights on every app and manages every app persona', () => {
    expect(rights(state, 'pmg_app_admin', 'cl')).toHaveLength(9);
    expect(rights(state, 'pmg_app_admin', 'op')).toHaveLength(9);
    const managed = state.permissions.filter((p) => p.grantee === 'pmg_app_admin' && p.privilege === 'manage-membership').map((p) => (p.on as { name: string }).name);
    expect(managed).toEqual(['pmg_closed_data_consumer', 'pmg_closed_process_admin', 'pmg_open_data_consumer', 'pmg_open_process_admin']);
  });

  it('principals become users (Entra by lower-cased object id) and members of persona roles; "*" expands to every app', () => {
    expect(state.users.find((u) => u.name === 'admins')).toEqual({
      name: 'admins',
      purpose: 'principal',
      source: { type: 'external', kind: 'entra-group', objectId: '2b6f1c3e-8d2a-4f0b-9a51-0c7e4d1f2a01' },
    });
    expect(state.users.find((u) => u.name === 'analysts_login')?.source).toEqual({ type: 'sql-login', login: 'analysts_login' });
    expect(state.memberships).toEqual([
      { role: 'pmg_app_admin', member: 'admins' },
      { role: 'pmg_closed_data_consumer', member: 'analysts_login' },
      { role: 'pmg_closed_process_admin', member: 'owners' },
      { role: 'pmg_open_data_consumer', member: 'analysts_login' },
    ]);
  });

  it('custom personas: rights, open-source extras, and managing other personas', () => {
    const s = compilePolicy({
      ...base,
      personas: { steward: { scope: 'app', rights: ['select', 'references'], openSourceRights: ['view-definition'], manages: ['data_consumer'] } },
      grants: [{ persona: 'steward', to: ['owners'], apps: ['open', 'closed'] }],
    });
    expect(rights(s, 'pmg_open_steward', 'op')).toEqual(['references', 'select', 'view-definition']);
    expect(rights(s, 'pmg_closed_steward', 'cl')).toEqual(['references', 'select']);
    expect(s.permissions.filter((p) => p.grantee === 'pmg_open_steward' && p.privilege === 'manage-membership')).toHaveLength(1);
  });

  it('is deterministic regardless of key order in the policy', () => {
    const reordered: Policy = {
      ...base,
      apps: { closed: base.apps.closed, open: base.apps.open },
      principals: { analysts: base.principals.analysts, owners: base.principals.owners, admins: base.principals.admins },
    };
    expect(JSON.stringify(compilePolicy(reordered))).toBe(JSON.stringify(state));
  });

  it('honours the prefix option', () => {
    const s = compilePolicy({ ...base, options: { prefix: 'acme_' } });
    expect(s.roles.every((r) => r.name.startsWith('acme_'))).toBe(true);
    expect(s.prefix).toBe('acme_');
  });
});
