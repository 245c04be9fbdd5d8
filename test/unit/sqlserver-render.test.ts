import { describe, expect, it } from 'vitest';
import { PmgrantsError } from '../../provider/model/errors';
import { Statement } from '../../provider/model/statement';
import {
  CREATE_OBJECT_PERMISSIONS,
  azureSqlDialect,
  createSqlServerDialect,
  generateSqlServerPassword,
  generatedLoginSid,
  inspectSqlServer,
  renderChange,
  resolveDialectOptions,
  sqlServerDialect,
} from '../../provider/engines/sqlserver';
import { emptyState } from '../../provider/model/state';
import { DesiredState, Permission, ActualState } from '../../provider/model/types';
import { CHANGE_ORDER, Change, ChangeKind } from '../../provider/plan/change';
import { diffState } from '../../provider/plan/diff';
import { describeChange } from '../../provider/plan/describe';
import { CatalogSimulator } from '../fixtures/sqlserver/catalog-simulator';
import { SYSADMIN } from '../fixtures/sqlserver/permissions';
import { expectGolden, formatRendered } from '../fixtures/sqlserver/golden';
import { SINGLE_ACCOUNT_YAML, SYSTEM_MANAGED_YAML, compiled, policyFromYaml, smallPolicy } from '../fixtures/sqlserver/policies';
import { compilePolicy } from '../../provider/model/compile';

const perm = (grantee: string, on: Permission['on'], privilege: string, effect: 'GRANT' | 'DENY' = 'GRANT', withGrantOption = false): Permission => ({
  grantee,
  on,
  privilege,
  effect,
  withGrantOption,
});

/** Every Change kind at least once, with the variants the renderer distinguishes. */
function everyChange(engine: 'sqlserver' | 'azure-sql'): Change[] {
  const changes: Change[] = [
    { kind: 'create-login', login: { name: 'pmg_p2p_app', purpose: 'app-login', app: 'p2p', password: 'generated' } },
    { kind: 'rotate-password', login: 'pmg_p2p_app', reason: 'age' },
    { kind: 'drop-login', login: 'pmg_retired_app' },
    { kind: 'create-user', user: { name: 'pmg_p2p_app', purpose: 'app-login', app: 'p2p', source: { type: 'login', login: 'pmg_p2p_app' } } },
    { kind: 'create-user', user: { name: 'reporting_svc', purpose: 'principal', source: { type: 'sql-login', login: 'reporting_svc' } } },
    { kind: 'create-user', user: { name: 'analysts', purpose: 'principal', source: { type: 'external', kind: 'entra-group', objectId: '0a0b0c0d-1111-4222-8333-944455556666' } } },
    { kind: 'create-user', user: { name: 'alice@contoso.com', purpose: 'principal', source: { type: 'external', kind: 'entra-user' } } },
    { kind: 'drop-user', user: 'pmg_retired_app' },
    { kind: 'drop-user', user: 'pmg_gone_app', handTo: 'pmg_gone_owner' },
    { kind: 'create-role', role: { name: 'pmg_p2p_data_consumer', purpose: 'persona', app: 'p2p', persona: 'data_consumer' } },
    { kind: 'drop-role', role: 'pmg_retired_data_consumer' },
    { kind: 'drop-role', role: 'pmg_gone_process_admin', handTo: 'pmg_gone_owner' },
    { kind: 'create-schema', schema: { name: 'p2p', owner: 'pmg_p2p_owner', app: 'p2p' } },
    { kind: 'alter-schema-owner', schema: 'p2p', from: 'dbo', to: 'pmg_p2p_owner' },
    { kind: 'add-member', membership: { role: 'pmg_p2p_data_consumer', member: 'analysts' } },
    { kind: 'drop-member', membership: { role: 'pmg_p2p_data_consumer', member: 'former_analyst' } },
    { kind: 'grant', permission: perm('pmg_p2p_data_consumer', { type: 'schema', name: 'p2p' }, 'SELECT') },
    { kind: 'grant', permission: perm('pmg_p2p_process_admin', { type: 'schema', name: 'p2p' }, 'SELECT', 'GRANT', true) },
    { kind: 'grant', permission: perm('pmg_p2p_data_consumer', { type: 'schema', name: 'p2p' }, 'VIEW DEFINITION', 'DENY') },
    { kind: 'grant', permission: perm('pmg_p2p_app', { type: 'database' }, 'CREATE TABLE') },
    { kind: 'grant', permission: perm('pmg_p2p_process_admin', { type: 'role', name: 'pmg_p2p_data_consumer' }, 'ALTER') },
    { kind: 'grant', permission: perm('pmg_o2c_app', { type: 'schema', name: 'o2c' }, 'create-objects') },
    { kind: 'revoke', permission: perm('pmg_p2p_data_consumer', { type: 'schema', name: 'p2p' }, 'INSERT') },
    { kind: 'revoke', permission: perm('pmg_p2p_data_consumer', { type: 'schema', name: 'p2p' }, 'VIEW DEFINITION', 'DENY') },
    { kind: 'revoke', permission: perm('pmg_p2p_data_consumer', { type: 'schema', name: 'p2p' }, 'SELECT', 'GRANT', true) },
    { kind: 'revoke', permission: perm('pmg_p2p_data_consumer', { type: 'schema', name: 'p2p' }, 'UPDATE', 'GRANT', true) },
    // Column grants inspect read on an app schema: AS the schema's owner, or the object's own owner.
    { kind: 'revoke', permission: perm('public', { type: 'engine', kind: 'column:["cases","name"]', name: 'p2p' }, 'SELECT') },
    { kind: 'revoke', permission: perm('bi_readers', { type: 'engine', kind: 'column:["cases","amount"]', name: 'p2p', owner: 'bi_owner' }, 'UPDATE', 'GRANT', true) },
    // Personal data (Dynamic Data Masking): a masked reader's SELECT on the columns of one table, UNMASK for a clear one, masks (one replaced).
    { kind: 'grant', permission: perm('pmg_p2p_data_consumer', { type: 'engine', kind: 'column:["cases","case_id","user_name"]', name: 'p2p' }, 'SELECT') },
    { kind: 'grant', permission: perm('pmg_p2p_process_admin', { type: 'schema', name: 'p2p' }, 'UNMASK') },
    {
      kind: 'mask-columns',
      app: 'p2p',
      schema: 'p2p',
      table: 'vendors',
      newTable: false,
      columns: [
        { name: 'user_name', function: 'default()' },
        { name: "contact's name", function: 'partial(0, "n/a", 0)', was: 'partial(1, "****", 1)' },
      ],
    },
  ];
  if (engine === 'sqlserver') {
    changes.push({ kind: 'create-user', user: { name: 'CONTOSO\\PM Admins', purpose: 'principal', source: { type: 'windows', kind: 'windows-group' } } });
  }
  return changes;
}

/** The desired state the goldens render against: p2p keeps SELECT (without grant option) for its consumers. */
function goldenDesired(engine: 'sqlserver' | 'azure-sql'): DesiredState {
  const d = compiled(smallPolicy(engine));
  return (engine === 'sqlserver' ? sqlServerDialect : azureSqlDialect).realize(d);
}

function renderAll(dialect: ReturnType<typeof createSqlServerDialect>, changes: Change[], desired: DesiredState) {
  return changes.map((change) => ({ change, statements: dialect.render([change], desired) }));
}

describe('SQL Server render: golden T-SQL for every change kind', () => {
  it("covers every Change kind but PostgreSQL's masked views, which it refuses (realize leaves no companion schema to plan them in)", () => {
    const kinds = new Set(everyChange('sqlserver').map((c) => c.kind));
    const masking = ['create-masked-view', 'create-masking-key', 'drop-masked-view', 'replace-masked-view'];
    expect([...kinds].sort()).toEqual([...CHANGE_ORDER].filter((k) => !masking.includes(k)).sort());
    const view = { app: 'p2p', schema: 'p2p_masked', name: 'cases', visibility: 'masked', source: { schema: 'p2p', name: 'cases' }, columns: [{ name: 'id' }], hidden: [], owner: 'pmg_masker', readers: [], keySchema: 'pmg_masking' } as const;
    const refused: Change[] = [
      { kind: 'create-masking-key', schema: 'pmg_masking', owner: 'pmg_masker' },
      { kind: 'create-masked-view', view: { ...view, columns: [...view.columns], hidden: [], readers: [] } },
      { kind: 'replace-masked-view', view: { ...view, columns: [...view.columns], hidden: [], readers: [] } },
      { kind: 'drop-masked-view', schema: 'p2p_masked', name: 'cases', app: 'p2p' },
    ];
    expect(refused.map((c) => c.kind).sort()).toEqual(masking);
    for (const c of refused) expect(() => sqlServerDialect.render([c], goldenDesired('sqlserver'))).toThrow(/PostgreSQL's; SQL Server masks personal columns with Dynamic Data Masking/);
  });

  it('sqlserver', () => {
    expectGolden('every-change.sqlserver.sql', formatRendered(renderAll(sqlServerDialect, everyChange('sqlserver'), goldenDesired('sqlserver'))));
  });

  it('azure-sql (logins in master over a second connection)', () => {
    expectGolden('every-change.azure-sql.sql', formatRendered(renderAll(azureSqlDialect, everyChange('azure-sql'), goldenDesired('azure-sql'))));
  });

  it('azure-sql with contained generated logins', () => {
    const dialect = createSqlServerDialect({ engine: 'azure-sql', generatedLogins: 'contained' });
    const desired = dialect.realize(compiled(smallPolicy('azure-sql')));
    expectGolden('every-change.azure-sql-contained.sql', formatRendered(renderAll(dialect, everyChange('azure-sql'), desired)));
  });
});

describe('SQL Server render: rules every statement follows', () => {
  const all = (engine: 'sqlserver' | 'azure-sql'): Statement[] =>
    everyChange(engine).flatMap((c) => (engine === 'sqlserver' ? sqlServerDialect : azureSqlDialect).render([c], goldenDesired(engine)));

  it('never puts a password in sql or display; passwords are parameters marked secretFor', () => {
    for (const engine of ['sqlserver', 'azure-sql'] as const) {
      const withSecrets = all(engine).filter((s) => s.params.some((p) => 'secretFor' in p));
      expect(withSecrets.length).toBe(2); // create-login and rotate-password
      for (const s of withSecrets) {
        expect(s.sql).toContain('QUOTENAME(@password, \'\'\'\')');
        expect(s.display).toContain("PASSWORD = '********'");
        expect(s.sql).toContain('EXEC sys.sp_executesql @sql;');
        expect(s.sql).toMatch(/IF @sql IS NULL THROW 50001/);
      }
    }
  });

  it('routes logins to the server and everything else to the warehouse', () => {
    const targets = (engine: 'sqlserver' | 'azure-sql', kind: ChangeKind) =>
      everyChange(engine)
        .filter((c) => c.kind === kind)
        .flatMap((c) => (engine === 'sqlserver' ? sqlServerDialect : azureSqlDialect).render([c], goldenDesired(engine)))
        .map((s) => s.target);
    for (const engine of ['sqlserver', 'azure-sql'] as const) {
      expect(new Set(targets(engine, 'create-login'))).toEqual(new Set(['server']));
      expect(new Set(targets(engine, 'rotate-password'))).toEqual(new Set(['server']));
      expect(new Set(targets(engine, 'drop-login'))).toEqual(new Set(['server']));
      expect(new Set(targets(engine, 'grant'))).toEqual(new Set(['warehouse']));
    }
  });

  it('marks CREATE SCHEMA (always) and Azure SQL CREATE LOGIN as their own batch', () => {
    const schema = sqlServerDialect.render([{ kind: 'create-schema', schema: { name: 's', owner: 'o', app: 'a' } }], goldenDesired('sqlserver'));
    expect(schema[0].ownBatch).toBe(true);
    const login = azureSqlDialect.render([{ kind: 'create-login', login: { name: 'pmg_a_app', purpose: 'app-login', password: 'generated' } }], goldenDesired('azure-sql'));
    expect(login[0].ownBatch).toBe(true);
    expect(login[0].sql).not.toContain('DEFAULT_DATABASE');
    expect(login[0].sql).not.toContain('CHECK_POLICY');
    const boxed = sqlServerDialect.render([{ kind: 'create-login', login: { name: 'pmg_a_app', purpose: 'app-login', password: 'generated' } }], goldenDesired('sqlserver'));
    expect(boxed[0].display).toBe(`CREATE LOGIN [pmg_a_app] WITH PASSWORD = '********', SID = ${generatedLoginSid('sqlserver', 'pm_warehouse', 'pmg_a_app')}, CHECK_POLICY = ON, DEFAULT_DATABASE = [pm_warehouse];`);
  });

  it('uses WITH OBJECT_ID only on Azure SQL, where Microsoft documents it', () => {
    const user: Change = { kind: 'create-user', user: { name: 'analysts', purpose: 'principal', source: { type: 'external', kind: 'entra-group', objectId: '0a0b0c0d-1111-4222-8333-944455556666' } } };
    expect(azureSqlDialect.render([user], goldenDesired('azure-sql'))[0].sql).toBe(
      "CREATE USER [analysts] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '0a0b0c0d-1111-4222-8333-944455556666';",
    );
    expect(sqlServerDialect.render([user], goldenDesired('sqlserver'))[0].sql).toBe('CREATE USER [analysts] FROM EXTERNAL PROVIDER;');
  });

  it('refuses what it cannot express instead of rendering something else', () => {
    const windows: Change = { kind: 'create-user', user: { name: 'CONTOSO\\x', purpose: 'principal', source: { type: 'windows', kind: 'windows-user' } } };
    expect(() => azureSqlDialect.render([windows], goldenDesired('azure-sql'))).toThrow(PmgrantsError);
    const noDomain: Change = { kind: 'create-user', user: { name: 'x', purpose: 'principal', source: { type: 'windows', kind: 'windows-user' } } };
    expect(() => sqlServerDialect.render([noDomain], goldenDesired('sqlserver'))).toThrow(/DOMAIN\\name/);
    const engineSecurable: Change = { kind: 'grant', permission: perm('r', { type: 'engine', kind: 'all-tables', name: 's' }, 'SELECT') };
    expect(() => sqlServerDialect.render([engineSecurable], goldenDesired('sqlserver'))).toThrow(PmgrantsError);
    const injected: Change = { kind: 'grant', permission: perm('r', { type: 'schema', name: 's' }, 'SELECT TO [x]; DROP TABLE t; --') };
    expect(() => sqlServerDialect.render([injected], goldenDesired('sqlserver'))).toThrow(PmgrantsError);
    const badGuid: Change = { kind: 'create-user', user: { name: 'g', purpose: 'principal', source: { type: 'external', kind: 'entra-group', objectId: "x'; DROP USER y; --" } } };
    expect(() => azureSqlDialect.render([badGuid], goldenDesired('azure-sql'))).toThrow(/not an Entra object id/);
  });

  it('revokes a permission held WITH GRANT OPTION with CASCADE, and only the option when the policy keeps the permission', () => {
    const desired = goldenDesired('sqlserver');
    const keep = renderChange({ kind: 'revoke', permission: perm('pmg_p2p_data_consumer', { type: 'schema', name: 'p2p' }, 'SELECT', 'GRANT', true) }, { options: sqlServerDialect.options, desired });
    expect(keep.map((s) => s.sql)).toEqual(['REVOKE GRANT OPTION FOR SELECT ON SCHEMA::[p2p] FROM [pmg_p2p_data_consumer] CASCADE AS [pmg_p2p_owner];']);
    const drop = renderChange({ kind: 'revoke', permission: perm('pmg_p2p_data_consumer', { type: 'schema', name: 'p2p' }, 'DELETE', 'GRANT', true) }, { options: sqlServerDialect.options, desired });
    expect(drop.map((s) => s.sql)).toEqual(['REVOKE DELETE ON SCHEMA::[p2p] FROM [pmg_p2p_data_consumer] CASCADE AS [pmg_p2p_owner];']);
  });

  it('grants the policy\'s schema permissions again after ALTER AUTHORIZATION (which drops them)', () => {
    const desired = goldenDesired('sqlserver');
    const sql = sqlServerDialect.render([{ kind: 'alter-schema-owner', schema: 'p2p', from: 'dbo', to: 'pmg_p2p_owner' }], desired).map((s) => s.sql);
    expect(sql[0]).toBe('ALTER AUTHORIZATION ON SCHEMA::[p2p] TO [pmg_p2p_owner];');
    const schemaGrants = desired.permissions.filter((p) => p.on.type === 'schema' && p.on.name === 'p2p');
    expect(sql.length).toBe(1 + schemaGrants.length);
    expect(sql).toContain('GRANT SELECT ON SCHEMA::[p2p] TO [pmg_p2p_data_consumer] AS [pmg_p2p_owner];');
  });
});

describe('SQL Server realize', () => {
  it('maps neutral rights to sys.database_permissions names on the right securables', () => {
    const desired = sqlServerDialect.realize(compiled(smallPolicy('sqlserver')));
    expect(desired.engine).toBe('sqlserver');
    const app = desired.permissions.filter((p) => p.grantee === 'pmg_p2p_app');
    expect(app.filter((p) => p.on.type === 'schema').map((p) => p.privilege).sort()).toEqual(
      ['ALTER', 'DELETE', 'EXECUTE', 'INSERT', 'REFERENCES', 'SELECT', 'UPDATE', 'VIEW DEFINITION'].sort(),
    );
    expect(app.filter((p) => p.on.type === 'database').map((p) => p.privilege)).toEqual([...CREATE_OBJECT_PERMISSIONS].sort());
    const manage = desired.permissions.filter((p) => p.on.type === 'role');
    expect(manage.length).toBeGreaterThan(0);
    expect(new Set(manage.map((p) => p.privilege))).toEqual(new Set(['ALTER']));
  });

  it('is idempotent and keeps principals, roles, schemas and memberships', () => {
    const neutral = compiled(smallPolicy('sqlserver'));
    const once = sqlServerDialect.realize(neutral);
    expect(sqlServerDialect.realize(once)).toEqual(once);
    expect(once.users).toEqual(neutral.users);
    expect(once.roles).toEqual(neutral.roles);
    expect(once.schemas).toEqual(neutral.schemas);
    expect(once.memberships).toEqual(neutral.memberships);
    expect(once.logins).toEqual(neutral.logins);
  });

  it('states its limitations', () => {
    const policy = policyFromYaml('sm.yaml', SYSTEM_MANAGED_YAML);
    const notes = sqlServerDialect.limitations!(sqlServerDialect.realize(compilePolicy(policy)));
    expect(notes.join('\n')).toMatch(/Windows principals need an existing Windows login/);
    expect(notes.join('\n')).toMatch(/SQL Server 2022/);
  });

  it('rejects contained logins on boxed SQL Server', () => {
    expect(() => resolveDialectOptions({ engine: 'sqlserver', generatedLogins: 'contained' })).toThrow(/azure-sql only/);
  });
});

/** compile -> realize -> diff against an empty database -> render; then run it on the simulator and plan again. */
function loop(yaml: string, file: string, dialect: ReturnType<typeof createSqlServerDialect>, seed?: (sim: CatalogSimulator) => void) {
  const policy = policyFromYaml(file, yaml);
  const desired = dialect.realize(compilePolicy(policy));
  const empty: ActualState = { ...emptyState(desired.engine, desired.database), managed: [] };
  const plan = diffState(desired, empty);
  const rendered = plan.changes.map((change) => ({ change, statements: dialect.render([change], desired) }));
  const sim = new CatalogSimulator(dialect.options.engine);
  seed?.(sim);
  const secrets = new Map<string, string>();
  for (const s of rendered.flatMap((r) => r.statements)) {
    for (const p of s.params) if ('secretFor' in p && !secrets.has(p.secretFor)) secrets.set(p.secretFor, generateSqlServerPassword(p.secretFor));
  }
  sim.apply(rendered.flatMap((r) => r.statements), secrets);
  const actual = inspectSqlServer(sim.rows(), {
    engine: dialect.options.engine,
    database: desired.database,
    prefix: desired.prefix,
    generatedLogins: dialect.options.generatedLogins,
    desired,
  });
  return { policy, desired, plan, rendered, sim, secrets, actual, again: diffState(desired, actual) };
}

describe('SQL Server: compile -> realize -> diff -> render, end to end', () => {
  it('system_managed on SQL Server: golden plan, and applying it converges', () => {
    const r = loop(SYSTEM_MANAGED_YAML, 'system-managed.yaml', sqlServerDialect, (sim) => {
      sim.logins.push({ name: 'reporting_svc', principal_id: 290, sid: '0x0000000000000000000000000000ABCD', type: 'S', is_disabled: 0, password_last_set: null });
    });
    expectGolden('loop-system-managed.sqlserver.sql', formatRendered(r.rendered));
    expect(r.plan.changes.filter((c) => c.kind === 'create-login').map((c) => (c.kind === 'create-login' ? c.login.name : ''))).toEqual(['pmg_o2c_app', 'pmg_p2p_app']);
    for (const [login, password] of r.secrets) expect(r.sim.passwords.get(login)).toBe(password);
    expect(r.again.changes).toEqual([]);
    expect(r.actual.managed).toEqual(expect.arrayContaining(['pmg_p2p_app', 'pmg_o2c_app', 'pmg_p2p_owner', 'pmg_app_admin']));
    expect(r.actual.managed).not.toContain('finance-analysts');
  });

  it('single_account on Azure SQL: golden plan, and applying it converges', () => {
    const r = loop(SINGLE_ACCOUNT_YAML, 'single-account.yaml', azureSqlDialect);
    expectGolden('loop-single-account.azure-sql.sql', formatRendered(r.rendered));
    expect(r.desired.logins.map((l) => l.name)).toEqual(['pmg_shared']);
    expect(r.again.changes).toEqual([]);
  });

  it('single_account on Azure SQL with contained logins converges too', () => {
    const dialect = createSqlServerDialect({ engine: 'azure-sql', generatedLogins: 'contained' });
    const r = loop(SINGLE_ACCOUNT_YAML, 'single-account.yaml', dialect);
    expect(r.rendered.flatMap((x) => x.statements).every((s) => s.target === 'warehouse')).toBe(true);
    expect(r.sim.logins).toEqual([]);
    expect(r.again.changes).toEqual([]);
  });

  it('removing an app drops what pmgrants owns for it, keeps the owner role that still owns the schema, and converges', () => {
    const r = loop(SYSTEM_MANAGED_YAML, 'system-managed.yaml', sqlServerDialect, (sim) => {
      sim.logins.push({ name: 'reporting_svc', principal_id: 290, sid: '0x0000000000000000000000000000ABCD', type: 'S', is_disabled: 0, password_last_set: null });
    });
    const smaller = policyFromYaml('smaller.yaml', SYSTEM_MANAGED_YAML.replace('  o2c: { schema: order_to_cash, source: open }\n', ''));
    const desired = sqlServerDialect.realize(compilePolicy(smaller));
    const plan = diffState(desired, r.actual);
    const kinds = plan.changes.map((c) => c.kind);
    expect(kinds).toContain('drop-login');
    expect(kinds).toContain('drop-role');
    expect(plan.warnings.join('\n')).toMatch(/pmg_o2c_owner.*order_to_cash/);
    // The app's user created a schema of its own (its transformations' scratch space): DROP USER would
    // refuse (15138), so what it owns goes to the app's owner role first, which the plan says.
    const appUser = r.sim.principals.find((p) => p.name === 'pmg_o2c_app')!;
    r.sim.schemas.push({ schema_id: 99, name: 'o2c_scratch', principal_id: appUser.principal_id });
    const withScratch = diffState(desired, inspectSqlServer(r.sim.rows(), { engine: 'sqlserver', database: desired.database, prefix: desired.prefix, desired }));
    const dropUser = withScratch.changes.find((c) => c.kind === 'drop-user');
    expect(dropUser).toEqual({ kind: 'drop-user', user: 'pmg_o2c_app', handTo: 'pmg_o2c_owner' });
    expect(describeChange(dropUser!).text).toBe('user pmg_o2c_app (its objects are handed to pmg_o2c_owner first)');
    // Taking a schema over needs TAKE OWNERSHIP on it (ALTER AUTHORIZATION), which only CONTROL gives:
    // not the seed's provisioning login. The apply fails as a whole, nothing dropped.
    const statements = withScratch.changes.flatMap((c) => sqlServerDialect.render([c], desired));
    const before = r.sim.snapshot();
    expect(() => r.sim.apply(statements, new Map())).toThrow(/Cannot find the schema 'o2c_scratch', because it does not exist or you do not have permission/);
    expect(r.sim.snapshot()).toBe(before);
    r.sim.actAs(SYSADMIN);
    r.sim.apply(statements, new Map());
    expect(r.sim.schemas.find((x) => x.name === 'o2c_scratch')?.principal_id).toBe(r.sim.principals.find((p) => p.name === 'pmg_o2c_owner')!.principal_id);
    const after = inspectSqlServer(r.sim.rows(), { engine: 'sqlserver', database: desired.database, prefix: desired.prefix, desired });
    expect(diffState(desired, after).changes).toEqual([]);
    expect(r.sim.logins.map((l) => l.name)).not.toContain('pmg_o2c_app');
    expect(r.sim.principals.map((p) => p.name)).not.toContain('pmg_o2c_app');
  });

  it('without an heir, DROP USER of a principal that owns a schema fails as the server does', () => {
    const sim = new CatalogSimulator('sqlserver');
    sim.principals.push({ principal_id: 70, name: 'pmg_x_app', type: 'S', authentication_type: 1, sid: null, is_fixed_role: false, entra_object_id: null, modify_date: null, pmgrants_marker: null });
    sim.schemas.push({ schema_id: 70, name: 'x_scratch', principal_id: 70 });
    expect(() => sim.apply(sqlServerDialect.render([{ kind: 'drop-user', user: 'pmg_x_app' }], goldenDesired('sqlserver')), new Map())).toThrow(/owns a schema/);
  });

  it('rotates a password with a new bound secret, and refuses to drop a login with active sessions', () => {
    const r = loop(SYSTEM_MANAGED_YAML, 'system-managed.yaml', sqlServerDialect, (sim) => {
      sim.logins.push({ name: 'reporting_svc', principal_id: 290, sid: '0x0000000000000000000000000000ABCD', type: 'S', is_disabled: 0, password_last_set: null });
    });
    const rotate = diffState(r.desired, r.actual, { rotate: ['pmg_p2p_app'] });
    expect(rotate.changes).toEqual([{ kind: 'rotate-password', login: 'pmg_p2p_app', reason: 'forced' }]);
    const fresh = new Map([['pmg_p2p_app', generateSqlServerPassword('pmg_p2p_app')]]);
    r.sim.apply(sqlServerDialect.render(rotate.changes, r.desired), fresh);
    expect(r.sim.passwords.get('pmg_p2p_app')).toBe(fresh.get('pmg_p2p_app'));

    const busy = new CatalogSimulator('sqlserver', { activeSessions: ['pmg_old_app'] });
    busy.logins.push({ name: 'pmg_old_app', principal_id: 291, sid: '0x01', type: 'S', is_disabled: 0, password_last_set: null });
    const statements = sqlServerDialect.render([{ kind: 'drop-login', login: 'pmg_old_app' }], r.desired);
    expect(() => busy.apply(statements, new Map())).toThrow(/active sessions/);
    expect(busy.logins.map((l) => l.name)).toEqual(['pmg_old_app']);
  });

  it('rotates by age from the password set time inspect reports', () => {
    const r = loop(SYSTEM_MANAGED_YAML, 'system-managed.yaml', sqlServerDialect, (sim) => {
      sim.logins.push({ name: 'reporting_svc', principal_id: 290, sid: '0x0000000000000000000000000000ABCD', type: 'S', is_disabled: 0, password_last_set: null });
    });
    expect(r.actual.passwordSetAt?.pmg_p2p_app).toMatch(/^2026-01-01T/);
    const later = diffState(r.desired, r.actual, { now: new Date('2026-03-01T00:00:00Z') });
    expect(later.changes.map((c) => c.kind)).toEqual(['rotate-password', 'rotate-password']);
    const soon = diffState(r.desired, r.actual, { now: new Date('2026-01-10T00:00:00Z') });
    expect(soon.changes).toEqual([]);
  });
});
