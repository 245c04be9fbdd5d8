import { EngineName } from '../model/types';
import { EngineConnection, EngineDialect } from './engine';
import { PmgrantsError } from '../model/errors';
import { connectPostgres, postgresDialect } from './postgres';
import { azureSqlDialect, connectSqlServer, sqlServerDialect } from './sqlserver';
import { parseSqlServerUrl } from './sqlserver/url';
import { postgresUrlDatabase } from './postgres/url';

/**
 * One place that maps an engine name to its dialect and its connection. Engines load their
 * drivers (pg, mssql) inside connect, so importing both here costs nothing at start-up.
 */
export function dialectFor(engine: EngineName): EngineDialect {
  switch (engine) {
    case 'postgres':
      return postgresDialect;
    case 'sqlserver':
      return sqlServerDialect;
    case 'azure-sql':
      return azureSqlDialect;
    default: {
      const never: never = engine;
      throw new PmgrantsError(`unknown engine ${String(never)}`);
    }
  }
}

export async function connectEngine(engine: EngineName, url: string): Promise<EngineConnection> {
  switch (engine) {
    case 'postgres':
      return connectPostgres(url);
    case 'sqlserver':
    case 'azure-sql':
      return connectSqlServer({ url, engine });
    default: {
      const never: never = engine;
      throw new PmgrantsError(`unknown engine ${String(never)}`);
    }
  }
}

/**
 * The database a connection URL names (undefined when it names none), checked for the engine without
 * connecting. A URL that cannot be read is one sentence naming the problem, never the URL (it holds the
 * password).
 */
export function urlDatabase(engine: EngineName, url: string): string | undefined {
  return engine === 'postgres' ? postgresUrlDatabase(url) : parseSqlServerUrl(url, engine).database;
}
