import { EngineDialect } from '../engine';
import { actualFromCatalog } from './inspect';
import { postgresLimitations, realizePostgres } from './realize';
import { postgresLocks, renderPostgres } from './render';
import { renderPostgresScript } from './script';

/** The pure half of the PostgreSQL engine: no I/O. */
export const postgresDialect: EngineDialect = {
  name: 'postgres',
  realize: realizePostgres,
  render: renderPostgres,
  limitations: postgresLimitations,
  locksOf: postgresLocks,
  renderScript: renderPostgresScript,
  emptyActual: (desired) =>
    actualFromCatalog({ database: desired.database, roles: [], memberships: [], schemas: [], 'schema-acls': [], 'database-acl': null, 'object-acls': [], 'default-acls': [] }, desired),
};
