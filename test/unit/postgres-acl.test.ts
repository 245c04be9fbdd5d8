import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aclHoldings, parseAclItem } from '../../provider/engines/postgres/acl';

describe('parseAclItem: aclitem text as PostgreSQL prints it', () => {
  it('reads grantee, privilege letters with their grant option, and grantor', () => {
    expect(parseAclItem('pmg_p2p_app=arw*d/pmg_p2p_owner')).toEqual({
      grantee: 'pmg_p2p_app',
      grantor: 'pmg_p2p_owner',
      privileges: [
        { privilege: 'INSERT', grantable: false },
        { privilege: 'SELECT', grantable: false },
        { privilege: 'UPDATE', grantable: true },
        { privilege: 'DELETE', grantable: false },
      ],
    });
  });

  it('an empty grantee is PUBLIC', () => {
    expect(parseAclItem('=Tc/postgres')).toEqual({
      grantee: '',
      grantor: 'postgres',
      privileges: [
        { privilege: 'TEMPORARY', grantable: false },
        { privilege: 'CONNECT', grantable: false },
      ],
    });
  });

  it('reads double-quoted names, with "" for a quote and = / , inside', () => {
    const e = parseAclItem('"we""ird = / ,name"=U*C/"Ünïcode owner"');
    expect(e.grantee).toBe('we"ird = / ,name');
    expect(e.grantor).toBe('Ünïcode owner');
    expect(e.privileges).toEqual([
      { privilege: 'USAGE', grantable: true },
      { privilege: 'CREATE', grantable: false },
    ]);
  });

  it('knows every letter of the documented abbreviations', () => {
    expect(parseAclItem('a=rawdDxtXUCcTsAm/b').privileges.map((p) => p.privilege)).toEqual([
      'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER', 'EXECUTE', 'USAGE', 'CREATE', 'CONNECT', 'TEMPORARY', 'SET', 'ALTER SYSTEM', 'MAINTAIN',
    ]);
  });

  it('refuses what it cannot read with one sentence', () => {
    expect(() => parseAclItem('a=rQ/b')).toThrow(/privilege letter pmgrants does not know \("Q"/);
    expect(() => parseAclItem('no-equals-sign')).toThrow(/ACL item pmgrants cannot read/);
    expect(() => parseAclItem('a=r')).toThrow(/ACL item pmgrants cannot read/);
    expect(() => parseAclItem('"unterminated=r/b')).toThrow(/ACL item pmgrants cannot read/);
  });
});

describe('aclHoldings: privileges per wanted grantee', () => {
  const acl = ['x=r*/owner', 'x=r/other', 'y=r/owner', '=r/owner', 'other=r*/owner'];
  const wanted = (g: string) => g === 'x' || g === 'y';

  it('skips PUBLIC and grantees not wanted; merges grantors as asked', () => {
    expect(aclHoldings(acl, wanted, 'all')).toEqual(new Map([['x', new Map([['SELECT', false]])], ['y', new Map([['SELECT', false]])]]));
    expect(aclHoldings(acl, wanted, 'any')).toEqual(new Map([['x', new Map([['SELECT', true]])], ['y', new Map([['SELECT', false]])]]));
  });

  it('PUBLIC is the grantee "" when wanted', () => {
    expect(aclHoldings(acl, (g) => g === '', 'any')).toEqual(new Map([['', new Map([['SELECT', false]])]]));
  });

  it('a NULL ACL (the defaults) holds nothing for anyone', () => {
    expect(aclHoldings(null, () => true, 'any').size).toBe(0);
  });
});

describe('aclHoldings on bits', () => {
  /** What aclHoldings did with maps of parsed items: privileges in the order first met, grant options merged per privilege. */
  function reference(acl: readonly string[], wanted: (g: string) => boolean, combine: 'all' | 'any') {
    const out = new Map<string, Map<string, boolean>>();
    for (const text of acl) {
      const entry = parseAclItem(text);
      if (!wanted(entry.grantee)) continue;
      const held = out.get(entry.grantee) ?? new Map<string, boolean>();
      out.set(entry.grantee, held);
      for (const { privilege, grantable } of entry.privileges) {
        const before = held.get(privilege);
        held.set(privilege, before === undefined ? grantable : combine === 'all' ? before && grantable : before || grantable);
      }
    }
    return out;
  }
  const sorted = (m: Map<string, Map<string, boolean>>) => [...m].map(([g, h]) => [g, [...h].sort()] as const).sort();
  const item = fc
    .record({
      grantee: fc.constantFrom('', 'x', 'y', '"a b"', 'other'),
      // PostgreSQL prints each privilege of an item once.
      privileges: fc.uniqueArray(fc.record({ letter: fc.constantFrom(...'rawdDxtXUCcTsAm'), star: fc.boolean() }), { maxLength: 6, selector: (p) => p.letter }),
      grantor: fc.constantFrom('owner', 'other'),
    })
    .map(({ grantee, privileges, grantor }) => `${grantee}=${privileges.map((p) => p.letter + (p.star ? '*' : '')).join('')}/${grantor}`);

  it('property: the same holdings and grant options as merging parsed items, for both ways of combining grantors', () => {
    const wanted = (g: string) => g !== 'other';
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), fc.constantFrom('all' as const, 'any' as const), (acl, combine) => {
        expect(sorted(aclHoldings(acl, wanted, combine))).toEqual(sorted(reference(acl, wanted, combine)));
      }),
      { numRuns: 2000 },
    );
  });
});
