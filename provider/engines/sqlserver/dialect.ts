import { sortState } from '../../model/state';
import { DesiredState } from '../../model/types';
import { Change } from '../../plan/change';
import { EngineDialect } from '../engine';
import { Statement } from '../../model/statement';
import { ResolvedDialectOptions, SqlServerDialectOptions, resolveDialectOptions } from './options';
import { realizePermissions } from './privileges';
import { realizeDynamicDataMasking } from './masking';
import { renderChanges, sqlServerLocks } from './render';
import { renderSqlServerScript } from './script';

export interface SqlServerDialect extends EngineDialect {
  name: 'sqlserver' | 'azure-sql';
  options: ResolvedDialectOptions;
}

/** Neutral rights -> SQL Server permissions (names as in sys.database_permissions.permission_name). */
export function realizeSqlServer(desired: DesiredState, engine: 'sqlserver' | 'azure-sql'): DesiredState {
  const masked = realizeDynamicDataMasking(desired);
  return sortState({ ...masked, engine, permissions: realizePermissions(masked.permissions) });
}

export function createSqlServerDialect(options: SqlServerDialectOptions): SqlServerDialect {
  const resolved = resolveDialectOptions(options);
  return {
    name: resolved.engine,
    options: resolved,
    realize: (desired: DesiredState) => realizeSqlServer(desired, resolved.engine),
    render: (changes: readonly Change[], desired: DesiredState): Statement[] => renderChanges(changes, { options: resolved, desired }),
    limitations: (desired: DesiredState) => sqlServerLimitations(desired, resolved),
    locksOf: sqlServerLocks,
    renderScript: (statements: readonly Statement[], desired: DesiredState) => renderSqlServerScript(statements, desired, resolved),
  };
}

/** What the dialect cannot do on its own, for validate/plan output. */
export function sqlServerLimitations(desired: DesiredState, options: ResolvedDialectOptions): string[] {
  const out: string[] = [];
  const kinds = new Set(desired.users.map((u) => (u.source.type === 'external' || u.source.type === 'windows' ? u.source.kind : u.source.type)));
  if (options.engine === 'sqlserver' && [...kinds].some((k) => k.startsWith('entra-'))) {
    out.push(
      'Microsoft Entra principals on SQL Server need SQL Server 2022 with Microsoft Entra authentication configured (Azure Arc); users are created FROM EXTERNAL PROVIDER by display name, because WITH OBJECT_ID is documented for Azure SQL only.',
    );
  }
  if (options.engine === 'azure-sql' && kinds.has('entra-app')) {
    out.push(
      'entra-app principals on Azure SQL are created WITH OBJECT_ID: objectId must be the service principal (Enterprise application) object id, not the application (client) id, and the user name should start with the app display name.',
    );
  }
  if (kinds.has('windows-user') || kinds.has('windows-group')) {
    out.push('Windows principals need an existing Windows login (CREATE LOGIN [DOMAIN\\name] FROM WINDOWS); pmgrants creates only the database user FROM LOGIN.');
  }
  if (kinds.has('sql-login')) out.push('sql-login principals must already exist as SQL logins; pmgrants creates only their database users.');
  if (options.engine === 'azure-sql' && options.generatedLogins === 'server' && desired.logins.length > 0) {
    out.push(
      'Azure SQL: generated logins are created in master over a second connection and committed before the warehouse transaction; a failure after that point leaves the logins, which the next plan refuses to take over (a login no user of this database maps to may belong to another database on the same server): drop them in master, then apply again.',
    );
  }
  return out;
}

export const sqlServerDialect: SqlServerDialect = createSqlServerDialect({ engine: 'sqlserver' });
export const azureSqlDialect: SqlServerDialect = createSqlServerDialect({ engine: 'azure-sql' });
