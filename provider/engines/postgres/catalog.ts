import { sqlFileDirs, sqlFileReader } from '../sql-files';

/** Where sql/*.sql are: next to this file's source, or in the source tree the package ships (sql-files.ts). */
export function catalogSqlDirs(dir: string = __dirname): string[] {
  return sqlFileDirs('postgres', dir);
}

/** The text of sql/<name>.sql, without trailing whitespace. Throws one clear sentence when the file is missing. */
export const catalogSql = sqlFileReader(() => catalogSqlDirs());

/** Scopes shared by the catalog queries, as CTEs in this order. */
export const SCOPE_QUERIES = ['scoped-roles', 'scoped-schemas', 'scoped-memberships', 'schema-objects'] as const;
/** One JSON column each, named after the file. */
export const CATALOG_QUERIES = [
  'roles',
  'memberships',
  'member-names',
  'legacy-role-databases',
  'schemas',
  'schema-acls',
  'database-acl',
  'object-acls',
  'column-acls',
  'unreachable-objects',
  'default-acls',
  'outside-managed',
  'masking-relations',
] as const;
export type CatalogQuery = (typeof CATALOG_QUERIES)[number];

/**
 * The whole inspection as ONE statement: the scopes as CTEs, each catalog query as a scalar subquery
 * returning JSON. Parameters: inspectParams (inspect.ts).
 */
export function inspectQuery(dirs?: readonly string[]): string {
  const ctes = SCOPE_QUERIES.map((q) => `${q.replace(/-/g, '_')} AS (\n${catalogSql(q, dirs)}\n)`).join(',\n');
  const columns = CATALOG_QUERIES.map((q) => `(\n${catalogSql(q, dirs)}\n) AS "${q}"`).join(',\n');
  return `WITH ${ctes}\nSELECT current_database() AS "database",\n${columns}`;
}
