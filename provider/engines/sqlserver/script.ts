import { DesiredState } from '../../model/types';
import { Statement } from '../../model/statement';
import { ResolvedDialectOptions } from './options';
import { quoteName, quoteString } from './quote';
import { DEFAULT_LOCK_TIMEOUT_SECONDS } from '../busy';

/**
 * The statements as one T-SQL script a DBA can run with sqlcmd or SSMS (`pmgrants plan --format sql`).
 * Each statement is its own batch (GO) with its bound parameters declared in front of it, so the script
 * runs exactly the SQL apply would run. Generated passwords are made on the server by CRYPT_GEN_RANDOM:
 * nobody, not even the script's reader, knows them until `pmgrants rotate` sets and delivers new ones.
 */
export function renderSqlServerScript(statements: readonly Statement[], desired: DesiredState, options: ResolvedDialectOptions): string {
  const azure = options.engine === 'azure-sql';
  const out: string[] = [
    `-- pmgrants: ${statements.length} statements for database ${desired.database} (${options.engine})`,
    '-- Generated logins get a random password made on the server that nobody sees; run',
    "-- 'pmgrants rotate <policy> --all' afterwards to set passwords and receive them as secrets.",
    'SET XACT_ABORT ON;',
    // As apply: a statement waits at most apply's default lock timeout for a lock (1222), not without end.
    `SET LOCK_TIMEOUT ${DEFAULT_LOCK_TIMEOUT_SECONDS * 1000};`,
    'GO',
  ];
  let target: Statement['target'] | undefined;
  for (const s of statements) {
    if (s.target !== target) {
      target = s.target;
      if (azure) out.push(target === 'server' ? '-- Connected to the master database:' : `-- Connected to ${desired.database}:`);
      else out.push(`USE ${target === 'server' ? '[master]' : quoteName(desired.database)};`, 'GO');
    }
    for (const p of s.params) {
      if ('secretFor' in p) {
        // 64 hex digits (upper case and digits) + a lower-case letter and a symbol: meets CHECK_POLICY complexity.
        out.push(`DECLARE @${p.name} nvarchar(128) = CONVERT(nvarchar(128), CRYPT_GEN_RANDOM(32), 2) + N'a!';`);
      } else {
        out.push(`DECLARE @${p.name} nvarchar(4000) = ${quoteString(p.value)};`);
      }
    }
    out.push(s.sql, 'GO');
  }
  return out.join('\n') + '\n';
}
