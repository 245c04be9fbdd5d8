import { columnMask, dynamicMaskFunction, LiveRelation, MaskedView, MASKED_VIEW_MARKER, maskedViewComment, maskingNames, MaskingState, sameMaskFunction } from '../model/masking';
import { columnsOf, columnsSecurable } from '../model/state';
import { ActualState, DesiredState, Permission } from '../model/types';
import { Change, MaskedColumn } from './change';

/**
 * Personal data: the views the companion schemas need for the app schemas' live tables, against the
 * views they have. Pure. A base table without its view ('create-masked-view', "new table ...: 2
 * personal columns to mask") is drift like a missing grant: masked personas hold nothing on the app
 * schema, so until the apply makes the view they cannot read the table at all (fail closed). A view
 * whose comment (its fingerprint) differs from what the policy and the table's columns want is
 * replaced; a pmgrants view whose table is gone is dropped. Only the companion schemas of the desired
 * state (a Pulumi part: its own app's) are compared; without the live relations (an offline plan)
 * only the key is planned.
 */
export function diffMasking(desired: DesiredState, actual: ActualState): { changes: Change[]; warnings: string[] } {
  const m = desired.masking;
  const live = actual.masking;
  const changes: Change[] = [];
  const warnings: string[] = [];
  if (!m) return { changes, warnings };
  if (m.mechanism === 'dynamic-data-masking') return diffDynamicMasks(m, actual);
  const bySchema = new Map<string, LiveRelation[]>();
  for (const r of live?.relations ?? []) {
    const list = bySchema.get(r.schema);
    if (list) list.push(r);
    else bySchema.set(r.schema, [r]);
  }
  // The key: made by the part that holds the masking owner (the warehouse's).
  if (desired.roles.some((r) => r.name === m.owner) && !(bySchema.get(m.keySchema) ?? []).some((r) => r.name === maskingNames.keyTable && r.kind === 'r')) {
    changes.push({ kind: 'create-masking-key', schema: m.keySchema, owner: m.owner });
  }
  // Without the live relations (an offline plan against an empty database) there is no table to mask yet.
  if (!live) return { changes, warnings };
  const companions = new Set(desired.schemas.filter((s) => s.purpose === 'masked-views').map((s) => s.name));
  for (const app of m.apps) {
    const base = bySchema.get(app.schema) ?? [];
    for (const companion of app.companions) {
      if (!companions.has(companion.schema)) continue;
      const views = new Map((bySchema.get(companion.schema) ?? []).map((r) => [r.name, r]));
      for (const table of base) {
        const columns: MaskedView['columns'] = [];
        const hidden: string[] = [];
        for (const column of table.columns) {
          const mask = columnMask(app.rules, table.name, column);
          if (mask && companion.visibility === 'hidden') hidden.push(column);
          else columns.push(mask ? { name: column, mask } : { name: column });
        }
        const view: MaskedView = {
          app: app.app,
          schema: companion.schema,
          name: table.name,
          visibility: companion.visibility,
          source: { schema: app.schema, name: table.name },
          columns,
          hidden,
          owner: m.owner,
          readers: companion.readers,
          keySchema: m.keySchema,
        };
        const have = views.get(table.name);
        views.delete(table.name);
        if (!have) changes.push({ kind: 'create-masked-view', view });
        else if (have.comment !== maskedViewComment(view)) changes.push({ kind: 'replace-masked-view', view });
      }
      for (const stale of views.values()) {
        if (stale.kind === 'v' && stale.comment?.startsWith(MASKED_VIEW_MARKER)) changes.push({ kind: 'drop-masked-view', schema: companion.schema, name: stale.name, app: app.app });
        else warnings.push(`${companion.schema}.${stale.name} is in a companion schema of masked views but pmgrants did not make it: left as it is (its readers can read it)`);
      }
    }
  }
  return { changes, warnings };
}

/** The live relations by schema. */
function relationsBySchema(actual: ActualState): Map<string, LiveRelation[]> {
  const bySchema = new Map<string, LiveRelation[]>();
  for (const r of actual.masking?.relations ?? []) {
    const list = bySchema.get(r.schema);
    if (list) list.push(r);
    else bySchema.set(r.schema, [r]);
  }
  return bySchema;
}

/**
 * Dynamic Data Masking (SQL Server, Azure SQL): what the readers of each masked app's live tables and
 * views must hold: SELECT on every column for masked readers, on the columns that are not personal for
 * hidden ones. A table or column made after the apply is in none of them: unreadable to those readers
 * until the next apply (fail closed), and the plan grants it. Compared per table and reader (a
 * warehouse of 1,000 apps x 20 tables x 30 columns holds 600,000 such column grants): the changes grant
 * the columns missing and revoke those held beyond, one change each per table; `held` says which live
 * permissions this accounts for, so the main diff leaves them alone. Nothing without the live columns
 * (an offline plan).
 */
export function diffDynamicMaskGrants(desired: DesiredState, actual: ActualState): { changes: Change[]; held: (p: Permission) => boolean } {
  const m = desired.masking;
  const none = { changes: [], held: () => false };
  if (m?.mechanism !== 'dynamic-data-masking' || !actual.masking) return none;
  const bySchema = relationsBySchema(actual);
  const key = (grantee: string, schema: string, table: string) => `${grantee}\u0000${schema}\u0000${table}`;
  // What each reader must read of each table, in the table's column order.
  const wanted = new Map<string, { grantee: string; schema: string; table: string; columns: string[] }>();
  const readersOf = new Map<string, Set<string>>();
  for (const app of m.apps) {
    const readers = readersOf.get(app.schema) ?? new Set<string>();
    readersOf.set(app.schema, readers);
    for (const companion of app.companions) {
      for (const grantee of companion.readers) readers.add(grantee);
      for (const relation of bySchema.get(app.schema) ?? []) {
        // A personal column no mask can be defined on (a computed one) is left out for masked readers too: fail closed.
        const unmaskable = (c: string, i: number) => relation.columnComputed?.[i] === true && columnMask(app.rules, relation.name, c) !== undefined;
        const columns =
          companion.visibility === 'masked'
            ? relation.columns.filter((c, i) => !unmaskable(c, i))
            : relation.columns.filter((c) => columnMask(app.rules, relation.name, c) === undefined);
        for (const grantee of companion.readers) wanted.set(key(grantee, app.schema, relation.name), { grantee, schema: app.schema, table: relation.name, columns });
      }
    }
  }
  // What they hold: plain column SELECT grants (a DENY or a grant option is not this, and the main diff revokes it).
  const accounted = new Set<Permission>();
  const holding = new Map<string, { columns: Set<string>; owner?: string }>();
  for (const p of actual.permissions) {
    if (p.privilege !== 'SELECT' || p.effect !== 'GRANT' || p.withGrantOption) continue;
    const of = columnsOf(p.on);
    if (!of || !readersOf.get(of.schema)?.has(p.grantee)) continue;
    accounted.add(p);
    const k = key(p.grantee, of.schema, of.table);
    const h = holding.get(k) ?? { columns: new Set<string>(), ...(p.on.type === 'engine' && p.on.owner !== undefined ? { owner: p.on.owner } : {}) };
    for (const c of of.columns) h.columns.add(c);
    holding.set(k, h);
  }
  const changes: Change[] = [];
  const grant = (grantee: string, schema: string, table: string, columns: string[], owner?: string): Permission => {
    const on = columnsSecurable(schema, table, columns);
    return { grantee, on: owner !== undefined && on.type === 'engine' ? { ...on, owner } : on, privilege: 'SELECT', effect: 'GRANT', withGrantOption: false };
  };
  for (const [k, w] of wanted) {
    const h = holding.get(k);
    const missing = w.columns.filter((c) => !h?.columns.has(c));
    if (missing.length > 0) changes.push({ kind: 'grant', permission: grant(w.grantee, w.schema, w.table, missing) });
  }
  for (const [k, h] of holding) {
    const [grantee, schema, table] = k.split('\u0000');
    const keep = new Set(wanted.get(k)?.columns ?? []);
    const extra = [...h.columns].filter((c) => !keep.has(c));
    if (extra.length > 0) changes.push({ kind: 'revoke', permission: grant(grantee, schema, table, extra, h.owner) });
  }
  return { changes, held: (p) => accounted.has(p) };
}

/**
 * Dynamic Data Masking: each personal column of a masked app's tables (views show their tables'
 * masks) against the mask the catalog has. A column masked with another function is masked anew; one
 * masked that no pattern names keeps its mask (taking a mask off shows the data: that is a DBA's
 * decision), and the plan says so.
 */
function diffDynamicMasks(m: MaskingState, actual: ActualState): { changes: Change[]; warnings: string[] } {
  const changes: Change[] = [];
  const warnings: string[] = [];
  if (!actual.masking) return { changes, warnings };
  const bySchema = relationsBySchema(actual);
  for (const app of m.apps) {
    for (const table of bySchema.get(app.schema) ?? []) {
      if (table.kind !== 'r') continue;
      const columns: MaskedColumn[] = [];
      let masked = 0;
      table.columns.forEach((column, i) => {
        const mask = columnMask(app.rules, table.name, column);
        const have = table.columnMasks?.[i] ?? null;
        if (mask && table.columnComputed?.[i]) {
          warnings.push(`${app.schema}.${table.name}.${column} is personal but computed, and Dynamic Data Masking cannot mask a computed column: masked readers are not granted it, as hidden ones are not`);
          return;
        }
        if (have !== null && mask) masked++;
        if (!mask) {
          if (have !== null) warnings.push(`${app.schema}.${table.name}.${column} is masked (${have}) but no personal-data pattern of app ${app.app} names it: left masked`);
          return;
        }
        const fn = dynamicMaskFunction(mask, table.columnTypes?.[i] ?? '');
        if (have === null) columns.push({ name: column, function: fn });
        else if (!sameMaskFunction(have, fn)) columns.push({ name: column, function: fn, was: have });
      });
      if (columns.length > 0) changes.push({ kind: 'mask-columns', app: app.app, schema: app.schema, table: table.name, newTable: masked === 0, columns });
    }
  }
  return { changes, warnings };
}
