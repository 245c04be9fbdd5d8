import { PmgrantsError } from '../../model/errors';

/**
 * The database a PostgreSQL connection URL names, or undefined when it names none (the server then
 * picks the user's name). A URL that cannot be read is one sentence naming the problem, never the URL
 * itself, which holds the password.
 */
export function postgresUrlDatabase(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PmgrantsError('the database URL is not a valid URL (expected postgres://user:password@host:5432/database; percent-encode @, :, / and # in the user name and password)');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new PmgrantsError(`a PostgreSQL connection URL starts with postgres:// or postgresql://, not ${u.protocol}//`);
  }
  try {
    return decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined;
  } catch {
    throw new PmgrantsError('the database name in the database URL has a malformed percent-encoding');
  }
}

/** host:port/database of a connection URL, never its password (for messages). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'the configured server';
  }
}

/** The sslmode values the pg 8 driver reads as verify-full, and warns about on every process that uses one. */
const READ_AS_VERIFY_FULL = new Set(['prefer', 'require', 'verify-ca']);

/**
 * The URL as handed to the driver. pg 8 (pg-connection-string 2.x) treats sslmode=prefer, require and
 * verify-ca as aliases of verify-full (the certificate and host name are verified) and prints a
 * multi-line SECURITY WARNING to stderr on each use. Its warning documents the way to keep that
 * behaviour without the warning: "explicitly use 'sslmode=verify-full'"; so such a URL is passed with
 * sslmode=verify-full, which connects exactly as before. A URL that asks for libpq's meaning
 * (uselibpqcompat=true) is passed as it is. docs/postgres.md, "Connecting", says so.
 */
export function driverConnectionString(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  const mode = u.searchParams.get('sslmode');
  if (mode === null || !READ_AS_VERIFY_FULL.has(mode) || u.searchParams.get('uselibpqcompat') === 'true') return url;
  u.searchParams.set('sslmode', 'verify-full');
  return u.toString();
}
