import type { PasswordLifetime } from '../engine';
import { quoteIdent, quoteLiteral } from './quote';

/**
 * How pmgrants recognises what it owns in PostgreSQL: a role whose name starts with the policy's
 * prefix AND whose comment starts with MANAGED_MARKER. The rest of the comment is JSON describing why
 * the role exists, which warehouse (database) owns it, and, for generated logins, when their password
 * was last set (rotation by age). Roles belong to the whole cluster: `warehouse` is how the plan of
 * one database tells its own roles from those of another database on the same server.
 */
export const MANAGED_MARKER = 'pmgrants:managed';
/** Comment on principal roles pmgrants created for the policy's people and groups. Not a managed marker: those are never dropped. */
export const PRINCIPAL_MARKER = 'pmgrants:principal';

export interface MarkerData {
  purpose?: string;
  app?: string;
  persona?: string;
  /** ISO time the generated password was set (logins only). */
  passwordSetAt?: string;
  /** The database of the warehouse that owns the role. Absent in markers written before it was recorded. */
  warehouse?: string;
  /**
   * Which delivered password the server holds (logins only): the random id the secrets file records
   * with it. Never the password or anything derived from it (docs/credentials.md).
   */
  passwordGeneration?: string;
  /** "checkout": a checkout delivered the current password to its taker (plan/delivery.ts leaves it to it). */
  delivery?: string;
}

export function managedComment(data: MarkerData): string {
  return `${MANAGED_MARKER} ${JSON.stringify(data)}`;
}

export function isManagedComment(comment: string | null | undefined): boolean {
  return typeof comment === 'string' && comment.startsWith(MANAGED_MARKER);
}

/** The JSON after the marker; {} when absent or unreadable (a hand-edited comment still marks the role). */
export function parseMarker(comment: string | null | undefined): MarkerData {
  if (!isManagedComment(comment)) return {};
  const rest = comment!.slice(MANAGED_MARKER.length).trim();
  if (!rest.startsWith('{')) return {};
  try {
    const value: unknown = JSON.parse(rest);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
    const out: MarkerData = {};
    for (const k of ['purpose', 'app', 'persona', 'passwordSetAt', 'warehouse', 'passwordGeneration', 'delivery'] as const) {
      const v = (value as Record<string, unknown>)[k];
      if (typeof v === 'string') out[k] = v;
    }
    return out;
  } catch {
    return {};
  }
}

/**
 * The managed marker of a generated login; with the time its password was set, and the generation of
 * that password, once it has one. Without them, inspect reports the login's password as missing (see
 * also the psql script, script.ts). `warehouse` is the database that owns the login (see marker.ts).
 */
export function markerSql(login: string, passwordSetAt?: Date, warehouse?: string, generation?: string, checkout?: boolean): string {
  const marker = managedComment({
    purpose: 'generated-login',
    ...(passwordSetAt ? { passwordSetAt: passwordSetAt.toISOString() } : {}),
    ...(warehouse !== undefined ? { warehouse } : {}),
    ...(generation ? { passwordGeneration: generation } : {}),
    ...(checkout ? { delivery: 'checkout' } : {}),
  });
  return `COMMENT ON ROLE ${quoteIdent(login)} IS ${quoteLiteral(marker)}`;
}

/**
 * Set one password: its SCRAM verifier (never the plaintext), valid until the lifetime's end (VALID
 * UNTIL: "a date and time after which the role's password is no longer valid", postgresql.org,
 * CREATE ROLE; 'infinity' without one, so a lifetime the policy dropped ends), and the marker stamped
 * with the time, which rotation by age reads back, the password's generation, which plan compares
 * with the secrets file, and whether a checkout took it. One command string: one implicit transaction.
 */
export function passwordSql(login: string, verifier: string, now: Date, warehouse?: string, generation?: string, lifetime: PasswordLifetime = {}): string {
  const until = lifetime.validUntil ? lifetime.validUntil.toISOString() : 'infinity';
  return `ALTER ROLE ${quoteIdent(login)} WITH PASSWORD ${quoteLiteral(verifier)} VALID UNTIL ${quoteLiteral(until)};\n${markerSql(login, now, warehouse, generation, lifetime.checkout)}`;
}
