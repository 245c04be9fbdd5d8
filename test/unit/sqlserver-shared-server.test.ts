/**
 * Warehouses that share a SQL Server (or an Azure SQL logical server): logins belong to the server,
 * users and roles to each database. The shipped policy with the shipped stacks (each its own database
 * and prefix) run through render -> the catalog simulator -> inspect, with one simulated server holding
 * the logins and one simulated database per stack; plus golden T-SQL of the logins and users two stacks
 * create, and the plan-time error when two warehouses' names collide.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PmgrantsError } from '../../provider/model/errors';
import { Statement } from '../../provider/model/statement';
import { createSqlServerDialect, generateSqlServerPassword, inspectSqlServer } from '../../provider/engines/sqlserver';
import { compilePolicy } from '../../provider/model/compile';
import { DesiredState, Policy, ActualState } from '../../provider/model/types';
import { diffState } from '../../provider/plan/diff';
import { loadPolicy } from '../../provider/policy/load';
import { CatalogSimulator } from '../fixtures/sqlserver/catalog-simulator';
import { expectGolden, formatRendered } from '../fixtures/sqlserver/golden';

const root = path.join(__dirname, '..', '..');
type Engine = 'sqlserver' | 'azure-sql';

function stackPolicy(stack: string, engine: Engine, overrides: Partial<Policy['options']> = {}, database?: string): Policy {
  const loaded = loadPolicy(path.join(root, 'examples', 'uipath-system-managed.yaml'), { stack, stacksDir: path.join(root, 'stacks') });
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const policy = loaded.policy!;
  return {
    ...policy,
    warehouse: { ...policy.warehouse, engine, ...(database ? { database } : {}) },
    options: { ...policy.options, ...overrides },
  };
}

/** One server: its logins (master), and a database per warehouse. Statements go where their target says. */
class Server {
  readonly master: CatalogSimulator;
  readonly databases = new Map<string, CatalogSimulator>();
  constructor(readonly engine: Engine) {
    this.master = new CatalogSimulator(engine);
  }
  database(name: string): CatalogSimulator {
    let db = this.databases.get(name);
    if (!db) this.databases.set(name, (db = new CatalogSimulator(this.engine, { serverLogins: () => this.master.logins })));
    return db;
  }
  inspect(desired: DesiredState): ActualState {
    const rows = { ...this.database(desired.database).rows(), logins: this.master.rows().logins };
    return inspectSqlServer(rows, { engine: this.engine, database: desired.database, prefix: desired.prefix, desired });
  }
  apply(desired: DesiredState, statements: readonly Statement[]): void {
    const secrets = new Map(desired.logins.map((l) => [l.name, generateSqlServerPassword(l.name)]));
    for (const s of statements) (s.target === 'server' ? this.master : this.database(desired.database)).apply([s], secrets);
  }
  /** Plan and apply a policy; returns its plan's changes. */
  converge(policy: Policy) {
    const dialect = createSqlServerDialect({ engine: this.engine });
    const desired = dialect.realize(compilePolicy(policy));
    const plan = diffState(desired, this.inspect(desired));
    this.apply(desired, plan.changes.flatMap((c) => dialect.render([c], desired)));
    expect(diffState(desired, this.inspect(desired)).changes).toEqual([]);
    return { desired, plan };
  }
  /** What no other warehouse may change: a database's catalog, and the logins (with passwords) of a prefix. */
  snapshot(database: string, prefix: string): string {
    const logins = this.master.logins.filter((l) => l.name.startsWith(prefix));
    const passwords = logins.map((l) => this.master.passwords.get(l.name));
    return JSON.stringify({ db: this.database(database).snapshot(), logins, passwords });
  }
}

const STACKS = { dev: 'PM_Warehouse_Dev', test: 'PM_Warehouse_Test', prod: 'PM_Warehouse_Prod' } as const;

describe.each(['sqlserver', 'azure-sql'] as const)('warehouses on one %s server', (engine) => {
  it('the three shipped stacks, applied in two orders, each converge and leave the others as they were', () => {
    for (const order of [['dev', 'test', 'prod'], ['prod', 'dev', 'test']] as const) {
      const server = new Server(engine);
      for (const stack of order) {
        const others = Object.keys(STACKS).filter((s) => s !== stack) as (keyof typeof STACKS)[];
        const before = others.map((s) => server.snapshot(STACKS[s], `pmg_${s}_`));
        const { plan } = server.converge(stackPolicy(stack, engine));
        expect(plan.changes.filter((c) => c.kind === 'create-login').map((c) => (c.kind === 'create-login' ? c.login.name : ''))).toEqual([
          `pmg_${stack}_invoice-handling_app`,
          `pmg_${stack}_order-to-cash_app`,
          `pmg_${stack}_purchase-to-pay_app`,
        ]);
        expect(others.map((s) => server.snapshot(STACKS[s], `pmg_${s}_`))).toEqual(before);
      }
      expect(server.master.logins).toHaveLength(9);
      // Every stack still plans nothing.
      const dialect = createSqlServerDialect({ engine });
      for (const stack of order) {
        const desired = dialect.realize(compilePolicy(stackPolicy(stack, engine)));
        expect(diffState(desired, server.inspect(desired)).changes).toEqual([]);
      }
    }
  });

  it("a warehouse with the default prefix (every stack's logins start with it) and prune on never lists, alters or drops their logins", () => {
    const server = new Server(engine);
    server.converge(stackPolicy('dev', engine));
    const before = server.snapshot(STACKS.dev, 'pmg_dev_');
    const other = stackPolicy('dev', engine, { prefix: 'pmg_', prune: true }, 'PM_Warehouse_Other');
    const { plan } = server.converge(other);
    expect(JSON.stringify(plan.changes)).not.toContain('pmg_dev_');
    expect(server.snapshot(STACKS.dev, 'pmg_dev_')).toBe(before);
  });

  it('a warehouse whose generated logins are another warehouse\'s (same prefix) is refused at plan time', () => {
    const server = new Server(engine);
    server.converge(stackPolicy('dev', engine));
    const dialect = createSqlServerDialect({ engine });
    const twin = dialect.realize(compilePolicy(stackPolicy('dev', engine, {}, 'PM_Warehouse_Twin')));
    const actual = server.inspect(twin);
    expect(() => diffState(twin, actual)).toThrow(PmgrantsError);
    expect(() => diffState(twin, actual)).toThrow(
      engine === 'sqlserver'
        ? /^login "pmg_dev_invoice-handling_app" belongs to warehouse "PM_Warehouse_Dev" on this server \(and 2 more of this policy's names belong to other warehouses\), and pmgrants never changes another warehouse's principals: give this warehouse its own prefix \(options\.prefix, e\.g\. "pmg_dev_twin_" in the policy or its stack overlay\) and plan again$/
        : /^login "pmg_dev_invoice-handling_app" exists on this server but no managed user of database "PM_Warehouse_Twin" maps to it, so it may belong to another warehouse \(or was left by an apply of this one that failed: then drop it and apply again\) \(and 2 more/,
    );
  });
});

describe('a login an earlier version shared between two SQL Server warehouses', () => {
  it("a user of another database mapped to dev's login does not make it that warehouse's: its plan is refused, dev's converges", () => {
    const server = new Server('sqlserver');
    server.converge(stackPolicy('dev', 'sqlserver'));
    const dialect = createSqlServerDialect({ engine: 'sqlserver' });
    const twin = dialect.realize(compilePolicy(stackPolicy('dev', 'sqlserver', {}, 'PM_Warehouse_Twin')));
    // What an earlier version did: the twin's apply created users for dev's logins and marked them.
    const users = twin.users.filter((u) => u.source.type === 'login');
    server.apply(twin, users.flatMap((user) => dialect.render([{ kind: 'create-user', user }], twin)));
    const before = server.snapshot(STACKS.dev, 'pmg_dev_');
    const actual = server.inspect(twin);
    expect(Object.keys(actual.foreign ?? {}).sort()).toEqual(users.map((u) => u.name).sort());
    expect(actual.managed.filter((n) => n.endsWith('_app'))).toEqual(users.map((u) => u.name).sort()); // its users are its own
    expect(() => diffState(twin, actual)).toThrow(/belongs to warehouse "PM_Warehouse_Dev"/);
    const dev = dialect.realize(compilePolicy(stackPolicy('dev', 'sqlserver')));
    expect(diffState(dev, server.inspect(dev)).changes).toEqual([]);
    expect(server.snapshot(STACKS.dev, 'pmg_dev_')).toBe(before);
  });
});

describe('golden T-SQL: the logins and users of two stacks on one server', () => {
  for (const engine of ['sqlserver', 'azure-sql'] as const) {
    it(`${engine}: a login per stack in master (its own prefix; on SQL Server its own default database), a user per database`, () => {
      const dialect = createSqlServerDialect({ engine });
      const entries = (['dev', 'prod'] as const).flatMap((stack) => {
        const desired = dialect.realize(compilePolicy(stackPolicy(stack, engine)));
        const changes = diffState(desired, { engine, database: desired.database, logins: [], users: [], roles: [], schemas: [], memberships: [], permissions: [], managed: [] }).changes;
        return changes
          .filter((c) => (c.kind === 'create-login' || c.kind === 'create-user') && (c.kind === 'create-login' ? c.login.app : c.user.app) === 'purchase-to-pay')
          .map((change) => ({ change, statements: dialect.render([change], desired) }));
      });
      expectGolden(`stacks-on-one-server.${engine}.sql`, formatRendered(entries));
    });
  }
});
