import type * as Mssql from 'mssql';
import { Blocker } from '../busy';
import { SqlServerSession } from './session';

/**
 * Who blocks the apply's session `@spid`, asked from another connection while one of its batches waits:
 * sys.dm_exec_requests.blocking_session_id, the blocker's login and program (sys.dm_exec_sessions), and
 * its most recent statement (sys.dm_exec_connections.most_recent_sql_handle, sys.dm_exec_sql_text).
 * Without VIEW SERVER STATE (Azure SQL: VIEW DATABASE STATE) a login sees only its own session's
 * request, so the answer is empty and the blocker stays unnamed.
 */
export const blockersSql = [
  'SELECT TOP (3) s.session_id, s.login_name, s.program_name,',
  '  DATEDIFF(SECOND, s.last_request_start_time, SYSDATETIME()) AS seconds, LEFT(t.text, 200) AS query',
  'FROM sys.dm_exec_requests AS r',
  'JOIN sys.dm_exec_sessions AS s ON s.session_id = r.blocking_session_id',
  'LEFT JOIN sys.dm_exec_connections AS c ON c.session_id = s.session_id',
  'OUTER APPLY sys.dm_exec_sql_text(c.most_recent_sql_handle) AS t',
  'WHERE r.session_id = @spid AND r.blocking_session_id > 0;',
].join('\n');

/**
 * Watch one batch of the apply: if it has not come back after `afterMs`, ask once who blocks it. Fast
 * batches cost nothing. Naming the blocker is a courtesy: a failure here changes nothing.
 */
export function watchSqlServerBlockers(session: SqlServerSession, pool: Mssql.ConnectionPool, spid: number, afterMs: number): { stop(): Promise<Blocker[] | undefined> } {
  let asking: Promise<Blocker[] | undefined> | undefined;
  const timer = setTimeout(() => {
    asking = (async () => {
      try {
        const request = session.request(pool);
        request.input('spid', session.mssql.Int, spid);
        const rows = ((await session.run(request, blockersSql, true)).recordset ?? []) as unknown as {
          session_id: number;
          login_name?: string | null;
          program_name?: string | null;
          seconds?: number | null;
          query?: string | null;
        }[];
        return rows.length > 0 ? rows.map(blockerOf) : undefined;
      } catch {
        return undefined;
      }
    })();
  }, afterMs);
  timer.unref?.();
  return {
    async stop() {
      clearTimeout(timer);
      return asking;
    },
  };
}

function blockerOf(r: { session_id: number; login_name?: string | null; program_name?: string | null; seconds?: number | null; query?: string | null }): Blocker {
  return {
    session: `session ${r.session_id}`,
    ...(r.login_name ? { user: r.login_name } : {}),
    ...(r.program_name ? { program: r.program_name } : {}),
    ...(typeof r.seconds === 'number' ? { seconds: r.seconds } : {}),
    ...(r.query ? { query: r.query } : {}),
  };
}
