/**
 * Rules of protected roles (policy `protected`, model/protected.ts) and of password lifetimes
 * (`security.rotation.validFor`). Joined to the core rules in ruleset.ts.
 */
import { durationMs, durationText, MAX_VALID_FOR_MS, MIN_VALID_FOR_MS } from '../model/duration';
import { nameKey } from '../model/names';
import { compileProtected, isProtectable, protectedEntries, protectedLabel, protectedMatcher } from '../model/protected';
import { PolicyRule, RuleContext } from './rules';
import { PathSegment } from './source';

/** The matcher of the policy's entries, made once per rule run. */
function matcherOf(ctx: RuleContext) {
  return protectedMatcher(ctx.engine, compileProtected(ctx.policy));
}

/** Where an entry's role is written: the string itself, or its `role`. */
function entryPath(ctx: RuleContext, index: number): PathSegment[] {
  return typeof ctx.policy.protected?.[index] === 'string' ? ['protected', index] : ['protected', index, 'role'];
}

/**
 * The policy may not reach a protected role: no grant to it (its membership in persona roles), no
 * adoption of it (pmgrants would grant to it, make principals its members, or own a schema through
 * it), and no name pmgrants generates may be one (it would create, mark and change it).
 */
const protectedRole: PolicyRule = {
  id: 'protected-role',
  severity: 'error',
  description: 'a grant, an adopted role or a generated name reaches a protected role',
  check(ctx) {
    if (!ctx.policy.protected?.length) return;
    const match = matcherOf(ctx);
    const byKey = new Map(ctx.principalList().map((p) => [p.key, p]));
    ctx.policy.grants.forEach((grant, gi) => {
      grant.to.forEach((key, i) => {
        const principal = byKey.get(key);
        const matches = principal ? match(principal.dbName) : [];
        if (matches.length === 0) return;
        ctx.report('protected-role', ['grants', gi, 'to', i], `grant ${gi + 1} would make "${principal!.dbName}" a member of ${grant.persona} roles, but ${protectedLabel(matches)} protects it: a protected role is never granted anything`, {
          hint: 'grant the persona to another principal, or remove the role from protected',
        });
      });
    });
    for (const role of ctx.adoptedRoles()) {
      const matches = role.refused ? [] : match(role.name);
      if (matches.length === 0) continue;
      const what = role.slot === 'owner' ? 'owner of its schema' : role.slot === 'app' ? 'login' : `${role.slot} role`;
      ctx.report('protected-role', role.path, `app "${role.app}" adopts "${role.name}" as its ${what}, but ${protectedLabel(matches)} protects it: pmgrants would grant to it and change its members`, {
        hint: 'give the app a role of its own',
      });
    }
    for (const g of ctx.generatedNames()) {
      const matches = match(g.name);
      if (matches.length === 0) continue;
      ctx.report('protected-role', g.path, `${g.what} "${g.name}", which pmgrants generates, is protected by ${protectedLabel(matches)}; pmgrants would create and change it`, {
        hint: 'narrow the protected pattern, or change options.prefix',
        atKey: g.atKey,
      });
    }
  },
};

/**
 * Entries that cannot be protected: a pattern of wildcards only (it protects every name, the
 * policy's own included), PUBLIC (every principal: protecting it would keep every grant to everyone on
 * the app schemas), and the same entry twice.
 */
const protectedEntry: PolicyRule = {
  id: 'protected-entry',
  severity: 'error',
  description: 'a protected entry that protects every name, PUBLIC, or an entry listed twice',
  check(ctx) {
    const seen = new Map<string, number>();
    protectedEntries(ctx.policy).forEach((entry, i) => {
      const at = entryPath(ctx, i);
      if (!isProtectable(entry.role) && entry.role.toLowerCase() !== 'public') {
        ctx.report('protected-entry', at, `"${entry.role}" protects every name, the policy's own roles included`, { hint: 'name the roles, or give the pattern a fixed part (e.g. "svc_*")' });
        return;
      }
      if (entry.role.toLowerCase() === 'public') {
        ctx.report('protected-entry', at, `"${entry.role}" stands for every principal and cannot be protected: pmgrants revokes what PUBLIC holds on app schemas`);
        return;
      }
      const key = nameKey(ctx.engine, entry.role);
      const first = seen.get(key);
      if (first !== undefined) ctx.report('protected-entry', at, `"${entry.role}" is already protected by protected[${first}]`, { hint: 'merge the two entries' });
      else seen.set(key, i);
    });
  },
};

/**
 * security.rotation.validFor: a lifetime the engines can give (the schema checks its form), and, on
 * SQL Server and Azure SQL, what it means there: logins have no expiry time (a login's expiration
 * follows the Windows password policy, per login only on or off: "Password policy",
 * learn.microsoft.com/sql/relational-databases/security/password-policy; Azure SQL Database applies no
 * expiration at all, same page), so the password stops working when pmgrants replaces it.
 */
const passwordValidFor: PolicyRule = {
  id: 'password-expiry-unenforced',
  severity: 'info',
  description: 'the engine does not expire a password by itself (security.rotation.validFor on SQL Server and Azure SQL)',
  check(ctx) {
    const text = ctx.policy.security.rotation?.validFor;
    if (text === undefined) return;
    const at: PathSegment[] = ['security', 'rotation', 'validFor'];
    const ms = durationMs(text);
    if (ms === undefined) return; // the schema's pattern reports it
    if (ms < MIN_VALID_FOR_MS || ms > MAX_VALID_FOR_MS) {
      ctx.report('invalid-value', at, `validFor ${text} (${durationText(text)}) is outside 5 minutes to 366 days`, { severity: 'error' });
      return;
    }
    if (ctx.engine === 'postgres') return;
    ctx.report(
      'password-expiry-unenforced',
      at,
      `${ctx.engine} logins have no expiry time: a generated password stops working when pmgrants replaces it, at the first apply or checkout after its ${durationText(text)}; schedule an apply at least that often`,
    );
  },
};

/** The rules of this module, joined to CORE_RULES in ruleset.ts. */
export const PROTECTED_RULES: readonly PolicyRule[] = [protectedEntry, protectedRole, passwordValidFor];
