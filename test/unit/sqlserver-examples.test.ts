/**
 * Every SQL Server / Azure SQL example, through the whole loop: compile -> realize -> diff against an
 * empty database -> render -> run on the catalog simulator (documented statement semantics) -> inspect
 * the resulting catalog rows -> diff again: nothing left to do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSqlServerDialect, generateSqlServerPassword, inspectSqlServer } from '../../provider/engines/sqlserver';
import { compilePolicy } from '../../provider/model/compile';
import { emptyState } from '../../provider/model/state';
import { diffState } from '../../provider/plan/diff';
import { loadPolicy } from '../../provider/policy/load';
import { CatalogSimulator } from '../fixtures/sqlserver/catalog-simulator';
import { SEED_SYSTEM_MANAGED } from '../fixtures/sqlserver/permissions';

const root = path.join(__dirname, '..', '..');
const examples = fs
  .readdirSync(path.join(root, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => ({ file: f, policy: loadPolicy(path.join(root, 'examples', f)).policy! }))
  .filter((e) => e.policy.warehouse.engine !== 'postgres');

describe('SQL Server examples converge through render -> simulated catalog -> inspect', () => {
  it('there are SQL Server and Azure SQL examples', () => {
    expect(examples.map((e) => e.policy.warehouse.engine).sort()).toEqual(['azure-sql', 'azure-sql', 'sqlserver', 'sqlserver', 'sqlserver']);
  });
  for (const { file, policy } of examples) {
    it(file, () => {
      const engine = policy.warehouse.engine as 'sqlserver' | 'azure-sql';
      const dialect = createSqlServerDialect({ engine });
      const desired = dialect.realize(compilePolicy(policy, { now: new Date() }));
      const plan = diffState(desired, { ...emptyState(desired.engine, desired.database), managed: [] });
      const statements = plan.changes.flatMap((c) => dialect.render([c], desired));
      // Personal data: the seed's login plus what masking needs (docs/sqlserver.md, "Rights beyond the seed").
      const masked = (desired.masking?.apps ?? []).map((a) => a.schema);
      const principal = masked.length ? { ...SEED_SYSTEM_MANAGED, grants: ['ALTER ANY MASK', ...masked.map((s) => `ALTER ON SCHEMA::${s}`)] } : undefined;
      const sim = new CatalogSimulator(engine, principal ? { principal } : {});
      sim.apply(statements, new Map(desired.logins.map((l) => [l.name, generateSqlServerPassword(l.name)])));
      const inspect = () => inspectSqlServer({ ...sim.rows(), ...(masked.length ? { maskingColumns: sim.maskingRows(masked) } : {}) }, { engine, database: desired.database, prefix: desired.prefix, desired });
      const actual = inspect();
      expect(diffState(desired, actual).changes).toEqual([]);
      // Every principal the policy grants to exists, and every persona role has its members.
      // (An expiring grant's membership carries its expiry; the catalog does not.)
      for (const { expires: _expires, ...m } of desired.memberships) expect(actual.memberships).toContainEqual(m);
      if (!masked.length) return;
      // Then the app's tables appear, with a column for each personal pattern (its * made concrete): masked and granted, then nothing left to do.
      for (const app of desired.masking!.apps) {
        const byTable = new Map<string, string[]>();
        for (const r of app.rules) {
          const table = r.table.replace(/[*?]/g, '') || 'events';
          byTable.set(table, [...(byTable.get(table) ?? ['id']), r.column.replace(/[*?]/g, 'x')]);
        }
        for (const [table, columns] of byTable) sim.addObject(app.schema, table, [...new Set(columns)]);
      }
      const second = diffState(desired, inspect());
      expect(second.changes.filter((c) => c.kind === 'mask-columns').length).toBeGreaterThan(0);
      sim.apply(second.changes.flatMap((c) => dialect.render([c], desired)), new Map());
      expect(diffState(desired, inspect()).changes).toEqual([]);
    });
  }
});
