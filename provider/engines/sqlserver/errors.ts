import { PmgrantsError } from '../../model/errors';
import { THROW_ACTIVE_SESSIONS, THROW_NAME_TOO_LONG } from './render';

export interface ErrorContext {
  /** The statement that failed, as displayed (never contains a secret). */
  statement?: string;
  database?: string;
  server?: string;
}

interface DriverErrorShape {
  number?: number;
  code?: string;
  message?: string;
  originalError?: { number?: number; code?: string; message?: string; info?: { number?: number; message?: string } };
}

/** The SQL Server error number of a driver (mssql/tedious) error, if any. */
export function sqlErrorNumber(err: unknown): number | undefined {
  const e = err as DriverErrorShape | undefined;
  if (!e || typeof e !== 'object') return undefined;
  const n = e.number ?? e.originalError?.number ?? e.originalError?.info?.number;
  return typeof n === 'number' ? n : undefined;
}

function driverCode(err: unknown): string | undefined {
  const e = err as DriverErrorShape | undefined;
  return e?.code ?? e?.originalError?.code;
}

function messageOf(err: unknown): string {
  const e = err as DriverErrorShape | undefined;
  return (e?.originalError?.info?.message ?? e?.message ?? String(err)).trim();
}

/** The first quoted name in a server message ('name'), if any. */
function quoted(message: string): string | undefined {
  return /'([^']+)'/.exec(message)?.[1];
}

/**
 * A driver or server error -> one clear sentence (PmgrantsError). Numbers are the documented
 * Database Engine errors pmgrants can cause or meet; anything else keeps the server's own message.
 */
export function sqlServerErrorToPmgrants(err: unknown, context: ErrorContext = {}): PmgrantsError {
  if (err instanceof PmgrantsError) return err;
  const number = sqlErrorNumber(err);
  const message = messageOf(err);
  const name = quoted(message);
  const nm = name ? ` ${name}` : '';
  const at = context.statement ? ` (while running: ${context.statement.split('\n')[0]})` : '';
  const db = context.database ? ` ${context.database}` : '';
  const sentence = ((): string | undefined => {
    switch (number) {
      case THROW_NAME_TOO_LONG:
      case THROW_ACTIVE_SESSIONS:
        return message.replace(/^pmgrants:\s*/, '');
      case 15025:
        return `the login${nm} already exists on the server but pmgrants did not create it; rename the app or drop that login first`;
      case 15023:
        return `the user or role${nm} already exists in the database${db} but is not managed by pmgrants; rename it or remove it first`;
      case 2714:
        return `an object named ${name ?? 'like that'} already exists in the database${db}; pmgrants will not take it over`;
      case 15138:
        return `a principal pmgrants wants to drop still owns a schema (or another securable); move its ownership with ALTER AUTHORIZATION first, then apply again`;
      case 15434:
        return `login${nm} is still logged in, so it was not dropped and nothing was applied; disconnect its sessions and apply again`;
      case 15247:
        return 'the provisioning login lacks a permission this change needs; run pmgrants doctor to see which';
      case 15151:
        return `cannot find the principal${nm}, or the provisioning login may not see it; check the name and run pmgrants doctor`;
      case 15007:
        return `${name ?? 'the login'} is not a valid login (or the provisioning login may not see it); create that login first (a Windows principal: CREATE LOGIN [DOMAIN\\name] FROM WINDOWS)`;
      case 40508:
        return 'Azure SQL Database does not support USE to switch databases; set warehouse.engine: azure-sql so pmgrants opens a separate connection to master';
      case 33131:
        return `the Entra display name${nm} is not unique in the tenant; set the principal's objectId so pmgrants creates it WITH OBJECT_ID`;
      case 37545:
        return 'Microsoft Entra does not know that object id, or the server may not look it up; check the principal objectId (for apps: the Enterprise application object id)';
      case 18456:
        return `login failed for ${name ?? 'the provisioning login'}; check the user name, password or Entra credentials in the connection settings`;
      case 4613:
        return 'the provisioning login may not grant this (GRANT, DENY and REVOKE need db_securityadmin to grant AS the owner); run pmgrants doctor to see which right is missing';
      case 33159:
        return 'only a connection signed in with a Microsoft Entra identity may create Entra users; connect with auth=entra-default (or another entra-… option) as an Entra identity that holds the same rights';
      case 4611:
        return 'SQL Server requires CASCADE to revoke a permission held WITH GRANT OPTION; plan again (pmgrants renders CASCADE for such permissions)';
      case 4060:
        return `cannot open the database${db || ' named in the connection'}; check its name and that the login has a user in it`;
      case 262:
      case 229:
      case 230:
      case 300:
        return `permission denied: ${message}; run pmgrants doctor to see what the provisioning login lacks`;
      default:
        return undefined;
    }
  })();
  if (sentence) return new PmgrantsError(`${sentence}${number && number < 50000 ? ` [SQL Server error ${number}]` : ''}${at}`);

  switch (driverCode(err)) {
    case 'ELOGIN':
      return new PmgrantsError(`cannot sign in to SQL Server${context.server ? ` at ${context.server}` : ''}: ${message}`);
    case 'ETIMEOUT':
      return new PmgrantsError(`SQL Server${context.server ? ` at ${context.server}` : ''} did not answer in time: ${message}`);
    case 'ESOCKET':
    case 'ECONNCLOSED':
      return new PmgrantsError(`cannot reach SQL Server${context.server ? ` at ${context.server}` : ''}: ${message}`);
    case 'EINSTLOOKUP':
      return new PmgrantsError(`cannot find the SQL Server instance${context.server ? ` ${context.server}` : ''} (SQL Browser lookup failed): ${message}`);
    case 'EENCRYPT':
      return new PmgrantsError(`the TLS handshake with SQL Server failed: ${message} (set trustServerCertificate only for test servers)`);
    default:
      break;
  }
  return new PmgrantsError(`SQL Server${number ? ` error ${number}` : ''}: ${message}${at}`);
}
