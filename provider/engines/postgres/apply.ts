import { PmgrantsError, Statement } from '../engine';
import { managedComment } from './marker';
import { quoteIdent, quoteLiteral } from './quote';
import { generatePassword, scramSha256Verifier } from './scram';

/**
 * Key of the transaction-level advisory lock every apply takes first, so two applies against the same
 * database serialize instead of interleaving. ASCII "pmgrants" as a bigint.
 */
export const APPLY_LOCK_KEY = '8101245045667951731';

/** A statement ready to send: secrets substituted (as SCRAM verifiers) and the statement it came from. */
export interface PreparedStatement {
  sql: string;
  statement: Statement;
}

export interface PreparedApply {
  units: PreparedStatement[];
  /** Plaintext passwords by login: the caller's secrets. */
  secrets: Map<string, string>;
  /** Every plaintext and verifier, to scrub from any text that leaves apply. */
  hidden: string[];
}

/**
 * Generate the passwords the statements need (CSPRNG), turn each into a SCRAM-SHA-256 verifier and
 * put the VERIFIER into the SQL (the plaintext never reaches the server), then stamp the login's
 * managed marker with the time its password was set (rotation by age reads it back).
 */
export function prepareStatements(statements: readonly Statement[], now: Date, newPassword: () => string = generatePassword): PreparedApply {
  const secrets = new Map<string, string>();
  const hidden: string[] = [];
  const units: PreparedStatement[] = [];
  for (const statement of statements) {
    if (statement.params.length === 0) {
      units.push({ sql: statement.sql, statement });
      continue;
    }
    const [param, ...rest] = statement.params;
    if (rest.length > 0 || !('secretFor' in param) || !statement.sql.endsWith(` ${param.name}`)) {
      throw new Error(`apply: a PostgreSQL statement takes at most one parameter, a password placeholder at its end (${statement.display})`);
    }
    const login = param.secretFor;
    let password = secrets.get(login);
    if (password === undefined) {
      password = newPassword();
      secrets.set(login, password);
    }
    const verifier = scramSha256Verifier(password);
    hidden.push(password, verifier);
    units.push({ sql: statement.sql.slice(0, -param.name.length) + quoteLiteral(verifier), statement });
    units.push({
      sql: `COMMENT ON ROLE ${quoteIdent(login)} IS ${quoteLiteral(managedComment({ purpose: 'generated-login', passwordSetAt: now.toISOString() }))}`,
      statement,
    });
  }
  return { units, secrets, hidden };
}

/** Units -> round trips: up to `size` statements joined into one simple-query string each. */
export function batchStatements(units: readonly PreparedStatement[], size: number): PreparedStatement[][] {
  if (!Number.isInteger(size) || size < 1) throw new PmgrantsError(`the apply batch size must be a positive integer, not ${size}`);
  const batches: PreparedStatement[][] = [];
  for (let i = 0; i < units.length; i += size) batches.push(units.slice(i, i + size));
  return batches;
}

export function batchSql(batch: readonly PreparedStatement[]): string {
  return batch.map((u) => u.sql).join(';\n');
}

/** The first round trip of an apply: open the transaction and wait (bounded) for the apply lock. */
export function beginSql(lockTimeoutSeconds: number): string {
  if (!Number.isFinite(lockTimeoutSeconds) || lockTimeoutSeconds <= 0) throw new PmgrantsError('the apply lock timeout must be a positive number of seconds');
  return [
    'BEGIN',
    `SET LOCAL lock_timeout = ${quoteLiteral(`${Math.round(lockTimeoutSeconds * 1000)}ms`)}`,
    `SELECT pg_advisory_xact_lock(${APPLY_LOCK_KEY})`,
  ].join(';\n');
}
