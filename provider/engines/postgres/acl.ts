import { PmgrantsError } from '../engine';

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

export function parseAclItem(text: string): AclEntry {
  const grantee = readName(text, 0, '=');
  if (text[grantee.end] !== '=') throw new PmgrantsError(`the server returned an ACL item pmgrants cannot read: ${JSON.stringify(text)}`);
  const privileges: AclEntry['privileges'] = [];
  let i = grantee.end + 1;
  for (; i < text.length && text[i] !== '/'; i++) {
    const privilege = PRIVILEGE_LETTERS[text[i]];
    if (privilege === undefined) {
      throw new PmgrantsError(`the server returned an ACL with a privilege letter pmgrants does not know ("${text[i]}" in ${JSON.stringify(text)})`);
    }
    const grantable = text[i + 1] === '*';
    if (grantable) i++;
    privileges.push({ privilege, grantable });
  }
  if (text[i] !== '/') throw new PmgrantsError(`the server returned an ACL item pmgrants cannot read: ${JSON.stringify(text)}`);
  const grantor = readName(text, i + 1, '');
  return { grantee: grantee.name, grantor: grantor.name, privileges };
}

/**
 * An ACL's privileges per grantee, for the grantees `wanted` admits: grantee -> privilege -> grant
 * option. The same privilege from several grantors is one holding; `combine` says how their grant
 * options merge (inspect has always counted a holding grantable when every grantor, or when any, gave
 * it with grant option, depending on the catalog).
 */
export function aclHoldings(
  acl: readonly string[] | null,
  wanted: (grantee: string) => boolean,
  combine: 'all' | 'any',
): Map<string, Map<string, boolean>> {
  const out = new Map<string, Map<string, boolean>>();
  if (!acl) return out;
  for (const text of acl) {
    const entry = parseAclItem(text);
    if (entry.grantee === '' || !wanted(entry.grantee)) continue;
    let held = out.get(entry.grantee);
    if (!held) out.set(entry.grantee, (held = new Map()));
    for (const { privilege, grantable } of entry.privileges) {
      const before = held.get(privilege);
      held.set(privilege, before === undefined ? grantable : combine === 'all' ? before && grantable : before || grantable);
    }
  }
  return out;
}
