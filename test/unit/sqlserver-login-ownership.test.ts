/**
 * Which warehouse a generated login belongs to is its SID (CREATE LOGIN ... SID = ..., derived from the
 * warehouse database and the login name: provider/engines/sqlserver/sid.ts), not its default database;
 * and rotation unlocks a SQL Server login the password policy locked out.
 */
import { describe, expect, it } from 'vitest';
import { createSqlServerDialect, generateSqlServerPassword, generatedLoginSid, inspectSqlServer, isGeneratedLoginSid } from '../../provider/engines/sqlserver';
import { compilePolicy } from '../../provider/model/compile';
import { emptyState } from '../../provider/model/state';
import { ownedElsewhere, diffState } from '../../provider/plan/diff';
import { CatalogSimulator } from '../fixtures/sqlserver/catalog-simulator';
import { SINGLE_ACCOUNT_YAML, SYSTEM_MANAGED_YAML, policyFromYaml } from '../fixtures/sqlserver/policies';

function applied(engine: 'sqlserver' | 'azure-sql', yaml: string) {
  const dialect = createSqlServerDialect({ engine });
  const desired = dialect.realize(compilePolicy(policyFromYaml(`${engine}.yaml`, yaml)));
  const sim = new CatalogSimulator(engine);
  sim.logins.push({ name: 'reporting_svc', principal_id: 290, sid: '0x0000000000000000000000000000ABCD', type: 'S', is_disabled: 0, password_last_set: null });
  const plan = diffState(desired, { ...emptyState(desired.engine, desired.database), managed: [] });
  const secrets = new Map(desired.logins.map((l) => [l.name, generateSqlServerPassword(l.name)]));
  sim.apply(plan.changes.flatMap((c) => dialect.render([c], desired)), secrets);
  const inspect = () => inspectSqlServer(sim.rows(), { engine, database: desired.database, prefix: desired.prefix, desired });
  return { dialect, desired, sim, inspect };
}

describe('generated login SIDs', () => {
  it('have the documented structure per product and depend on database and name, not their case', () => {
    expect(generatedLoginSid('sqlserver', 'wh', 'pmg_a_app')).toMatch(/^0x[0-9A-F]{32}$/);
    expect(generatedLoginSid('azure-sql', 'wh', 'pmg_a_app')).toMatch(/^0x01060000000000640000000000000000[0-9A-F]{32}$/);
    expect(generatedLoginSid('sqlserver', 'WH', 'PMG_A_APP')).toBe(generatedLoginSid('sqlserver', 'wh', 'pmg_a_app'));
    expect(generatedLoginSid('sqlserver', 'wh2', 'pmg_a_app')).not.toBe(generatedLoginSid('sqlserver', 'wh', 'pmg_a_app'));
    expect(isGeneratedLoginSid('sqlserver', 'wh', 'pmg_a_app', generatedLoginSid('sqlserver', 'wh', 'pmg_a_app').toLowerCase())).toBe(true);
  });

  it('a DBA changing the default database of a generated login does not make it another warehouse\'s', () => {
    const { desired, sim, inspect } = applied('sqlserver', SYSTEM_MANAGED_YAML);
    sim.logins.find((l) => l.name === 'pmg_p2p_app')!.default_database_name = 'scratch';
    const actual = inspect();
    expect(actual.foreign).toBeUndefined();
    expect(actual.managed).toContain('pmg_p2p_app');
    expect(diffState(desired, actual).changes).toEqual([]);
  });

  it('a hand-made login with the generated name and this default database is never taken over', () => {
    const { desired, sim, inspect } = applied('sqlserver', SYSTEM_MANAGED_YAML);
    // Someone drops pmgrants' login and user and makes a login of the same name by hand.
    sim.logins = sim.logins.filter((l) => l.name !== 'pmg_p2p_app');
    sim.principals = sim.principals.filter((p) => p.name !== 'pmg_p2p_app');
    sim.logins.push({ name: 'pmg_p2p_app', principal_id: 999, sid: '0x0000000000000000000000000000BEEF', type: 'S', is_disabled: 0, password_last_set: null, default_database_name: desired.database });
    const actual = inspect();
    expect(actual.foreign).toEqual({ pmg_p2p_app: '' });
    expect(ownedElsewhere(desired, actual)).toMatch(/login "pmg_p2p_app" exists on this server but no managed user/);
  });

  it('a login made before SIDs were derived is still this warehouse\'s while a managed user maps to it', () => {
    const { desired, sim, inspect } = applied('sqlserver', SYSTEM_MANAGED_YAML);
    const login = sim.logins.find((l) => l.name === 'pmg_p2p_app')!;
    const user = sim.principals.find((p) => p.name === 'pmg_p2p_app')!;
    login.sid = user.sid = '0x000000000000000000000000000000AA';
    const actual = inspect();
    expect(actual.managed).toContain('pmg_p2p_app');
    expect(diffState(desired, actual).changes).toEqual([]);
  });

  it('Azure SQL: a login a failed apply left in master (no user yet) is recognised, and the next apply creates its user, not the login', () => {
    const { desired, sim, inspect, dialect } = applied('azure-sql', SINGLE_ACCOUNT_YAML);
    sim.principals = sim.principals.filter((p) => p.name !== 'pmg_shared');
    sim.properties = sim.properties.filter((e) => sim.principals.some((p) => p.principal_id === e.major_id));
    const actual = inspect();
    expect(actual.foreign).toBeUndefined();
    // Managed by its SID alone (no user maps to it): rotated by age and dropped with its app like any other.
    expect(actual.managed).toContain('pmg_shared');
    const plan = diffState(desired, actual);
    const kinds = plan.changes.map((c) => c.kind);
    expect(kinds).toContain('create-user');
    expect(kinds).not.toContain('create-login');
    sim.apply(plan.changes.flatMap((c) => dialect.render([c], desired)), new Map());
    expect(diffState(desired, inspect()).changes).toEqual([]);
  });
});

describe('rotation unlocks (SQL Server)', () => {
  it('ALTER LOGIN ... WITH PASSWORD ... UNLOCK clears a lockout; Azure SQL renders no UNLOCK', () => {
    const { dialect, desired, sim } = applied('sqlserver', SYSTEM_MANAGED_YAML);
    sim.locked = ['pmg_p2p_app'];
    const statements = dialect.render([{ kind: 'rotate-password', login: 'pmg_p2p_app', reason: 'forced' }], desired);
    expect(statements[0].display).toBe("ALTER LOGIN [pmg_p2p_app] WITH PASSWORD = '********' UNLOCK;");
    sim.apply(statements, new Map([['pmg_p2p_app', generateSqlServerPassword('pmg_p2p_app')]]));
    expect(sim.locked).toEqual([]);
    const azure = createSqlServerDialect({ engine: 'azure-sql' }).render([{ kind: 'rotate-password', login: 'pmg_shared', reason: 'forced' }], desired);
    expect(azure[0].display).toBe("ALTER LOGIN [pmg_shared] WITH PASSWORD = '********';");
  });
});
