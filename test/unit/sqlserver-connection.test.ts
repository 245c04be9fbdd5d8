import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PmgrantsError } from '../../provider/model/errors';
import { Statement } from '../../provider/model/statement';
import {
  PASSWORD_CLASSES,
  applyPhases,
  generateSqlServerPassword,
  lockBatchSql,
  meetsPasswordPolicy,
  parseSqlServerUrl,
  planBatches,
  sqlErrorNumber,
  sqlServerDialect,
  sqlServerErrorToPmgrants,
  toMssqlConfig,
} from '../../provider/engines/sqlserver';
import { compilePolicy } from '../../provider/model/compile';
import { emptyState } from '../../provider/model/state';
import { diffState } from '../../provider/plan/diff';
import { SYSTEM_MANAGED_YAML, policyFromYaml } from '../fixtures/sqlserver/policies';
import { tokenize } from '../fixtures/sqlserver/tsql-tokenizer';

const stmt = (sql: string, target: Statement['target'] = 'warehouse', extra: Partial<Statement> = {}): Statement => ({ sql, params: [], display: sql, target, ...extra });

describe('planBatches', () => {
  it('joins parameterless statements per target, isolates parameterized and ownBatch statements, keeps order', () => {
    const list: Statement[] = [
      stmt('A;', 'server'),
      stmt('B;', 'server', { params: [{ name: 'login', value: 'x' }, { name: 'password', secretFor: 'x' }] }),
      stmt('C;'),
      stmt('D;'),
      stmt('CREATE SCHEMA [s] AUTHORIZATION [o];', 'warehouse', { ownBatch: true }),
      stmt('E;'),
      stmt('F;', 'server'),
    ];
    const batches = planBatches(list);
    expect(batches.map((b) => [b.target, b.sql, b.params.length])).toEqual([
      ['server', 'A;', 0],
      ['server', 'B;', 2],
      ['warehouse', 'C;\nD;', 0],
      ['warehouse', 'CREATE SCHEMA [s] AUTHORIZATION [o];', 0],
      ['warehouse', 'E;', 0],
      ['server', 'F;', 0],
    ]);
    expect(batches.flatMap((b) => b.statements)).toEqual(list);
  });

  it('never merges a statement that carries parameters, so no value is ever inlined', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ params: fc.boolean(), own: fc.boolean(), server: fc.boolean() }), { maxLength: 60 }), (specs) => {
        const list = specs.map((s, i) => stmt(`S${i};`, s.server ? 'server' : 'warehouse', { ...(s.params ? { params: [{ name: 'p', value: 'v' }] } : {}), ...(s.own ? { ownBatch: true } : {}) }));
        const batches = planBatches(list, 7);
        expect(batches.flatMap((b) => b.statements)).toEqual(list);
        for (const b of batches) {
          if (b.statements.some((s) => s.params.length > 0 || s.ownBatch)) expect(b.statements.length).toBe(1);
          expect(b.statements.length).toBeLessThanOrEqual(7);
          expect(new Set(b.statements.map((s) => s.target)).size).toBe(1);
          expect(b.sql).not.toContain("'v'");
        }
      }),
    );
  });

  it('a real system_managed plan on SQL Server takes few round trips', () => {
    const desired = sqlServerDialect.realize(compilePolicy(policyFromYaml('sm.yaml', SYSTEM_MANAGED_YAML)));
    const plan = diffState(desired, { ...emptyState(desired.engine, desired.database), managed: [] });
    const statements = plan.changes.flatMap((c) => sqlServerDialect.render([c], desired));
    const batches = planBatches(statements);
    // two logins (parameterized) + two schemas (own batch) + a handful of plain batches in between
    expect(batches.length).toBeLessThanOrEqual(8);
    expect(statements.length).toBeGreaterThan(100);
  });
});

describe('applyPhases', () => {
  const batches = planBatches([stmt('CREATE LOGIN;', 'server', { ownBatch: true }), stmt('CREATE USER;'), stmt('DROP USER;'), stmt('DROP LOGIN;', 'server', { ownBatch: true })]);
  it('SQL Server: everything in the warehouse transaction, in order', () => {
    const p = applyPhases(batches, 'sqlserver', 'server');
    expect(p.masterBefore).toEqual([]);
    expect(p.masterAfter).toEqual([]);
    expect(p.warehouse.map((b) => b.sql)).toEqual(['CREATE LOGIN;', 'CREATE USER;\nDROP USER;', 'DROP LOGIN;']);
  });
  it('Azure SQL: logins created in master first, dropped in master last', () => {
    const p = applyPhases(batches, 'azure-sql', 'server');
    expect(p.masterBefore.map((b) => b.sql)).toEqual(['CREATE LOGIN;']);
    expect(p.warehouse.map((b) => b.sql)).toEqual(['CREATE USER;\nDROP USER;']);
    expect(p.masterAfter.map((b) => b.sql)).toEqual(['DROP LOGIN;']);
  });
  it('Azure SQL contained: a server statement is a bug, not something to run', () => {
    expect(() => applyPhases(batches, 'azure-sql', 'contained')).toThrow(/bug/);
  });
});

describe('lockBatchSql', () => {
  it('sets XACT_ABORT and takes an exclusive transaction-owned applock on a quoted resource', () => {
    const sql = lockBatchSql("it's]db", 5000);
    expect(sql).toContain('SET XACT_ABORT ON;');
    expect(sql).toContain("@Resource = N'pmgrants:it''s]db', @LockMode = N'Exclusive', @LockOwner = N'Transaction', @LockTimeout = 5000;");
    expect(tokenize(sql).filter((t) => t.type === 'comment')).toEqual([]);
    expect(() => lockBatchSql('db', 1.5)).toThrow(PmgrantsError);
  });
});

describe('generateSqlServerPassword', () => {
  it('meets the complexity policy: 40 characters from every class, nothing to escape', () => {
    for (let i = 0; i < 200; i++) {
      const pw = generateSqlServerPassword('pmg_p2p_app');
      expect(pw).toHaveLength(40);
      expect(meetsPasswordPolicy(pw, 'pmg_p2p_app')).toBe(true);
      expect(pw).not.toMatch(/['"[\];\\]/);
    }
  });

  it('never contains the login name, and uses the CSPRNG it is given', () => {
    let calls = 0;
    const fixed = (size: number) => {
      calls++;
      return Buffer.alloc(size, 7);
    };
    const pw = generateSqlServerPassword('x', 32, (size) => {
      const b = fixed(size);
      b[0] = (calls * 37) % 256;
      return b;
    });
    expect(calls).toBeGreaterThan(32);
    expect(pw.toLowerCase()).not.toContain('x');
    expect(Object.values(PASSWORD_CLASSES).every((cls) => [...pw].some((c) => cls.includes(c)))).toBe(true);
  });
});

describe('parseSqlServerUrl and toMssqlConfig', () => {
  it('reads SQL authentication, database and options', () => {
    const c = parseSqlServerUrl('mssql://pm%5Fadmin:p%40ss%3Aword@sql.example.com:1444/AutomationSuite_ProcessMining_Warehouse?encrypt=true&trustServerCertificate=true&lockTimeoutMs=0');
    expect(c).toEqual({
      engine: 'sqlserver',
      server: 'sql.example.com',
      port: 1444,
      database: 'AutomationSuite_ProcessMining_Warehouse',
      auth: { type: 'sql', user: 'pm_admin', password: 'p@ss:word' },
      encrypt: true,
      trustServerCertificate: true,
      lockTimeoutMs: 0,
    });
    const m = toMssqlConfig(c, c.database);
    expect(m).toMatchObject({ server: 'sql.example.com', port: 1444, database: 'AutomationSuite_ProcessMining_Warehouse', user: 'pm_admin', password: 'p@ss:word' });
    expect(m.authentication).toBeUndefined();
    expect(m.options).toMatchObject({ encrypt: true, trustServerCertificate: true, appName: 'pmgrants' });
  });

  it('infers azure-sql from the host and maps every Entra authentication to tedious', () => {
    const host = 'mssql://srv.database.windows.net/wh';
    expect(parseSqlServerUrl(host).engine).toBe('azure-sql');
    expect(toMssqlConfig(parseSqlServerUrl(host), 'wh').authentication).toEqual({ type: 'azure-active-directory-default', options: {} });
    const sp = parseSqlServerUrl('mssql://app-id:secret@srv.database.windows.net/wh?auth=entra-service-principal&tenantId=t-1');
    expect(toMssqlConfig(sp, 'wh').authentication).toEqual({
      type: 'azure-active-directory-service-principal-secret',
      options: { clientId: 'app-id', clientSecret: 'secret', tenantId: 't-1' },
    });
    const mi = parseSqlServerUrl('mssql://srv.database.windows.net/wh?auth=entra-managed-identity&clientId=c-2&identityHost=app-service');
    expect(toMssqlConfig(mi, 'wh').authentication).toEqual({ type: 'azure-active-directory-msi-app-service', options: { clientId: 'c-2' } });
    const vm = parseSqlServerUrl('mssql://srv.database.windows.net/wh?auth=entra-managed-identity');
    expect(toMssqlConfig(vm, 'wh').authentication).toEqual({ type: 'azure-active-directory-msi-vm', options: {} });
    const token = parseSqlServerUrl('mssql://:eyJ0eXAi@srv.database.windows.net/wh?auth=entra-access-token');
    expect(toMssqlConfig(token, 'wh').authentication).toEqual({ type: 'azure-active-directory-access-token', options: { token: 'eyJ0eXAi' } });
    const ntlm = parseSqlServerUrl('mssql://CONTOSO%5Cpm:pw@sql01/wh?auth=ntlm');
    expect(toMssqlConfig(ntlm, 'wh').authentication).toEqual({ type: 'ntlm', options: { domain: 'CONTOSO', userName: 'pm', password: 'pw' } });
  });

  it('lets the policy engine win over the URL, and refuses malformed URLs in one sentence', () => {
    expect(parseSqlServerUrl('mssql://u:p@srv.database.windows.net/wh', 'sqlserver').engine).toBe('sqlserver');
    expect(parseSqlServerUrl('mssql://u:p@h/wh?generatedLogins=contained&engine=azure-sql').generatedLogins).toBe('contained');
    expect(() => parseSqlServerUrl('postgres://u@h/db')).toThrow(/mssql:\/\//);
    expect(() => parseSqlServerUrl('not a url')).toThrow(PmgrantsError);
    expect(() => parseSqlServerUrl('mssql://h/db?auth=kerberos')).toThrow(/auth must be one of/);
    expect(() => parseSqlServerUrl('mssql://h/db?encrypt=maybe')).toThrow(/true or false/);
    expect(() => parseSqlServerUrl('mssql://u:p@h/db?auth=entra-service-principal')).toThrow(/tenantId/);
  });
});

describe('sqlServerErrorToPmgrants', () => {
  const serverError = (number: number, message: string) => Object.assign(new Error(message), { number, code: 'EREQUEST' });
  const cases: [number, string, RegExp][] = [
    [15025, "The server principal 'pmg_p2p_app' already exists.", /login pmg_p2p_app already exists.*did not create it/],
    [15023, "User, group, or role 'pmg_p2p_owner' already exists in the current database.", /pmg_p2p_owner already exists in the database pm_warehouse/],
    [15138, 'The database principal owns a schema in the database, and cannot be dropped.', /still owns a schema/],
    [15434, "Could not drop login 'pmg_old_app' as the user is currently logged in.", /login pmg_old_app is still logged in.*nothing was applied/],
    [15247, 'User does not have permission to perform this action.', /lacks a permission.*pmgrants doctor/],
    [40508, 'USE statement is not supported to switch between databases.', /azure-sql/],
    [33131, "Principal 'myapp' has a duplicate display name.", /myapp is not unique.*objectId/],
    [15151, "Cannot find the user 'ghost', because it does not exist or you do not have permission.", /cannot find the principal ghost/],
    [2714, "There is already an object named 'p2p' in the database.", /object named p2p already exists/],
    [18456, "Login failed for user 'pm_admin'.", /login failed for pm_admin/],
    [15007, "'CONTOSO\\x' is not a valid login or you do not have permission.", /not a valid login.*FROM WINDOWS/],
    [4611, 'To revoke or deny grantable privileges, specify the CASCADE option.', /CASCADE/],
    [50002, 'pmgrants: login pmg_old_app has active sessions, so it was not dropped and nothing was applied; disconnect them and apply again.', /^login pmg_old_app has active sessions/],
  ];
  for (const [number, message, expected] of cases) {
    it(`maps error ${number} to one clear sentence`, () => {
      const e = sqlServerErrorToPmgrants(serverError(number, message), { database: 'pm_warehouse' });
      expect(e).toBeInstanceOf(PmgrantsError);
      expect(e.message).toMatch(expected);
      expect(e.message).not.toMatch(/\n/);
    });
  }

  it('reads the number from mssql RequestError shapes and maps connection errors by code', () => {
    expect(sqlErrorNumber({ originalError: { info: { number: 15151 } } })).toBe(15151);
    expect(sqlServerErrorToPmgrants(Object.assign(new Error('Failed to connect to h:1433 - getaddrinfo ENOTFOUND h'), { code: 'ESOCKET' }), { server: 'h:1433' }).message).toBe(
      'cannot reach SQL Server at h:1433: Failed to connect to h:1433 - getaddrinfo ENOTFOUND h',
    );
    expect(sqlServerErrorToPmgrants(Object.assign(new Error('Login failed for user x.'), { code: 'ELOGIN' })).message).toMatch(/^cannot sign in to SQL Server/);
    expect(sqlServerErrorToPmgrants(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' })).message).toMatch(/did not answer in time/);
    const passthrough = new PmgrantsError('already clear');
    expect(sqlServerErrorToPmgrants(passthrough)).toBe(passthrough);
    expect(sqlServerErrorToPmgrants(serverError(9999, 'Something odd.'), { statement: 'GRANT SELECT ON SCHEMA::[s] TO [r];' }).message).toBe(
      'SQL Server error 9999: Something odd. (while running: GRANT SELECT ON SCHEMA::[s] TO [r];)',
    );
  });
});
