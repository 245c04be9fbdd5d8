/**
 * pmgrants export on PostgreSQL: the catalog queries (sql/export-*.sql, composed into one statement)
 * and a pure function from their rows to the engine-neutral ExportCatalog.
 *
 * A right is schema-wide when the grantee holds the privilege on every object of the kind in the
 * schema that it does not own (what realize() grants with ON ALL ... IN SCHEMA). Anything narrower,
 * or outside the vocabulary, becomes one sentence in `unexpressed`.
 */
import { ExportCatalog, ExportPrincipal } from '../../export/catalog';
import { Right } from '../../model/types';
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
  // Personal data: the schemas pmgrants' masking owner holds (companion schemas of masked views, the
  // pseudonym key) are not apps; the apps they serve had personal columns the policy must declare again.
  const maskers = new Set(rows['export-roles'].filter((r) => isMaskingOwner(r.comment)).map((r) => r.name));
  const masking = rows['export-schemas'].filter((s) => maskers.has(s.owner));
  const out: ExportCatalog = {
    engine: 'postgres',
    database: rows.database,
    principals: exportPrincipals(rows, prefix),
    memberships: rows['export-memberships'].map((m) => ({ role: m.role, member: m.member })),
    schemas: rows['export-schemas'].filter((s) => !maskers.has(s.owner)).map((s) => ({ name: s.name, owner: s.owner })),
    rights: [],
    unexpressed: masking.map((s) => ({
      text: `schema ${s.name} (owned by ${s.owner}) holds pmgrants' masked views or pseudonym key for personal data, not an app: declare the personal columns again (apps.<app>.personalData, docs/policy.md)`,
    })),
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
  return out;
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
