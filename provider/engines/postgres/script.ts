import { DesiredState } from '../../model/types';
import { Statement } from '../../model/statement';
import { APPLY_LOCK_KEY } from './apply';
import { markerSql } from './marker';
import { DEFAULT_LOCK_TIMEOUT_SECONDS } from '../busy';

/**
 * The statements as one psql script (`pmgrants plan --format sql`): one transaction under the same
 * advisory lock apply takes, every statement after it waiting at most apply's default lock timeout (a lock
 * not had in time stops the script, nothing applied: run it again). Generated logins are created with PASSWORD NULL, so nobody can log in as
 * them until a `pmgrants apply` (which plans "set password" for a generated login that has none) sets
 * their passwords and delivers them as secrets; no secret is ever printed.
 */
export function renderPostgresScript(statements: readonly Statement[], desired: DesiredState): string {
  const out: string[] = [
    `-- pmgrants: ${statements.length} statements for database ${desired.database} (postgres)`,
    "-- Generated logins get no password (PASSWORD NULL); run 'pmgrants apply <policy>' afterwards to set and deliver them.",
    '\\set ON_ERROR_STOP on',
    'BEGIN;',
    `SELECT pg_advisory_xact_lock(${APPLY_LOCK_KEY});`,
    // As apply: no statement queues the warehouse's readers behind it for longer (docs/postgres.md, "A busy warehouse").
    `SET LOCAL lock_timeout = '${DEFAULT_LOCK_TIMEOUT_SECONDS * 1000}ms';`,
  ];
  for (const s of statements) {
    const secret = s.params.find((p) => 'secretFor' in p);
    if (secret && 'secretFor' in secret) {
      out.push(`${s.sql.slice(0, -secret.name.length)}NULL;`);
      out.push(`${markerSql(secret.secretFor, undefined, desired.database)};`);
    } else out.push(`${s.sql};`);
  }
  out.push('COMMIT;');
  return out.join('\n') + '\n';
}
