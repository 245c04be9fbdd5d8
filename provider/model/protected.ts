import { nameKey } from './names';
import { EngineName, Policy, ProtectedRole, ProtectedSpec } from './types';

/**
 * Protected roles (policy `protected`): roles and users a platform keeps for itself, that no policy may
 * grant, adopt, generate, alter, revoke from or drop. Power Automate's process mining names one, the
 * "Process Mining Application" internal security role: "Don't assign this security role to users.
 * Don't modify the set of privileges in the ... security roles." Warehouses have the same: the
 * platform's service role, replication, monitoring.
 *
 * An entry is a name or a pattern: `*` stands for any run of characters, `?` for one, everything else
 * for itself. Names are compared as the engine compares them (model/names.ts nameKey): exactly on
 * PostgreSQL, case-insensitively on SQL Server and Azure SQL.
 */

/** The entries as written: a string is shorthand for { role: <string> }. */
export function protectedEntries(policy: Pick<Policy, 'protected'>): ProtectedSpec[] {
  return (policy.protected ?? []).map((entry) => (typeof entry === 'string' ? { role: entry } : entry));
}

/** The compiled entries: pattern and the members the policy names, sorted and without duplicates. */
export function compileProtected(policy: Pick<Policy, 'protected'>): ProtectedRole[] {
  return protectedEntries(policy).map((e) => ({
    role: e.role,
    ...(e.members !== undefined ? { members: [...new Set(e.members)].sort() } : {}),
  }));
}

/** Whether the entry is a pattern (holds `*` or `?`) rather than one name. */
export function isPattern(role: string): boolean {
  return role.includes('*') || role.includes('?');
}

/**
 * Whether an entry can protect anything: not a pattern of wildcards only (it would protect every name,
 * the policy's own roles included) and not PUBLIC (every principal). validate refuses the others
 * (rule protected-entry); the matcher skips them.
 */
export function isProtectable(role: string): boolean {
  return !/^[*?]+$/.test(role) && role.toLowerCase() !== 'public';
}

/** A pattern -> a RegExp matching whole names, in the engine's comparison (case-insensitive on SQL Server). */
export function patternRegExp(engine: EngineName, pattern: string): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '[\\s\\S]*';
    else if (ch === '?') source += '[\\s\\S]';
    else source += ch.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, engine === 'postgres' ? 'u' : 'iu');
}

/**
 * A pattern as the operand of SQL LIKE with the escape character `\`: `*` -> `%`, `?` -> `_`, and the
 * LIKE wildcards and the escape itself written literally. (PostgreSQL LIKE: "the default escape
 * character is the backslash", postgresql.org/docs/current/functions-matching.html.)
 */
export function patternLike(pattern: string): string {
  let out = '';
  for (const ch of pattern) {
    if (ch === '*') out += '%';
    else if (ch === '?') out += '_';
    else if (ch === '%' || ch === '_' || ch === '\\') out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/** Which entry protects a name. */
export interface ProtectedMatch {
  /** Position of the entry in `protected`. */
  index: number;
  entry: ProtectedRole;
}

/**
 * name -> the entries protecting it, in policy order (empty: not protected). Names are looked up in a
 * map first (entries that are names), then tried against the patterns: a policy has a handful of
 * patterns, while a plan asks about thousands of names.
 */
export function protectedMatcher(engine: EngineName, entries: readonly ProtectedRole[] | undefined): (name: string) => ProtectedMatch[] {
  if (!entries || entries.length === 0) return () => [];
  const exact = new Map<string, ProtectedMatch[]>();
  const patterns: { re: RegExp; match: ProtectedMatch }[] = [];
  entries.forEach((entry, index) => {
    const match = { index, entry };
    if (!isProtectable(entry.role)) return;
    if (isPattern(entry.role)) patterns.push({ re: patternRegExp(engine, entry.role), match });
    else {
      const key = nameKey(engine, entry.role);
      exact.set(key, [...(exact.get(key) ?? []), match]);
    }
  });
  return (name) => {
    const found = exact.get(nameKey(engine, name)) ?? [];
    const matched = patterns.filter((p) => p.re.test(name)).map((p) => p.match);
    return matched.length === 0 ? found : [...found, ...matched].sort((a, b) => a.index - b.index);
  };
}

/** `protected[2] ("svc_*")`, or `protected[0]` for a name: which entry protects a name, for messages. */
export function protectedLabel(matches: readonly ProtectedMatch[]): string {
  const { index, entry } = matches[0];
  return `protected[${index}]${isPattern(entry.role) ? ` ("${entry.role}")` : ''}`;
}

/**
 * Whether the policy names `member` as a member of a protected role, by any of the entries protecting
 * that role: their `members` lists (names or patterns, compared like the roles). An entry without
 * `members` names none.
 */
export function memberNamed(engine: EngineName, matches: readonly ProtectedMatch[], member: string): boolean {
  return matches.some(({ entry }) =>
    (entry.members ?? []).some((m) => (isPattern(m) ? patternRegExp(engine, m).test(member) : nameKey(engine, m) === nameKey(engine, member))),
  );
}
