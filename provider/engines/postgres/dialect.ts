import { EngineDialect } from '../engine';
import { postgresLimitations, realizePostgres } from './realize';
import { renderPostgres } from './render';
import { renderPostgresScript } from './script';

/** The pure half of the PostgreSQL engine: no I/O. */
export const postgresDialect: EngineDialect = {
  name: 'postgres',
  realize: realizePostgres,
  render: renderPostgres,
  limitations: postgresLimitations,
  renderScript: renderPostgresScript,
};
