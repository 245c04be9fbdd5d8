import { randomBytes as cryptoRandomBytes } from 'node:crypto';

/**
 * Character classes of SQL Server's password complexity (CREATE LOGIN, CHECK_POLICY = ON): at least three
 * of upper case, lower case, digits, non-alphanumeric; pmgrants always uses all four. Look-alikes are left
 * out; the symbols exclude quotes, brackets, backslash and semicolon (the docs: passwords cannot contain
 * single quotes), so a password never needs escaping anywhere it is pasted.
 */
export const PASSWORD_CLASSES = {
  upper: 'ABCDEFGHJKLMNPQRSTUVWXYZ',
  lower: 'abcdefghijkmnopqrstuvwxyz',
  digit: '23456789',
  symbol: '!#$%*+-.=?@^_~',
} as const;

export const PASSWORD_LENGTH = 40;
/** CREATE LOGIN: passwords cannot exceed 128 characters. */
export const PASSWORD_MAX_LENGTH = 128;

export type RandomBytes = (size: number) => Buffer;

/** A uniformly random index in [0, n) from a CSPRNG, by rejection sampling (no modulo bias). */
function randomIndex(n: number, random: RandomBytes): number {
  const limit = 256 - (256 % n);
  for (;;) {
    const b = random(1)[0];
    if (b < limit) return b % n;
  }
}

/**
 * A password for a generated login: CSPRNG, `length` characters (32 to 128), every character class
 * present, never containing the login name (the policy check rejects that).
 */
export function generateSqlServerPassword(login: string, length: number = PASSWORD_LENGTH, random: RandomBytes = cryptoRandomBytes): string {
  if (length < 32 || length > PASSWORD_MAX_LENGTH) throw new Error(`password length must be 32..${PASSWORD_MAX_LENGTH}`);
  const classes = Object.values(PASSWORD_CLASSES);
  const all = classes.join('');
  for (;;) {
    const chars = Array.from({ length }, () => all[randomIndex(all.length, random)]);
    // One of each class at distinct random positions.
    const positions: number[] = [];
    while (positions.length < classes.length) {
      const p = randomIndex(length, random);
      if (!positions.includes(p)) positions.push(p);
    }
    classes.forEach((cls, i) => {
      chars[positions[i]] = cls[randomIndex(cls.length, random)];
    });
    const password = chars.join('');
    if (login && password.toLowerCase().includes(login.toLowerCase())) continue;
    return password;
  }
}

/** Whether a password meets what generateSqlServerPassword promises (used by tests and before apply). */
export function meetsPasswordPolicy(password: string, login: string): boolean {
  return (
    password.length >= 32 &&
    password.length <= PASSWORD_MAX_LENGTH &&
    Object.values(PASSWORD_CLASSES).every((cls) => [...password].some((c) => cls.includes(c))) &&
    [...password].every((c) => Object.values(PASSWORD_CLASSES).some((cls) => cls.includes(c))) &&
    !password.toLowerCase().includes(login.toLowerCase())
  );
}
