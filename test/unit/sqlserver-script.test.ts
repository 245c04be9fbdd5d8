import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { azureSqlDialect, sqlServerDialect } from '../../provider/engines/sqlserver';
import { planOffline } from '../../provider/pipeline/plan';
import { loadPolicy } from '../../provider/policy/load';

const root = path.join(__dirname, '..', '..');

describe('plan --format sql for SQL Server: one runnable T-SQL script', () => {
  const policy = loadPolicy(path.join(root, 'examples', 'uipath-system-managed.yaml')).policy!;
  const rendered = planOffline(policy, sqlServerDialect) as Required<ReturnType<typeof planOffline>> & { statements: import('../../provider/model/statement').Statement[][] };
  const statements = rendered.statements.flat();
  const script = sqlServerDialect.renderScript(statements, rendered.desired);

  it('runs every statement in its own batch, logins in master, the rest in the warehouse', () => {
    const batches = script.split(/^GO$/m);
    expect(batches.length - 1).toBe(statements.length + 3); // + SET XACT_ABORT, USE master, USE warehouse
    expect(script.indexOf('USE [master];')).toBeLessThan(script.indexOf('CREATE LOGIN'));
    expect(script.indexOf('USE [AutomationSuite_ProcessMining_Warehouse];')).toBeLessThan(script.indexOf('CREATE ROLE'));
    for (const s of statements) expect(script).toContain(s.sql);
  });

  it('declares each bound parameter in front of its statement; passwords are made on the server, never printed', () => {
    expect(script).toContain("DECLARE @login nvarchar(4000) = N'pmg_purchase-to-pay_app';");
    expect(script.match(/CRYPT_GEN_RANDOM\(32\)/g)).toHaveLength(3);
    expect(script).not.toContain('********');
    // Run by hand on a busy warehouse, a statement waits at most apply's default lock timeout.
    expect(script).toMatch(/^SET XACT_ABORT ON;\nSET LOCK_TIMEOUT 3000;\nGO$/m);
    expect(script).toMatch(/^DECLARE @password nvarchar\(128\) = CONVERT\(nvarchar\(128\), CRYPT_GEN_RANDOM\(32\), 2\) \+ N'a!';$/m);
  });

  it('quotes declared values as N-strings with doubled quotes', () => {
    const hostile = sqlServerDialect.renderScript(
      [{ sql: 'SELECT @x;', params: [{ name: 'x', value: "it's ]; DROP LOGIN sa; --" }], display: '', target: 'warehouse' }],
      rendered.desired,
    );
    expect(hostile).toContain("DECLARE @x nvarchar(4000) = N'it''s ]; DROP LOGIN sa; --';");
  });

  it('Azure SQL has no USE: it says which database to connect to', () => {
    const azure = azureSqlDialect.renderScript(statements, rendered.desired);
    expect(azure).not.toMatch(/^USE /m);
    expect(azure).toContain('-- Connected to the master database:');
    expect(azure).toContain('-- Connected to AutomationSuite_ProcessMining_Warehouse:');
  });
});
