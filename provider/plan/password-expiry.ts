/**
 * When a generated password stops being valid (security.rotation.validFor, PostgreSQL VALID UNTIL),
 * for plan, checkout and report. Pure: the clock is a parameter.
 */
import { passwordExpiryOf } from '../model/duration';
import { DesiredState } from '../model/types';
import { Change } from './change';
import type { ActualState } from '../model/types';

/** When a login's password stops being valid (model/duration.ts passwordExpiryOf), or undefined when it has no end. */
export function passwordExpiry(login: string, actual: Pick<ActualState, 'passwordValidUntil' | 'passwordSetAt'>, desired: Pick<DesiredState, 'passwordValidFor'>): Date | undefined {
  return passwordExpiryOf(actual.passwordValidUntil?.[login], actual.passwordSetAt?.[login], desired.passwordValidFor);
}

/** The password has expired at `now`: due for rotation (rotate-password, reason 'expired'). */
export function passwordExpired(login: string, actual: ActualState, desired: DesiredState, now: Date | undefined): boolean {
  if (!now) return false;
  const expiry = passwordExpiry(login, actual, desired);
  return expiry !== undefined && expiry.getTime() <= now.getTime();
}

/**
 * Warnings for rotations that end a password a checkout delivered and that is still valid: its taker
 * is still using it, and after this apply it can no longer log in (it is told when it checks; see
 * docs/credentials.md, "Credentials per use").
 */
export function supersededCheckouts(changes: readonly Change[], actual: ActualState, desired: DesiredState, now: Date | undefined): string[] {
  if (!actual.checkedOut?.length) return [];
  const checkedOut = new Set(actual.checkedOut);
  const out: string[] = [];
  for (const c of changes) {
    if (c.kind !== 'rotate-password' || c.reason === 'checkout' || !checkedOut.has(c.login)) continue;
    const expiry = passwordExpiry(c.login, actual, desired);
    if (expiry !== undefined && now !== undefined && expiry.getTime() <= now.getTime()) continue;
    const until = expiry ? ` (valid until ${expiry.toISOString()})` : '';
    out.push(`login ${c.login}: the password a checkout delivered${until} stops working when this apply replaces it`);
  }
  return out;
}
