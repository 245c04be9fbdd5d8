import { EngineName } from '../model/types';
import { EngineConnection, EngineDialect, PmgrantsError } from './engine';

/**
 * Engines are loaded on demand, so a user of one engine never loads the other's driver.
 */
export function dialectFor(engine: EngineName): EngineDialect {
  switch (engine) {
    case 'postgres':
      return (require('./postgres') as { postgresDialect: EngineDialect }).postgresDialect;
    case 'sqlserver':
      return (require('./sqlserver') as { sqlServerDialect: EngineDialect }).sqlServerDialect;
    case 'azure-sql':
      return (require('./sqlserver') as { azureSqlDialect: EngineDialect }).azureSqlDialect;
    default: {
      const never: never = engine;
      throw new PmgrantsError(`unknown engine ${String(never)}`);
    }
  }
}

export async function connectEngine(engine: EngineName, url: string): Promise<EngineConnection> {
  switch (engine) {
    case 'postgres': {
      const pgEngine = require('./postgres') as { connectPostgres(url: string): Promise<EngineConnection> };
      return pgEngine.connectPostgres(url);
    }
    case 'sqlserver':
    case 'azure-sql': {
      const ms = require('./sqlserver') as { connectSqlServer(config: unknown): Promise<EngineConnection> };
      return ms.connectSqlServer({ url, engine });
    }
    default: {
      const never: never = engine;
      throw new PmgrantsError(`unknown engine ${String(never)}`);
    }
  }
}
