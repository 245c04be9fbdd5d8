/**
 * pmgrants export on PostgreSQL: the catalog queries (sql/export-*.sql, composed into one statement)
 * and a pure function from their rows to the engine-neutral ExportCatalog.
 *
 * A right is schema-wide when the grantee holds the privilege on every object of the kind in the
 * schema that it does not own (what realize() grants with ON ALL ... IN SCHEMA). Anything narrower,
 * or outside the vocabulary, becomes one sentence in `unexpressed`.
 *
 * Personal data: the schemas pmgrants' masking owner holds (the companion schemas `<schema>_masked` and
 * `<schema>_hidden`, the pseudonym key's) are not apps. Each masked view's comment records its base
 * table and the mask of each personal column, or that it is hidden (maskedViewComment): those become
 * the personal columns of the base schema, and rights on a companion schema are rights on its base
 * schema, seen masked or hidden.
 */
import { ExportCatalog, ExportCompanion, ExportPersonalColumn, ExportPrincipal } from '../../export/catalog';
import { MASK_KINDS, MaskKind, MASKED_VIEW_MARKER, maskingNames, MaskSpec } from '../../model/masking';
import { Right } from '../../model/types';
import { pushAll } from '../../model/collections';
import { catalogSql } from './catalog';
import { isManagedComment, parseMarker } from './marker';

export const EXPORT_QUERIES = [
  'export-roles',
  'export-memberships',
  'export-schemas',
  'export-schema-privileges',
  'export-objects',
  'export-object-privileges',
  'export-column-privileges',
  'export-masked-views',
] as const;

/** The whole export read as ONE statement: one JSON column per file, named after it. No parameters. */
export function exportQuery(dirs?: readonly string[]): string {
  const columns = EXPORT_QUERIES.map((q) => `(\n${catalogSql(q, dirs)}\n) AS "${q}"`).join(',\n');
  return `SELECT current_database() AS "database", current_user AS "currentUser",\n${columns}`;
}

export interface ExportRows {
  database: string;
  currentUser: string;
  'export-roles': { name: string; canLogin: boolean; superuser: boolean; createRole: boolean; comment: string | null }[];
  'export-memberships': { role: string; member: string }[];
  'export-schemas': { name: string; owner: string }[];
  'export-schema-privileges': { schema: string; grantee: string; privilege: string }[];
  'export-objects': { schema: string; name: string; kind: string; owner: string }[];
  'export-object-privileges': { schema: string; name: string; kind: string; grantee: string; privilege: string }[];
  'export-column-privileges': { schema: string; table: string; column: string; grantee: string; privilege: string }[];
  /** Views with pmgrants' masked-view marker in their comment (absent: not read). */
  'export-masked-views'?: { schema: string; name: string; comment: string }[];
}

/** Table privileges that are rights of the vocabulary. */
const TABLE_RIGHTS: Record<string, Right> = { SELECT: 'select', INSERT: 'insert', UPDATE: 'update', DELETE: 'delete', REFERENCES: 'references' };

const KIND_WORD: Record<string, string> = { tables: 'tables and views', sequences: 'sequences', functions: 'functions' };

function some(names: string[]): string {
  const shown = names.slice(0, 4).join(', ');
  return names.length > 4 ? `${shown} and ${names.length - 4} more` : shown;
}

/** Export rows -> ExportCatalog. Pure. */
export function exportCatalogFromRows(rows: ExportRows, prefix = 'pmg_'): ExportCatalog {
  const maskers = new Set(rows['export-roles'].filter((r) => isMaskingOwner(r.comment)).map((r) => r.name));
  const out: ExportCatalog = {
    engine: 'postgres',
    database: rows.database,
    principals: exportPrincipals(rows, prefix),
    memberships: rows['export-memberships'].map((m) => ({ role: m.role, member: m.member })),
    schemas: rows['export-schemas'].filter((s) => !maskers.has(s.owner)).map((s) => ({ name: s.name, owner: s.owner })),
    rights: [],
    unexpressed: [],
  };
  const rights: Rights = new Map();
  const note: Note = (schema, grantee, text) => out.unexpressed.push({ schema, grantee, text });
  objectRights(rows, rights, note);
  schemaRights(rows, rights, note);
  for (const c of rows['export-column-privileges']) {
    note(c.schema, c.grantee, `${c.grantee} has ${c.privilege} (${c.column}) on ${c.schema}.${c.table}: a column grant, which no persona expresses`);
  }

  for (const [key, set] of rights) {
    const [grantee, schema] = key.split('\u0000');
    for (const right of set) out.rights.push({ grantee, schema, right });
  }
  const order = (r: { grantee: string; schema: string; right: string }) => `${r.grantee}\u0000${r.schema}\u0000${r.right}`;
  out.rights.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  if (maskers.size > 0) {
    const personal = personalData(rows, maskers, prefix);
    out.companions = personal.companions;
    out.personalColumns = personal.columns;
    pushAll(out.unexpressed, personal.unexpressed);
  }
  return out;
}

/** A masked view's comment, read: its base table, its columns with their masks, its hidden columns. Undefined when it is not one. */
export function parseMaskedViewComment(comment: string): { of: [string, string]; columns: [string, MaskSpec?][]; hidden: string[] } | undefined {
  if (!comment.startsWith(`${MASKED_VIEW_MARKER} `)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(comment.slice(MASKED_VIEW_MARKER.length + 1));
  } catch {
    return undefined;
  }
  const v = value as { of?: unknown; columns?: unknown; hidden?: unknown };
  const isString = (x: unknown): x is string => typeof x === 'string';
  if (!Array.isArray(v?.of) || v.of.length !== 2 || !v.of.every(isString)) return undefined;
  if (!Array.isArray(v.columns) || !Array.isArray(v.hidden) || !v.hidden.every(isString)) return undefined;
  const columns: [string, MaskSpec?][] = [];
  for (const c of v.columns as unknown[]) {
    if (!Array.isArray(c) || !isString(c[0]) || c.length > 2) return undefined;
    if (c.length === 1) {
      columns.push([c[0]]);
      continue;
    }
    const mask = maskOfComment(c[1]);
    if (!mask) return undefined;
    columns.push([c[0], mask]);
  }
  return { of: [v.of[0], v.of[1]], columns, hidden: v.hidden };
}

/** A mask as a view's comment records it (normalized, model/masking.ts maskOf), or undefined when it is not one. */
function maskOfComment(value: unknown): MaskSpec | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const m = value as Record<string, unknown>;
  if (!MASK_KINDS.includes(m.mask as MaskKind)) return undefined;
  const kind = m.mask as MaskKind;
  if (kind === 'redact') return typeof m.text === 'string' ? { mask: kind, text: m.text } : { mask: kind };
  if (kind === 'partial') {
    const whole = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0;
    return { mask: kind, ...(whole(m.first) ? { first: m.first as number } : {}), ...(whole(m.last) ? { last: m.last as number } : {}) };
  }
  return { mask: kind };
}

/**
 * Personal data from the schemas of pmgrants' masking owner: which are companions of which schema,
 * the personal columns their views' comments record (a hidden column's mask from the masked view of
 * the same table, else nullify), and the sentences about what cannot be read back.
 */
function personalData(rows: ExportRows, maskers: Set<string>, prefix: string): { companions: ExportCompanion[]; columns: ExportPersonalColumn[]; unexpressed: ExportCatalog['unexpressed'] } {
  const unexpressed: ExportCatalog['unexpressed'] = [];
  const owned = rows['export-schemas'].filter((s) => maskers.has(s.owner));
  const bases = new Set(rows['export-schemas'].filter((s) => !maskers.has(s.owner)).map((s) => s.name));
  const companions: ExportCompanion[] = [];
  for (const s of owned) {
    const visibility = (['masked', 'hidden'] as const).find((v) => s.name.endsWith(`_${v}`) && bases.has(s.name.slice(0, -v.length - 1)));
    const of = visibility ? s.name.slice(0, -visibility.length - 1) : undefined;
    if (visibility && of) companions.push({ schema: s.name, of, visibility });
    unexpressed.push({
      ...(of ? { schema: of } : {}),
      text: `schema ${s.name} (owned by ${s.owner}) holds pmgrants' masked views or pseudonym key for personal data, not an app${
        of ? `: the masks its views record are the personal columns of schema ${of}, and the roles reading it see them ${visibility}` : ''
      }`,
    });
  }
  // A masking owner of another prefix: the policy would make its own, with another key.
  const owner = maskingNames.owner(prefix);
  for (const m of [...maskers].sort()) {
    if (m === owner || !owned.some((s) => s.owner === m)) continue;
    const theirs = m.endsWith('masker') ? m.slice(0, -'masker'.length) : undefined;
    unexpressed.push({
      text: `${m} owns the masked views, but with prefix ${prefix} the policy's masking owner is ${owner}${theirs ? `: export with --prefix ${theirs}` : ''} (else the first apply makes ${owner} and another pseudonym key, ${maskingNames.keySchema(prefix)}, and remakes every masked view with new pseudonyms)`,
    });
  }
  // The personal columns: masks from the masked views, hidden columns from the hidden ones.
  const companionOf = new Map(companions.map((c) => [c.schema, c]));
  const masks = new Map<string, ExportPersonalColumn>();
  const hidden: { view: string; schema: string; table: string; column: string }[] = [];
  const key = (schema: string, table: string, column: string) => [schema, table, column].join('\u0000');
  for (const v of rows['export-masked-views'] ?? []) {
    const companion = companionOf.get(v.schema);
    if (!companion) continue;
    const parsed = parseMaskedViewComment(v.comment);
    if (!parsed) {
      unexpressed.push({ schema: companion.of, text: `view ${v.schema}.${v.name}: its comment does not say its masks in a form this pmgrants reads; its personal columns are not exported` });
      continue;
    }
    const [schema, table] = parsed.of;
    for (const [column, mask] of parsed.columns) {
      if (mask && !masks.has(key(schema, table, column))) masks.set(key(schema, table, column), { schema, table, column, mask });
    }
    for (const column of parsed.hidden) hidden.push({ view: `${v.schema}.${v.name}`, schema, table, column });
  }
  for (const h of hidden) {
    if (masks.has(key(h.schema, h.table, h.column))) continue;
    masks.set(key(h.schema, h.table, h.column), { schema: h.schema, table: h.table, column: h.column, mask: { mask: 'nullify' } });
    unexpressed.push({
      schema: h.schema,
      text: `${h.schema}.${h.table}, column ${h.column}: hidden in ${h.view}, and no masked view of ${h.schema}.${h.table} says its mask; exported as nullify (what a persona that sees it masked would read: make it pseudonym, redact or partial if it should)`,
    });
  }
  // The masking owner reads every schema whose policy declared personal columns: one without any here had its columns declared, but no view records them.
  const known = new Set([...masks.values()].map((c) => c.schema));
  for (const p of rows['export-schema-privileges']) {
    if (!maskers.has(p.grantee) || p.privilege !== 'USAGE' || !bases.has(p.schema) || known.has(p.schema)) continue;
    unexpressed.push({
      schema: p.schema,
      text: `schema ${p.schema}: pmgrants' masking owner ${p.grantee} reads it, so a policy declared personal columns there, but no masked view records them (it has no table yet, or no persona read it masked or hidden): declare them again (apps.<app>.personalData)`,
    });
  }
  return { companions, columns: [...masks.values()], unexpressed };
}

/** grantee \0 schema -> rights. */
type Rights = Map<string, Set<Right>>;
/** Record what the vocabulary cannot say. */
type Note = (schema: string, grantee: string, text: string) => void;

function addRight(rights: Rights, grantee: string, schema: string, right: Right): void {
  const key = `${grantee}\u0000${schema}`;
  rights.set(key, (rights.get(key) ?? new Set<Right>()).add(right));
}

/** The marker of pmgrants' masking owner: a schema owner of no app (model/compile.ts, addMasking). */
function isMaskingOwner(comment: string | null): boolean {
  if (!isManagedComment(comment)) return false;
  const marker = parseMarker(comment);
  return marker.purpose === 'schema-owner' && marker.app === undefined;
}

function exportPrincipals(rows: ExportRows, prefix: string): ExportPrincipal[] {
  return rows['export-roles'].map((r) => {
    const owner = isManagedComment(r.comment) ? parseMarker(r.comment).warehouse : undefined;
    const why = r.superuser
      ? 'a superuser'
      : isMaskingOwner(r.comment)
        ? "pmgrants' owner of masked views (personal data)"
        : r.name === rows.currentUser
          ? 'the role pmgrants connects as'
          : owner !== undefined && owner !== rows.database
            ? `managed by pmgrants for warehouse ${owner}`
            : r.name.startsWith(prefix) && isManagedComment(r.comment)
              ? 'managed by pmgrants'
              : undefined;
    return { name: r.name, kind: r.canLogin ? 'sql-login' : 'database-role', canLogin: r.canLogin, ...(why ? { notAdoptable: why } : {}) };
  });
}

/** Privileges on a schema's tables, sequences and functions: a right when held on every object the grantee does not own, else a note. */
function objectRights(rows: ExportRows, rights: Rights, note: Note): void {
  const schemaOwner = new Map(rows['export-schemas'].map((s) => [s.name, s.owner]));
  const add = (grantee: string, schema: string, right: Right) => addRight(rights, grantee, schema, right);
  // Objects per (schema, kind): their names and owners.
  const objects = new Map<string, { name: string; owner: string }[]>();
  for (const o of rows['export-objects']) {
    const key = `${o.schema}\u0000${o.kind}`;
    objects.set(key, [...(objects.get(key) ?? []), { name: o.name, owner: o.owner }]);
  }
  // Held privileges per (schema, kind, grantee, privilege): the object names.
  const held = new Map<string, { schema: string; kind: string; grantee: string; privilege: string; names: string[] }>();
  for (const p of rows['export-object-privileges']) {
    const key = [p.schema, p.kind, p.grantee, p.privilege].join('\u0000');
    const entry = held.get(key) ?? { schema: p.schema, kind: p.kind, grantee: p.grantee, privilege: p.privilege, names: [] };
    entry.names.push(p.name);
    held.set(key, entry);
  }
  for (const h of held.values()) {
    if (h.grantee === 'PUBLIC') {
      note(h.schema, h.grantee, `PUBLIC has ${h.privilege} on ${h.schema}.${some(h.names)} (grants to PUBLIC are not adopted)`);
      continue;
    }
    if (schemaOwner.get(h.schema) === h.grantee) continue; // the schema owner's own grants: implicit anyway
    const all = (objects.get(`${h.schema}\u0000${h.kind}`) ?? []).filter((o) => o.owner !== h.grantee);
    const complete = all.length > 0 && all.every((o) => h.names.includes(o.name));
    const right = h.kind === 'tables' ? TABLE_RIGHTS[h.privilege] : h.kind === 'functions' && h.privilege === 'EXECUTE' ? 'execute' : undefined;
    if (right && complete) add(h.grantee, h.schema, right);
    else if (h.kind === 'sequences') continue; // judged below, once the rights are known
    else if (right) {
      note(h.schema, h.grantee, `${h.grantee} has ${h.privilege} on ${h.schema}.${some(h.names)} only (${h.names.length} of ${all.length} ${KIND_WORD[h.kind]}): an object-level grant, which no persona expresses`);
    } else {
      note(h.schema, h.grantee, `${h.grantee} has ${h.privilege} on ${h.schema}.${some(h.names)}: a privilege outside pmgrants' rights`);
    }
  }
  // Sequence privileges: USAGE is what the insert right means for sequences; anything else is noted.
  for (const h of held.values()) {
    if (h.kind !== 'sequences' || h.grantee === 'PUBLIC' || schemaOwner.get(h.schema) === h.grantee) continue;
    if (h.privilege === 'USAGE' && rights.get(`${h.grantee}\u0000${h.schema}`)?.has('insert')) continue;
    note(h.schema, h.grantee, `${h.grantee} has ${h.privilege} on sequence${h.names.length === 1 ? '' : 's'} ${h.schema}.${some(h.names)}: not expressed (pmgrants grants USAGE on sequences with the insert right)`);
  }
}

/** Schema privileges: CREATE is create-objects; USAGE alone says nothing a persona can carry. */
function schemaRights(rows: ExportRows, rights: Rights, note: Note): void {
  const usage = new Set<string>();
  for (const p of rows['export-schema-privileges']) {
    if (p.grantee === 'PUBLIC') {
      note(p.schema, p.grantee, `PUBLIC has ${p.privilege} on schema ${p.schema} (grants to PUBLIC are not adopted)`);
      continue;
    }
    if (p.privilege === 'CREATE') addRight(rights, p.grantee, p.schema, 'create-objects');
    else if (p.privilege === 'USAGE') usage.add(`${p.grantee}\u0000${p.schema}`);
  }
  for (const key of usage) {
    if (rights.has(key)) continue;
    const [grantee, schema] = key.split('\u0000');
    note(schema, grantee, `${grantee} has USAGE on schema ${schema} but no schema-wide right on its objects`);
  }
}

/** The live catalog -> ExportCatalog in ONE round trip. */
export async function exportPostgres(query: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>, prefix?: string): Promise<ExportCatalog> {
  const [row] = await query(exportQuery(), []);
  return exportCatalogFromRows(row as unknown as ExportRows, prefix);
}
