import { PmgrantsError } from '../../model/errors';

/**
 * PostgreSQL quoting. Every identifier and literal pmgrants puts into SQL goes through these two
 * functions; nothing is concatenated raw.
 */

/** NAMEDATALEN - 1: longer identifiers are silently truncated by the server, so they are refused here. */
export const MAX_IDENTIFIER_BYTES = 63;

/** A quoted identifier: wrapped in double quotes, inner double quotes doubled (the only escape PostgreSQL knows). */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('quoteIdent: an identifier cannot be empty');
  if (name.includes('\u0000')) throw new Error('quoteIdent: an identifier cannot contain a NUL character');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES) {
    throw new PmgrantsError(`"${name}" is ${bytes} bytes long; PostgreSQL identifiers are limited to ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A string literal that means the same whatever standard_conforming_strings says: single quotes
 * doubled, and when a backslash is present an E'' literal with backslashes doubled (as libpq does).
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new Error('quoteLiteral: a string literal cannot contain a NUL character');
  const body = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}
