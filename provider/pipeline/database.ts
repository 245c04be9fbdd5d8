import { urlDatabase } from '../engines/registry';
import { PmgrantsError } from '../model/errors';
import { nameKey } from '../model/names';
import { EngineName } from '../model/types';

/**
 * The database name is the warehouse's identity on a shared server (the markers record it): a plan
 * computed for one database never runs against another, and evidence read from one is never compared
 * with another's policy. One check for every command and every Pulumi operation; PostgreSQL compares
 * names exactly, SQL Server case-insensitively (its default collation).
 */

/** How the sentence of a mismatch names where the connection comes from and what the policy governs. */
export interface DatabaseWording {
  /** 'the database URL' (CLI), 'pmgrants:databaseUrl' (Pulumi stack config). */
  url: string;
  /** "the policy's warehouse is", "this stack's policy manages". */
  governs: string;
}

/** The CLI's words: --database-url / PMGRANTS_DATABASE_URL against the policy file. */
export const URL_WORDING: DatabaseWording = { url: 'the database URL', governs: "the policy's warehouse is" };

/** A connection to another database than the policy's warehouse.database. */
export class WrongDatabaseError extends PmgrantsError {
  constructor(
    readonly connected: string,
    readonly wanted: string,
    wording: DatabaseWording = URL_WORDING,
  ) {
    super(`${wording.url} connects to database "${connected}", but ${wording.governs} "${wanted}"; point the URL at "${wanted}" or fix warehouse.database`);
  }
}

export function sameDatabase(engine: EngineName, connected: string, wanted: string): boolean {
  return nameKey(engine, connected) === nameKey(engine, wanted);
}

/** Throws a WrongDatabaseError when the database connected to is not the policy's. */
export function checkConnectedDatabase(engine: EngineName, connected: string, wanted: string, wording: DatabaseWording = URL_WORDING): void {
  if (!sameDatabase(engine, connected, wanted)) throw new WrongDatabaseError(connected, wanted, wording);
}

/**
 * Refuse a URL whose database is not the policy's warehouse.database, before connecting: a plan or
 * apply would otherwise compare (and change) another database than the one the policy governs.
 */
export function checkUrlDatabase(engine: EngineName, url: string, database: string): void {
  const named = urlDatabase(engine, url);
  const example = engine === 'postgres' ? `postgres://host:5432/${database}` : `mssql://host:1433/${database}`;
  if (named === undefined) {
    throw new PmgrantsError(`the database URL names no database, but the policy governs "${database}" (warehouse.database); add it to the URL, e.g. ${example}`);
  }
  checkConnectedDatabase(engine, named, database);
}
