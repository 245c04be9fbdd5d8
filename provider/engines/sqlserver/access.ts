import { AccessFacts } from '../../model/access';
import { DesiredState } from '../../model/types';
import { SqlServerAccessRows, sqlServerAccessFacts } from './access-facts';
import { CATALOG_BATCHES } from './catalog';
import { SqlServerSession } from './session';

/** pmgrants report: one batch in the warehouse (ACCESS_SQL), evaluated by sqlServerAccessFacts for the policy's app schemas. */
export async function readSqlServerAccess(session: SqlServerSession, desired: DesiredState): Promise<AccessFacts> {
  const pool = await session.warehouse(desired);
  try {
    const sets = await session.sets(session.request(pool), CATALOG_BATCHES.ACCESS_SQL);
    const [identity, principals, members, permissions, schemas, serverRoles, serverPermissions] = sets;
    const rows = { identity, principals, members, permissions, schemas, serverRoles: serverRoles ?? [], serverPermissions: serverPermissions ?? [] } as unknown as SqlServerAccessRows;
    const wanted = new Set(desired.schemas.map((s) => s.name.toLowerCase()));
    return sqlServerAccessFacts({ ...rows, schemas: rows.schemas.filter((s) => wanted.has(s.name.toLowerCase())) }, session.options.engine);
  } catch (err) {
    throw session.fail(err, desired.database);
  }
}
