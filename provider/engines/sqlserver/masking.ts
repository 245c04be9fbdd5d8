import { MaskSpec } from '../../model/masking';
import { DesiredState, Permission } from '../../model/types';
import { Statement } from '../../model/statement';
import { quoteName, quoteString } from './quote';

/**
 * Personal data on SQL Server and Azure SQL: the engine's own Dynamic Data Masking instead of
 * PostgreSQL's companion schemas of views. Pure.
 *
 * - Each personal column of an app's tables carries a mask (ALTER TABLE ... ALTER COLUMN ... ADD
 *   MASKED WITH (FUNCTION = '...')): whoever reads it without UNMASK gets the masked value.
 * - The clear readers (the app's schema owner, the clear personas with select, and whoever else reads
 *   the schema itself: the app's login, single_account's shared login) get UNMASK on the app's schema, the narrowest scope that covers the tables made later (granular UNMASK: SQL Server
 *   2022 and Azure SQL).
 * - Masked and hidden readers hold nothing on the schema itself: SELECT on the columns of each table
 *   as it is at the apply (every column for masked readers, the columns that are not personal for
 *   hidden ones), so a table or column made after the apply is unreadable to them until the next one.
 *   Hidden columns get no DENY: a DENY would win over the UNMASK and SELECT a member holds through a
 *   clear persona of the same app (GRANT Object Permissions; docs/sqlserver.md).
 *
 * realize turns the compiled state (companion schemas, their owner role) into this; the column
 * grants and masks depend on the live tables, so the diff makes them (plan/masking.ts).
 */
export function realizeDynamicDataMasking(desired: DesiredState): DesiredState {
  const m = desired.masking;
  if (!m || m.mechanism === 'dynamic-data-masking') return desired;
  const companions = new Set(desired.schemas.filter((s) => s.purpose === 'masked-views').map((s) => s.name));
  const onCompanion = (p: Permission) => (p.on.type === 'schema' || p.on.type === 'engine') && companions.has(p.on.name);
  const kept = desired.permissions.filter((p) => p.grantee !== m.owner && !onCompanion(p));
  const unmask: Permission[] = [];
  for (const app of m.apps) {
    const owner = desired.schemas.find((s) => s.name === app.schema && s.purpose === undefined)?.owner;
    // Whoever reads the schema itself reads it clear: the clear personas, and the app's login or
    // single_account's shared login, whose transformations must not read (and write back) masked values.
    const onSchema = kept.filter((p) => p.effect === 'GRANT' && p.on.type === 'schema' && p.on.name === app.schema && (p.privilege === 'select' || p.privilege === 'SELECT')).map((p) => p.grantee);
    const readers = new Set([...(owner !== undefined ? [owner] : []), ...(app.clearReaders ?? []), ...onSchema]);
    for (const grantee of [...readers].sort()) unmask.push({ grantee, on: { type: 'schema', name: app.schema }, privilege: 'UNMASK', effect: 'GRANT', withGrantOption: false });
  }
  return {
    ...desired,
    roles: desired.roles.filter((r) => r.name !== m.owner),
    schemas: desired.schemas.filter((s) => !companions.has(s.name)),
    permissions: [...kept, ...unmask],
    masking: { ...m, mechanism: 'dynamic-data-masking' },
  };
}

/**
 * Masking one column: ALTER TABLE's "ALTER COLUMN column_name { ADD | DROP } MASKED [ WITH ( FUNCTION =
 * ' mask_function ') ]". Whether ADD MASKED on a masked column replaces its function is not documented,
 * so a column masked otherwise is unmasked first (DROP MASKED), in the same transaction: no reader sees
 * it unmasked. The function is a string literal (quoteString); validate keeps double quotes out of a
 * redact text (they would end partial()'s padding).
 */
export function renderColumnMask(schema: string, table: string, column: string, fn: string, replaces: boolean): Statement[] {
  const target = `ALTER TABLE ${quoteName(schema)}.${quoteName(table)} ALTER COLUMN ${quoteName(column)}`;
  const statement = (sql: string): Statement => ({ sql, params: [], display: sql, target: 'warehouse' });
  return [...(replaces ? [statement(`${target} DROP MASKED;`)] : []), statement(`${target} ADD MASKED WITH (FUNCTION = ${quoteString(fn)});`)];
}

/**
 * The mask a Dynamic Data Masking function stands for, as dynamicMaskFunction (model/masking.ts) writes them, for export:
 * default() nullify (pseudonym reads the same), partial(0, "text", 0) redact, partial(n, "...", m)
 * partial. Undefined for the functions no mask writes (email(), random(), datetime()).
 */
export function maskOfDynamicFunction(fn: string): MaskSpec | undefined {
  const f = fn.trim();
  if (/^default\(\s*\)$/i.test(f)) return { mask: 'nullify' };
  const partial = /^partial\(\s*(\d+)\s*,\s*"([^"]*)"\s*,\s*(\d+)\s*\)$/i.exec(f);
  if (!partial) return undefined;
  const [first, padding, last] = [Number(partial[1]), partial[2], Number(partial[3])];
  if (first === 0 && last === 0) return { mask: 'redact', text: padding };
  return { mask: 'partial', first, last };
}
