import { AccessFacts } from '../../model/access';
import { DesiredState } from '../../model/types';
import { SqlServerAccessRows, sqlServerAccessFacts } from './access-facts';
import { CATALOG_BATCHES } from './catalog';
import { SqlServerSession } from './session';

/** pmgrants report: one batch in the warehouse (ACCESS_SQL, nine result sets), evaluated by sqlServerAccessFacts for the policy's app schemas. */
export async function readSqlServerAccess(session: SqlServerSession, desired: DesiredState): Promise<AccessFacts> {
  const pool = await session.warehouse(desired);
  try {
    const sets = await session.sets(session.request(pool), CATALOG_BATCHES.ACCESS_SQL);
    const [identity, principals, members, permissions, schemas, serverRoles, serverPermissions, objectOwners, columns] = sets;
    const rows = { identity, principals, members, permissions, schemas, serverRoles: serverRoles ?? [], serverPermissions: serverPermissions ?? [], objectOwners: objectOwners ?? [], columns: columns ?? [] } as unknown as SqlServerAccessRows;
    const wanted = new Set(desired.schemas.map((s) => s.name.toLowerCase()));
    // The columns of the app schemas only (the batch reads the database's): what the evaluation and the digest need.
    return sqlServerAccessFacts(
      { ...rows, schemas: rows.schemas.filter((s) => wanted.has(s.name.toLowerCase())), columns: (rows.columns ?? []).filter((c) => wanted.has(c.schema_name.toLowerCase())) },
      session.options.engine,
    );
  } catch (err) {
    throw session.fail(err, desired.database);
  }
}
