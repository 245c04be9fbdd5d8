/**
 * SQL Server's apply lock before the plan (lockForApply): the transaction that takes sp_getapplock is the
 * one the inspect reads in and the apply continues, so the plan applied is the plan made under the lock.
 * Driver faked by the catalog simulator; T-SQL asserted as sent.
 */
import { describe, expect, it } from 'vitest';
import { LockHolder, waitingForLockMessage } from '../../provider/engines/lock';
import { PmgrantsError } from '../../provider/model/errors';
import { connectSqlServer, lockBatchSql } from '../../provider/engines/sqlserver';
import { lockHolderSql } from '../../provider/engines/sqlserver/apply';
import { applyRendered, planLive } from '../../provider/pipeline/plan';
import { CatalogSimulator } from '../fixtures/sqlserver/catalog-simulator';
import { FakeServer, fakeMssql } from '../fixtures/sqlserver/fake-mssql';
import { SYSTEM_MANAGED_YAML, policyFromYaml } from '../fixtures/sqlserver/policies';

const DB = 'AutomationSuite_ProcessMining_Warehouse';
const policy = policyFromYaml('sm.yaml', SYSTEM_MANAGED_YAML);
const HOLDER_ROW = { session_id: 57, login_time: new Date('2026-12-03T10:15:02.250Z'), program_name: 'pmgrants' };

function setup(lockResult: FakeServer['lockResult'] = 0, query = '') {
  const sim = new CatalogSimulator('sqlserver', { clockStart: Date.now() });
  sim.logins.push({ name: 'reporting_svc', principal_id: 290, sid: '0x0000000000000000000000000000ABCD', type: 'S', is_disabled: 0, password_last_set: null });
  const server: FakeServer = { databases: { [DB]: sim }, log: [], lockResult };
  const connect = () => connectSqlServer({ url: `mssql://pm:pw@sql01/${DB}${query}`, engine: 'sqlserver' }, { mssql: fakeMssql(server) });
  return { sim, server, connect };
}

describe('lockForApply on SQL Server', () => {
  it('golden T-SQL: the lock batch and the holder query', () => {
    expect(lockBatchSql(DB, 0)).toBe(
      [
        'SET XACT_ABORT ON;',
        'DECLARE @result int;',
        `EXEC @result = sys.sp_getapplock @Resource = N'pmgrants:${DB}', @LockMode = N'Exclusive', @LockOwner = N'Transaction', @LockTimeout = 0;`,
        'SELECT @result AS lock_result;',
      ].join('\n'),
    );
    expect(lockHolderSql(DB)).toBe(
      [
        'SELECT TOP (1) l.request_session_id AS session_id, s.login_time, s.program_name',
        'FROM sys.dm_tran_locks AS l LEFT JOIN sys.dm_exec_sessions AS s ON s.session_id = l.request_session_id',
        "WHERE l.resource_type = N'APPLICATION' AND l.resource_database_id = DB_ID() AND l.request_mode = N'X' AND l.request_status LIKE N'GRANT%'",
        // sys.dm_tran_locks shows the first 32 characters of an application lock's name.
        "  AND CHARINDEX(N'pmgrants:AutomationSuite_Process', l.resource_description) > 0 AND l.request_session_id <> @@SPID;",
      ].join('\n'),
    );
    expect(lockHolderSql("it's")).toContain("CHARINDEX(N'pmgrants:it''s', l.resource_description)");
  });

  it('takes the lock in a transaction without waiting, inspects in it, and the apply continues it: one begin, one commit', async () => {
    const { server, connect } = setup();
    const conn = await connect();
    server.log.length = 0;
    const before = conn.roundTrips();
    const release = await conn.lockForApply(() => {
      throw new Error('a free lock is not waited for');
    });
    expect(conn.roundTrips() - before).toBe(2);
    expect(server.log.map((l) => l.kind)).toEqual(['begin', 'batch']);
    expect(server.log[1].sql).toBe(lockBatchSql(DB, 0));
    const rendered = await planLive(conn, policy);
    expect(rendered.plan.changes.length).toBeGreaterThan(0);
    // The inspect read the catalog in the transaction that holds the lock.
    expect(server.log[2]).toMatchObject({ kind: 'batch', inTransaction: true });
    expect(server.log[2].sql).toMatch(/sys\.sql_logins|sys\.server_principals/);
    await applyRendered(conn, rendered);
    await release();
    expect(server.log.filter((l) => l.kind === 'begin')).toHaveLength(1);
    expect(server.log.filter((l) => l.kind === 'commit')).toHaveLength(1);
    expect(server.log.filter((l) => l.kind === 'rollback')).toHaveLength(0);
    expect(server.log.filter((l) => l.sql?.includes('sp_getapplock'))).toHaveLength(1);
    expect(server.log.filter((l) => l.kind === 'query' || l.kind === 'batch').every((l) => l.inTransaction)).toBe(true);
    expect((await planLive(conn, policy)).plan.changes).toEqual([]);
    await conn.close();
  });

  it('with nothing to apply (or "no" at the prompt), the release rolls the empty transaction back', async () => {
    const { server, sim, connect } = setup();
    const conn = await connect();
    const release = await conn.lockForApply();
    await planLive(conn, policy);
    const before = sim.snapshot();
    await release();
    await release(); // twice is harmless
    expect(server.log.filter((l) => l.kind === 'rollback')).toHaveLength(1);
    expect(sim.snapshot()).toBe(before);
    // The lock was the transaction's: a new lockForApply begins a new one.
    const again = await conn.lockForApply();
    await again();
    expect(server.log.filter((l) => l.kind === 'begin')).toHaveLength(2);
  });

  it('when another apply holds it: says who, waits up to lockTimeoutMs, and plans only once it has it', async () => {
    const { server, connect } = setup((timeout) => (timeout === 0 ? -1 : 1));
    server.lockHolder = HOLDER_ROW;
    const conn = await connect();
    server.log.length = 0;
    const holders: LockHolder[] = [];
    const release = await conn.lockForApply((h) => holders.push(h));
    expect(holders).toEqual([{ session: 'session 57', since: HOLDER_ROW.login_time, program: 'pmgrants' }]);
    expect(waitingForLockMessage(DB, holders[0])).toBe(`waiting for another pmgrants apply on ${DB} (session 57, started 2026-12-03 10:15:02 UTC) to finish`);
    const sent = server.log.filter((l) => l.kind === 'batch').map((l) => ({ sql: l.sql, inTransaction: l.inTransaction }));
    expect(sent).toEqual([
      { sql: lockBatchSql(DB, 0), inTransaction: true },
      // Asked outside the transaction: a failure there must not doom it (XACT_ABORT).
      { sql: lockHolderSql(DB), inTransaction: false },
      { sql: lockBatchSql(DB, 30_000), inTransaction: true },
    ]);
    await applyRendered(conn, await planLive(conn, policy));
    await release();
    expect(server.log.filter((l) => l.kind === 'commit')).toHaveLength(1);
  });

  it('gives up after lockTimeoutMs in one sentence naming the holder; nothing is applied', async () => {
    const { server, sim, connect } = setup(-1, '?lockTimeoutMs=500');
    server.lockHolder = HOLDER_ROW;
    const conn = await connect();
    const before = sim.snapshot();
    let waited = 0;
    const err = await conn.lockForApply(() => waited++).catch((e: unknown) => e as Error);
    expect(waited).toBe(1);
    expect(err).toBeInstanceOf(PmgrantsError);
    expect((err as Error).message).toBe(
      `another pmgrants apply on ${DB} (session 57, started 2026-12-03 10:15:02 UTC) still held the apply lock after 0.5 s; nothing was applied, try again when it has finished`,
    );
    expect(server.log.filter((l) => l.kind === 'rollback')).toHaveLength(1);
    expect(sim.snapshot()).toBe(before);
  });

  it('with lockTimeoutMs=0 fails at once; without VIEW SERVER STATE the holder is unknown', async () => {
    const { server, connect } = setup(-1, '?lockTimeoutMs=0');
    server.lockHolder = new Error('VIEW SERVER STATE permission was denied on object \'server\', database \'master\'.');
    const conn = await connect();
    server.log.length = 0;
    const err = await conn.lockForApply(() => {
      throw new Error('no wait with lockTimeoutMs=0');
    }).catch((e: unknown) => e as Error);
    expect((err as Error).message).toBe(`another pmgrants apply on ${DB} (holder unknown) holds the apply lock (no waiting: the lock timeout is 0); nothing was applied, try again when it has finished`);
    expect(server.log.filter((l) => l.sql?.includes('sp_getapplock'))).toHaveLength(1);
  });
});
