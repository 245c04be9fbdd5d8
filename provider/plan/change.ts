import { Login, Membership, Permission, Role, Schema, UnreachableObject, User } from '../model/types';

/** A change is data. Engines render it; formatters print it. */
export type Change =
  | { kind: 'create-login'; login: Login }
  /**
   * reason: 'age' (older than rotation.maxAgeDays), 'forced' (pmgrants rotate), 'missing' (created
   * without one), 'undelivered' (the server holds one the secrets file lacks), 'expired' (past its
   * validity: rotation.validFor, or PostgreSQL's VALID UNTIL), 'checkout' (pmgrants checkout: a fresh
   * password for one use).
   */
  | { kind: 'rotate-password'; login: string; reason: 'age' | 'forced' | 'missing' | 'undelivered' | 'expired' | 'checkout' }
  /**
   * handTo: the role that takes over whatever the principal owns (its objects, created by its sessions)
   * before it is dropped; the diff sets it to the owner of the app schema the principal works in.
   */
  | { kind: 'drop-login'; login: string; handTo?: string }
  | { kind: 'create-user'; user: User }
  | { kind: 'drop-user'; user: string; handTo?: string }
  | { kind: 'create-role'; role: Role }
  | { kind: 'drop-role'; role: string; handTo?: string }
  | { kind: 'create-schema'; schema: Schema }
  | { kind: 'alter-schema-owner'; schema: string; from: string; to: string }
  | { kind: 'add-member'; membership: Membership }
  /** `expired`: the grant's expiry (as the policy wrote it) when the membership goes because its grant expired. */
  | { kind: 'drop-member'; membership: Membership; expired?: string }
  /**
   * except: objects the securable covers that the grant or revoke leaves out, since the principal
   * pmgrants connects as cannot act as their owner (ActualState.unreachable); absent: none.
   */
  | { kind: 'grant'; permission: Permission; except?: ExceptedObject[] }
  | { kind: 'revoke'; permission: Permission; except?: ExceptedObject[] };

/** An object a grant or revoke leaves out, and the owner that keeps pmgrants from it. */
export type ExceptedObject = Pick<UnreachableObject, 'name' | 'owner'>;

export type ChangeKind = Change['kind'];

/** Apply order: create before use, revoke before grant (so a changed effect never clobbers), drops last. */
export const CHANGE_ORDER: readonly ChangeKind[] = [
  'create-login',
  'rotate-password',
  'create-user',
  'create-role',
  'create-schema',
  'alter-schema-owner',
  'revoke',
  'drop-member',
  'grant',
  'add-member',
  'drop-role',
  'drop-user',
  'drop-login',
];

export interface Plan {
  database: string;
  engine: string;
  changes: Change[];
  /** Things the diff noticed but will not do (e.g. a managed role that still owns a schema). */
  warnings: string[];
  /** The changes that take strong locks on objects others read, as the engine words them (EngineDialect.locksOf). */
  locks?: string[];
  /**
   * Work apply does on the secrets file alone, with no statement: pending passwords the server already
   * holds (an interrupted apply) to record as delivered, and pending ones it never took to drop. It is
   * change all the same: counted in the headline and in plan --detailed-exitcode, so a pipeline that
   * applies only when plan has changes runs the apply that delivers them.
   */
  secretsFile?: { promote: readonly string[]; discard: readonly string[] };
}

/** The plan has something to do: a change, or work on the secrets file. */
export function hasWork(plan: Plan): boolean {
  return plan.changes.length > 0 || (plan.secretsFile?.promote.length ?? 0) + (plan.secretsFile?.discard.length ?? 0) > 0;
}

/** Which app a change belongs to, for grouping in review output. `roleApps` maps principal names, and `schema:<name>`, to apps. */
export function changeApp(change: Change, roleApps: ReadonlyMap<string, string>): string | undefined {
  switch (change.kind) {
    case 'create-login':
      return change.login.app;
    case 'create-user':
      return change.user.app;
    case 'create-role':
      return change.role.app;
    case 'create-schema':
      return change.schema.app;
    case 'add-member':
    case 'drop-member':
      return roleApps.get(change.membership.role);
    case 'grant':
    case 'revoke': {
      // Group by what the permission is on (an app's schema or role) before who receives it.
      const on = change.permission.on;
      const target = on.type === 'schema' || on.type === 'engine' ? roleApps.get(`schema:${on.name}`) : on.type === 'role' ? roleApps.get(on.name) : undefined;
      // A role's default privileges in every schema: the app of the role they are for.
      const forRole = on.type === 'engine' && on.forRole !== undefined ? roleApps.get(on.forRole) : undefined;
      return target ?? forRole ?? roleApps.get(change.permission.grantee);
    }
    case 'rotate-password':
    case 'drop-login':
      return roleApps.get(change.login);
    case 'drop-user':
      return roleApps.get(change.user);
    case 'drop-role':
      return roleApps.get(change.role);
    case 'alter-schema-owner':
      return roleApps.get(change.to);
    default: {
      const never: never = change;
      throw new Error(`unknown change ${JSON.stringify(never)}`);
    }
  }
}
