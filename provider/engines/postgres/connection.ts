import { AccessFacts } from '../../model/access';
import { Statement } from '../../model/statement';
import { ActualState, DesiredState } from '../../model/types';
import type { ExportCatalog } from '../../export/catalog';
import type { Part } from '../../plan/slice';
import { ApplyOptions, ApplyProgress, ApplyResult, EngineConnection, PreflightCheck } from '../engine';
import { LockHolder } from '../lock';
import { readPostgresAccess } from './access';
import { accessScopeOf, postgresAccessFacts } from './access-facts';
import { applyStatements, lockForApply } from './apply';
import { catalogSql } from './catalog';
import { postgresDialect } from './dialect';
import { exportPostgres } from './export';
import { inspectPostgres, inspectPostgresAhead } from './inspect';
import { preflightChecks, ProvisioningFacts } from './preflight';
import { PostgresConnectOptions, PostgresSession } from './session';

/**
 * A live connection to one PostgreSQL database. A session lost mid-apply is replaced by a new one on
 * the next call.
 */
export async function connectPostgres(url: string, options: PostgresConnectOptions = {}): Promise<EngineConnection> {
  const session = new PostgresSession(url, options);
  await session.start();
  return new PostgresConnection(session);
}

/** The engine's operations over one session: catalog reads here, apply and its lock in apply.ts. */
class PostgresConnection implements EngineConnection {
  readonly dialect = postgresDialect;

  constructor(private readonly session: PostgresSession) {}

  private query(what: string): (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]> {
    return (sql, params) => this.session.readCatalog(what, sql, params);
  }

  inspect(desired: DesiredState, part?: Part): Promise<ActualState> {
    return inspectPostgres(this.query('inspect'), desired, part);
  }

  inspectAhead(compiled: DesiredState): (desired: DesiredState) => Promise<ActualState> {
    return inspectPostgresAhead(this.query('inspect'), compiled);
  }

  exportCatalog(options: { prefix?: string }): Promise<ExportCatalog> {
    return exportPostgres(this.query('export'), options.prefix);
  }

  async readAccess(desired: DesiredState): Promise<AccessFacts> {
    const rows = await readPostgresAccess(this.query('access report'), desired.schemas.map((s) => s.name));
    return postgresAccessFacts(rows, accessScopeOf(desired));
  }

  lockForApply(onWait?: (holder: LockHolder) => void): Promise<() => Promise<void>> {
    return lockForApply(this.session, onWait);
  }

  apply(statements: readonly Statement[], progress?: ApplyProgress, options: ApplyOptions = {}): Promise<ApplyResult> {
    return applyStatements(this.session, statements, progress, options);
  }

  async preflight(desired: DesiredState): Promise<PreflightCheck[]> {
    let facts: ProvisioningFacts;
    try {
      const masked = (desired.masking?.apps ?? []).map((a) => a.schema);
      const rows = await this.session.readCatalog('provisioning role', catalogSql('provisioning-role'), [desired.schemas.map((s) => s.name), masked]);
      facts = rows[0] as unknown as ProvisioningFacts;
    } catch (err) {
      return [{ name: 'server', ok: false, detail: (err as Error).message }];
    }
    return preflightChecks(facts, desired);
  }

  async databaseIdentity(): Promise<string> {
    // oids come from one counter of the whole server: a database created again gets a new one.
    const rows = await this.session.readCatalog('database identity', 'SELECT oid::text AS id FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()', []);
    return `oid ${String(rows[0]?.id)}`;
  }

  roundTrips(): number {
    return this.session.trips;
  }

  close(): Promise<void> {
    return this.session.dropSession();
  }
}
