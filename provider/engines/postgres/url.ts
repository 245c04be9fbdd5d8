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
