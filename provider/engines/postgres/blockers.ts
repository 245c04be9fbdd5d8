import type { Client as PgClient } from 'pg';
import { Blocker } from '../busy';
import { PostgresSession } from './session';

/**
 * The sessions that block `pid` (pg_blocking_pids), with what it waits for: who they are, how long
 * their transaction has run and their query's first words. pg_stat_activity shows another role's
 * query only to a role with pg_read_all_stats (else "<insufficient privilege>").
 */
export const blockersSql = `SELECT a.pid, a.usename, a.application_name, floor(extract(epoch FROM pg_catalog.now() - coalesce(a.xact_start, a.query_start, a.backend_start)))::int AS seconds, a.query, (SELECT string_agg(DISTINCT l.relation::regclass::text, ', ') FROM pg_catalog.pg_locks l WHERE l.pid = $1 AND NOT l.granted AND l.relation IS NOT NULL) AS waiting_on FROM pg_catalog.pg_stat_activity a WHERE a.pid = ANY (pg_catalog.pg_blocking_pids($1)) ORDER BY a.xact_start NULLS LAST LIMIT 3`;

/** What a watched round trip saw while it waited: who blocked it, and on which relations. */
export interface Blocked {
  blockers: Blocker[];
  /** The relations it waited for ("hr.events"), when it waited for relations. */
  waitingOn?: string;
}

/**
 * Watch one round trip of an apply: if it has not come back after `afterMs` (it may be waiting for a
 * lock), ask once, on a session of its own, who blocks the apply's backend. Fast round trips cost
 * nothing; a slow one costs a connection and one query. The lock wait itself ends at lock_timeout, after
 * which nobody blocks it any more: that is why it is asked while the wait lasts.
 */
export function watchBlockers(session: PostgresSession, pinned: PgClient, afterMs: number): { stop(): Promise<Blocked | undefined> } {
  const pid = (pinned as unknown as { processID?: number | null }).processID;
  let asking: Promise<Blocked | undefined> | undefined;
  const timer =
    typeof pid === 'number'
      ? setTimeout(() => {
          asking = ask(session, pid);
        }, afterMs)
      : undefined;
  timer?.unref?.();
  return {
    async stop() {
      if (timer) clearTimeout(timer);
      return asking;
    },
  };
}

async function ask(session: PostgresSession, pid: number): Promise<Blocked | undefined> {
  let c: PgClient | undefined;
  try {
    c = await session.open(false);
    session.trips++;
    const rows = (await c.query(blockersSql, [pid])).rows as {
      pid: number;
      usename: string | null;
      application_name: string | null;
      seconds: number | null;
      query: string | null;
      waiting_on: string | null;
    }[];
    if (rows.length === 0) return undefined;
    return {
      blockers: rows.map((r) => ({
        session: `pid ${r.pid}`,
        ...(r.usename ? { user: r.usename } : {}),
        ...(r.application_name ? { program: r.application_name } : {}),
        ...(r.seconds !== null ? { seconds: r.seconds } : {}),
        ...(r.query && r.query !== '<insufficient privilege>' ? { query: r.query } : {}),
      })),
      ...(rows[0].waiting_on ? { waitingOn: rows[0].waiting_on } : {}),
    };
  } catch {
    return undefined; // naming the blocker is a courtesy: the apply's own error stands without it
  } finally {
    await c?.end().catch(() => undefined);
  }
}
