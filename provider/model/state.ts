import { Membership, Permission, Securable, SecurityState } from './types';

/** One key scheme for desired and actual state, so the diff is set operations plus field deltas. */
export function securableKey(s: Securable): string {
  switch (s.type) {
    case 'database':
      return 'database';
    case 'schema':
      return `schema:${s.name}`;
    case 'role':
      return `role:${s.name}`;
    case 'engine':
      return `${s.kind}:${s.name}${s.forRole !== undefined ? `:for:${s.forRole}` : ''}`;
    default: {
      const never: never = s;
      throw new Error(`unknown securable ${JSON.stringify(never)}`);
    }
  }
}

/** Identity of a permission: who, on what, which privilege. Effect and grant option are its fields. */
export function permissionKey(p: Permission): string {
  return `${p.grantee}\u0000${securableKey(p.on)}\u0000${p.privilege}`;
}

export function membershipKey(m: Membership): string {
  return `${m.role}\u0000${m.member}`;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };

/** Sort every list (code-unit order, not locale) and drop exact duplicates: deterministic output. */
export function sortState<T extends SecurityState>(state: T): T {
  const dedupe = <U>(items: U[], key: (u: U) => string) => {
    const seen = new Map<string, U>();
    for (const it of items) if (!seen.has(key(it))) seen.set(key(it), it);
    return [...seen.values()];
  };
  return {
    ...state,
    logins: dedupe(state.logins, (l) => l.name).sort(byName),
    users: dedupe(state.users, (u) => u.name).sort(byName),
    roles: dedupe(state.roles, (r) => r.name).sort(byName),
    schemas: dedupe(state.schemas, (s) => s.name).sort(byName),
    memberships: dedupe(state.memberships, membershipKey).sort(byKey(membershipKey)),
    permissions: dedupe(state.permissions, (p) => `${permissionKey(p)}\u0000${p.effect}`).sort(byKey(permissionKey)),
  };
}

export function emptyState(engine: SecurityState['engine'], database: string): SecurityState {
  return { engine, database, logins: [], users: [], roles: [], schemas: [], memberships: [], permissions: [] };
}
