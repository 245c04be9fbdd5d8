/**
 * Durations the policy writes as a whole number and a unit: `30m`, `8h`, `7d`
 * (`security.rotation.validFor`). Pure.
 */

const DURATION = /^([1-9][0-9]{0,5})(m|h|d)$/;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
const UNIT_WORD: Record<string, string> = { m: 'minute', h: 'hour', d: 'day' };

/** The shortest and longest lifetime a generated password may be given. */
export const MIN_VALID_FOR_MS = 5 * 60_000;
export const MAX_VALID_FOR_MS = 366 * 86_400_000;

/** Milliseconds of a duration, or undefined when `text` is not one. */
export function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2]] : undefined;
}

/** "8 hours", "1 day". */
export function durationText(text: string): string {
  const m = DURATION.exec(text);
  if (!m) return text;
  const n = Number(m[1]);
  return `${n} ${UNIT_WORD[m[2]]}${n === 1 ? '' : 's'}`;
}

/** The instant a password set at `setAt` stops being valid, `validFor` later. */
export function validUntil(setAt: Date, validForMs: number): Date {
  return new Date(setAt.getTime() + validForMs);
}

/**
 * The instant a password stops being valid, or undefined when it has no end: the earlier of what the
 * server enforces (`enforced`: PostgreSQL VALID UNTIL) and the policy's lifetime counted from when it
 * was set (so shortening validFor, or adding it, ends passwords set before, as the policy now says;
 * SQL Server, which has no expiry time, only has the second). ISO timestamps in, a Date out.
 */
export function passwordExpiryOf(enforced: string | undefined, setAt: string | undefined, validFor: string | undefined): Date | undefined {
  const lifetime = validFor !== undefined ? durationMs(validFor) : undefined;
  const times: number[] = [];
  if (enforced !== undefined) times.push(Date.parse(enforced));
  if (setAt !== undefined && lifetime !== undefined) times.push(Date.parse(setAt) + lifetime);
  const valid = times.filter((t) => !Number.isNaN(t));
  return valid.length > 0 ? new Date(valid.reduce((a, b) => Math.min(a, b))) : undefined;
}
