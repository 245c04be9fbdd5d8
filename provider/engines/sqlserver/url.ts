import type { config as MssqlConfig } from 'mssql';
import { PmgrantsError } from '../../model/errors';

/** How pmgrants signs in. Entra types map onto tedious's authentication types. */
export type SqlServerAuth =
  | { type: 'sql'; user: string; password: string }
  | { type: 'entra-default'; clientId?: string }
  | { type: 'entra-service-principal'; clientId: string; clientSecret: string; tenantId: string }
  | { type: 'entra-managed-identity'; clientId?: string; host?: 'vm' | 'app-service' }
  | { type: 'entra-access-token'; token: string }
  | { type: 'ntlm'; domain: string; user: string; password: string };

export interface SqlServerConnectionConfig {
  engine: 'sqlserver' | 'azure-sql';
  server: string;
  port?: number;
  instanceName?: string;
  /** The warehouse; when absent, the policy's warehouse.database is used at first inspect/preflight. */
  database?: string;
  auth: SqlServerAuth;
  /** TLS; tedious defaults to true. */
  encrypt?: boolean;
  /** Accept a self-signed server certificate: test servers only. */
  trustServerCertificate?: boolean;
  generatedLogins?: 'server' | 'contained';
  guardActiveSessions?: boolean;
  /** sp_getapplock timeout; 0 = fail at once when another apply holds the lock. */
  lockTimeoutMs?: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** What the CLI registry passes: a URL plus the policy's engine. */
export interface SqlServerUrlInput {
  url: string;
  engine: 'sqlserver' | 'azure-sql';
}

const AUTH_TYPES = ['sql', 'entra-default', 'entra-service-principal', 'entra-managed-identity', 'entra-access-token', 'ntlm'] as const;

function flag(value: string | null, name: string): boolean | undefined {
  if (value === null) return undefined;
  if (/^(true|yes|1)$/i.test(value)) return true;
  if (/^(false|no|0)$/i.test(value)) return false;
  throw new PmgrantsError(`connection URL parameter ${name} must be true or false, not "${value}"`);
}

/**
 * mssql://[user[:password]@]host[:port][/database][?engine=…&encrypt=…&trustServerCertificate=…&auth=…]
 * (sqlserver:// is accepted too). auth: sql (default when a user is given), entra-default, ntlm (user is
 * DOMAIN\\user), entra-service-principal (user = client id, password = secret, tenantId=…),
 * entra-managed-identity (clientId=… optional), entra-access-token (password = token).
 */
export function parseSqlServerUrl(url: string, engine?: 'sqlserver' | 'azure-sql'): SqlServerConnectionConfig {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PmgrantsError('the SQL Server connection URL is not a valid URL (expected mssql://user:password@host:1433/database)');
  }
  if (u.protocol !== 'mssql:' && u.protocol !== 'sqlserver:') {
    throw new PmgrantsError(`a SQL Server connection URL starts with mssql:// or sqlserver://, not ${u.protocol}//`);
  }
  if (!u.hostname) throw new PmgrantsError('the SQL Server connection URL names no host');
  const q = u.searchParams;
  const urlEngine = q.get('engine');
  if (urlEngine !== null && urlEngine !== 'sqlserver' && urlEngine !== 'azure-sql') {
    throw new PmgrantsError(`connection URL parameter engine must be sqlserver or azure-sql, not "${urlEngine}"`);
  }
  const resolvedEngine = engine ?? (urlEngine as 'sqlserver' | 'azure-sql' | null) ?? (/\.database\.windows\.net$/i.test(u.hostname) ? 'azure-sql' : 'sqlserver');
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  const authType = (q.get('auth') ?? (user ? 'sql' : 'entra-default')) as (typeof AUTH_TYPES)[number];
  if (!AUTH_TYPES.includes(authType)) throw new PmgrantsError(`connection URL parameter auth must be one of ${AUTH_TYPES.join(', ')}, not "${authType}"`);
  const auth = ((): SqlServerAuth => {
    switch (authType) {
      case 'sql':
        if (!user) throw new PmgrantsError('SQL authentication needs a user in the connection URL (mssql://user:password@host/db)');
        return { type: 'sql', user, password };
      case 'entra-default':
        return { type: 'entra-default', ...(q.get('clientId') ? { clientId: q.get('clientId')! } : {}) };
      case 'entra-service-principal': {
        const tenantId = q.get('tenantId');
        if (!user || !password || !tenantId) {
          throw new PmgrantsError('auth=entra-service-principal needs the client id as user, the client secret as password and tenantId=…');
        }
        return { type: 'entra-service-principal', clientId: user, clientSecret: password, tenantId };
      }
      case 'entra-managed-identity': {
        const host = q.get('identityHost');
        if (host !== null && host !== 'vm' && host !== 'app-service') throw new PmgrantsError('identityHost must be vm or app-service');
        return { type: 'entra-managed-identity', ...(q.get('clientId') ? { clientId: q.get('clientId')! } : {}), ...(host ? { host } : {}) };
      }
      case 'entra-access-token':
        if (!password) throw new PmgrantsError('auth=entra-access-token needs the token as the password part of the URL');
        return { type: 'entra-access-token', token: password };
      case 'ntlm': {
        const [domain, name] = user.includes('\\') ? user.split('\\', 2) : [q.get('domain') ?? '', user];
        if (!domain || !name) throw new PmgrantsError('auth=ntlm needs DOMAIN\\user (or domain=…) and a password');
        return { type: 'ntlm', domain, user: name, password };
      }
    }
  })();
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const generatedLogins = q.get('generatedLogins');
  if (generatedLogins !== null && generatedLogins !== 'server' && generatedLogins !== 'contained') {
    throw new PmgrantsError('connection URL parameter generatedLogins must be server or contained');
  }
  const lockTimeout = q.get('lockTimeoutMs');
  const encrypt = flag(q.get('encrypt'), 'encrypt');
  const trust = flag(q.get('trustServerCertificate'), 'trustServerCertificate');
  const guard = flag(q.get('guardActiveSessions'), 'guardActiveSessions');
  return {
    engine: resolvedEngine,
    server: u.hostname,
    ...(u.port ? { port: Number(u.port) } : {}),
    ...(q.get('instance') ? { instanceName: q.get('instance')! } : {}),
    ...(database ? { database } : {}),
    auth,
    ...(encrypt !== undefined ? { encrypt } : {}),
    ...(trust !== undefined ? { trustServerCertificate: trust } : {}),
    ...(generatedLogins ? { generatedLogins: generatedLogins as 'server' | 'contained' } : {}),
    ...(guard !== undefined ? { guardActiveSessions: guard } : {}),
    ...(lockTimeout !== null ? { lockTimeoutMs: Number(lockTimeout) } : {}),
  };
}

/** Our config -> the mssql (tedious) config for one database. Pure. */
export function toMssqlConfig(config: SqlServerConnectionConfig, database: string | undefined): MssqlConfig {
  const authentication = ((): NonNullable<MssqlConfig['authentication']> | undefined => {
    const a = config.auth;
    switch (a.type) {
      case 'sql':
        return undefined;
      case 'entra-default':
        return { type: 'azure-active-directory-default', options: { ...(a.clientId ? { clientId: a.clientId } : {}) } };
      case 'entra-service-principal':
        return { type: 'azure-active-directory-service-principal-secret', options: { clientId: a.clientId, clientSecret: a.clientSecret, tenantId: a.tenantId } };
      case 'entra-managed-identity':
        return a.host === 'app-service'
          ? { type: 'azure-active-directory-msi-app-service', options: { ...(a.clientId ? { clientId: a.clientId } : {}) } }
          : { type: 'azure-active-directory-msi-vm', options: { ...(a.clientId ? { clientId: a.clientId } : {}) } };
      case 'entra-access-token':
        return { type: 'azure-active-directory-access-token', options: { token: a.token } };
      case 'ntlm':
        return { type: 'ntlm', options: { domain: a.domain, userName: a.user, password: a.password } };
      default: {
        const never: never = a;
        throw new PmgrantsError(`unknown authentication ${JSON.stringify(never)}`);
      }
    }
  })();
  return {
    server: config.server,
    ...(config.port ? { port: config.port } : {}),
    ...(database ? { database } : {}),
    ...(config.auth.type === 'sql' ? { user: config.auth.user, password: config.auth.password } : {}),
    ...(authentication ? { authentication } : {}),
    connectionTimeout: config.connectTimeoutMs ?? 30_000,
    requestTimeout: config.requestTimeoutMs ?? 120_000,
    pool: { max: 2, min: 0, idleTimeoutMillis: 30_000 },
    options: {
      encrypt: config.encrypt ?? true,
      trustServerCertificate: config.trustServerCertificate ?? false,
      appName: 'pmgrants',
      ...(config.instanceName ? { instanceName: config.instanceName } : {}),
    },
  };
}

/** host[:port] for messages; never credentials. */
export function describeServer(config: SqlServerConnectionConfig): string {
  return `${config.server}${config.port ? `:${config.port}` : ''}${config.instanceName ? `\\${config.instanceName}` : ''}`;
}
