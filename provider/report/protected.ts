/**
 * The report's protected roles (policy `protected`, model/protected.ts): every protected role the
 * database has, with its members, each marked named (the entry's `members` name it) or not. A member
 * the policy does not name is a finding; pmgrants never changes the role (docs/policy.md). Pure.
 */
import { nameKey } from '../model/names';
import { memberNamed, protectedMatcher } from '../model/protected';
import { DesiredState } from '../model/types';
import { AccessFacts } from '../model/access';
import { ProtectedRoleReport } from './types';

export function protectedRolesOf(facts: AccessFacts, desired: Pick<DesiredState, 'protected'>): ProtectedRoleReport[] | undefined {
  if (!desired.protected?.length) return undefined;
  const match = protectedMatcher(facts.engine, desired.protected);
  const membersOf = new Map<string, string[]>();
  for (const m of facts.memberships ?? []) {
    const k = nameKey(facts.engine, m.role);
    membersOf.set(k, [...(membersOf.get(k) ?? []), m.member]);
  }
  const out: ProtectedRoleReport[] = [];
  for (const p of facts.principals) {
    if (p.kind === 'public') continue;
    const matches = match(p.name);
    if (matches.length === 0) continue;
    const members = [...new Set(membersOf.get(nameKey(facts.engine, p.name)) ?? [])].sort();
    out.push({ role: p.name, entry: matches[0].index, members: members.map((name) => ({ name, named: memberNamed(facts.engine, matches, name) })) });
  }
  return out.sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
}

/** "role: member" of every member the policy does not name. */
export function unnamedMembers(roles: readonly ProtectedRoleReport[] | undefined): string[] {
  return (roles ?? []).flatMap((r) => r.members.filter((m) => !m.named).map((m) => `${r.role}: ${m.name}`));
}
