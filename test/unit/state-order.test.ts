import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../provider/model/compile';
import {
  compareMemberships,
  comparePermissions,
  compareSecurables,
  membershipKey,
  permissionKey,
  securableKey,
  sortState,
} from '../../provider/model/state';
import { Membership, Permission, Securable, SecurityState } from '../../provider/model/types';
import { realizePostgres } from '../../provider/engines/postgres/realize';
import { matchByKey } from '../../provider/plan/diff';
import { policyArbitrary } from '../support/states';

/**
 * What sortState did when it built every key: a stable sort by the key's code units, then, among
 * items of equal key, the first of each identity kept.
 */
function sortedByKeys<T>(items: readonly T[], keys: (t: T) => { identity: string; order: string }): T[] {
  const rows = items.map((item) => ({ ...keys(item), item }));
  rows.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  const out: T[] = [];
  for (let start = 0; start < rows.length; ) {
    let end = start + 1;
    while (end < rows.length && rows[end].order === rows[start].order) end++;
    for (let i = start; i < end; i++) {
      if (!rows.slice(start, i).some((r) => r.identity === rows[i].identity)) out.push(rows[i].item);
    }
    start = end;
  }
  return out;
}

function referenceSortState(state: SecurityState): SecurityState {
  const byName = (x: { name: string }) => ({ identity: x.name, order: x.name });
  return {
    ...state,
    logins: sortedByKeys(state.logins, byName),
    users: sortedByKeys(state.users, byName),
    roles: sortedByKeys(state.roles, byName),
    schemas: sortedByKeys(state.schemas, byName),
    memberships: sortedByKeys(state.memberships, (m) => ({ identity: membershipKey(m), order: membershipKey(m) })),
    permissions: sortedByKeys(state.permissions, (p) => ({ identity: `${permissionKey(p)}\u0000${p.effect}`, order: permissionKey(p) })),
  };
}

const codeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// Names from a few short pieces, so that one name is often a prefix of another and names hold the
// separators of the keys (':', ':for:', NUL) and code units around them ('9' < ':' < ';', '\u0001').
const name = fc
  .array(fc.constantFrom('a', 'b', 'ab', ':', ':for:', 'for', '\u0000', '\u0001', '9', ';', '_', '-', ' ', 'é', '\uffff'), { maxLength: 3 })
  .map((parts) => parts.join(''));
const kind = fc.constantFrom('tables', 'tab', 'default-tables', 'some-tables', 'schema', 'role', 'database', 'tables:a', 'x\u0000');
// Without NUL in names and kinds: the lists sortState orders by ranks rather than by comparisons.
const plainName = fc
  .array(fc.constantFrom('a', 'b', 'ab', ':', ':for:', 'for', '\u0001', '9', ';', '_', '-', ' ', 'é', '\uffff'), { maxLength: 3 })
  .map((parts) => parts.join(''));
const plainKind = fc.constantFrom('tables', 'tab', 'default-tables', 'some-tables', 'schema', 'role', 'database', 'tables:a');

function arbitraries(name: fc.Arbitrary<string>, kind: fc.Arbitrary<string>) {
  const securable: fc.Arbitrary<Securable> = fc.oneof(
    fc.constant({ type: 'database' as const }),
    fc.record({ type: fc.constant('schema' as const), name }),
    fc.record({ type: fc.constant('role' as const), name }),
    fc.record({ type: fc.constant('engine' as const), kind, name }),
    fc.record({ type: fc.constant('engine' as const), kind, name, forRole: name }),
  );
  const permission: fc.Arbitrary<Permission> = fc.record({
    grantee: name,
    // Permissions on one securable often share its object, as realize and inspect make them.
    on: fc.array(securable, { minLength: 1, maxLength: 6 }).chain((pool) => fc.oneof(fc.constantFrom(...pool), securable)),
    privilege: fc.constantFrom('SELECT', 'SEL', 'USAGE', '', 'SELECT\u0000', ':'),
    effect: fc.constantFrom('GRANT' as const, 'DENY' as const),
    withGrantOption: fc.boolean(),
  });
  const membership: fc.Arbitrary<Membership> = fc.oneof(
    fc.record({ role: name, member: name }),
    fc.record({ role: name, member: name, admin: fc.boolean() }),
  );
  const named = <T>(fields: fc.Arbitrary<T>) => fc.record({ name, fields }).map(({ name: n, fields: f }) => ({ name: n, ...f }));
  const state: fc.Arbitrary<SecurityState> = fc.record({
    engine: fc.constant('postgres' as const),
    database: fc.constant('w'),
    logins: withDuplicates(named(fc.record({ purpose: fc.constantFrom('app-login' as const, 'shared-login' as const), password: fc.constant('generated' as const) }))),
    users: withDuplicates(named(fc.record({ purpose: fc.constant('principal' as const), source: fc.constant({ type: 'role' as const }) }))),
    roles: withDuplicates(named(fc.record({ purpose: fc.constantFrom('persona' as const, 'schema-owner' as const) }))),
    schemas: withDuplicates(named(fc.record({ owner: name, app: name }))),
    memberships: withDuplicates(membership),
    permissions: withDuplicates(permission),
  });
  return { securable, permission, membership, state };
}

/** A list with exact and same-key duplicates: items drawn from a small pool, often twice. */
const withDuplicates = <T>(item: fc.Arbitrary<T>) =>
  fc.array(item, { minLength: 1, maxLength: 12 }).chain((pool) => fc.array(fc.constantFrom(...pool), { maxLength: 40 }).map((picked) => [...pool, ...picked]));

const { securable, permission, membership, state: stateArb } = arbitraries(name, kind);
const plain = arbitraries(plainName, plainKind);

describe('key order without keys', () => {
  it('property: compareSecurables, comparePermissions and compareMemberships order as the keys do', () => {
    fc.assert(
      fc.property(securable, securable, (a, b) => {
        expect(Math.sign(compareSecurables(a, b))).toBe(codeUnits(securableKey(a), securableKey(b)));
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(permission, permission, (a, b) => {
        expect(Math.sign(comparePermissions(a, b))).toBe(codeUnits(permissionKey(a), permissionKey(b)));
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(membership, membership, (a, b) => {
        expect(Math.sign(compareMemberships(a, b))).toBe(codeUnits(membershipKey(a), membershipKey(b)));
      }),
      { numRuns: 2000 },
    );
  });

  it('names that differ only after a separator-like code unit, one key a prefix of another', () => {
    const on = (n: string, forRole?: string): Securable => ({ type: 'engine', kind: 'tables', name: n, ...(forRole !== undefined ? { forRole } : {}) });
    const pairs: [Securable, Securable][] = [
      [on('a'), on('a:for:b')],
      [on('a', 'b'), on('a:for:b')],
      [on('a', 'b'), on('a:')],
      [on('a', 'b'), on('a9')],
      [on('a', 'b'), on('a;')],
      [{ type: 'database' }, on('x')],
      [{ type: 'database' }, { type: 'engine', kind: 'database', name: '' }],
      [{ type: 'schema', name: 'a' }, { type: 'engine', kind: 'schema', name: 'a' }],
      [{ type: 'engine', kind: 'tables:a', name: 'b' }, { type: 'engine', kind: 'tables', name: 'a:b' }],
    ];
    for (const [a, b] of pairs) {
      expect([Math.sign(compareSecurables(a, b)), Math.sign(compareSecurables(b, a))]).toEqual([
        codeUnits(securableKey(a), securableKey(b)),
        codeUnits(securableKey(b), securableKey(a)),
      ]);
    }
  });
});

describe('sortState', () => {
  it('property: gives exactly what a stable sort by the whole keys gives, first of equal identity kept', () => {
    fc.assert(
      fc.property(stateArb, (state) => {
        const sorted = sortState(state);
        const reference = referenceSortState(state);
        expect(sorted).toEqual(reference);
        // The same items, not copies: the first of each identity is kept.
        sorted.permissions.forEach((p, i) => expect(p).toBe(reference.permissions[i]));
        sorted.memberships.forEach((m, i) => expect(m).toBe(reference.memberships[i]));
        sorted.logins.forEach((l, i) => expect(l).toBe(reference.logins[i]));
      }),
      { numRuns: 1000 },
    );
  });

  it('property: the same without NUL in names, where permissions are sorted by ranks and memberships by role', () => {
    fc.assert(
      fc.property(plain.state, (state) => {
        const sorted = sortState(state);
        const reference = referenceSortState(state);
        expect(sorted).toEqual(reference);
        sorted.permissions.forEach((p, i) => expect(p).toBe(reference.permissions[i]));
        sorted.memberships.forEach((m, i) => expect(m).toBe(reference.memberships[i]));
      }),
      { numRuns: 1000 },
    );
  });

  it('property: lists already in key order, duplicates side by side, are deduplicated the same way', () => {
    fc.assert(
      fc.property(stateArb, (state) => {
        // A stable sort without deduplication: the path for lists that need no sorting.
        const inOrder = {
          ...state,
          permissions: [...state.permissions].sort((a, b) => codeUnits(permissionKey(a), permissionKey(b))),
          memberships: [...state.memberships].sort((a, b) => codeUnits(membershipKey(a), membershipKey(b))),
        };
        expect(sortState(inOrder)).toEqual(referenceSortState(inOrder));
        expect(sortState(sortState(inOrder))).toEqual(sortState(inOrder));
      }),
      { numRuns: 500 },
    );
  });

  it('returns new lists, never the ones it was given', () => {
    const state: SecurityState = { engine: 'postgres', database: 'w', logins: [], users: [], roles: [], schemas: [], memberships: [], permissions: [] };
    const sorted = sortState(state);
    for (const list of ['logins', 'users', 'roles', 'schemas', 'memberships', 'permissions'] as const) expect(sorted[list]).not.toBe(state[list]);
  });
});

describe('matchByKey with a key order', () => {
  /** What diffState did before: two Maps (last item wins per key, keys in first-seen order). */
  function withMaps<T>(desired: T[], actual: T[], key: (t: T) => string) {
    const a = new Map(actual.map((x) => [key(x), x]));
    const d = new Map(desired.map((x) => [key(x), x]));
    return { pairs: [...d].map(([k, w]) => [w, a.get(k)]), unmatched: [...a].filter(([k]) => !d.has(k)).map(([, h]) => h) };
  }

  it('property: on sorted permissions (merge) and on any order (Map path) pairs as two Maps would', () => {
    fc.assert(
      fc.property(withDuplicates(permission), withDuplicates(permission), fc.boolean(), (d, a, sort) => {
        const bySort = (xs: Permission[]) => (sort ? [...xs].sort(comparePermissions) : xs);
        const [ds, as] = [bySort(d), bySort(a)];
        const match = matchByKey(ds, as, permissionKey, comparePermissions);
        const expected = withMaps(ds, as, permissionKey);
        expect(match).toEqual(expected);
        match.pairs.forEach(([want, have], i) => {
          expect(want).toBe(expected.pairs[i][0]);
          expect(have).toBe(expected.pairs[i][1]);
        });
      }),
      { numRuns: 1000 },
    );
  });
});

describe('realizePostgres', () => {
  it('property: does not depend on the order of the neutral lists', () => {
    fc.assert(
      fc.property(policyArbitrary({ kind: 'database-role' }), fc.nat(), (policy, seed) => {
        const neutral = compilePolicy(policy);
        const rotate = <T>(xs: T[]) => (xs.length ? [...xs.slice(seed % xs.length), ...xs.slice(0, seed % xs.length)].reverse() : xs);
        const shuffled = { ...neutral, permissions: rotate(neutral.permissions), memberships: rotate(neutral.memberships) };
        expect(realizePostgres(shuffled)).toEqual(realizePostgres(neutral));
      }),
      { numRuns: 200 },
    );
  });
});
