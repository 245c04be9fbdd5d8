/**
 * Every apply, rotation, app removal (prune) and fixed-role drift, run through the connection (driver
 * faked by the catalog simulator) as the provisioning login seed 000 describes, per product and mode,
 * and once as sysadmin / server admin. The simulator fails a statement the principal may not run with
 * the server's error and rolls the transaction back (test/fixtures/sqlserver/permissions.ts).
 */
import { describe, expect, it } from 'vitest';
import { connectSqlServer } from '../../provider/engines/sqlserver';
import { applyRendered, planLive } from '../../provider/pipeline/plan';
import { Policy } from '../../provider/model/types';
import { CatalogSimulator } from '../fixtures/sqlserver/catalog-simulator';
import { FakeServer, fakeMssql } from '../fixtures/sqlserver/fake-mssql';
import { SEED_SYSTEM_MANAGED, SEED_SYSTEM_MANAGED_ENTRA, SYSADMIN, SessionPrincipal, seedSingleAccount } from '../fixtures/sqlserver/permissions';
import { SINGLE_ACCOUNT_YAML, SYSTEM_MANAGED_YAML, policyFromYaml } from '../fixtures/sqlserver/policies';

interface Case {
  name: string;
  engine: 'sqlserver' | 'azure-sql';
  database: string;
  yaml: string;
  url: string;
  principal: SessionPrincipal;
  /** The app removed in the prune scenario, and the persona role it leaves behind. */
  removeApp: string;
  removedRole: string;
}

/** system_managed on Azure SQL: Entra principals instead of the Windows group. */
const SYSTEM_MANAGED_AZURE_YAML = SYSTEM_MANAGED_YAML.replace('engine: sqlserver', 'engine: azure-sql')
  .replace("platform-admins: { kind: windows-group, name: 'CONTOSO\\PM Admins' }", 'platform-admins: { kind: entra-group, objectId: 2b6f1c3e-8d2a-4f0b-9a51-0c7e4d1f2a01 }')
  .replace('  reporting:       { kind: sql-login, name: reporting_svc }\n', '')
  .replace('to: [finance-analysts, reporting]', 'to: [finance-analysts]');
const SINGLE_ACCOUNT_SQLSERVER_YAML = SINGLE_ACCOUNT_YAML.replace('engine: azure-sql', 'engine: sqlserver');

const SM_DB = 'AutomationSuite_ProcessMining_Warehouse';
const CASES: Case[] = [
  {
    name: 'sqlserver system_managed',
    engine: 'sqlserver',
    database: SM_DB,
    yaml: SYSTEM_MANAGED_YAML,
    url: `mssql://pm:pw@sql01/${SM_DB}`,
    principal: SEED_SYSTEM_MANAGED,
    removeApp: '  o2c: { schema: order_to_cash, source: open }\n',
    removedRole: 'pmg_o2c_data_consumer',
  },
  {
    name: 'sqlserver single_account',
    engine: 'sqlserver',
    database: 'pm_warehouse',
    yaml: SINGLE_ACCOUNT_SQLSERVER_YAML,
    url: 'mssql://pm:pw@sql01/pm_warehouse',
    principal: seedSingleAccount(['p2p', 'o2c'], { loginManager: true }),
    removeApp: '  p2p: { schema: p2p, source: open }\n',
    removedRole: 'pmg_p2p_data_consumer',
  },
  {
    name: 'azure-sql system_managed',
    engine: 'azure-sql',
    database: SM_DB,
    yaml: SYSTEM_MANAGED_AZURE_YAML,
    url: `mssql://pm:pw@srv.database.windows.net/${SM_DB}`,
    principal: SEED_SYSTEM_MANAGED_ENTRA,
    removeApp: '  o2c: { schema: order_to_cash, source: open }\n',
    removedRole: 'pmg_o2c_data_consumer',
  },
  {
    name: 'azure-sql single_account, contained logins',
    engine: 'azure-sql',
    database: 'pm_warehouse',
    yaml: SINGLE_ACCOUNT_YAML,
    url: 'mssql://pm:pw@srv.database.windows.net/pm_warehouse?generatedLogins=contained',
    principal: seedSingleAccount(['p2p', 'o2c'], { loginManager: false, entra: true }),
    removeApp: '  p2p: { schema: p2p, source: open }\n',
    removedRole: 'pmg_p2p_data_consumer',
  },
];

function fakeServer(c: Case, principal: SessionPrincipal): { server: FakeServer; warehouse: CatalogSimulator; master: CatalogSimulator } {
  const clockStart = Date.now();
  if (c.engine === 'sqlserver') {
    const warehouse = new CatalogSimulator('sqlserver', { clockStart, principal });
    warehouse.logins.push({ name: 'reporting_svc', principal_id: 290, sid: '0x0000000000000000000000000000ABCD', type: 'S', is_disabled: 0, password_last_set: null });
    return { warehouse, master: warehouse, server: { databases: { [c.database]: warehouse }, log: [], lockResult: 0 } };
  }
  const master = new CatalogSimulator('azure-sql', { clockStart, principal });
  const warehouse = new CatalogSimulator('azure-sql', { serverLogins: () => master.logins, clockStart, principal });
  return { warehouse, master, server: { databases: { master, [c.database]: warehouse }, log: [], lockResult: 0 } };
}

async function scenario(c: Case, principal: SessionPrincipal) {
  const env = fakeServer(c, principal);
  const conn = await connectSqlServer({ url: c.url, engine: c.engine }, { mssql: fakeMssql(env.server) });
  const policy: Policy = policyFromYaml(`${c.engine}.yaml`, c.yaml);
  const apply = async (p: Policy, options = {}) => {
    const rendered = await planLive(conn, p, options);
    await applyRendered(conn, rendered);
    return (await planLive(conn, p)).plan;
  };
  return { ...env, conn, policy, apply };
}

for (const principalOf of [(c: Case) => c.principal, () => SYSADMIN]) {
  for (const c of CASES) {
    const principal = principalOf(c);
    describe(`${c.name}, as ${principal.label}`, () => {
      it('applies the policy and converges to zero changes', async () => {
        const s = await scenario(c, principal);
        expect((await s.apply(s.policy)).changes).toEqual([]);
        await s.conn.close();
      });

      it('rotates every generated password', async () => {
        const s = await scenario(c, principal);
        await s.apply(s.policy);
        const logins = (await planLive(s.conn, s.policy)).desired.logins.map((l) => l.name);
        const before = new Map(logins.map((l) => [l, (c.engine === 'azure-sql' && !c.url.includes('contained') ? s.master : s.warehouse).passwords.get(l)]));
        expect((await s.apply(s.policy, { rotate: logins })).changes).toEqual([]);
        for (const l of logins) expect((c.engine === 'azure-sql' && !c.url.includes('contained') ? s.master : s.warehouse).passwords.get(l)).not.toBe(before.get(l));
        await s.conn.close();
      });

      it('removes an app (prune): its roles go, its schema and owner role stay, and it converges', async () => {
        const s = await scenario(c, principal);
        await s.apply(s.policy);
        const smaller = policyFromYaml('smaller.yaml', c.yaml.replace(c.removeApp, ''));
        expect((await s.apply(smaller)).changes).toEqual([]);
        expect(s.warehouse.principals.map((p) => p.name)).not.toContain(c.removedRole);
        await s.conn.close();
      });
    });
  }
}

describe('fixed database roles: drift is reported, and changed only by a login that may change it', () => {
  const c = CASES[0];
  const addToDataReader = (sim: CatalogSimulator) => {
    const user = sim.principals.find((p) => p.name === 'pmg_p2p_app')!;
    const reader = sim.principals.find((p) => p.name === 'db_datareader')!;
    sim.roleMembers.push({ role_principal_id: reader.principal_id, member_principal_id: user.principal_id });
    return reader.principal_id;
  };

  it('as the seed login (not db_owner): the plan leaves the membership and says so; later applies still work', async () => {
    const s = await scenario(c, c.principal);
    await s.apply(s.policy);
    const reader = addToDataReader(s.warehouse);
    const plan = await planLive(s.conn, s.policy);
    expect(plan.plan.changes).toEqual([]);
    expect(plan.plan.warnings.join('\n')).toMatch(/pmg_p2p_app is a member of the fixed database role db_datareader.*ALTER ROLE \[db_datareader\] DROP MEMBER \[pmg_p2p_app\];/);
    expect(s.warehouse.roleMembers.some((m) => m.role_principal_id === reader)).toBe(true);
    await s.conn.close();
  });

  it('as sysadmin: the membership is dropped', async () => {
    const s = await scenario(c, SYSADMIN);
    await s.apply(s.policy);
    const reader = addToDataReader(s.warehouse);
    expect((await s.apply(s.policy)).changes).toEqual([]);
    expect(s.warehouse.roleMembers.some((m) => m.role_principal_id === reader)).toBe(false);
    await s.conn.close();
  });
});

describe('Azure SQL: the warehouse authentication cache after logins change in master', () => {
  const c = CASES[2];
  for (const [principal, flushes] of [
    [c.principal, undefined],
    [SYSADMIN, 1],
  ] as const) {
    it(`runs DBCC FLUSHAUTHCACHE only when the session holds KILL DATABASE CONNECTION (${principal.label}: ${flushes ?? 0})`, async () => {
      const s = await scenario(c, principal);
      await s.apply(s.policy);
      const flush = s.server.log.filter((l) => l.sql?.includes('DBCC FLUSHAUTHCACHE'));
      expect(flush).toHaveLength(1);
      expect(flush[0]).toMatchObject({ database: c.database, inTransaction: false });
      expect(s.server.authCacheFlushes).toBe(flushes);
      await s.conn.close();
    });
  }
});
