/**
 * Expiring grants: when a grant's `expires` has passed. Pure: the clock is always a parameter.
 *
 * `expires` is either a date (`2027-03-31`), meaning the grant holds through the whole of that day in
 * UTC and expires at the following midnight UTC, or a date-time with a zone (`2027-03-31T17:00:00Z`,
 * `2027-03-31T18:00:00+01:00`), meaning exactly that instant. From that instant on (now >= instant) the
 * grant is expired: compile leaves it out, and the next plan revokes what it gave.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const MS_PER_DAY = 86_400_000;

/** How many days ahead a grant's end is announced: validate warns of it, the access report lists it. */
export const DEFAULT_EXPIRY_WARNING_DAYS = 14;

function validDay(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** The instant a grant stops holding, or undefined when `text` is not a real date or date-time with zone. */
export function expiryInstant(text: string): Date | undefined {
  const date = DATE.exec(text);
  if (date) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    if (!validDay(y, m, d)) return undefined;
    // The end of the named day: the next day's midnight, UTC.
    return new Date(Date.UTC(y, m - 1, d) + MS_PER_DAY);
  }
  const dt = DATE_TIME.exec(text);
  if (!dt) return undefined;
  const [y, m, d, hh, mm, ss] = [1, 2, 3, 4, 5, 6].map((i) => Number(dt[i] ?? 0));
  if (!validDay(y, m, d) || hh > 23 || mm > 59 || ss > 59) return undefined;
  const zone = dt[8];
  if (zone !== 'Z' && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4, 6)) > 59)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/** The grant has expired at `now` (an invalid `expires` never counts as expired: validate reports it). */
export function isExpired(expires: string, now: Date): boolean {
  const at = expiryInstant(expires);
  return at !== undefined && now.getTime() >= at.getTime();
}

/** Whole days (rounded up) from `now` until the grant expires; 0 or less once it has. */
export function daysUntilExpiry(expires: string, now: Date): number | undefined {
  const at = expiryInstant(expires);
  return at === undefined ? undefined : Math.ceil((at.getTime() - now.getTime()) / MS_PER_DAY);
}

/** Of two expiries of the same membership, the later one (undefined = never expires, which wins). */
export function laterExpiry(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || b === undefined) return undefined;
  const ta = expiryInstant(a)?.getTime() ?? Infinity;
  const tb = expiryInstant(b)?.getTime() ?? Infinity;
  return tb > ta ? b : a;
}

/** How an expiry reads in plans and messages: a date says which day it holds through. */
export function expiryText(expires: string): string {
  return DATE.test(expires) ? `${expires} (end of day UTC)` : expires;
}
