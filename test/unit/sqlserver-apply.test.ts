import { describe, expect, it } from 'vitest';
import { EngineConnection } from '../../provider/engines/engine';
import { PmgrantsError, PartialApplyError } from '../../provider/model/errors';
import { connectSqlServer, meetsPasswordPolicy } from '../../provider/engines/sqlserver';
import { applyRendered, planLive } from '../../provider/pipeline/plan';
import { Policy } from '../../provider/model/types';
import { CatalogSimulator } from '../fixtures/sqlserver/catalog-simulator';
import { FakeServer, fakeMssql } from '../fixtures/sqlserver/fake-mssql';
import { SINGLE_ACCOUNT_YAML, SYSTEM_MANAGED_YAML, policyFromYaml } from '../fixtures/sqlserver/policies';

const seedReporting = (sim: CatalogSimulator) =>
  sim.logins.push({ name: 'reporting_svc', principal_id: 290, sid: '0x0000000000000000000000000000ABCD', type: 'S', is_disabled: 0, password_last_set: null });

function sqlServer(): { server: FakeServer; sim: CatalogSimulator } {
  const sim = new CatalogSimulator('sqlserver', { clockStart: Date.now() });
  seedReporting(sim);
  return { sim, server: { databases: { AutomationSuite_ProcessMining_Warehouse: sim }, log: [], lockResult: 0 } };
}

function azure(): { server: FakeServer; master: CatalogSimulator; warehouse: CatalogSimulator } {
  const master = new CatalogSimulator('azure-sql', { clockStart: Date.now() });
  const warehouse = new CatalogSimulator('azure-sql', { serverLogins: () => master.logins, clockStart: Date.now() });
  return { master, warehouse, server: { databases: { master, pm_warehouse: warehouse }, log: [], lockResult: 0 } };
}

async function applyPolicy(conn: EngineConnection, policy: Policy) {
  const rendered = await planLive(conn, policy);
  const result = await applyRendered(conn, rendered);
  const again = await planLive(conn, policy);
  return { rendered, result, again };
}

describe('connectSqlServer on SQL Server (driver faked by the catalog simulator)', () => {
  const policy = policyFromYaml('sm.yaml', SYSTEM_MANAGED_YAML);

  it('inspects in one round trip, applies in one locked transaction, and converges', async () => {
    const { server, sim } = sqlServer();
    const conn = await connectSqlServer({ url: 'mssql://pm:pw@sql01/AutomationSuite_ProcessMining_Warehouse', engine: 'sqlserver' }, { mssql: fakeMssql(server) });
    const desired = (await planLive(conn, policy)).desired;
    const before = conn.roundTrips();
    await conn.inspect(desired);
    expect(conn.roundTrips() - before).toBe(1);

    server.log.length = 0;
    const { rendered, result, again } = await applyPolicy(conn, policy);
    expect(again.plan.changes).toEqual([]);
    expect(result.statements).toBe(rendered.statements.flat().length);

    const applyLog = server.log.slice(server.log.findIndex((l) => l.kind === 'begin'), server.log.findIndex((l) => l.kind === 'commit') + 1);
    expect(applyLog[0].kind).toBe('begin');
    expect(applyLog.filter((l) => l.kind === 'begin')).toHaveLength(1);
    expect(applyLog.filter((l) => l.kind === 'commit')).toHaveLength(1);
    expect(applyLog[1].sql).toMatch(/^SET XACT_ABORT ON;\nDECLARE @result int;\nEXEC @result = sys.sp_getapplock @Resource = N'pmgrants:AutomationSuite_ProcessMining_Warehouse', @LockMode = N'Exclusive', @LockOwner = N'Transaction'/);
    expect(applyLog.filter((l) => l.kind === 'query' || l.kind === 'batch').every((l) => l.inTransaction)).toBe(true);
    expect(result.roundTrips).toBe(applyLog.length);
    expect(result.roundTrips).toBeLessThan(12);

    // Passwords: generated, bound as parameters, identical to what the server stored, never in SQL text.
    expect([...result.secrets.keys()].sort()).toEqual(['pmg_o2c_app', 'pmg_p2p_app']);
    for (const [login, password] of result.secrets) {
      expect(meetsPasswordPolicy(password, login)).toBe(true);
      expect(sim.passwords.get(login)).toBe(password);
      expect(server.log.some((l) => l.sql?.includes(password))).toBe(false);
      expect(server.log.some((l) => l.inputs?.password === password && l.kind === 'query')).toBe(true);
    }
    await conn.close();
  });

  it('write-ahead delivery: every generated password is delivered, and awaited, before any round trip that carries one', async () => {
    const { server } = sqlServer();
    const conn = await connectSqlServer({ url: 'mssql://pm:pw@sql01/AutomationSuite_ProcessMining_Warehouse', engine: 'sqlserver' }, { mssql: fakeMssql(server) });
    const rendered = await planLive(conn, policy);
    const delivered: string[] = [];
    const carrying = () => server.log.filter((l) => Object.values(l.inputs ?? {}).some((v) => delivered.includes(v)));
    let before = -1;
    const result = await applyRendered(conn, rendered, undefined, {
      deliver: async (passwords) => {
        delivered.push(...passwords.map((p) => p.password));
        before = carrying().length;
        await new Promise((resolve) => setTimeout(resolve, 20)); // a slow destination: nothing goes out meanwhile
        expect(carrying()).toEqual([]);
      },
    });
    expect(before).toBe(0);
    expect(delivered.sort()).toEqual([...result.secrets.values()].sort());
    expect(carrying().length).toBeGreaterThan(0);
    await conn.close();
  });

  it('rolls everything back and says why in one sentence when a statement fails', async () => {
    // The policy names an existing SQL login, reporting_svc, that this server does not have.
    const sim = new CatalogSimulator('sqlserver');
    const server: FakeServer = { databases: { AutomationSuite_ProcessMining_Warehouse: sim }, log: [], lockResult: 0 };
    const conn = await connectSqlServer({ url: 'mssql://pm:pw@sql01/AutomationSuite_ProcessMining_Warehouse', engine: 'sqlserver' }, { mssql: fakeMssql(server) });
    const before = sim.snapshot();
    const rendered = await planLive(conn, policy);
    const err = await applyRendered(conn, rendered).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PmgrantsError);
    expect((err as Error).message).toMatch(/^reporting_svc is not a valid login .*\[SQL Server error 15007\] \(while running: CREATE USER \[reporting_svc\] FOR LOGIN \[reporting_svc\];\)$/);
    expect((err as Error).message).not.toMatch(/\n/);
    expect(sim.snapshot()).toBe(before);
    expect(server.log.filter((l) => l.kind === 'rollback')).toHaveLength(1);
  });

  it('refuses to apply when another apply holds the lock', async () => {
    const { server, sim } = sqlServer();
    server.lockResult = -1;
    const conn = await connectSqlServer({ url: 'mssql://pm:pw@sql01/AutomationSuite_ProcessMining_Warehouse?lockTimeoutMs=0', engine: 'sqlserver' }, { mssql: fakeMssql(server) });
    const before = sim.snapshot();
    await expect(applyRendered(conn, await planLive(conn, policy))).rejects.toThrow(/another pmgrants apply holds the lock.*nothing was applied/);
    expect(sim.snapshot()).toBe(before);
    expect(server.log.some((l) => l.sql?.includes('@LockTimeout = 0;'))).toBe(true);
  });

  it('refuses a policy for another database than the connection', async () => {
    const { server } = sqlServer();
    const conn = await connectSqlServer({ url: 'mssql://pm:pw@sql01/AutomationSuite_ProcessMining_Warehouse', engine: 'sqlserver' }, { mssql: fakeMssql(server) });
    const other = policyFromYaml('o.yaml', SYSTEM_MANAGED_YAML.replace('database: AutomationSuite_ProcessMining_Warehouse', 'database: other_db'));
    await expect(planLive(conn, other)).rejects.toThrow(/connection is for database AutomationSuite_ProcessMining_Warehouse but the policy governs other_db/);
  });

  it('turns a failed sign-in into one sentence at connect time', async () => {
    const { server } = sqlServer();
    server.failConnect = new Set(['AutomationSuite_ProcessMining_Warehouse']);
    await expect(connectSqlServer({ url: 'mssql://pm:pw@sql01/AutomationSuite_ProcessMining_Warehouse', engine: 'sqlserver' }, { mssql: fakeMssql(server) })).rejects.toThrow(
      /^cannot sign in to SQL Server at sql01: Login failed/,
    );
  });

  it('runs doctor from the preflight query results', async () => {
    const { server } = sqlServer();
    server.preflight = {
      server: {
        engine_edition: 2,
        integrated_security_only: 1,
        login_name: 'pm',
        user_name: 'pm',
        database_name: 'AutomationSuite_ProcessMining_Warehouse',
        is_db_owner: 0,
        is_db_securityadmin: 1,
        is_db_accessadmin: 1,
        can_create_schema: 1,
        can_alter_any_login: 1,
        has_master_access: 1,
      },
      schemas: [],
    };
    const conn = await connectSqlServer({ url: 'mssql://pm:pw@sql01/AutomationSuite_ProcessMining_Warehouse', engine: 'sqlserver' }, { mssql: fakeMssql(server) });
    const desired = (await planLive(conn, policy)).desired;
    const checks = await conn.preflight(desired);
    expect(checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['sql-authentication']);
  });
});

describe('connectSqlServer on Azure SQL', () => {
  const policy = policyFromYaml('sa.yaml', SINGLE_ACCOUNT_YAML);

  it('creates logins in master over a second connection, users in the warehouse, and converges', async () => {
    const { server, master, warehouse } = azure();
    const conn = await connectSqlServer({ url: 'mssql://pm:pw@srv.database.windows.net/pm_warehouse', engine: 'azure-sql' }, { mssql: fakeMssql(server) });
    const { result, again } = await applyPolicy(conn, policy);
    expect(again.plan.changes).toEqual([]);
    expect(master.logins.map((l) => l.name)).toEqual(['pmg_shared']);
    expect(warehouse.logins).toEqual([]);
    expect(warehouse.principals.some((p) => p.name === 'pmg_shared')).toBe(true);
    const masterSql = server.log.filter((l) => l.database === 'master' && (l.kind === 'query' || l.kind === 'batch')).map((l) => l.sql ?? '');
    expect(masterSql.some((s) => s.includes("N'CREATE LOGIN '"))).toBe(true);
    expect(server.log.some((l) => /\bUSE\b/.test(l.sql ?? ''))).toBe(false);
    expect(master.passwords.get('pmg_shared')).toBe(result.secrets.get('pmg_shared'));
  });

  it('reports logins already committed in master, with their passwords, when the warehouse transaction fails', async () => {
    const { server, master, warehouse } = azure();
    // A role already named like the Entra group the policy grants: CREATE USER fails with 15023.
    warehouse.principals.push({ principal_id: 97, name: 'analysts', type: 'R', authentication_type: null, sid: null, is_fixed_role: false, entra_object_id: null, modify_date: null, pmgrants_marker: null });
    const conn = await connectSqlServer({ url: 'mssql://pm:pw@srv.database.windows.net/pm_warehouse', engine: 'azure-sql' }, { mssql: fakeMssql(server) });
    const err = await applyRendered(conn, await planLive(conn, policy)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartialApplyError);
    expect((err as PartialApplyError).message).toMatch(/already exists.*pmg_shared were already created or changed in master/);
    expect((err as PartialApplyError).secrets.get('pmg_shared')).toBe(master.passwords.get('pmg_shared'));
    expect(warehouse.principals.some((p) => p.name.startsWith('pmg_'))).toBe(false);
    expect(master.logins.map((l) => l.name)).toEqual(['pmg_shared']);
  });

  it('a lock timeout in the warehouse after master committed is not tried again: it says the warehouse was rolled back and hands back the passwords master took', async () => {
    const { server, master, warehouse } = azure();
    server.conflicts = { number: 1222, times: 5, database: 'pm_warehouse' };
    const conn = await connectSqlServer({ url: 'mssql://pm:pw@srv.database.windows.net/pm_warehouse', engine: 'azure-sql' }, { mssql: fakeMssql(server) });
    const notes: string[] = [];
    const err = await applyRendered(conn, await planLive(conn, policy), undefined, { patience: { onRetry: (n) => notes.push(n) } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartialApplyError);
    expect((err as PartialApplyError).message).toMatch(/^a lock was not granted within 3 s; the warehouse transaction was rolled back\. The logins pmg_shared were already created or changed in master/);
    expect((err as PartialApplyError).message).not.toMatch(/nothing was applied/);
    expect((err as PartialApplyError).secrets.get('pmg_shared')).toBe(master.passwords.get('pmg_shared'));
    expect(notes).toEqual([]);
    expect(server.conflicts.times).toBe(4);
    expect(warehouse.principals.some((p) => p.name.startsWith('pmg_'))).toBe(false);
  });

  it('doctor plans first: Entra principals to create over a SQL-authenticated connection fail the entra-connection check', async () => {
    const { server } = azure();
    const row = { engine_edition: 5, integrated_security_only: null, login_name: 'pm', user_name: 'pm', database_name: 'pm_warehouse', is_db_owner: 0, is_db_securityadmin: 1, is_db_accessadmin: 1 };
    server.preflight = { server: { ...row, can_create_schema: 1, can_alter_any_role: 1, can_alter_any_user: 1, can_alter_any_login: null, has_master_access: null }, schemas: [] };
    const conn = await connectSqlServer({ url: 'mssql://pm:pw@srv.database.windows.net/pm_warehouse?generatedLogins=contained', engine: 'azure-sql' }, { mssql: fakeMssql(server) });
    const checks = await conn.preflight((await planLive(conn, policy)).desired);
    expect(checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['entra-connection']);
    await conn.close();
  });

  it('with contained logins, everything is one warehouse transaction and master is never opened', async () => {
    const { server, master } = azure();
    const conn = await connectSqlServer({ url: 'mssql://pm:pw@srv.database.windows.net/pm_warehouse?generatedLogins=contained', engine: 'azure-sql' }, { mssql: fakeMssql(server) });
    const { again } = await applyPolicy(conn, policy);
    expect(again.plan.changes).toEqual([]);
    expect(master.logins).toEqual([]);
    expect(server.log.some((l) => l.database === 'master')).toBe(false);
  });
});
