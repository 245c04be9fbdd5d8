/**
 * PostgreSQL, the statements and catalog reading of password lifetimes, checkouts and protected roles:
 * a password is set VALID UNTIL its lifetime's end ('infinity' without one), the marker says when a
 * checkout took it, inspect reads both back, and the inspect query names the protected roles as LIKE
 * operands ($6). Pure: no server (the e2e tests prove the server's side).
 */
import { describe, expect, it } from 'vitest';
import { actualFromCatalog, CatalogRows, inspectParams, postgresDialect } from '../../provider/engines/postgres';
import { parseMarker, passwordSql } from '../../provider/engines/postgres/marker';
import { scramSha256Verifier } from '../../provider/engines/postgres/scram';
import { compilePolicy } from '../../provider/model/compile';
import { Policy } from '../../provider/model/types';
import { passwordLifetimeOf } from '../../provider/pipeline/plan';

const policy: Policy = {
  apiVersion: 'pmgrants/v1',
  warehouse: { engine: 'postgres', database: 'wh' },
  security: { mode: 'system_managed', rotation: { validFor: '8h' } },
  principals: {},
  apps: { p2p: { schema: 'p2p', source: 'closed' } },
  grants: [],
  protected: ['svc_*', { role: 'pm_internal', members: ['pm_service'] }, 'a_%b', '*'],
};
const desired = postgresDialect.realize(compilePolicy(policy));
const at = new Date('2030-01-02T03:04:05.000Z');

describe('PostgreSQL: passwords with a lifetime', () => {
  it('passwordSql sets VALID UNTIL the lifetime end, and stamps the marker of a checkout', () => {
    const sql = passwordSql('pmg_p2p_app', scramSha256Verifier('z'.repeat(32)), at, 'wh', 'g1', { validUntil: new Date('2030-01-02T11:04:05.000Z'), checkout: true });
    const [alter, comment] = sql.split('\n');
    expect(alter).toMatch(/^ALTER ROLE "pmg_p2p_app" WITH PASSWORD 'SCRAM-SHA-256\$[^']+' VALID UNTIL '2030-01-02T11:04:05\.000Z';$/);
    const marker = /IS '(.*)'$/.exec(comment)![1];
    expect(parseMarker(marker)).toEqual({ purpose: 'generated-login', passwordSetAt: at.toISOString(), warehouse: 'wh', passwordGeneration: 'g1', delivery: 'checkout' });
  });

  it("without a lifetime the password's end is lifted ('infinity'), and the marker says nothing of a checkout", () => {
    const sql = passwordSql('pmg_p2p_app', scramSha256Verifier('z'.repeat(32)), at, 'wh', 'g1');
    expect(sql.split('\n')[0]).toMatch(/ VALID UNTIL 'infinity';$/);
    expect(sql).not.toContain('delivery');
  });

  it('passwordLifetimeOf: validFor (or a shorter one asked for) from the start; no end without one', () => {
    expect(passwordLifetimeOf(desired, at)).toEqual({ validUntil: new Date('2030-01-02T11:04:05.000Z') });
    expect(passwordLifetimeOf(desired, at, { validFor: '30m', checkout: true })).toEqual({ validUntil: new Date('2030-01-02T03:34:05.000Z'), checkout: true });
    expect(passwordLifetimeOf({}, at)).toEqual({});
  });
});

describe('PostgreSQL inspect: lifetimes, checkouts and protected roles', () => {
  const rows = (roles: CatalogRows['roles']): CatalogRows => ({
    database: 'wh',
    roles,
    memberships: [['pm_internal', 'alice', false]],
    schemas: [],
    'schema-acls': [],
    'database-acl': null,
    'object-acls': [],
    'default-acls': [],
  });
  const marker = (extra: object) => `pmgrants:managed ${JSON.stringify({ purpose: 'generated-login', passwordSetAt: at.toISOString(), warehouse: 'wh', passwordGeneration: 'g1', ...extra })}`;

  it('reads VALID UNTIL of managed logins as passwordValidUntil, and the checkout mark as checkedOut', () => {
    const actual = actualFromCatalog(
      rows([
        { name: 'pmg_p2p_app', canLogin: true, comment: marker({ delivery: 'checkout' }), managed: true, validUntil: '2030-01-02T11:04:05+00:00' },
        { name: 'pmg_o2c_app', canLogin: true, comment: marker({}), managed: true },
        { name: 'pm_internal', canLogin: false, comment: null, managed: false },
      ]),
      desired,
    );
    expect(actual.passwordValidUntil).toEqual({ pmg_p2p_app: '2030-01-02T11:04:05.000Z' });
    expect(actual.checkedOut).toEqual(['pmg_p2p_app']);
    expect(actual.memberships).toEqual([{ role: 'pm_internal', member: 'alice' }]);
  });

  it('inspectParams: $6 holds the protected entries as LIKE operands, without those that protect everything', () => {
    expect(inspectParams(desired)[5]).toEqual(['svc\\_%', 'pm\\_internal', 'a\\_\\%b']);
    expect(inspectParams(postgresDialect.realize(compilePolicy({ ...policy, protected: undefined })))[5]).toEqual([]);
  });
});
