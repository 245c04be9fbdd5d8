/**
 * Protected roles in a plan (policy `protected`, model/protected.ts). Pure.
 *
 * "Never modified", precisely: no change of a plan names a protected role as what it creates, alters,
 * rotates or drops, as the grantee or the target of a grant or revoke, as the role or the member of a
 * membership added or dropped, or as the owner an app schema is taken from. So a protected role keeps,
 * in authoritative enforcement too:
 * - every privilege it holds, on the app schemas and their objects as anywhere (a privilege there that
 *   the policy does not give is otherwise drift that apply revokes: for a protected grantee it is kept,
 *   and the plan says so);
 * - its memberships, both ways: the roles it is a member of (a managed persona role included) and its
 *   own members; and who may manage it;
 * - the app schemas it owns.
 * That is the Power Automate seed's rule for its internal security role, "Don't modify the set of
 * privileges": a privilege a protected role holds is changed by hand, by its owners, never by pmgrants.
 * What the database has that the policy does not say is shown instead: kept changes as one warning per
 * role, and members the entry does not name (`members`) as warnings of plan and findings of report.
 *
 * Validation keeps the policy from asking for a change that adds to a protected role (rule
 * protected-role); should a desired state that skipped it ask for one, the plan fails.
 */
import { memberNamed, protectedLabel, protectedMatcher, ProtectedMatch } from '../model/protected';
import { DesiredState, EngineName, Membership } from '../model/types';
import { Change } from './change';
import { PmgrantsError } from '../model/errors';
import { columnsOf } from '../model/state';

/** The names a change would touch, and whether it adds to them (create, grant, add-member). */
function touched(change: Change): { names: string[]; adds: boolean } {
  switch (change.kind) {
    case 'create-login':
      return { names: [change.login.name], adds: true };
    case 'create-user':
      return { names: [change.user.name], adds: true };
    case 'create-role':
      return { names: [change.role.name], adds: true };
    case 'create-schema':
      return { names: [change.schema.owner], adds: true };
    case 'add-member':
      return { names: [change.membership.role, change.membership.member], adds: true };
    case 'grant':
    case 'revoke': {
      const on = change.permission.on;
      // An object's own owner counts too: the engine grants and revokes on it as that owner.
      const names = [
        change.permission.grantee,
        ...(on.type === 'role' ? [on.name] : []),
        ...(on.type === 'engine' && on.forRole !== undefined ? [on.forRole] : []),
        ...(on.type === 'engine' && on.owner !== undefined ? [on.owner] : []),
      ];
      return { names, adds: change.kind === 'grant' };
    }
    case 'drop-member':
      return { names: [change.membership.role, change.membership.member], adds: false };
    case 'alter-schema-owner':
      return { names: [change.from, change.to], adds: false };
    case 'rotate-password':
    case 'drop-login':
      return { names: [change.login], adds: false };
    case 'drop-user':
      return { names: [change.user], adds: false };
    case 'drop-role':
      return { names: [change.role], adds: false };
    case 'create-masking-key':
      return { names: [change.owner], adds: true };
    case 'create-masked-view':
    case 'replace-masked-view':
      return { names: [change.view.owner, ...change.view.readers], adds: true };
    case 'drop-masked-view':
    case 'mask-columns':
      return { names: [], adds: false };
    default: {
      const never: never = change;
      throw new Error(`unknown change ${JSON.stringify(never)}`);
    }
  }
}

/** How a kept change reads in the warning of its role. */
function keptText(change: Change): string {
  switch (change.kind) {
    case 'revoke': {
      const on = change.permission.on;
      const column = columnsOf(on);
      const where =
        on.type === 'database'
          ? 'the database'
          : column
            ? `column${column.columns.length > 1 ? 's' : ''} ${column.schema}.${column.table}.${column.columns.join(', ')}`
            : on.type === 'engine'
              ? `${on.kind.replace(/-/g, ' ')} in ${on.name || 'every schema'}`
              : `${on.type} ${on.name}`;
      return `${change.permission.privilege} on ${where} held by ${change.permission.grantee || 'PUBLIC'}`;
    }
    case 'drop-member':
      return `membership of ${change.membership.member} in ${change.membership.role}`;
    case 'alter-schema-owner':
      return `ownership of schema ${change.schema}`;
    case 'drop-role':
    case 'drop-user':
    case 'drop-login':
      return 'the role itself (no longer in the policy)';
    default:
      return change.kind;
  }
}

/** At most `n` items, then "and N more". */
export function someOf(items: readonly string[], n = 3): string {
  return items.length <= n ? items.join(', ') : `${items.slice(0, n).join(', ')} and ${items.length - n} more`;
}

/**
 * The changes without those that touch a protected role, and one warning per protected role that
 * kept something authoritative enforcement would have taken. Throws when a change would add to one.
 */
export function withoutProtected(changes: readonly Change[], desired: Pick<DesiredState, 'engine' | 'protected'>): { changes: Change[]; warnings: string[] } {
  if (!desired.protected?.length) return { changes: [...changes], warnings: [] };
  const engine = (desired.engine === 'neutral' ? 'postgres' : desired.engine) as EngineName;
  const match = protectedMatcher(engine, desired.protected);
  const kept = new Map<string, { matches: ProtectedMatch[]; what: string[] }>();
  const out: Change[] = [];
  for (const change of changes) {
    const { names, adds } = touched(change);
    const hit = names.find((n) => n !== '' && match(n).length > 0);
    if (hit === undefined) {
      out.push(change);
      continue;
    }
    const matches = match(hit);
    if (adds) {
      throw new PmgrantsError(`the plan would change protected role "${hit}" (${protectedLabel(matches)}), which pmgrants never does; validate the policy (rule protected-role) and plan again`);
    }
    const entry = kept.get(hit) ?? { matches, what: [] };
    entry.what.push(keptText(change));
    kept.set(hit, entry);
  }
  const warnings = [...kept].map(
    ([role, { matches, what }]) =>
      `protected role "${role}" (${protectedLabel(matches)}) keeps what the policy does not give: ${someOf(what)}; pmgrants never changes a protected role (change it by hand if it is wrong)`,
  );
  return { changes: out, warnings };
}

/**
 * Members of protected roles that the entries protecting them do not name: one warning per role,
 * naming a few. `memberships` is what the database holds (inspect).
 */
export function unnamedProtectedMembers(memberships: readonly Membership[], desired: Pick<DesiredState, 'engine' | 'protected'>): { role: string; index: number; members: string[] }[] {
  if (!desired.protected?.length) return [];
  const engine = (desired.engine === 'neutral' ? 'postgres' : desired.engine) as EngineName;
  const match = protectedMatcher(engine, desired.protected);
  const byRole = new Map<string, { index: number; members: string[] }>();
  for (const m of memberships) {
    const matches = match(m.role);
    if (matches.length === 0 || memberNamed(engine, matches, m.member)) continue;
    const entry = byRole.get(m.role) ?? { index: matches[0].index, members: [] };
    entry.members.push(m.member);
    byRole.set(m.role, entry);
  }
  return [...byRole].map(([role, e]) => ({ role, index: e.index, members: e.members.sort() })).sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
}

/** The plan warnings of unnamedProtectedMembers. */
export function unnamedMemberWarnings(memberships: readonly Membership[], desired: Pick<DesiredState, 'engine' | 'protected'>): string[] {
  return unnamedProtectedMembers(memberships, desired).map(
    ({ role, index, members }) =>
      `protected role "${role}" has ${members.length === 1 ? 'a member' : `${members.length} members`} the policy does not name (protected[${index}].members): ${someOf(members, 5)}; pmgrants leaves ${members.length === 1 ? 'it as it is' : 'them as they are'}`,
  );
}
