import { PmgrantsError } from '../../model/errors';

/**
 * PostgreSQL ACL items in their text form (`aclitem::text`), as the catalog stores them in relacl,
 * proacl, nspacl, datacl and defaclacl: `grantee=privileges/grantor`, an empty grantee for PUBLIC,
 * each privilege one letter followed by `*` when it carries the grant option. Names that are not
 * only ASCII letters, digits and `_` are double-quoted, with `"` doubled inside.
 *
 * Inspect reads ACLs whole and explodes them here rather than with aclexplode() on the server: a
 * schema's objects mostly share one ACL, so the server returns one row per distinct ACL instead of one
 * per (object, grantee, privilege), a fraction of the bytes and of the server's time.
 */
export interface AclEntry {
  /** '' for PUBLIC. */
  grantee: string;
  grantor: string;
  /** Privilege names as aclexplode() spells them, each with its grant option. */
  privileges: { privilege: string; grantable: boolean }[];
}

/** The letters of "ACL Privilege Abbreviations" (PostgreSQL documentation, Privileges chapter). */
const PRIVILEGE_LETTERS: Readonly<Record<string, string>> = {
  r: 'SELECT',
  a: 'INSERT',
  w: 'UPDATE',
  d: 'DELETE',
  D: 'TRUNCATE',
  x: 'REFERENCES',
  t: 'TRIGGER',
  X: 'EXECUTE',
  U: 'USAGE',
  C: 'CREATE',
  c: 'CONNECT',
  T: 'TEMPORARY',
  s: 'SET',
  A: 'ALTER SYSTEM',
  m: 'MAINTAIN',
};

/** Read a role name at `start`, quoted or not, up to (not including) one of `stops`. */
function readName(text: string, start: number, stops: string): { name: string; end: number } {
  if (text[start] !== '"') {
    let end = start;
    while (end < text.length && !stops.includes(text[end])) end++;
    return { name: text.slice(start, end), end };
  }
  let name = '';
  let i = start + 1;
  for (;;) {
    const q = text.indexOf('"', i);
    if (q < 0) throw new PmgrantsError(`the server returned an ACL item pmgrants cannot read: ${JSON.stringify(text)}`);
    name += text.slice(i, q);
    if (text[q + 1] === '"') {
      name += '"';
      i = q + 2;
    } else return { name, end: q + 1 };
  }
}

/** The privileges of the letters above, by bit: bit i of a mask is PRIVILEGE_NAMES[i]. */
export const PRIVILEGE_NAMES: readonly string[] = Object.values(PRIVILEGE_LETTERS);
const LETTER_BIT: Readonly<Record<string, number>> = Object.fromEntries(Object.keys(PRIVILEGE_LETTERS).map((letter, i) => [letter, i]));
const NAME_BIT: ReadonlyMap<string, number> = new Map(PRIVILEGE_NAMES.map((name, i) => [name, i]));

/** The bit of a privilege name in a HeldMask; undefined for a name no ACL letter stands for. */
export function privilegeBit(privilege: string): number | undefined {
  return NAME_BIT.get(privilege);
}

/**
 * Read an ACL item's grantee and its privileges, calling `each` for every privilege letter in order;
 * returns the grantee and where the grantor starts. Throws one sentence for what it cannot read.
 */
function scanAclItem(text: string, each: (bit: number, grantable: boolean) => void): { grantee: string; grantorAt: number } {
  const grantee = readName(text, 0, '=');
  if (text[grantee.end] !== '=') throw new PmgrantsError(`the server returned an ACL item pmgrants cannot read: ${JSON.stringify(text)}`);
  let i = grantee.end + 1;
  for (; i < text.length && text[i] !== '/'; i++) {
    const bit = LETTER_BIT[text[i]];
    if (bit === undefined) {
      throw new PmgrantsError(`the server returned an ACL with a privilege letter pmgrants does not know ("${text[i]}" in ${JSON.stringify(text)})`);
    }
    const grantable = text[i + 1] === '*';
    if (grantable) i++;
    each(bit, grantable);
  }
  if (text[i] !== '/') throw new PmgrantsError(`the server returned an ACL item pmgrants cannot read: ${JSON.stringify(text)}`);
  return { grantee: grantee.name, grantorAt: i + 1 };
}

export function parseAclItem(text: string): AclEntry {
  const privileges: AclEntry['privileges'] = [];
  const { grantee, grantorAt } = scanAclItem(text, (bit, grantable) => privileges.push({ privilege: PRIVILEGE_NAMES[bit], grantable }));
  return { grantee, grantor: readName(text, grantorAt, '').name, privileges };
}

/** What one grantee holds in an ACL: privileges as bits (PRIVILEGE_NAMES), and which of them with grant option. */
export interface HeldMask {
  held: number;
  grantable: number;
}

/**
 * One ACL item's grantee and privileges as bits, without the objects parseAclItem makes: inspect
 * reads some 30,000 items at 1,000 apps.
 */
function readAclItem(text: string, out: { grantee: string; held: number; grantable: number }): void {
  let held = 0;
  let grantable = 0;
  out.grantee = scanAclItem(text, (bit, withGrantOption) => {
    held |= 1 << bit;
    if (withGrantOption) grantable |= 1 << bit;
  }).grantee;
  out.held = held;
  out.grantable = grantable;
}

/**
 * An ACL's privileges per grantee, for the grantees `wanted` admits ('' is PUBLIC), as bits. The same privilege from
 * several grantors is one holding; `combine` says how their grant options merge (inspect has always
 * counted a holding grantable when every grantor, or when any, gave it with grant option, depending
 * on the catalog).
 */
export function aclMasks(acl: readonly string[] | null, wanted: (grantee: string) => boolean, combine: 'all' | 'any'): Map<string, HeldMask> {
  const out = new Map<string, HeldMask>();
  if (!acl) return out;
  const item = { grantee: '', held: 0, grantable: 0 };
  for (const text of acl) {
    readAclItem(text, item);
    if (!wanted(item.grantee)) continue;
    const before = out.get(item.grantee);
    if (!before) out.set(item.grantee, { held: item.held, grantable: item.grantable });
    else {
      before.grantable = mergeGrantable(before, item, combine);
      before.held |= item.held;
    }
  }
  return out;
}

/**
 * The grant options of `before` once `next` is added to it: with 'any', held with grant option by
 * either; with 'all', by every one that holds it (a privilege `before` does not hold takes `next`'s).
 */
export function mergeGrantable(before: HeldMask, next: HeldMask, combine: 'all' | 'any'): number {
  if (combine === 'any') return before.grantable | next.grantable;
  return (before.grantable & ~next.held) | (next.grantable & ~before.held) | (before.grantable & next.grantable);
}

/** Calls `each` for every privilege a mask holds, in PRIVILEGE_NAMES order, with its bit. */
export function forEachPrivilege(mask: HeldMask, each: (privilege: string, grantable: boolean, bit: number) => void): void {
  for (let bit = 0, held = mask.held; held !== 0; bit++, held >>>= 1) {
    if (held & 1) each(PRIVILEGE_NAMES[bit], ((mask.grantable >>> bit) & 1) === 1, bit);
  }
}

/** aclMasks as maps: grantee -> privilege -> grant option. */
export function aclHoldings(
  acl: readonly string[] | null,
  wanted: (grantee: string) => boolean,
  combine: 'all' | 'any',
): Map<string, Map<string, boolean>> {
  const out = new Map<string, Map<string, boolean>>();
  for (const [grantee, mask] of aclMasks(acl, wanted, combine)) {
    const held = new Map<string, boolean>();
    forEachPrivilege(mask, (privilege, grantable) => held.set(privilege, grantable));
    out.set(grantee, held);
  }
  return out;
}
