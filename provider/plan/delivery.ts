import { ActualState } from '../model/types';

/**
 * The delivery rule, pure: which generated password the server holds against what its destination (the
 * CLI's secrets file, a Pulumi resource's state) says was delivered. Every generated password has a
 * generation (engines/generation.ts), recorded with the password where it is delivered and in the
 * login's marker when the server takes it; a login whose marker names a generation its destination does
 * not hold has a password nobody was given, and gets a new one (docs/credentials.md).
 */

/** What the server tells about the password a login holds. */
export interface HeldPassword {
  /** The generation its marker records (undefined: the engine records none, or the login has no password). */
  generation?: string;
  /** When it was set, as the marker records it. */
  setAt?: string;
  /**
   * A checkout delivered it (pmgrants checkout, to its own taker): it is not another destination's to
   * have, and never "undelivered" there; once expired, plan rotates it as expired (plan/password-expiry.ts).
   */
  checkedOut?: boolean;
}

/** What a destination holds of one login's password. */
export interface DeliveredPassword {
  /** The delivered password's generation (absent in records written before generations existed). */
  generation?: string;
  /** A password written before the server was asked to take it (the secrets file's write-ahead). */
  pending?: string;
  /** When the delivered password was set: what records without a generation compare (Pulumi state). */
  setAt?: string;
}

/**
 * What the secrets file holds, by login: the generation of its delivered password and of a pending one.
 * Entries without a generation (files written before generations existed) count as holding whatever the
 * server has.
 */
export type DeliveredPasswords = Record<string, DeliveredPassword | undefined>;

/** What `actual` tells about the password of `login`. */
export function heldPassword(actual: Pick<ActualState, 'passwordGeneration' | 'passwordSetAt' | 'checkedOut'>, login: string): HeldPassword {
  return { generation: actual.passwordGeneration?.[login], setAt: actual.passwordSetAt?.[login], ...(actual.checkedOut?.includes(login) ? { checkedOut: true } : {}) };
}

/**
 * The server holds a password (of a known generation) that the destination does not have: neither its
 * delivered nor its pending one. A destination with no record of the login holds none of its passwords;
 * a record from before generations counts as holding what the server has, unless it has a time that
 * differs from the marker's. A password a checkout delivered belongs to its taker: never undelivered.
 */
export function undeliveredPassword(held: HeldPassword, delivered: DeliveredPassword | undefined): boolean {
  if (held.generation === undefined || held.checkedOut) return false;
  if (!delivered) return true;
  if (delivered.generation !== undefined || delivered.pending !== undefined) {
    return delivered.generation !== held.generation && delivered.pending !== held.generation;
  }
  return delivered.setAt !== undefined && held.setAt !== delivered.setAt;
}

/** A secrets-file entry as the rule reads it: the generations of its delivered and pending passwords. */
export interface DeliveryRecord {
  generation?: string;
  pending?: { generation: string };
}

/**
 * Which entries plan and apply repair in the secrets file alone: a login whose marker names the file's
 * pending generation holds that password (promote it); one whose marker names the delivered generation
 * never took the pending one (discard it).
 */
export function fileRepairs(logins: Readonly<Record<string, DeliveryRecord>>, held: Readonly<Record<string, string>> | undefined): { promote: string[]; discard: string[] } {
  const promote: string[] = [];
  const discard: string[] = [];
  for (const [login, generation] of Object.entries(held ?? {})) {
    const e = logins[login];
    if (!e?.pending) continue;
    if (e.pending.generation === generation) promote.push(login);
    else if (e.generation === generation) discard.push(login);
  }
  return { promote: promote.sort(), discard: discard.sort() };
}

/** Logins with a pending password whose generation the server does not record (an engine without generation markers). */
export function unverifiablePending(logins: Readonly<Record<string, DeliveryRecord>>, held: Readonly<Record<string, string>> | undefined, managed: Iterable<string>): string[] {
  const out: string[] = [];
  for (const login of managed) if (logins[login]?.pending && held?.[login] === undefined) out.push(login);
  return out.sort();
}
