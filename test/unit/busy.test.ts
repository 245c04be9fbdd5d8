/**
 * A busy warehouse: the lock timeout and the retries of engines/busy.ts, how each engine classifies a
 * conflict and names who blocks it, and the plan's lock lines. PostgreSQL's behaviour on a real server
 * is test/e2e/busy-warehouse.e2e.test.ts; SQL Server's here, on the catalog simulator, T-SQL as sent.
 */
import { describe, expect, it } from 'vitest';
import { backoffSeconds, describeBlocker, patienceFrom, retryTransient, TransientConflict } from '../../provider/engines/busy';
import { beginSql } from '../../provider/engines/postgres/apply';
import { transientConflictOf } from '../../provider/engines/postgres/errors';
import { postgresLocks } from '../../provider/engines/postgres/render';
import { connectSqlServer } from '../../provider/engines/sqlserver';
import { statementLockTimeoutSql } from '../../provider/engines/sqlserver/apply';
import { blockersSql } from '../../provider/engines/sqlserver/blockers';
import { sqlServerLocks } from '../../provider/engines/sqlserver/render';
import { PmgrantsError } from '../../provider/model/errors';
import { formatPlan } from '../../provider/plan/format';
import { applyRendered, planLive, viewOf } from '../../provider/pipeline/plan';
import { CatalogSimulator } from '../fixtures/sqlserver/catalog-simulator';
import { FakeServer, fakeMssql } from '../fixtures/sqlserver/fake-mssql';
import { SYSTEM_MANAGED_YAML, policyFromYaml } from '../fixtures/sqlserver/policies';

const noSleep = async () => undefined;

describe('patience from flags and the environment', () => {
  it('reads --lock-timeout and --wait, else PMGRANTS_LOCK_TIMEOUT and PMGRANTS_WAIT; the flags win', () => {
    expect(patienceFrom({})).toEqual({});
    expect(patienceFrom({}, { PMGRANTS_LOCK_TIMEOUT: '0.5', PMGRANTS_WAIT: '0' })).toEqual({ lockTimeoutSeconds: 0.5, waitSeconds: 0 });
    expect(patienceFrom({ lockTimeout: '2', wait: '120' }, { PMGRANTS_LOCK_TIMEOUT: '9', PMGRANTS_WAIT: '9' })).toEqual({ lockTimeoutSeconds: 2, waitSeconds: 120 });
  });

  it('refuses what is not a number of seconds in one sentence naming where it came from', () => {
    expect(() => patienceFrom({ lockTimeout: '0' })).toThrow(new PmgrantsError('--lock-timeout must be a number of seconds above 0, at most 86400, not "0"'));
    expect(() => patienceFrom({ wait: 'soon' })).toThrow(/^--wait must be a number of seconds, at most 86400, not "soon"$/);
    expect(() => patienceFrom({}, { PMGRANTS_WAIT: '-1' })).toThrow(/^PMGRANTS_WAIT must be/);
    expect(() => patienceFrom({}, { PMGRANTS_LOCK_TIMEOUT: '1e9' })).toThrow(/^PMGRANTS_LOCK_TIMEOUT must be/);
  });
});

describe('retryTransient', () => {
  const conflict = () => new TransientConflict('a lock on hr.events was not granted within 3 s', [{ session: 'pid 4242', user: 'analyst', program: 'dashboards', seconds: 41.4, query: 'SELECT count(*)\n  FROM hr.events' }], true);

  it('tries again after a conflict, telling why and when, until the attempt succeeds', async () => {
    const notes: string[] = [];
    let tries = 0;
    const result = await retryTransient(
      async () => {
        if (++tries < 3) throw conflict();
        return 'applied';
      },
      { onRetry: (n) => notes.push(n) },
      undefined,
      noSleep,
    );
    expect(result).toBe('applied');
    expect(tries).toBe(3);
    expect(notes).toHaveLength(2);
    expect(notes[0]).toMatch(/^a lock on hr\.events was not granted within 3 s, held by pid 4242 \(user analyst, application "dashboards", running for 41 s: "SELECT count\(\*\) FROM hr\.events"\); rolled back, trying again in \d\.\d s \(try 2, waiting up to 30 s in all\)$/);
  });

  it('never retries another error', async () => {
    let tries = 0;
    const err = new PmgrantsError('permission denied');
    await expect(
      retryTransient(
        async () => {
          tries++;
          throw err;
        },
        { waitSeconds: 60 },
        undefined,
        noSleep,
      ),
    ).rejects.toBe(err);
    expect(tries).toBe(1);
  });

  it('with --wait 0, one try: the sentence names the holder, says nothing was applied, and what to do', async () => {
    const attempt = async () => {
      throw conflict();
    };
    const err = await retryTransient(attempt, { waitSeconds: 0 }, undefined, noSleep).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PmgrantsError);
    expect(err).not.toBeInstanceOf(TransientConflict);
    expect((err as PmgrantsError).exitCode).toBe(2);
    expect((err as Error).message).toBe(
      'a lock on hr.events was not granted within 3 s, held by pid 4242 (user analyst, application "dashboards", running for 41 s: "SELECT count(*) FROM hr.events") in one try; nothing was applied and the database is unchanged; run it again when that session has finished, or pass --wait SECONDS (PMGRANTS_WAIT) to keep trying longer (--wait is 0: no retry)',
    );
  });

  it('stops when the next delay would pass the wait, and counts its tries', async () => {
    let tries = 0;
    const started = Date.now();
    const err = await retryTransient(
      async () => {
        tries++;
        throw new TransientConflict('a deadlock with another session was detected');
      },
      { waitSeconds: 1 },
      undefined,
      (ms) => new Promise((r) => setTimeout(r, ms)),
    ).catch((e: unknown) => e as Error);
    expect(tries).toBeGreaterThan(1);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect((err as Error).message).toMatch(new RegExp(`^a deadlock with another session was detected in ${tries} tries over \\d+ s; nothing was applied and the database is unchanged; run it again$`));
  });

  it('an interrupted wait ends the retries', async () => {
    const controller = new AbortController();
    let tries = 0;
    const err = await retryTransient(
      async () => {
        tries++;
        controller.abort();
        throw conflict();
      },
      { waitSeconds: 600 },
      controller.signal,
      noSleep,
    ).catch((e: unknown) => e as Error);
    expect(tries).toBe(1);
    expect(err.message).toMatch(/in one try; nothing was applied/);
  });

  it('backs off from a quarter second, doubling, to at most 4 s, with jitter below', () => {
    expect(backoffSeconds(2, () => 1)).toBe(0.25);
    expect(backoffSeconds(3, () => 1)).toBe(0.5);
    expect(backoffSeconds(20, () => 1)).toBe(4);
    expect(backoffSeconds(20, () => 0)).toBe(3);
  });

  it('describes a blocker without letting a name or a query add a line or a terminal escape', () => {
    expect(describeBlocker({ session: 'pid 7', user: 'ev\nil', program: '\u001b[31mred', query: 'x'.repeat(80) })).toBe(`pid 7 (user ev?il, application "?[31mred", "${'x'.repeat(60)}...")`);
    expect(describeBlocker({ session: 'session 72' })).toBe('session 72');
  });

  it("never prints a password or secret the blocker's query holds (a DBA's ALTER ROLE ... PASSWORD, CREATE LOGIN, a connection string)", () => {
    const texts = [
      "ALTER ROLE pm_p2p_app PASSWORD 'hunter2' VALID UNTIL 'infinity'",
      "ALTER LOGIN [etl] WITH PASSWORD = N'hun''ter2', CHECK_POLICY = ON",
      "CREATE USER x WITH ENCRYPTED password 'hunter2",
      "SELECT dblink_connect('host=db password=hunter2 user=x')",
      'CREATE CREDENTIAL c WITH IDENTITY = \'u\', SECRET = "hunter2"',
    ];
    for (const query of texts) {
      const line = describeBlocker({ session: 'pid 1', query });
      expect(line).not.toMatch(/hunter|ter2/);
      expect(line).toMatch(/(PASSWORD|password|SECRET)( = | |=)\*{8}/);
    }
    expect(describeBlocker({ session: 'pid 1', query: "SELECT count(*) FROM hr.events WHERE who = 'ann'" })).toBe(`pid 1 ("SELECT count(*) FROM hr.events WHERE who = 'ann'")`);
  });
});

describe('PostgreSQL: the lock timeout of the apply transaction, and which errors are conflicts', () => {
  it('waits for the apply lock as long as the apply lock timeout, then for any other lock at most the statement lock timeout', () => {
    expect(beginSql(120, true, 3)).toBe("BEGIN;\nSET LOCAL lock_timeout = '120000ms';\nSELECT pg_advisory_lock(8101245045667951731);\nSET LOCAL lock_timeout = '3000ms'");
    expect(beginSql(3, false)).toBe("BEGIN;\nSET LOCAL lock_timeout = '3000ms'");
    expect(() => beginSql(120, true, 0)).toThrow(/lock timeout must be a positive number/);
  });

  it('classifies lock timeouts, deadlocks, serialization failures and concurrent catalog updates; nothing else', () => {
    expect(transientConflictOf({ code: '55P03', message: 'canceling statement due to lock timeout' })).toEqual({ what: 'a lock was not granted within the lock timeout', lockWait: true });
    expect(transientConflictOf({ code: '40P01' })?.lockWait).toBe(false);
    expect(transientConflictOf({ code: '40001' })?.lockWait).toBe(false);
    expect(transientConflictOf({ code: 'XX000', message: 'tuple concurrently updated' })?.what).toMatch(/tuple concurrently updated/);
    expect(transientConflictOf({ code: 'XX000', message: 'cache lookup failed for relation 1' })).toBeUndefined();
    expect(transientConflictOf({ code: '42501', message: 'permission denied' })).toBeUndefined();
    expect(transientConflictOf(undefined)).toBeUndefined();
  });
});

describe('the plan says which changes take strong locks', () => {
  const changes = [
    { kind: 'drop-role' as const, role: 'pm_hr_data_consumer', handTo: 'pm_hr_owner' },
    { kind: 'drop-user' as const, user: 'pm_hr_app', handTo: 'pm_hr_owner' },
    { kind: 'drop-login' as const, login: 'pm_hr_app', handTo: 'pm_hr_owner' },
    { kind: 'drop-role' as const, role: 'pm_x' },
  ];

  it('PostgreSQL: REASSIGN OWNED on every drop with an heir, one line per role', () => {
    expect(postgresLocks(changes)).toEqual([
      'pm_hr_data_consumer is dropped: REASSIGN OWNED hands its objects to pm_hr_owner, which takes an exclusive lock (ACCESS EXCLUSIVE) on every table and view pm_hr_data_consumer owns, from then to the commit, late in the transaction',
      'pm_hr_app is dropped: REASSIGN OWNED hands its objects to pm_hr_owner, which takes an exclusive lock (ACCESS EXCLUSIVE) on every table and view pm_hr_app owns, from then to the commit, late in the transaction',
    ]);
    expect(postgresLocks([{ kind: 'grant', permission: { grantee: 'a', on: { type: 'schema', name: 's' }, privilege: 'USAGE', effect: 'GRANT', withGrantOption: false } }])).toEqual([]);
  });

  it('SQL Server: ALTER AUTHORIZATION on what a dropped user owns', () => {
    expect(sqlServerLocks(changes)).toHaveLength(3);
    expect(sqlServerLocks(changes)[1]).toMatch(/^pm_hr_app is dropped: ALTER AUTHORIZATION hands every object it owns to its schema's owner/);
  });

  it('in the text, markdown and JSON plans', () => {
    const plan = { database: 'wh', engine: 'postgres', changes: [changes[0]], warnings: [], locks: postgresLocks([changes[0]]) };
    const view = { plan, roleApps: new Map<string, string>(), source: 'test' };
    expect(formatPlan('text', view)).toContain(`Locks:\n  ${plan.locks[0]}\n`);
    expect(formatPlan('markdown', view)).toContain('> :lock: pm\\_hr\\_data\\_consumer is dropped');
    expect(JSON.parse(formatPlan('json', view)).locks).toEqual(plan.locks);
    expect(JSON.parse(formatPlan('json', { ...view, plan: { ...plan, locks: undefined } })).locks).toBeUndefined();
  });
});

describe('SQL Server: SET LOCK_TIMEOUT, and 1205 / 1222 tried again', () => {
  const DB = 'AutomationSuite_ProcessMining_Warehouse';
  const policy = policyFromYaml('sm.yaml', SYSTEM_MANAGED_YAML);
  const setup = (conflicts?: FakeServer['conflicts']) => {
    const sim = new CatalogSimulator('sqlserver', { clockStart: Date.now() });
    sim.logins.push({ name: 'reporting_svc', principal_id: 290, sid: '0x0000000000000000000000000000ABCD', type: 'S', is_disabled: 0, password_last_set: null });
    const server: FakeServer = { databases: { [DB]: sim }, log: [], lockResult: 0, ...(conflicts ? { conflicts } : {}) };
    return { server, connect: () => connectSqlServer({ url: `mssql://pm:pw@sql01/${DB}`, engine: 'sqlserver' }, { mssql: fakeMssql(server) }) };
  };

  it('golden T-SQL: the statement lock timeout (with the session id), and the blockers query', () => {
    expect(statementLockTimeoutSql(3000)).toBe('SET LOCK_TIMEOUT 3000;\nSELECT @@SPID AS spid;');
    expect(() => statementLockTimeoutSql(0)).toThrow(PmgrantsError);
    expect(blockersSql).toBe(
      [
        'SELECT TOP (3) s.session_id, s.login_name, s.program_name,',
        '  DATEDIFF(SECOND, s.last_request_start_time, SYSDATETIME()) AS seconds, LEFT(t.text, 200) AS query',
        'FROM sys.dm_exec_requests AS r',
        'JOIN sys.dm_exec_sessions AS s ON s.session_id = r.blocking_session_id',
        'LEFT JOIN sys.dm_exec_connections AS c ON c.session_id = s.session_id',
        'OUTER APPLY sys.dm_exec_sql_text(c.most_recent_sql_handle) AS t',
        'WHERE r.session_id = @spid AND r.blocking_session_id > 0;',
      ].join('\n'),
    );
  });

  it('every warehouse transaction sets the lock timeout right after the apply lock; a lock timeout and a deadlock are rolled back and tried again, then it converges', async () => {
    const { server, connect } = setup({ number: 1222, times: 1 });
    const conn = await connect();
    const rendered = await planLive(conn, policy);
    const notes: string[] = [];
    await applyRendered(conn, rendered, undefined, { patience: { lockTimeoutSeconds: 2, onRetry: (n) => notes.push(n) } });
    expect(server.lockTimeouts).toEqual([2000, 2000]);
    expect(server.log.filter((l) => l.kind === 'rollback')).toHaveLength(1);
    expect(server.log.filter((l) => l.kind === 'commit')).toHaveLength(1);
    expect(notes).toEqual([expect.stringMatching(/^a lock was not granted within 2 s; rolled back, trying again in/)]);
    expect((await planLive(conn, policy)).plan.changes).toEqual([]);
    await conn.close();
  });

  it('a deadlock victim (1205) is tried again too', async () => {
    const { server, connect } = setup({ number: 1205, times: 2 });
    const conn = await connect();
    const notes: string[] = [];
    await applyRendered(conn, await planLive(conn, policy), undefined, { patience: { onRetry: (n) => notes.push(n) } });
    expect(notes).toHaveLength(2);
    expect(notes[0]).toMatch(/^this apply's transaction was chosen as the victim of a deadlock with another session; rolled back/);
    expect(server.log.filter((l) => l.kind === 'commit')).toHaveLength(1);
    expect((await planLive(conn, policy)).plan.changes).toEqual([]);
    await conn.close();
  });

  it('out of patience: one sentence naming the blocking session (asked while the batch waited), nothing applied', async () => {
    const blocker = { session_id: 72, login_name: 'etl', program_name: 'SSIS', seconds: 41, query: 'UPDATE p2p.events SET ...' };
    const { server, connect } = setup({ number: 1222, times: 100, delayMs: 400, blockers: [blocker] });
    const conn = await connect();
    const rendered = await planLive(conn, policy);
    const err = await applyRendered(conn, rendered, undefined, { patience: { lockTimeoutSeconds: 0.3, waitSeconds: 0 } }).catch((e: unknown) => e as Error);
    expect(err.message).toBe(
      'a lock was not granted within 0.3 s, held by session 72 (user etl, application "SSIS", running for 41 s: "UPDATE p2p.events SET ...") in one try; nothing was applied and the database is unchanged; run it again when that session has finished, or pass --wait SECONDS (PMGRANTS_WAIT) to keep trying longer (--wait is 0: no retry)',
    );
    expect(server.log.filter((l) => l.kind === 'commit')).toHaveLength(0);
    expect(server.log.some((l) => l.sql?.startsWith('SELECT TOP (3) s.session_id') && !l.inTransaction)).toBe(true);
    server.conflicts = undefined;
    expect((await planLive(conn, policy)).plan.changes).toEqual(rendered.plan.changes);
    await conn.close();
  });
});
