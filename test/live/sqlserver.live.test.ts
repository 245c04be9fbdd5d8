/**
 * End-to-end scenarios against a real SQL Server or Azure SQL Database. They run whenever
 * PMGRANTS_MSSQL_URL is set, e.g.
 *   PMGRANTS_MSSQL_URL='mssql://sa:Secret-123@localhost:1433/pm_warehouse?trustServerCertificate=true' npx vitest run test/live
 * The login in the URL is an administrator (sysadmin, or the Azure SQL server admin). It only sets up and
 * cleans up: it creates a provisioning login with exactly the rights seed 000 lists (##MS_LoginManager##
 * on SQL Server 2022 and Azure SQL, securityadmin before 2022; a user in master; db_securityadmin and
 * db_accessadmin in the warehouse), and every apply, plan, rotation, removal, doctor and report runs as
 * that login. Every object is created under a per-run prefix and removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import type * as Mssql from 'mssql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineConnection } from '../../provider/engines/engine';
import { PmgrantsError } from '../../provider/model/errors';
import { SqlServerConnectionConfig, connectSqlServer, generateSqlServerPassword, parseSqlServerUrl, quoteName, toMssqlConfig } from '../../provider/engines/sqlserver';
import { compilePolicy } from '../../provider/model/compile';
import { DesiredState, Policy } from '../../provider/model/types';
import { diffState } from '../../provider/plan/diff';

const url = process.env.PMGRANTS_MSSQL_URL;
if (!url) {
  console.warn(
    '[pmgrants] SQL Server live tests SKIPPED: PMGRANTS_MSSQL_URL is not set (e.g. mssql://sa:Secret-123@localhost:1433/pm_warehouse?trustServerCertificate=true).',
  );
}
const suite = url ? describe : describe.skip;

suite(url ? 'SQL Server live scenarios' : 'SQL Server live scenarios (SKIPPED: set PMGRANTS_MSSQL_URL to run)', () => {
  const admin = parseSqlServerUrl(url ?? 'mssql://skipped/skipped');
  const run = randomBytes(3).toString('hex');
  const prefix = `pmg_t${run}_`;
  const database = admin.database ?? 'pm_warehouse';
  /** The provisioning login with the seed's rights, and the connection config every scenario uses. */
  const provisioner = `${prefix}provisioner`;
  const provisionerPassword = generateSqlServerPassword(provisioner);
  const config: SqlServerConnectionConfig = { ...admin, auth: { type: 'sql', user: provisioner, password: provisionerPassword } };
  let conn: EngineConnection;

  /** One batch as the administrator, in `db`; names are quoted, the password is bound. */
  const asAdmin = async (db: string, sql: string, password?: string): Promise<Record<string, unknown>[]> => {
    const mssql = require('mssql') as typeof Mssql;
    const pool = new mssql.ConnectionPool(toMssqlConfig(admin, db));
    await pool.connect();
    try {
      const request = new mssql.Request(pool);
      if (password !== undefined) request.input('password', mssql.NVarChar(128), password);
      return (await request.query(sql)).recordset ?? [];
    } finally {
      await pool.close();
    }
  };

  /**
   * Seed 000, system_managed: server role ##MS_LoginManager## (SQL Server 2022 and Azure SQL; securityadmin
   * before 2022, the seed's other choice), access to master, db_securityadmin and db_accessadmin.
   * Azure SQL: server role assignments "may take up to 5 minutes to become effective"; the documented
   * partial workaround is DBCC FLUSHAUTHCACHE in the user database by the server admin, then a new
   * connection (Azure SQL server roles, Limitations).
   */
  const createProvisioner = async () => {
    const q = quoteName(provisioner);
    const createLogin = `DECLARE @sql nvarchar(max) = N'CREATE LOGIN ${q.replace(/'/g, "''")} WITH PASSWORD = ' + QUOTENAME(@password, '''') + N';'; EXEC sys.sp_executesql @sql;`;
    const azure = admin.engine === 'azure-sql';
    await asAdmin('master', createLogin, provisionerPassword);
    await asAdmin('master', `CREATE USER ${q} FOR LOGIN ${q};`);
    const major = azure ? 16 : Number((await asAdmin('master', "SELECT CAST(SERVERPROPERTY('ProductMajorVersion') AS int) AS major;"))[0]?.major);
    await asAdmin('master', `ALTER SERVER ROLE ${major >= 16 ? '[##MS_LoginManager##]' : '[securityadmin]'} ADD MEMBER ${q};`);
    await asAdmin(database, `CREATE USER ${q} FOR LOGIN ${q}; ALTER ROLE [db_securityadmin] ADD MEMBER ${q}; ALTER ROLE [db_accessadmin] ADD MEMBER ${q};`);
    if (azure) await asAdmin(database, 'DBCC FLUSHAUTHCACHE;');
  };

  /**
   * Azure SQL: a login created or a password changed in master a moment ago may not be in the
   * warehouse's authentication cache yet (DBCC FLUSHAUTHCACHE, Remarks). The seed's login may not flush
   * it (KILL DATABASE CONNECTION); before signing in as a generated login the administrator does.
   */
  const settleAuthCache = async () => {
    if (admin.engine === 'azure-sql') await asAdmin(database, 'DBCC FLUSHAUTHCACHE;');
  };

  /** single_account (seed 000): also read/write on the app schemas. */
  const grantReadWrite = async (schemas: string[]) => {
    for (const s of schemas) await asAdmin(database, `GRANT SELECT, INSERT, UPDATE, DELETE ON SCHEMA::${quoteName(s)} TO ${quoteName(provisioner)};`);
  };

  const policy = (apps: string[], mode: Policy['security']['mode'] = 'system_managed'): Policy => ({
    apiVersion: 'pmgrants/v1',
    warehouse: { engine: config.engine, database },
    security: { mode },
    principals: {},
    apps: Object.fromEntries(apps.map((a) => [a, { schema: `${prefix}${a}_data`, source: 'closed' as const }])),
    grants: [],
    options: { prefix },
  });
  const desiredOf = (p: Policy): DesiredState => conn.dialect.realize(compilePolicy(p));
  const planAndApply = async (p: Policy, rotate?: string[]) => {
    const desired = desiredOf(p);
    const actual = await conn.inspect(desired);
    const plan = diffState(desired, actual, { now: new Date(), ...(rotate ? { rotate } : {}) });
    const statements = plan.changes.flatMap((c) => conn.dialect.render([c], desired));
    const result = statements.length ? await conn.apply(statements) : { statements: 0, roundTrips: 0, secrets: new Map<string, string>() };
    return { desired, plan, result };
  };
  const replan = async (p: Policy) => {
    const desired = desiredOf(p);
    return diffState(desired, await conn.inspect(desired), { now: new Date() });
  };
  /** Connect as a generated login and run one batch; resolves to the error number, or 0 on success. */
  const asLogin = async (login: string, password: string, sql: string): Promise<number> => {
    const mssql = require('mssql') as typeof Mssql;
    const cfg = toMssqlConfig({ ...config, auth: { type: 'sql', user: login, password } }, database);
    const pool = new mssql.ConnectionPool(cfg);
    try {
      await pool.connect();
      await new mssql.Request(pool).batch(sql);
      return 0;
    } catch (err) {
      const e = err as { number?: number; code?: string; originalError?: { info?: { number?: number } } };
      if (e.code === 'ELOGIN') return 18456;
      return e.number ?? e.originalError?.info?.number ?? -1;
    } finally {
      await pool.close().catch(() => undefined);
    }
  };

  beforeAll(async () => {
    await createProvisioner();
    conn = await connectSqlServer(config);
  }, 360_000);

  afterAll(async () => {
    if (!conn) return;
    // Remove everything under this run's prefix: apply an empty policy (drops roles, users, logins),
    // then the schemas and their owner roles, which pmgrants deliberately never drops.
    try {
      await planAndApply(policy([]));
    } finally {
      const mssql = require('mssql') as typeof Mssql;
      const pool = new mssql.ConnectionPool(toMssqlConfig(admin, database));
      await pool.connect();
      const like = `${prefix.replace(/_/g, '[_]')}%`;
      const rows = (
        await new mssql.Request(pool).input('like', mssql.NVarChar(200), like).query(
          'SELECT s.name AS schema_name FROM sys.schemas s WHERE s.name LIKE @like; SELECT dp.name FROM sys.database_principals dp WHERE dp.name LIKE @like;',
        )
      ).recordsets as unknown as { schema_name?: string; name?: string }[][];
      for (const s of rows[0]) {
        const tables = await new mssql.Request(pool)
          .input('s', mssql.NVarChar(128), s.schema_name!)
          .query('SELECT t.name FROM sys.tables t WHERE t.schema_id = SCHEMA_ID(@s)');
        for (const t of tables.recordset as { name: string }[]) await new mssql.Request(pool).batch(`DROP TABLE ${quoteName(s.schema_name!)}.${quoteName(t.name)};`);
        await new mssql.Request(pool).batch(`DROP SCHEMA ${quoteName(s.schema_name!)};`);
      }
      for (const p of rows[1]) await new mssql.Request(pool).batch(`DROP ROLE ${quoteName(p.name!)};`).catch(() => undefined);
      await new mssql.Request(pool).batch(`DROP USER ${quoteName(provisioner)};`).catch(() => undefined);
      await pool.close();
      await conn.close();
      await asAdmin('master', `DROP USER ${quoteName(provisioner)};`).catch(() => undefined);
      await asAdmin('master', `DROP LOGIN ${quoteName(provisioner)};`).catch(() => undefined);
    }
  });

  it('doctor: the seed-rights login passes every check', async () => {
    const checks = await conn.preflight(desiredOf(policy(['p2p', 'o2c'])));
    for (const c of checks) console.info(`[doctor] ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}${c.fix ? ` | fix: ${c.fix}` : ''}`);
    expect(checks.map((c) => c.name)).toEqual(expect.arrayContaining(['engine', 'alter-any-role', 'alter-any-user', 'grant-as-owner', 'login-management']));
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  let passwords = new Map<string, string>();

  it('system_managed: applies, converges, and each app login reaches only its own schema', async () => {
    const p = policy(['p2p', 'o2c']);
    const { plan, result } = await planAndApply(p);
    expect(plan.changes.length).toBeGreaterThan(10);
    expect([...result.secrets.keys()].sort()).toEqual([`${prefix}o2c_app`, `${prefix}p2p_app`]);
    passwords = result.secrets;
    expect((await replan(p)).changes).toEqual([]);
    await settleAuthCache();

    const p2p = `${prefix}p2p_app`;
    const own = `${quoteName(`${prefix}p2p_data`)}.${quoteName('t')}`;
    const other = `${quoteName(`${prefix}o2c_data`)}.${quoteName('t')}`;
    expect(await asLogin(`${prefix}o2c_app`, passwords.get(`${prefix}o2c_app`)!, `CREATE TABLE ${other} (x int); INSERT INTO ${other} VALUES (1);`)).toBe(0);
    expect(await asLogin(p2p, passwords.get(p2p)!, `CREATE TABLE ${own} (x int); INSERT INTO ${own} VALUES (1); SELECT x FROM ${own};`)).toBe(0);
    // 229: The SELECT permission was denied — system_managed keeps apps apart (seed 000).
    expect(await asLogin(p2p, passwords.get(p2p)!, `SELECT x FROM ${other};`)).toBe(229);
  });

  it('rotation: the new password works and the old one no longer does', async () => {
    const p = policy(['p2p', 'o2c']);
    const login = `${prefix}p2p_app`;
    const old = passwords.get(login)!;
    const { plan, result } = await planAndApply(p, [login]);
    expect(plan.changes.map((c) => c.kind)).toEqual(['rotate-password']);
    const fresh = result.secrets.get(login)!;
    expect(fresh).not.toBe(old);
    await settleAuthCache();
    expect(await asLogin(login, fresh, 'SELECT 1;')).toBe(0);
    expect(await asLogin(login, old, 'SELECT 1;')).toBe(18456);
    passwords.set(login, fresh);
  });

  it('a concurrent apply waits for the lock and fails clearly when it cannot get it', async () => {
    const mssql = require('mssql') as typeof Mssql;
    const pool = new mssql.ConnectionPool(toMssqlConfig(admin, database));
    await pool.connect();
    const tx = new mssql.Transaction(pool);
    await tx.begin();
    try {
      await new mssql.Request(tx)
        .input('r', mssql.NVarChar(255), `pmgrants:${database}`)
        .query("DECLARE @x int; EXEC @x = sys.sp_getapplock @Resource = @r, @LockMode = N'Exclusive', @LockOwner = N'Transaction';");
      const impatient = await connectSqlServer({ ...config, lockTimeoutMs: 0 });
      try {
        const desired = desiredOf(policy(['p2p', 'o2c', 'extra']));
        const plan = diffState(desired, await impatient.inspect(desired));
        await expect(impatient.apply(plan.changes.flatMap((c) => impatient.dialect.render([c], desired)))).rejects.toThrow(/another pmgrants apply holds the lock/);
      } finally {
        await impatient.close();
      }
    } finally {
      await tx.rollback();
      await pool.close();
    }
  });

  // On Azure SQL with logins in master, those are committed first by design (docs/sqlserver.md).
  const atomic = config.engine === 'sqlserver' || config.generatedLogins === 'contained';
  it.skipIf(!atomic)('nothing is half-applied: a failing statement rolls the whole apply back', async () => {
    const p = policy(['p2p', 'o2c', 'extra']);
    const desired = desiredOf(p);
    const plan = diffState(desired, await conn.inspect(desired));
    const statements = plan.changes.flatMap((c) => conn.dialect.render([c], desired));
    const broken = [...statements, { sql: `ALTER ROLE ${quoteName(`${prefix}no_such_role`)} ADD MEMBER [dbo];`, params: [], display: 'broken', target: 'warehouse' as const }];
    await expect(conn.apply(broken)).rejects.toBeInstanceOf(PmgrantsError);
    const after = diffState(desired, await conn.inspect(desired));
    expect(after.changes.length).toBe(plan.changes.length);
  });

  it('fixed-role drift: reported and left alone by the seed login (not db_owner); later applies still work', async () => {
    const user = quoteName(`${prefix}p2p_app`);
    await asAdmin(database, `ALTER ROLE [db_datareader] ADD MEMBER ${user};`);
    try {
      const again = await replan(policy(['p2p', 'o2c']));
      expect(again.changes).toEqual([]);
      expect(again.warnings.join('\n')).toContain(`ALTER ROLE [db_datareader] DROP MEMBER ${user};`);
    } finally {
      await asAdmin(database, `ALTER ROLE [db_datareader] DROP MEMBER ${user};`);
    }
  });

  it('a column grant made by hand on an app schema is revoked by the seed login, and the plan converges', async () => {
    const p = policy(['p2p', 'o2c']);
    const table = `${quoteName(`${prefix}p2p_data`)}.${quoteName('t')}`;
    const other = `${prefix}o2c_app`;
    await asAdmin(database, `GRANT SELECT ON OBJECT::${table} ([x]) TO [public];`);
    await settleAuthCache();
    expect(await asLogin(other, passwords.get(other)!, `SELECT x FROM ${table};`)).toBe(0);
    const { plan } = await planAndApply(p);
    expect(plan.changes.map((c) => (c.kind === 'revoke' && c.permission.on.type === 'engine' ? `${c.permission.grantee} ${c.permission.privilege} ${c.permission.on.kind}` : c.kind))).toEqual(['public SELECT column:["t","x"]']);
    expect((await replan(p)).changes).toEqual([]);
    // 229 or 230: the SELECT permission was denied on the object, or on its column.
    expect([229, 230]).toContain(await asLogin(other, passwords.get(other)!, `SELECT x FROM ${table};`));
  });

  it('report: the seed login reads the access of every app login', async () => {
    const facts = await conn.readAccess!(desiredOf(policy(['p2p', 'o2c'])));
    const p2p = facts.held.filter((h) => h.principal === `${prefix}p2p_app`);
    expect(p2p.map((h) => h.schema)).toContain(`${prefix}p2p_data`);
    expect(p2p.map((h) => h.schema)).not.toContain(`${prefix}o2c_data`);
  });

  /** Connect as a login and run one query; its rows. */
  const rowsAs = async (login: string, password: string, sql: string): Promise<Record<string, unknown>[]> => {
    const mssql = require('mssql') as typeof Mssql;
    const pool = new mssql.ConnectionPool(toMssqlConfig({ ...config, auth: { type: 'sql', user: login, password } }, database));
    await pool.connect();
    try {
      return (await new mssql.Request(pool).query(sql)).recordset ?? [];
    } finally {
      await pool.close().catch(() => undefined);
    }
  };

  it('personal data (Dynamic Data Masking): consumers read masks, the process admin clear, a later table nothing until the next apply', async (ctx) => {
    const major = admin.engine === 'azure-sql' ? 16 : Number((await asAdmin('master', "SELECT CAST(SERVERPROPERTY('ProductMajorVersion') AS int) AS major;"))[0]?.major);
    if (major < 16) {
      console.warn(`[pmgrants] SQL Server live personal-data scenario SKIPPED: SQL Server ${major} has no UNMASK on a schema (SQL Server 2022 and later)`);
      ctx.skip();
      return;
    }
    const schema = `${prefix}pii_data`;
    const people = { analyst: `${prefix}analyst`, lead: `${prefix}lead` };
    const secret = new Map(Object.values(people).map((l) => [l, generateSqlServerPassword(l)]));
    for (const login of Object.values(people)) {
      const q = quoteName(login);
      await asAdmin('master', `DECLARE @sql nvarchar(max) = N'CREATE LOGIN ${q.replace(/'/g, "''")} WITH PASSWORD = ' + QUOTENAME(@password, '''') + N';'; EXEC sys.sp_executesql @sql;`, secret.get(login));
    }
    // Beyond the seed (docs/sqlserver.md, "Personal data"): ALTER ANY MASK, and ALTER on the app's schema once it exists.
    await asAdmin(database, `GRANT ALTER ANY MASK TO ${quoteName(provisioner)};`);
    try {
      const p: Policy = {
        ...policy(['pii']),
        principals: { analyst: { kind: 'sql-login', name: people.analyst }, lead: { kind: 'sql-login', name: people.lead } },
        apps: { pii: { schema, source: 'closed', personalData: { columns: { '*.user_name': 'pseudonym', 'cases.contact_*': { mask: 'redact', text: 'n/a' } } } } },
        grants: [
          { persona: 'data_consumer', to: ['analyst'], apps: ['pii'] },
          { persona: 'process_admin', to: ['lead'], apps: ['pii'] },
        ],
      };
      const first = await planAndApply(p);
      const app = `${prefix}pii_app`;
      const appPassword = first.result.secrets.get(app)!;
      await settleAuthCache();
      const cases = `${quoteName(schema)}.${quoteName('cases')}`;
      expect(await asLogin(app, appPassword, `CREATE TABLE ${cases} (case_id int, user_name nvarchar(100), contact_email nvarchar(200)); INSERT INTO ${cases} VALUES (1, N'alice', N'alice@example.com');`)).toBe(0);
      await asAdmin(database, `GRANT ALTER ON SCHEMA::${quoteName(schema)} TO ${quoteName(provisioner)};`);
      const doctor = await conn.preflight(desiredOf(p));
      expect(doctor.filter((c) => !c.ok)).toEqual([]);
      const second = await planAndApply(p);
      expect(second.plan.changes.map((c) => c.kind)).toEqual(expect.arrayContaining(['mask-columns', 'grant']));
      expect((await replan(p)).changes).toEqual([]);
      const analyst = await rowsAs(people.analyst, secret.get(people.analyst)!, `SELECT * FROM ${cases};`);
      // pseudonym is default() on SQL Server: XXXX for a string (Dynamic Data Masking, "Default").
      expect(analyst).toEqual([{ case_id: 1, user_name: expect.stringMatching(/^x+$/i), contact_email: 'n/a' }]);
      const lead = await rowsAs(people.lead, secret.get(people.lead)!, `SELECT * FROM ${cases};`);
      expect(lead).toEqual([{ case_id: 1, user_name: 'alice', contact_email: 'alice@example.com' }]);
      // A table made after the apply: 229 for the consumer until the next apply, which masks it.
      const later = `${quoteName(schema)}.${quoteName('events_v2')}`;
      expect(await asLogin(app, appPassword, `CREATE TABLE ${later} (event_id int, user_name nvarchar(100)); INSERT INTO ${later} VALUES (7, N'bob');`)).toBe(0);
      expect(await asLogin(people.analyst, secret.get(people.analyst)!, `SELECT * FROM ${later};`)).toBe(229);
      const third = await planAndApply(p);
      expect(third.plan.changes.some((c) => c.kind === 'mask-columns' && c.table === 'events_v2' && c.newTable)).toBe(true);
      const masked = await rowsAs(people.analyst, secret.get(people.analyst)!, `SELECT * FROM ${later};`);
      expect(masked).toEqual([{ event_id: 7, user_name: expect.stringMatching(/^x+$/i) }]);
    } finally {
      await asAdmin(database, `REVOKE ALTER ANY MASK FROM ${quoteName(provisioner)};`).catch(() => undefined);
      for (const login of Object.values(people)) {
        await asAdmin(database, `DROP USER ${quoteName(login)};`).catch(() => undefined);
        await asAdmin('master', `DROP LOGIN ${quoteName(login)};`).catch(() => undefined);
      }
    }
  });

  it('removing an app drops what pmgrants owns for it, keeps its schema owner, and converges', async () => {
    const p = policy(['p2p']);
    const { plan } = await planAndApply(p);
    expect(plan.changes.map((c) => c.kind)).toEqual(expect.arrayContaining(['drop-login', 'drop-user', 'drop-role']));
    const again = await replan(p);
    expect(again.changes).toEqual([]);
    expect(again.warnings.join('\n')).toContain(`${prefix}o2c_owner`);
  });

  it('single_account: one shared login reaches every app schema', async () => {
    const p = policy(['p2p', 'o2c'], 'single_account');
    await grantReadWrite([`${prefix}p2p_data`, `${prefix}o2c_data`]);
    const { result } = await planAndApply(p);
    expect([...result.secrets.keys()]).toEqual([`${prefix}shared`]);
    expect((await replan(p)).changes).toEqual([]);
  });
});
