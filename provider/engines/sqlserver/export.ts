/**
 * pmgrants export on SQL Server and Azure SQL Database: a pure function from the result sets of
 * EXPORT_CATALOG_SQL (sql/export-*.sql, catalog.ts) to the engine-neutral ExportCatalog.
 *
 * SQL Server grants on schemas natively (GRANT SELECT ON SCHEMA::s), so a right is a schema permission
 * in pmgrants' vocabulary (SCHEMA_PERMISSION_OF), granted (G) or granted with grant option (W).
 * create-objects is the four database-level CREATE permissions plus ALTER on the schema: it is read
 * only for a principal that holds all four and ALTER on exactly one exported schema. Everything else
 * (DENY, object and column permissions, other permissions, fixed database roles) becomes a sentence.
 */
import { ExportCatalog, ExportPrincipal } from '../../export/catalog';
import { PrincipalKind, Right } from '../../model/types';
import { maskOfDynamicFunction } from './masking';
import { DatabasePrincipalRow, DatabaseRoleMemberRow, SchemaRow } from './inspect';
import { MANAGED_MARKER } from './options';
import { CREATE_OBJECT_PERMISSIONS, SCHEMA_PERMISSION_OF } from './privileges';

export interface ExportPermissionRow {
  class: number;
  major_id: number;
  /** Column id for a column permission (class 1), else 0. */
  minor_id: number;
  grantee_principal_id: number;
  permission_name: string;
  state: string;
}

export interface ExportObjectRow {
  object_id: number;
  name: string;
  schema_id: number;
  type: string;
}

export interface ExportColumnRow {
  object_id: number;
  column_id: number;
  name: string;
}

/** A row of export-masked-columns.sql (sys.masked_columns). */
export interface ExportMaskedColumnRow {
  object_id: number;
  column_id: number;
  name: string;
  type_name: string;
  masking_function: string;
}

export interface SqlServerExportRows {
  /** sys.masked_columns; absent in fixtures written before it was read. */
  maskedColumns?: ExportMaskedColumnRow[];
  principals: DatabasePrincipalRow[];
  roleMembers: DatabaseRoleMemberRow[];
  permissions: ExportPermissionRow[];
  schemas: SchemaRow[];
  objects: ExportObjectRow[];
  columns: ExportColumnRow[];
  /** DB_NAME() and USER_NAME() of the exporting session. */
  session: { database_name: string; user_name: string };
}

const SYSTEM_PRINCIPALS = new Set(['dbo', 'guest', 'information_schema', 'sys', 'public']);
const RIGHT_OF = Object.fromEntries(Object.entries(SCHEMA_PERMISSION_OF).map(([right, perm]) => [perm, right as Right]));
const truthy = (v: boolean | number | null | undefined) => v === true || v === 1;

function kindOf(p: DatabasePrincipalRow): PrincipalKind | undefined {
  switch (p.type) {
    case 'S':
      return 'sql-login';
    case 'U':
      return 'windows-user';
    case 'G':
      return 'windows-group';
    case 'E':
      return 'entra-user';
    case 'X':
      return 'entra-group';
    case 'R':
      return 'database-role';
    default:
      return undefined; // application roles, certificate and key users
  }
}

/** Export result sets -> ExportCatalog. Pure. */
export function exportCatalogFromSqlServer(rows: SqlServerExportRows, engine: 'sqlserver' | 'azure-sql', prefix = 'pmg_'): ExportCatalog {
  const byId = new Map(rows.principals.map((p) => [p.principal_id, p]));
  const unexpressed: ExportCatalog['unexpressed'] = [];
  const note: Note = (text, schema, grantee) => unexpressed.push({ ...(schema ? { schema } : {}), ...(grantee ? { grantee } : {}), text });
  const principals = exportPrincipals(rows, prefix, note);
  const memberships = exportMemberships(rows, byId, note);
  const schemas = rows.schemas
    .map((s) => ({ name: s.name, owner: byId.get(s.principal_id)?.name ?? '' }))
    .filter((s) => s.owner !== '');
  const unmasked: NonNullable<ExportCatalog['unmasked']> = [];
  const rights = exportRights(rows, byId, note, unmasked);
  const personalColumns = exportMaskedColumns(rows, note);
  return {
    engine,
    database: rows.session.database_name,
    principals,
    memberships,
    schemas,
    rights,
    unexpressed,
    ...(rows.maskedColumns ? { personalColumns, unmasked } : {}),
  };
}

/**
 * Personal data: each masked column of a table as the mask pmgrants writes that function for
 * (maskOfDynamicFunction); a function no mask writes (email(), random(), datetime()), or a masked
 * column of a view, is a note, and the column keeps its mask (pmgrants never drops one).
 */
function exportMaskedColumns(rows: SqlServerExportRows, note: Note): NonNullable<ExportCatalog['personalColumns']> {
  const schemaById = new Map(rows.schemas.map((s) => [s.schema_id, s]));
  const objectById = new Map(rows.objects.map((o) => [o.object_id, o]));
  const out: NonNullable<ExportCatalog['personalColumns']> = [];
  for (const c of rows.maskedColumns ?? []) {
    const o = objectById.get(c.object_id);
    const schema = o ? schemaById.get(o.schema_id)?.name : undefined;
    if (!o || schema === undefined || o.type.trim() !== 'U') continue;
    const mask = maskOfDynamicFunction(c.masking_function);
    if (mask) out.push({ schema, table: o.name, column: c.name, mask });
    else note(`${schema}.${o.name}, column ${c.name}: masked with ${c.masking_function}, which no pmgrants mask writes; not in apps.<app>.personalData (it keeps its mask: pmgrants never takes one off)`, schema);
  }
  return out;
}

/** Record what the vocabulary cannot say (on a schema, about a grantee). */
type Note = (text: string, schema?: string, grantee?: string) => void;

function exportPrincipals(rows: SqlServerExportRows, prefix: string, note: Note): ExportPrincipal[] {
  const principals: ExportPrincipal[] = [];
  for (const p of rows.principals) {
    const kind = kindOf(p);
    if (!kind) continue;
    const system = SYSTEM_PRINCIPALS.has(p.name.toLowerCase()) || truthy(p.is_fixed_role);
    const why = system
      ? 'a built-in principal'
      : p.name === rows.session.user_name
        ? 'the user pmgrants connects as'
        : p.name.toLowerCase().startsWith(prefix) && p.pmgrants_marker === MANAGED_MARKER.value
          ? 'managed by pmgrants'
          : undefined;
    principals.push({
      name: p.name,
      kind,
      canLogin: p.type === 'S' || p.type === 'U' || p.type === 'E',
      ...(p.entra_object_id && (p.type === 'E' || p.type === 'X') ? { objectId: p.entra_object_id.toLowerCase() } : {}),
      ...(why ? { notAdoptable: why } : {}),
    });
    if (p.type === 'E' && !why) note(`${p.name}: an Entra user or application (the catalog does not tell which); exported as entra-user`, undefined, p.name);
    if (p.type === 'S' && p.authentication_type === 2 && !why) note(`${p.name}: a contained user with a password; exported as sql-login`, undefined, p.name);
  }
  return principals;
}

function exportMemberships(rows: SqlServerExportRows, byId: Map<number, DatabasePrincipalRow>, note: Note): ExportCatalog['memberships'] {
  const memberships: ExportCatalog['memberships'] = [];
  for (const m of rows.roleMembers) {
    const role = byId.get(m.role_principal_id);
    const member = byId.get(m.member_principal_id);
    if (!role || !member) continue;
    if (truthy(role.is_fixed_role) && !SYSTEM_PRINCIPALS.has(member.name.toLowerCase())) {
      note(`${member.name} is a member of the fixed database role ${role.name}, which reaches beyond any one app schema; not expressed`, undefined, member.name);
      continue;
    }
    memberships.push({ role: role.name, member: member.name });
  }
  return memberships;
}

/** Schema permissions as rights; the rest (database, object, column, principal permissions, DENY) as notes. */
function exportRights(rows: SqlServerExportRows, byId: Map<number, DatabasePrincipalRow>, note: Note, unmasked: NonNullable<ExportCatalog['unmasked']>): ExportCatalog['rights'] {
  const schemaById = new Map(rows.schemas.map((s) => [s.schema_id, s]));
  const objectById = new Map(rows.objects.map((o) => [o.object_id, o]));
  const columnName = new Map(rows.columns.map((c) => [`${c.object_id}:${c.column_id}`, c.name]));
  const rights: ExportCatalog['rights'] = [];
  const alterOn = new Map<string, string[]>(); // grantee -> schemas with ALTER
  const creates = new Map<string, Set<string>>(); // grantee -> database CREATE permissions
  for (const p of rows.permissions) {
    const grantee = byId.get(p.grantee_principal_id);
    if (!grantee) continue;
    const who = grantee.name;
    const deny = p.state === 'D';
    const withGrant = p.state === 'W' ? ' WITH GRANT OPTION' : '';
    switch (p.class) {
      case 0: {
        if (p.permission_name === 'CONNECT' && !deny) continue; // every user has it
        if (!deny && p.permission_name === 'UNMASK') unmasked.push({ grantee: who });
        if (!deny && CREATE_OBJECT_PERMISSIONS.includes(p.permission_name)) {
          creates.set(who, (creates.get(who) ?? new Set()).add(p.permission_name));
          continue;
        }
        note(`${who} has ${deny ? 'DENY ' : ''}${p.permission_name} on the database${withGrant}: not expressed`, undefined, who);
        continue;
      }
      case 1: {
        const o = objectById.get(p.major_id);
        const schema = o ? schemaById.get(o.schema_id)?.name : undefined;
        const what = o ? `${schema ?? '?'}.${o.name}` : `object ${p.major_id}`;
        if (p.minor_id > 0) {
          const col = columnName.get(`${p.major_id}:${p.minor_id}`) ?? `column ${p.minor_id}`;
          note(`${who} has ${deny ? 'DENY ' : ''}${p.permission_name} (${col}) on ${what}: a column permission, which no persona expresses`, schema, who);
        } else {
          note(`${who} has ${deny ? 'DENY ' : ''}${p.permission_name} on ${what}${withGrant}: an object-level permission, which no persona expresses`, schema, who);
        }
        continue;
      }
      case 3: {
        const s = schemaById.get(p.major_id);
        if (!s) continue;
        const right = RIGHT_OF[p.permission_name];
        // UNMASK on a schema: its holder reads the schema's masked columns clear (the persona's personalData says it).
        if (!deny && p.permission_name === 'UNMASK') {
          unmasked.push({ grantee: who, schema: s.name });
          continue;
        }
        if (deny || !right) {
          note(`${who} has ${deny ? 'DENY ' : ''}${p.permission_name} on schema ${s.name}: not expressed${deny ? ' (pmgrants only grants)' : ''}`, s.name, who);
          continue;
        }
        if (withGrant) note(`${who} holds ${p.permission_name} on schema ${s.name} WITH GRANT OPTION; the policy says the permission, not the option`, s.name, who);
        rights.push({ grantee: who, schema: s.name, right });
        if (right === 'alter') alterOn.set(who, [...(alterOn.get(who) ?? []), s.name]);
        continue;
      }
      case 4: {
        const target = byId.get(p.major_id);
        note(`${who} has ${deny ? 'DENY ' : ''}${p.permission_name} on ${target?.type === 'R' ? 'role' : 'principal'} ${target?.name ?? p.major_id}: not expressed (a persona's "manages" is not exported)`, undefined, who);
        continue;
      }
    }
  }
  // create-objects: the four CREATE permissions, attributed to the one schema the principal may ALTER.
  for (const [who, perms] of creates) {
    const all = CREATE_OBJECT_PERMISSIONS.every((c) => perms.has(c));
    const schemasAltered = alterOn.get(who) ?? [];
    if (all && schemasAltered.length === 1) rights.push({ grantee: who, schema: schemasAltered[0], right: 'create-objects' });
    else note(`${who} has ${[...perms].sort().join(', ')} on the database: not expressed (create-objects is all four CREATE permissions with ALTER on one app schema)`, undefined, who);
  }
  const order = (r: { grantee: string; schema: string; right: string }) => `${r.grantee}\u0000${r.schema}\u0000${r.right}`;
  rights.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  return rights;
}
