/** The adoption extension: apps.<app>.roles, apps.<app>.personas and options.builtinPersonas. */
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import { Policy } from '../../provider/model/types';
import { realizePostgres } from '../../provider/engines/postgres/realize';

const adopted: Policy = {
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'postgres', database: 'wh' },
  security: { mode: 'system_managed' },
  options: { enforcement: 'additive', builtinPersonas: false },
  principals: { alice: { kind: 'sql-login' }, analysts: { kind: 'database-role' } },
  personas: {
    p2p_readers: { scope: 'app', rights: ['select'] },
    p2p_editors: { scope: 'app', rights: ['select', 'insert', 'update', 'delete'] },
    o2c_readers: { scope: 'app', rights: ['select'] },
  },
  apps: {
    p2p: { schema: 'p2p', source: 'closed', personas: ['p2p_editors', 'p2p_readers'], roles: { owner: 'etl', app: 'etl', p2p_readers: 'p2p_readers', p2p_editors: 'p2p_editors' } },
    o2c: { schema: 'o2c', source: 'closed', personas: ['o2c_readers'], roles: { owner: 'o2c_owner', o2c_readers: 'O2C Readers' } },
  },
  grants: [
    { persona: 'p2p_readers', to: ['analysts'], apps: ['p2p'] },
    { persona: 'p2p_editors', to: ['alice'], apps: ['p2p'] },
    { persona: 'o2c_readers', to: ['analysts'], apps: ['*'] },
  ],
};

describe('compile with adopted roles', () => {
  const state = compilePolicy(adopted);

  it('uses the adopted names, marks them adopted, and generates roles only for the personas each app has (an owner that is the app login is that login)', () => {
    expect(state.roles).toEqual([
      { name: 'O2C Readers', purpose: 'persona', app: 'o2c', persona: 'o2c_readers', adopted: true },
      { name: 'o2c_owner', purpose: 'schema-owner', app: 'o2c', adopted: true },
      { name: 'p2p_editors', purpose: 'persona', app: 'p2p', persona: 'p2p_editors', adopted: true },
      { name: 'p2p_readers', purpose: 'persona', app: 'p2p', persona: 'p2p_readers', adopted: true },
    ]);
    expect(state.schemas).toEqual([
      { name: 'o2c', owner: 'o2c_owner', app: 'o2c' },
      { name: 'p2p', owner: 'etl', app: 'p2p' },
    ]);
  });

  it('adopts the app login where named and generates it elsewhere; a login that owns its schema gets no grants', () => {
    expect(state.logins).toEqual([
      { name: 'etl', purpose: 'app-login', app: 'p2p', password: 'generated', adopted: true },
      { name: 'pmg_o2c_app', purpose: 'app-login', app: 'o2c', password: 'generated' },
    ]);
    expect(state.permissions.filter((p) => p.grantee === 'etl')).toEqual([]);
    expect(state.permissions.filter((p) => p.grantee === 'pmg_o2c_app').length).toBe(9);
  });

  it('"*" reaches only the apps that have the persona', () => {
    expect(state.memberships).toEqual([
      { role: 'O2C Readers', member: 'analysts' },
      { role: 'p2p_editors', member: 'alice' },
      { role: 'p2p_readers', member: 'analysts' },
    ]);
  });

  it('without the built-in personas there is no app_admin, process_admin or data_consumer role', () => {
    expect(state.roles.some((r) => r.name.startsWith('pmg_'))).toBe(false);
    const withBuiltins = compilePolicy({ ...adopted, options: { enforcement: 'additive' } });
    expect(withBuiltins.roles.map((r) => r.name)).toContain('pmg_app_admin');
    // apps.<app>.personas still limits the app personas per app.
    expect(withBuiltins.roles.map((r) => r.name)).not.toContain('pmg_p2p_data_consumer');
  });

  it('PostgreSQL: adopted roles get no CONNECT and no default privileges for themselves; the owner-login no membership in itself', () => {
    const pg = realizePostgres(state);
    const connect = pg.permissions.filter((p) => p.on.type === 'database').map((p) => p.grantee);
    expect(connect).toEqual(['pmg_o2c_app']);
    expect(pg.memberships.filter((m) => m.member === 'etl')).toEqual([]);
    expect(pg.permissions.filter((p) => p.grantee === 'p2p_readers').map((p) => `${p.privilege} ${p.on.type === 'engine' ? `${p.on.kind}${p.on.forRole ? ` for ${p.on.forRole}` : ''}` : p.on.type}`)).toEqual([
      'SELECT default-tables for etl',
      'USAGE schema',
      'SELECT tables',
    ]);
  });
});
