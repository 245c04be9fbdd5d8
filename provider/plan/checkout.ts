/**
 * Credentials per use (`pmgrants checkout`, UiPath's "passwords are rotated on every use"): the one
 * change a checkout makes, and what its taker is told. Pure; the CLI and the Pulumi provider run it
 * under the warehouse's apply lock (docs/credentials.md, "Credentials per use").
 */
import { didYouMean } from '../diagnostics/diagnostic';
import { durationMs, durationText, MAX_VALID_FOR_MS, MIN_VALID_FOR_MS } from '../model/duration';
import { DesiredState } from '../model/types';
import { PmgrantsError } from '../model/errors';
import { Change, Plan } from './change';
import type { ActualState } from '../model/types';
import { passwordExpiry } from './password-expiry';

/** What a taker is told about the password it took (never the password: that is in its destination). */
export interface CheckoutReceipt {
  app: string;
  login: string;
  database: string;
  /** The id of the password taken (the login's marker records it while the server holds it). */
  generation: string;
  setAt: string;
  /** When it stops being valid; null when the policy gives passwords no lifetime. */
  validUntil: string | null;
  /** The password this checkout replaced, which stopped working with it. */
  superseded?: { generation?: string; validUntil: string | null; wasValid: boolean; byCheckout: boolean };
}

/** The login a checkout of `app` rotates; a PmgrantsError of one sentence when it cannot. */
export function checkoutLogin(desired: DesiredState, app: string): string {
  const login = desired.appLogins[app];
  if (login === undefined) {
    const near = didYouMean(app, Object.keys(desired.appLogins));
    throw new PmgrantsError(`unknown app "${app}"${near ? ` (did you mean "${near}"?)` : ''}`);
  }
  if (desired.mode === 'single_account') {
    throw new PmgrantsError(`every app shares the login ${login} in single_account mode, so a checkout would end the password of every other app; check out per app in system_managed mode`);
  }
  if (desired.logins.find((l) => l.name === login)?.adopted) {
    throw new PmgrantsError(`app "${app}" runs as the adopted login ${login}, whose password pmgrants does not manage`);
  }
  return login;
}

/**
 * How long the checkout's password is valid: `--valid-for` when given (it may only shorten the
 * policy's validFor: a longer one would be ended by the next plan), else the policy's; undefined when
 * neither says (the password then lives until the next checkout or rotation).
 */
export function checkoutValidFor(desired: DesiredState, requested: string | undefined): string | undefined {
  if (requested === undefined) return desired.passwordValidFor;
  const ms = durationMs(requested);
  if (ms === undefined) throw new PmgrantsError(`--valid-for ${requested} is not a duration: write a whole number and m, h or d, e.g. 30m or 8h`);
  if (ms < MIN_VALID_FOR_MS || ms > MAX_VALID_FOR_MS) throw new PmgrantsError(`--valid-for ${requested} is outside 5 minutes to 366 days`);
  const policy = desired.passwordValidFor !== undefined ? durationMs(desired.passwordValidFor) : undefined;
  if (policy !== undefined && ms > policy) {
    throw new PmgrantsError(`--valid-for ${requested} is longer than the policy's security.rotation.validFor (${durationText(desired.passwordValidFor!)}); a checkout may only shorten it`);
  }
  return requested;
}

/**
 * The checkout's plan: one rotate-password change (reason 'checkout') for the app's login, whatever
 * else the warehouse would need (that is apply's work, after review). The login must exist.
 */
export function checkoutPlan(desired: DesiredState, actual: ActualState, login: string): Plan {
  if (!actual.logins.some((l) => l.name === login)) {
    throw new PmgrantsError(`login ${login} does not exist yet in ${desired.database}; run pmgrants apply first, then check out`);
  }
  const change: Change = { kind: 'rotate-password', login, reason: 'checkout' };
  return { database: desired.database, engine: desired.engine, changes: [change], warnings: [] };
}

/** What the password the checkout replaces was, for the receipt (read from the catalog under the lock, before the checkout). */
export function supersededBy(actual: ActualState, desired: DesiredState, login: string, now: Date): CheckoutReceipt['superseded'] {
  if (actual.passwordMissing?.includes(login)) return undefined;
  const expiry = passwordExpiry(login, actual, desired);
  const generation = actual.passwordGeneration?.[login];
  return {
    ...(generation !== undefined ? { generation } : {}),
    validUntil: expiry?.toISOString() ?? null,
    wasValid: expiry === undefined || expiry.getTime() > now.getTime(),
    byCheckout: actual.checkedOut?.includes(login) ?? false,
  };
}

/** The receipt as text lines (stdout), for people; `--format json` prints the object itself. */
export function receiptText(r: CheckoutReceipt, secretsFile: string): string {
  const lines = [
    `Checked out a new password for ${r.login} (app ${r.app}) in ${secretsFile}.`,
    `generation: ${r.generation}`,
    `valid until: ${r.validUntil ?? 'no end (the policy sets no security.rotation.validFor)'}`,
  ];
  const s = r.superseded;
  if (s?.wasValid) {
    const by = s.byCheckout ? 'another checkout delivered' : 'the server held';
    lines.push(`It replaced the password ${by} (generation ${s.generation ?? 'unknown'}${s.validUntil ? `, valid until ${s.validUntil}` : ''}): whoever holds that one can no longer log in with it.`);
  }
  return `${lines.join('\n')}\n`;
}

/** Whether a taker's password is still the one the server holds, and valid (checkout --verify). */
export interface Verdict {
  live: boolean;
  message: string;
}

/**
 * The answer to `checkout --verify GENERATION`: live when the login's marker names that generation and
 * it has not expired; otherwise one sentence saying what replaced or ended it. Engines that record no
 * generation (SQL Server) cannot answer: a PmgrantsError says so.
 */
export function verifyCheckout(actual: ActualState, desired: DesiredState, login: string, generation: string, now: Date): Verdict {
  if (!actual.logins.some((l) => l.name === login)) return { live: false, message: `login ${login} does not exist in ${desired.database}` };
  if (!actual.passwordGeneration) {
    throw new PmgrantsError(`${desired.engine} does not record which password a login holds, so a checkout cannot be verified there; take a new one when a login fails`);
  }
  const held = actual.passwordGeneration[login];
  if (held !== generation) {
    const by = actual.checkedOut?.includes(login) ? 'a later checkout' : 'a later apply or rotation';
    return { live: false, message: `generation ${generation} of ${login} was replaced by ${by} (the server holds generation ${held ?? 'none recorded'}): take a new password` };
  }
  const expiry = passwordExpiry(login, actual, desired);
  if (expiry !== undefined && expiry.getTime() <= now.getTime()) {
    return { live: false, message: `generation ${generation} of ${login} expired at ${expiry.toISOString()}: take a new password` };
  }
  return { live: true, message: `generation ${generation} is the password ${login} holds${expiry ? `, valid until ${expiry.toISOString()}` : ''}` };
}
