import { describe, expect, it } from 'vitest';
import { PreflightFacts, PreflightServerRow, azureSqlDialect, evaluatePreflight, sqlServerDialect } from '../../provider/engines/sqlserver';
import { compilePolicy } from '../../provider/model/compile';
import { SINGLE_ACCOUNT_YAML, SYSTEM_MANAGED_YAML, policyFromYaml } from '../fixtures/sqlserver/policies';

const systemManaged = sqlServerDialect.realize(compilePolicy(policyFromYaml('sm.yaml', SYSTEM_MANAGED_YAML)));
const singleAccount = azureSqlDialect.realize(compilePolicy(policyFromYaml('sa.yaml', SINGLE_ACCOUNT_YAML)));

/** A SQL Server row where everything the seed asks for is in place. */
const goodServer: PreflightServerRow = {
  engine_edition: 3,
  integrated_security_only: 0,
  login_name: 'pm_provisioner',
  user_name: 'pm_provisioner',
  database_name: 'AutomationSuite_ProcessMining_Warehouse',
  is_db_owner: 0,
  is_db_securityadmin: 1,
  is_db_accessadmin: 1,
  can_create_schema: 1,
  can_alter_any_role: 1,
  can_alter_any_user: 1,
  can_alter_any_login: 1,
  has_master_access: 1,
};

const byName = (checks: ReturnType<typeof evaluatePreflight>) => Object.fromEntries(checks.map((c) => [c.name, c]));

describe('evaluatePreflight: SQL Server, system_managed (seed 000)', () => {
  it('passes every check when the provisioning login has what the seed lists', () => {
    const facts: PreflightFacts = { server: goodServer, schemas: [], serverRoleMembers: [{ role_name: 'securityadmin', member_name: 'pm_provisioner' }] };
    const checks = evaluatePreflight(facts, systemManaged, { engine: 'sqlserver', generatedLogins: 'server' });
    expect(checks.map((c) => c.name)).toEqual([
      'engine',
      'sql-authentication',
      'login-management',
      'master-access',
      'alter-any-role',
      'alter-any-user',
      'grant-as-owner',
      'create-schema',
      'generated-logins-server-roles',
    ]);
    expect(checks.every((c) => c.ok)).toBe(true);
    expect(checks.every((c) => c.fix === undefined)).toBe(true);
  });

  it('fails each missing right with the statement that fixes it', () => {
    const facts: PreflightFacts = {
      server: {
        ...goodServer,
        login_name: 'pm]prov',
        user_name: 'pm]prov',
        integrated_security_only: 1,
        can_alter_any_login: 0,
        has_master_access: 0,
        is_db_securityadmin: 0,
        is_db_accessadmin: 0,
        can_create_schema: 0,
        can_alter_any_role: 0,
        can_alter_any_user: 0,
      },
      schemas: [],
      serverRoleMembers: [{ role_name: 'sysadmin', member_name: 'pmg_p2p_app' }],
    };
    const c = byName(evaluatePreflight(facts, systemManaged, { engine: 'sqlserver', generatedLogins: 'server' }));
    expect(c['sql-authentication'].ok).toBe(false);
    expect(c['sql-authentication'].fix).toContain("N'LoginMode', REG_DWORD, 2");
    expect(c['login-management'].fix).toBe('USE [master]; GRANT ALTER ANY LOGIN TO [pm]]prov];');
    expect(c['master-access'].fix).toBe('USE [master]; CREATE USER [pm]]prov] FOR LOGIN [pm]]prov];');
    expect(c['alter-any-role'].fix).toBe('ALTER ROLE [db_securityadmin] ADD MEMBER [pm]]prov];');
    expect(c['alter-any-user'].fix).toBe('ALTER ROLE [db_accessadmin] ADD MEMBER [pm]]prov];');
    expect(c['grant-as-owner'].fix).toBe('ALTER ROLE [db_securityadmin] ADD MEMBER [pm]]prov];');
    expect(c['create-schema'].detail).toContain('purchase_to_pay');
    expect(c['create-schema'].fix).toBe('GRANT CREATE SCHEMA TO [pm]]prov];');
    expect(c['generated-logins-server-roles'].ok).toBe(false);
    expect(c['generated-logins-server-roles'].fix).toBe('ALTER SERVER ROLE [sysadmin] DROP MEMBER [pmg_p2p_app];');
  });

  it('checks permissions, not role names: db_owner passes, and a direct grant of ALTER ANY ROLE does too', () => {
    const owner: PreflightFacts = { server: { ...goodServer, is_db_owner: 1, is_db_securityadmin: 0, is_db_accessadmin: 0 }, schemas: [], serverRoleMembers: [] };
    const c = byName(evaluatePreflight(owner, systemManaged, { engine: 'sqlserver', generatedLogins: 'server' }));
    expect(c['alter-any-role'].ok).toBe(true);
    expect(c['grant-as-owner'].detail).toContain('db_owner');
    const granted: PreflightFacts = { server: { ...goodServer, is_db_securityadmin: 0, can_alter_any_role: 1 }, schemas: [], serverRoleMembers: [] };
    const g = byName(evaluatePreflight(granted, systemManaged, { engine: 'sqlserver', generatedLogins: 'server' }));
    expect(g['alter-any-role'].ok).toBe(true);
    expect(g['grant-as-owner'].ok).toBe(false);
  });

  it('rows without the permission columns (HAS_PERMS_BY_NAME) fall back to the seed roles', () => {
    const { can_alter_any_role: _r, can_alter_any_user: _u, ...old } = goodServer;
    const c = byName(evaluatePreflight({ server: { ...old, is_db_accessadmin: 0 }, schemas: [], serverRoleMembers: [] }, systemManaged, { engine: 'sqlserver', generatedLogins: 'server' }));
    expect(c['alter-any-role'].ok).toBe(true);
    expect(c['alter-any-user'].ok).toBe(false);
  });

  it("checks TAKE OWNERSHIP on a schema the plan gives to another owner, with the grant that fixes it", () => {
    const schemas = systemManaged.schemas.map((s) => ({ schema_name: s.name, can_select: 1, can_insert: 1, can_update: 1, can_delete: 1, can_take_ownership: 0 }));
    const changes = [{ kind: 'alter-schema-owner' as const, schema: 'purchase_to_pay', from: 'dbo', to: 'pmg_p2p_owner' }];
    const c = byName(evaluatePreflight({ server: goodServer, schemas, serverRoleMembers: [] }, systemManaged, { engine: 'sqlserver', generatedLogins: 'server', changes }));
    expect(c['take-ownership:purchase_to_pay'].ok).toBe(false);
    expect(c['take-ownership:purchase_to_pay'].fix).toBe('GRANT TAKE OWNERSHIP ON SCHEMA::[purchase_to_pay] TO [pm_provisioner];');
    schemas.find((s) => s.schema_name === 'purchase_to_pay')!.can_take_ownership = 1;
    const ok = byName(evaluatePreflight({ server: goodServer, schemas, serverRoleMembers: [] }, systemManaged, { engine: 'sqlserver', generatedLogins: 'server', changes }));
    expect(ok['take-ownership:purchase_to_pay'].ok).toBe(true);
  });

  it('notices an Azure SQL Database behind a policy that says sqlserver', () => {
    const facts: PreflightFacts = { server: { ...goodServer, engine_edition: 5 }, schemas: [], serverRoleMembers: [] };
    const c = byName(evaluatePreflight(facts, systemManaged, { engine: 'sqlserver', generatedLogins: 'server' }));
    expect(c.engine.ok).toBe(false);
    expect(c.engine.fix).toBe('set warehouse.engine: azure-sql in the policy');
  });

  it('skips the create-schema check when every app schema exists', () => {
    const schemas = systemManaged.schemas.map((s) => ({ schema_name: s.name, can_select: 1, can_insert: 1, can_update: 1, can_delete: 1 }));
    const c = byName(evaluatePreflight({ server: { ...goodServer, can_create_schema: 0 }, schemas, serverRoleMembers: [] }, systemManaged, { engine: 'sqlserver', generatedLogins: 'server' }));
    expect(c['create-schema']).toBeUndefined();
  });
});

describe('evaluatePreflight: Azure SQL, single_account', () => {
  const azureServer: PreflightServerRow = { ...goodServer, engine_edition: 5, integrated_security_only: null, can_alter_any_login: null, has_master_access: null };

  it('checks login management in master and read/write on each existing app schema', () => {
    const facts: PreflightFacts = {
      server: azureServer,
      schemas: [
        { schema_name: 'p2p', can_select: 1, can_insert: 1, can_update: 1, can_delete: 1 },
        { schema_name: 'o2c', can_select: 1, can_insert: 0, can_update: 0, can_delete: 1 },
      ],
      master: { login_name: 'pm_provisioner', user_name: 'pm_provisioner', is_loginmanager: 0, is_ms_loginmanager: 1 },
    };
    const c = byName(evaluatePreflight(facts, singleAccount, { engine: 'azure-sql', generatedLogins: 'server' }));
    expect(c.engine.ok).toBe(true);
    expect(c['sql-authentication']).toBeUndefined();
    expect(c['master-access'].ok).toBe(true);
    expect(c['login-management'].detail).toContain('##MS_LoginManager##');
    expect(c['schema-read-write:p2p'].ok).toBe(true);
    expect(c['schema-read-write:o2c'].ok).toBe(false);
    expect(c['schema-read-write:o2c'].fix).toBe('GRANT INSERT, UPDATE ON SCHEMA::[o2c] TO [pm_provisioner];');
  });

  it('reports an unreachable master and a login without ##MS_LoginManager##', () => {
    const unreachable = byName(evaluatePreflight({ server: azureServer, schemas: [], masterError: 'Login failed for user' }, singleAccount, { engine: 'azure-sql', generatedLogins: 'server' }));
    expect(unreachable['master-access'].ok).toBe(false);
    expect(unreachable['master-access'].detail).toContain('Login failed');
    const noRole = byName(
      evaluatePreflight(
        { server: azureServer, schemas: [], master: { login_name: 'x', user_name: 'x', is_loginmanager: 0, is_ms_loginmanager: 0 } },
        singleAccount,
        { engine: 'azure-sql', generatedLogins: 'server' },
      ),
    );
    expect(noRole['login-management'].ok).toBe(false);
    expect(noRole['login-management'].fix).toBe('-- in master: ALTER SERVER ROLE ##MS_LoginManager## ADD MEMBER [pm_provisioner];');
  });

  it('needs nothing in master when generated logins are contained users', () => {
    const c = byName(evaluatePreflight({ server: azureServer, schemas: [] }, singleAccount, { engine: 'azure-sql', generatedLogins: 'contained' }));
    expect(c['master-access']).toBeUndefined();
    expect(c['login-management']).toBeUndefined();
    expect(c['alter-any-user'].ok).toBe(true);
  });

  it('loginmanager alone is not enough: nothing documents that it may change a password', () => {
    const c = byName(
      evaluatePreflight({ server: azureServer, schemas: [], master: { login_name: 'x', user_name: 'x', is_loginmanager: 1, is_ms_loginmanager: 0 } }, singleAccount, { engine: 'azure-sql', generatedLogins: 'server' }),
    );
    expect(c['login-management'].ok).toBe(false);
    expect(c['login-management'].detail).toMatch(/loginmanager.*passwords/);
  });

  it('creating Entra users needs an Entra connection: SQL authentication fails the check, an Entra sign-in passes', () => {
    const changes = singleAccount.users.filter((u) => u.source.type === 'external').map((user) => ({ kind: 'create-user' as const, user }));
    const facts: PreflightFacts = { server: azureServer, schemas: [] };
    const sql = byName(evaluatePreflight(facts, singleAccount, { engine: 'azure-sql', generatedLogins: 'contained', auth: 'sql', changes }));
    expect(sql['entra-connection'].ok).toBe(false);
    expect(sql['entra-connection'].detail).toMatch(/analysts.*33159/);
    expect(sql['entra-connection'].fix).toMatch(/auth=entra-default/);
    const entra = byName(evaluatePreflight(facts, singleAccount, { engine: 'azure-sql', generatedLogins: 'contained', auth: 'entra', changes }));
    expect(entra['entra-connection'].ok).toBe(true);
    const none = byName(evaluatePreflight(facts, singleAccount, { engine: 'azure-sql', generatedLogins: 'contained', auth: 'sql', changes: [] }));
    expect(none['entra-connection']).toBeUndefined();
  });
});

describe('evaluatePreflight: personal data (Dynamic Data Masking)', () => {
  const yaml = SYSTEM_MANAGED_YAML.replace('  p2p: { schema: purchase_to_pay, source: closed }', '  p2p: { schema: purchase_to_pay, source: closed, personalData: { columns: { "*.user_name": redact } } }');
  const masked = sqlServerDialect.realize(compilePolicy(policyFromYaml('pd.yaml', yaml)));
  const schema = { schema_name: 'purchase_to_pay', can_select: 0, can_insert: 0, can_update: 0, can_delete: 0, can_take_ownership: 0 };

  it('asks for ALTER ANY MASK, ALTER on each masked app schema and SQL Server 2022, each with its fix', () => {
    const facts: PreflightFacts = { server: { ...goodServer, can_alter_any_mask: 0, product_major_version: 15 }, schemas: [{ ...schema, can_alter: 0 }] };
    const checks = byName(evaluatePreflight(facts, masked, { engine: 'sqlserver', generatedLogins: 'server' }));
    expect(checks['granular-unmask']).toMatchObject({ ok: false, detail: expect.stringMatching(/^SQL Server 15 grants UNMASK only database-wide/) });
    expect(checks['alter-any-mask']).toMatchObject({ ok: false, fix: 'GRANT ALTER ANY MASK TO [pm_provisioner];' });
    expect(checks['alter:purchase_to_pay']).toMatchObject({ ok: false, fix: 'GRANT ALTER ON SCHEMA::[purchase_to_pay] TO [pm_provisioner];' });
    // Only the masked app's schema is asked for.
    expect(Object.keys(checks).filter((n) => n.startsWith('alter:'))).toEqual(['alter:purchase_to_pay']);
  });

  it('passes with the rights in place; a schema not made yet has nothing to mask', () => {
    const ok = byName(evaluatePreflight({ server: { ...goodServer, can_alter_any_mask: 1, product_major_version: 16 }, schemas: [{ ...schema, can_alter: 1 }] }, masked, { engine: 'sqlserver', generatedLogins: 'server' }));
    for (const name of ['granular-unmask', 'alter-any-mask', 'alter:purchase_to_pay']) expect(ok[name].ok).toBe(true);
    const fresh = byName(evaluatePreflight({ server: { ...goodServer, can_alter_any_mask: 1, product_major_version: 16 }, schemas: [] }, masked, { engine: 'sqlserver', generatedLogins: 'server' }));
    expect(fresh['alter:purchase_to_pay']).toMatchObject({ ok: true, detail: expect.stringMatching(/does not exist yet/) });
  });

  it('asks nothing of a policy without personal columns', () => {
    const checks = evaluatePreflight({ server: { ...goodServer, can_alter_any_mask: 0, product_major_version: 15 }, schemas: [] }, systemManaged, { engine: 'sqlserver', generatedLogins: 'server' });
    expect(checks.map((c) => c.name).filter((n) => n.includes('mask') || n.startsWith('alter:'))).toEqual([]);
  });
});
