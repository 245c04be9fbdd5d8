/**
 * The PostgreSQL engine: pure dialect (realize, render), live connection (inspect, apply, preflight)
 * and a throwaway local server for the demo and the end-to-end tests.
 */
export { postgresDialect } from './dialect';
export { connectPostgres } from './connection';
export type { PostgresConnectOptions } from './session';
export { startLocalPostgres, findPostgresBinaries } from './local-server';
export type { LocalPostgres, LocalPostgresOptions } from './local-server';
export { realizePostgres, postgresLimitations, objectCreators, OBJECT_KINDS } from './realize';
export { renderChange, renderPostgres, SECRET_PLACEHOLDER } from './render';
export { inspectPostgres, actualFromCatalog, catalogRowsOf, inspectParams } from './inspect';
export type { CatalogRows, CatalogWire } from './inspect';
export { inspectQuery, catalogSql } from './catalog';
export { preflightChecks } from './preflight';
export type { ProvisioningFacts } from './preflight';
export { prepareStatements, APPLY_LOCK_KEY } from './apply';
export { applyErrorMessage, connectErrorMessage } from './errors';
export { quoteIdent, quoteLiteral, MAX_IDENTIFIER_BYTES } from './quote';
export { scramSha256Verifier, generatePassword } from './scram';
export { MANAGED_MARKER, PRINCIPAL_MARKER, parseMarker } from './marker';
