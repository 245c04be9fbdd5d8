import { PmgrantsError } from '../../model/errors';

/** What pg's errors carry that the mapping reads (DatabaseError fields, or a Node socket error's code). */
export interface PgErrorLike {
  message?: string;
  code?: string;
  detail?: string;
  severity?: string;
}

const CONNECTION_LOST = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** True when the error means the session is gone (terminated, server shut down, socket closed). */
export function isConnectionLost(err: unknown): boolean {
  const e = (err ?? {}) as PgErrorLike;
  if (e.code && CONNECTION_LOST.has(e.code)) return true;
  return /Connection terminated|connection is closed|Client was closed|not queryable/i.test(e.message ?? '');
}

/** Remove every secret (passwords, verifiers) from a text before it can reach a message or a log. */
export function redact(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('********');
  return out;
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0].trim();
}

function serverMessage(e: PgErrorLike): string {
  const msg = firstLine(e.message) || 'unknown error';
  return msg.replace(/[.\s]+$/, '');
}

/**
 * A failed apply -> one sentence for the user (no stack, no SQL, no secret). The transaction has
 * already been rolled back when this is shown.
 */
export function applyErrorMessage(err: unknown, secrets: Iterable<string> = []): string {
  const e = (err ?? {}) as PgErrorLike;
  const msg = serverMessage(e);
  const detail = firstLine(e.detail).replace(/[.\s]+$/, '');
  let sentence: string;
  if (isConnectionLost(err)) sentence = 'the connection was lost during apply; the transaction was rolled back, run apply again';
  else {
    switch (e.code) {
      case '42501':
        sentence = `the provisioning role lacks a privilege (${msg}); nothing was applied, run "pmgrants doctor" for the statement that fixes it`;
        break;
      case '2BP01':
        sentence = `${msg}${detail ? ` (${detail})` : ''}; nothing was applied`;
        break;
      case '42710':
      case '42P06':
        sentence = `${msg}, so the database changed since the plan was made (another apply may have run at the same time); nothing was applied, plan again`;
        break;
      case '42704':
      case '3F000':
        sentence = `${msg}, so the database changed since the plan was made; nothing was applied, plan again`;
        break;
      case '55P03':
        sentence = `a lock was not granted within the lock timeout (${msg}): another pmgrants apply or a long transaction holds it; nothing was applied, try again when it has finished`;
        break;
      case '40001':
      case '40P01':
        sentence = `the apply collided with a concurrent change (${msg}); nothing was applied, run apply again`;
        break;
      case '55006':
        sentence = `${msg}; nothing was applied`;
        break;
      case '57014':
        sentence = 'the apply was cancelled on the server (statement timeout or pg_cancel_backend); the transaction was rolled back, run apply again';
        break;
      case '3D000':
        sentence = `${msg}; check the database in the connection URL`;
        break;
      case '53200':
        // The lock table (max_locks_per_transaction x max_connections slots) is shared by every session:
        // one transaction that creates or replaces thousands of objects (masked views: two locks each) can fill it.
        sentence = /shared memory/i.test(msg)
          ? `the server ran out of lock slots (${msg}): the apply's transaction locks more objects than max_locks_per_transaction x max_connections allows (each masked view made or replaced takes two); raise max_locks_per_transaction (a restart) and apply again, or apply in smaller steps; the transaction was rolled back and nothing was applied`
          : `the server refused the apply: ${msg}; the transaction was rolled back and nothing was applied`;
        break;
      default:
        sentence = `the server refused the apply: ${msg}${detail ? ` (${detail})` : ''}; the transaction was rolled back and nothing was applied`;
    }
  }
  return redact(sentence, secrets);
}

/**
 * A failed connection -> one sentence; `where` is host:port/database (never the password). `attempt`
 * tells a timeout's cause: `reached` when the TCP connection was made (something listens there, but it
 * did not answer as PostgreSQL within `timeoutMs`), otherwise nothing answered at all.
 */
export function connectErrorMessage(err: unknown, where: string, attempt: { timeoutMs?: number; reached?: boolean } = {}): string {
  const e = (err ?? {}) as PgErrorLike;
  const msg = serverMessage(e);
  const within = attempt.timeoutMs !== undefined ? ` within ${Math.round(attempt.timeoutMs / 100) / 10} s` : '';
  if (e.code === undefined && /^timeout expired$|connection timeout/i.test(msg)) {
    return attempt.reached
      ? `cannot connect to PostgreSQL at ${where}: something accepted the connection but did not answer as PostgreSQL${within} (is this the server's port, and not another service's or a proxy's?)`
      : `cannot connect to PostgreSQL at ${where}: no answer${within} (the host is down or unreachable, or a firewall drops the connection; check the host and port)`;
  }
  switch (e.code) {
    case 'ECONNREFUSED':
      return `cannot connect to PostgreSQL at ${where}: nothing accepts connections there (connection refused): is the server running, and are the host and port right?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to PostgreSQL at ${where}: the host name does not resolve`;
    case 'ETIMEDOUT':
      return `cannot connect to PostgreSQL at ${where}: no answer${within} (the host is down or unreachable, or a firewall drops the connection; check the host and port)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot connect to PostgreSQL at ${where}: the host cannot be reached from here (no route to it)`;
    case '28P01':
    case '28000':
      return `PostgreSQL at ${where} refused the credentials: ${msg}`;
    case '3D000':
      return `PostgreSQL at ${where}: ${msg}`;
    default:
      return `cannot connect to PostgreSQL at ${where}: ${msg}`;
  }
}

/** One sentence for an error of an apply, scrubbed of its secrets. */
export function messageOf(err: unknown, hidden: readonly string[]): string {
  if (err instanceof PmgrantsError) return redact(err.message, hidden);
  if (isPgError(err) || isConnectionLost(err)) return applyErrorMessage(err, hidden);
  return redact(String((err as Error)?.message ?? err), hidden);
}

/**
 * An error as the reason inside a larger sentence: a lost connection is said as such, not with the
 * sentence of a whole failed apply, which would repeat the sentence around it (or contradict it: "rolled
 * back" inside "the changes were committed").
 */
export function reasonOf(err: unknown, hidden: readonly string[]): string {
  if (!(err instanceof PmgrantsError) && isConnectionLost(err)) {
    const server = redact(((err as Error)?.message ?? '').split('\n')[0].trim().replace(/[.\s]+$/, ''), hidden);
    return `the connection to the server was lost${server && !/^(the session was lost|Connection terminated.*)$/i.test(server) ? ` (${server})` : ''}`;
  }
  // A conflict inside a larger failure (a password trip after the commit): what happened, not what to do about the whole apply.
  const conflict = transientConflictOf(err);
  if (conflict) return `${conflict.what} (${redact(serverMessage(err as PgErrorLike), hidden)})`;
  return messageOf(err, hidden);
}

export function isPgError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string';
}

/**
 * A conflict with somebody else's concurrent work that rolled the apply's transaction back and may pass
 * if tried again: a lock not granted within lock_timeout (55P03), a serialization failure (40001), a
 * deadlock (40P01), or the catalog row a GRANT updates being updated by another session's GRANT at the
 * same moment ("tuple concurrently updated", XX000). What happened, in words; undefined for anything else.
 */
export function transientConflictOf(err: unknown): { what: string; lockWait: boolean } | undefined {
  const e = (err ?? {}) as PgErrorLike;
  switch (e.code) {
    case '55P03':
      return { what: 'a lock was not granted within the lock timeout', lockWait: true };
    case '40P01':
      return { what: 'a deadlock with another session was detected', lockWait: false };
    case '40001':
      return { what: 'a serialization failure with another session occurred', lockWait: false };
    case 'XX000':
      return /tuple concurrently (updated|deleted)/.test(e.message ?? '') ? { what: 'another session changed the same catalog row at the same moment (tuple concurrently updated)', lockWait: false } : undefined;
    default:
      return undefined;
  }
}
