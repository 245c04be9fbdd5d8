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

  it('a NULL ACL (the defaults) holds nothing for anyone', () => {
    expect(aclHoldings(null, () => true, 'any').size).toBe(0);
  });
});
