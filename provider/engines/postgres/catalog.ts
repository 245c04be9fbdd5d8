import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../package-root';

/**
 * The catalog SQL lives in sql/*.sql next to this file's source. tsc does not copy .sql files into
 * dist/, so from dist/ (or the one-file CLI bundle) the files are found in the source tree the package
 * ships: <package root>/provider/engines/postgres/sql.
 */
export function catalogSqlDirs(dir: string = __dirname): string[] {
  return [path.join(dir, 'sql'), path.join(packageRoot(), 'provider', 'engines', 'postgres', 'sql')];
}

const cache = new Map<string, string>();

/** The text of sql/<name>.sql, without trailing whitespace. Throws one clear sentence when the file is missing. */
export function catalogSql(name: string, dirs: readonly string[] = catalogSqlDirs()): string {
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  for (const dir of dirs) {
    const file = path.join(dir, `${name}.sql`);
    if (fs.existsSync(file)) {
      const text = fs.readFileSync(file, 'utf8').trimEnd();
      cache.set(name, text);
      return text;
    }
  }
  throw new Error(`pmgrants installation is incomplete: catalog query ${name}.sql not found in ${dirs.join(' or ')}`);
}

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
  'default-acls',
  'outside-managed',
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
