/** How the SQL Server dialect renders; fixed per engine connection. */
export interface SqlServerDialectOptions {
  engine: 'sqlserver' | 'azure-sql';
  /**
   * Where the generated logins of system_managed / single_account live.
   * 'server' (default): SQL logins (CREATE LOGIN; on Azure SQL in the logical server's master, over a
   * second connection) with a database user FOR LOGIN.
   * 'contained' (azure-sql only): contained database users WITH PASSWORD in the warehouse; no master
   * access needed and the whole apply is one transaction.
   */
  generatedLogins?: 'server' | 'contained';
  /**
   * sqlserver only: before DROP LOGIN, refuse (THROW, whole apply rolled back) when sys.dm_exec_sessions
   * shows a session of that login. Default true. Without VIEW SERVER STATE the view shows only the
   * caller's own session; DROP LOGIN itself then refuses with error 15434.
   */
  guardActiveSessions?: boolean;
}

export interface ResolvedDialectOptions {
  engine: 'sqlserver' | 'azure-sql';
  generatedLogins: 'server' | 'contained';
  guardActiveSessions: boolean;
}

export function resolveDialectOptions(options: SqlServerDialectOptions): ResolvedDialectOptions {
  const generatedLogins = options.generatedLogins ?? 'server';
  if (generatedLogins === 'contained' && options.engine !== 'azure-sql') {
    throw new Error("generatedLogins 'contained' is supported on azure-sql only (SQL Server needs a contained database for it)");
  }
  return { engine: options.engine, generatedLogins, guardActiveSessions: options.guardActiveSessions ?? true };
}

/** The extended property that marks database principals pmgrants created (sys.extended_properties, class 4). */
export const MANAGED_MARKER = { name: 'pmgrants:managed', value: 'pmgrants/v1' } as const;
