import { PmgrantsError } from '../../model/errors';

/**
 * QUOTENAME's input is sysname, nvarchar(128): 128 UTF-16 code units. Longer input makes
 * QUOTENAME return NULL (documented), and a NULL concatenated into dynamic SQL silently empties
 * the whole statement. Validation rejects such names; the renderer refuses them too.
 */
export const SYSNAME_MAX_CODE_UNITS = 128;

/**
 * Client-side equivalent of T-SQL QUOTENAME(name) with the default '[' ']' delimiters:
 * every ']' doubled, the result wrapped in brackets. Refuses what QUOTENAME would turn into NULL
 * (more than 128 UTF-16 code units), empty names and NUL characters.
 */
export function quoteName(name: string): string {
  assertSysname(name);
  return `[${name.replace(/]/g, ']]')}]`;
}

/**
 * A T-SQL Unicode string literal: N'...' with every single quote doubled. Used for values that
 * are data (extended property names and values, object ids), never for identifiers.
 */
export function quoteString(value: string): string {
  if (value.includes('\u0000')) throw new PmgrantsError('refusing to render a string containing a NUL character');
  return `N'${value.replace(/'/g, "''")}'`;
}

export function assertSysname(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new PmgrantsError('refusing to render an empty SQL Server name');
  if (name.length > SYSNAME_MAX_CODE_UNITS) {
    throw new PmgrantsError(
      `refusing to render the SQL Server name "${name.slice(0, 40)}…": it is ${name.length} UTF-16 code units; sysname allows ${SYSNAME_MAX_CODE_UNITS} and QUOTENAME would return NULL`,
    );
  }
  if (name.includes('\u0000')) throw new PmgrantsError('refusing to render a SQL Server name containing a NUL character');
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** An Entra object id as a literal: validated as a GUID first, so it can never carry SQL. */
export function quoteObjectId(objectId: string): string {
  if (!GUID.test(objectId)) throw new PmgrantsError(`"${objectId}" is not an Entra object id (a GUID such as 6f1c2a4e-0000-4000-8000-000000000000)`);
  return `'${objectId.toLowerCase()}'`;
}
