import { PostgresAccessRows } from './access-facts';
import { catalogSql } from './catalog';

/** The access report's catalog reads, one JSON column each, named after their sql/access-*.sql file. */
export const ACCESS_QUERIES = ['access-identity', 'access-roles', 'access-memberships', 'access-schemas', 'access-objects', 'access-default-acls', 'access-database-acl'] as const;

/** Everything the access report reads, as ONE statement. Parameter: $1 the app schema names. */
export function accessQuery(dirs?: readonly string[]): string {
  return `SELECT\n${ACCESS_QUERIES.map((q) => `(\n${catalogSql(q, dirs)}\n) AS "${q}"`).join(',\n')}`;
}

/** One round trip: the rows postgresAccessFacts evaluates. */
export async function readPostgresAccess(query: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>, schemas: readonly string[]): Promise<PostgresAccessRows> {
  const [row] = await query(accessQuery(), [[...schemas]]);
  return {
    identity: row['access-identity'] as PostgresAccessRows['identity'],
    roles: row['access-roles'] as PostgresAccessRows['roles'],
    memberships: row['access-memberships'] as PostgresAccessRows['memberships'],
    schemas: row['access-schemas'] as PostgresAccessRows['schemas'],
    objects: row['access-objects'] as PostgresAccessRows['objects'],
    defaultAcls: row['access-default-acls'] as PostgresAccessRows['defaultAcls'],
    databaseAcl: (row['access-database-acl'] as string[] | null) ?? [],
  };
}
