/**
 * One owner per server-scoped principal, in the pure parts: the PostgreSQL marker names its warehouse,
 * inspect tells this warehouse's roles from another's (and claims legacy markers by where their
 * privileges are), the diff refuses a policy naming another warehouse's principal, export never offers
 * one for adoption, and diff-stacks compares stacks of different prefixes name for name.
 */
import { describe, expect, it } from 'vitest';
import { withPrefix } from '../../provider/cli/commands/diff-stacks';
import { PmgrantsError } from '../../provider/model/errors';
import { markerSql } from '../../provider/engines/postgres/marker';
import { exportCatalogFromRows, ExportRows } from '../../provider/engines/postgres/export';
import { actualFromCatalog, CatalogRows, roleOwnership } from '../../provider/engines/postgres/inspect';
import { managedComment, parseMarker } from '../../provider/engines/postgres/marker';
import { postgresDialect } from '../../provider/engines/postgres/dialect';
import { renderChange } from '../../provider/engines/postgres/render';
import { compilePolicy } from '../../provider/model/compile';
import { DesiredState, Policy } from '../../provider/model/types';
import { diffState, ownedElsewhere } from '../../provider/plan/diff';

const policy = (database: string, prefix = 'pmg_'): Policy => ({
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'postgres', database },
  security: { mode: 'system_managed' },
  principals: { analysts: { kind: 'database-role', name: 'Analysts' } },
  apps: { p2p: { schema: 'p2p', source: 'closed' } },
  grants: [{ persona: 'data_consumer', to: ['analysts'], apps: ['p2p'] }],
  options: { prefix },
});
const desiredOf = (database: string, prefix?: string): DesiredState => postgresDialect.realize(compilePolicy(policy(database, prefix)));

const role = (name: string, comment: string | null, canLogin = false) => ({ name, canLogin, comment, managed: comment?.startsWith('pmgrants:managed') ?? false });
const emptyRows = (database: string): CatalogRows => ({
  database,
  roles: [],
  memberships: [],
  schemas: [],
  'schema-acls': [],
  'database-acl': null,
  'object-acls': [],
  'default-acls': [],
});

describe('the PostgreSQL marker names the warehouse', () => {
  it('roles and generated logins are created with their database in the marker, read back by parseMarker', () => {
    const desired = desiredOf('wh_a');
    const created = renderChange({ kind: 'create-role', role: desired.roles.find((r) => r.name === 'pmg_p2p_data_consumer')! }, desired);
    expect(created[1].sql).toBe(`COMMENT ON ROLE "pmg_p2p_data_consumer" IS 'pmgrants:managed {"purpose":"persona","app":"p2p","persona":"data_consumer","warehouse":"wh_a"}'`);
    expect(markerSql('pmg_p2p_app', undefined, 'wh_a')).toBe(`COMMENT ON ROLE "pmg_p2p_app" IS 'pmgrants:managed {"purpose":"generated-login","warehouse":"wh_a"}'`);
    expect(parseMarker(managedComment({ purpose: 'generated-login', passwordSetAt: '2030-01-01T00:00:00.000Z', warehouse: 'wh_a' }))).toEqual({
      purpose: 'generated-login',
      passwordSetAt: '2030-01-01T00:00:00.000Z',
      warehouse: 'wh_a',
    });
    expect(parseMarker('pmgrants:managed {"purpose":"persona","warehouse":7}')).toEqual({ purpose: 'persona' });
  });
});

describe('roleOwnership: whose role is it', () => {
  const rows = (database: string, roles: CatalogRows['roles'], legacy: [string, string[]][] = []) => ({ database, roles, 'legacy-role-databases': legacy });
  it('a marker naming a warehouse decides; unmarked and principal roles are nobody\'s here', () => {
    const o = roleOwnership(
      rows('wh_a', [
        role('pmg_a', managedComment({ purpose: 'persona', warehouse: 'wh_a' })),
        role('pmg_b', managedComment({ purpose: 'persona', warehouse: 'wh_b' })),
        role('Analysts', 'pmgrants:principal {"kind":"database-role"}'),
        role('pmg_hand_made', null),
      ]),
      new Set(),
    );
    expect([...o.foreign]).toEqual([['pmg_b', 'wh_b']]);
    expect(o.unclaimed.size).toBe(0);
    expect(o.warnings).toEqual([]);
  });

  it('a legacy marker (no warehouse) is claimed by the databases holding its privileges', () => {
    const legacy = managedComment({ purpose: 'persona' });
    const o = roleOwnership(
      rows(
        'wh_a',
        ['ours', 'theirs', 'both_named', 'both_not_named', 'nothing_named', 'nothing'].map((n) => role(n, legacy)),
        [
          ['ours', ['wh_a']],
          ['theirs', ['wh_b']],
          ['both_named', ['wh_a', 'wh_b']],
          ['both_not_named', ['wh_a', 'wh_c', 'wh_b']],
        ],
      ),
      new Set(['both_named', 'nothing_named', 'theirs']),
    );
    expect(Object.fromEntries(o.foreign)).toEqual({ theirs: 'wh_b', both_not_named: 'wh_b, wh_c' });
    expect([...o.unclaimed]).toEqual(['nothing']);
    expect(o.warnings).toEqual([
      'role "both_named" has a pmgrants marker that names no warehouse and holds privileges in this database and in "wh_b": this warehouse manages it because its policy names it, but if another warehouse\'s policy names it too, give each warehouse its own prefix',
      'role "both_not_named" has a pmgrants marker that names no warehouse and holds privileges in this database and in "wh_b", "wh_c": it may belong to another warehouse, so pmgrants leaves it as it is',
      '1 role ("nothing") carries a pmgrants marker that names no warehouse and holds nothing in any database: not claimed by this warehouse, so never dropped by it',
    ]);
  });
});

describe('inspect and diff on a server another warehouse shares', () => {
  const desired = desiredOf('wh_a');
  const theirs = (name: string) => role(name, managedComment({ purpose: 'persona', warehouse: 'wh_b' }));

  it("another warehouse's roles, the memberships in them and their privileges here are left out; nothing of theirs is revoked or dropped", () => {
    const catalog: CatalogRows = {
      ...emptyRows('wh_a'),
      roles: [role('Analysts', 'pmgrants:principal {"kind":"database-role"}'), theirs('pmg_b_consumer'), role('pmg_stale', managedComment({ purpose: 'persona', warehouse: 'wh_a' }))],
      memberships: [
        ['pmg_b_consumer', 'Analysts', false],
        ['pmg_stale', 'pmg_b_consumer', false],
      ],
      'schema-acls': [['p2p', 'postgres', ['pmg_b_consumer=U/postgres', 'pmg_stale=U/postgres']]],
      schemas: [{ name: 'p2p', owner: 'postgres' }],
    };
    const actual = actualFromCatalog(catalog, desired);
    expect(actual.foreign).toEqual({ pmg_b_consumer: 'wh_b' });
    expect(actual.roles.map((r) => r.name)).not.toContain('pmg_b_consumer');
    expect(actual.memberships).toEqual([{ role: 'pmg_stale', member: 'pmg_b_consumer' }]); // in our role: ours to end
    const plan = diffState(desired, actual);
    const touched = JSON.stringify(plan.changes.filter((c) => c.kind.startsWith('drop') || c.kind === 'revoke'));
    expect(touched).toContain('pmg_stale');
    expect(touched.replace(/"member":"pmg_b_consumer"/, '')).not.toContain('pmg_b_consumer');
  });

  it('a policy naming another warehouse\'s principal is refused with one sentence naming the owner and the fix', () => {
    const actual = { ...actualFromCatalog({ ...emptyRows('wh_a'), roles: [theirs('pmg_p2p_data_consumer'), theirs('pmg_p2p_owner')] }, desired) };
    expect(ownedElsewhere(desired, actual)).toBe(
      'role "pmg_p2p_data_consumer" belongs to warehouse "wh_b" on this server (and 1 more of this policy\'s names belong to other warehouses), and pmgrants never changes another warehouse\'s principals: give this warehouse its own prefix (options.prefix, e.g. "pmg_a_" in the policy or its stack overlay) and plan again',
    );
    expect(() => diffState(desired, actual)).toThrow(PmgrantsError);
    expect(ownedElsewhere(desired, { foreign: { pmg_other: 'wh_b' } })).toBeUndefined();
  });
});

describe('export never offers another warehouse\'s role for adoption', () => {
  it('a role whose marker names another database is "managed by pmgrants for warehouse <db>", whatever its prefix', () => {
    const rows: ExportRows = {
      database: 'wh_a',
      currentUser: 'admin',
      'export-roles': [
        { name: 'x_b_consumer', canLogin: false, superuser: false, createRole: false, comment: managedComment({ purpose: 'persona', warehouse: 'wh_b' }) },
        { name: 'x_a_consumer', canLogin: false, superuser: false, createRole: false, comment: managedComment({ purpose: 'persona', warehouse: 'wh_a' }) },
      ],
      'export-memberships': [],
      'export-schemas': [],
      'export-schema-privileges': [],
      'export-objects': [],
      'export-object-privileges': [],
      'export-column-privileges': [],
    };
    const catalog = exportCatalogFromRows(rows, 'pmg_');
    expect(Object.fromEntries(catalog.principals.map((p) => [p.name, p.notAdoptable]))).toEqual({
      x_b_consumer: 'managed by pmgrants for warehouse wh_b',
      x_a_consumer: undefined,
    });
  });
});

describe('diff-stacks: stacks of different prefixes compared name for name', () => {
  it('withPrefix renames every generated name, wherever it appears, and nothing else', () => {
    const dev = desiredOf('wh', 'pmg_dev_');
    const prod = desiredOf('wh', 'pmg_prod_');
    const renamed = withPrefix(dev, 'pmg_prod_');
    expect(JSON.stringify(renamed)).not.toContain('pmg_dev_');
    expect(renamed).toEqual(prod);
    expect(renamed.users.map((u) => u.name)).toContain('Analysts');
  });
});
