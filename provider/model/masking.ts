/**
 * Personal data (apps.<app>.personalData): which columns of an app hold it, how each is masked, and
 * which personas see it clear, masked or hidden (personas.<p>.personalData). Plain data and pure
 * helpers; the engines turn a MaskingState into statements (PostgreSQL: views in a companion schema).
 */

/** How a principal sees a column's values (model/access.ts reports it per column). */
export type ColumnVisibility = 'clear' | 'masked' | 'hidden';

/** How a personal column reads for a masked persona. */
export const MASK_KINDS = ['pseudonym', 'redact', 'partial', 'nullify'] as const;
export type MaskKind = (typeof MASK_KINDS)[number];

/** The visibilities a persona can have of personal columns. */
export const VISIBILITIES: readonly ColumnVisibility[] = ['clear', 'masked', 'hidden'];

/**
 * One mask: pseudonym (a keyed hash, the same token for the same value everywhere in the warehouse),
 * redact (`text` instead of the value), partial (the first `first` and last `last` characters, the rest
 * `*`), nullify (NULL; not `null`, which YAML reads as no value).
 */
export interface MaskSpec {
  mask: MaskKind;
  /** redact: the text shown instead of a value (default REDACTED_TEXT). */
  text?: string;
  /** partial: characters kept at the start (default 1). */
  first?: number;
  /** partial: characters kept at the end (default 1). */
  last?: number;
}

/** A column's mask as the policy writes it: the kind alone, or the kind with its options. */
export type PersonalColumnSpec = MaskKind | MaskSpec;

export interface PersonalDataSpec {
  /** `table.column` patterns (`*` any run of characters, `?` one) -> their mask. First match wins. */
  columns?: Record<string, PersonalColumnSpec>;
  /** The app has no personal data (what the requirePersonalData guardrail accepts instead of columns). */
  none?: boolean;
}

export const REDACTED_TEXT = '***';

/** The visibility of the built-in personas; custom personas say theirs (personas.<p>.personalData). */
export const BUILTIN_VISIBILITY: Readonly<Record<string, ColumnVisibility>> = {
  app_admin: 'clear',
  process_admin: 'clear',
  data_consumer: 'masked',
};

/** Rights a masked or hidden persona may have: any other reaches the base tables (writes, ownership, routines). */
export const MASKABLE_RIGHTS: readonly string[] = ['select', 'view-definition'];

/** A persona's visibility of personal columns: what it says, the built-in default, else masked (fail closed). */
export function personaVisibility(persona: string, spec: { personalData?: ColumnVisibility } | undefined): ColumnVisibility {
  return spec?.personalData ?? BUILTIN_VISIBILITY[persona] ?? 'masked';
}

/** The normalized form of a column's mask. */
export function maskOf(spec: PersonalColumnSpec): MaskSpec {
  const m = typeof spec === 'string' ? { mask: spec } : { ...spec };
  if (m.mask === 'redact') return { mask: 'redact', text: m.text ?? REDACTED_TEXT };
  if (m.mask === 'partial') return { mask: 'partial', first: m.first ?? 1, last: m.last ?? 1 };
  return { mask: m.mask };
}

/** One personal-column pattern, split: table and column globs. */
export interface PersonalColumnRule {
  /** As the policy wrote it (`vendors.contact_*`). */
  pattern: string;
  table: string;
  column: string;
  mask: MaskSpec;
}

/** A schema of views that shows an app's tables to personas of one visibility. */
export interface CompanionSchema {
  visibility: Exclude<ColumnVisibility, 'clear'>;
  schema: string;
  /** The roles that read through it (its views are granted to them). */
  readers: string[];
}

export interface MaskedApp {
  app: string;
  /** The app's schema (the base tables). */
  schema: string;
  rules: PersonalColumnRule[];
  companions: CompanionSchema[];
  /**
   * The roles that read the app with select and see its personal columns in clear: its schema owner and
   * the clear personas (SQL Server's Dynamic Data Masking grants them UNMASK on the schema).
   */
  clearReaders?: string[];
}

/**
 * How an engine keeps personal columns masked: 'views' (PostgreSQL: companion schemas of views owned
 * by the masking owner) or 'dynamic-data-masking' (SQL Server and Azure SQL: masks on the base
 * columns, UNMASK for the clear readers, SELECT on the columns of each live table for masked and
 * hidden readers, so a table or column made later is unreadable to them until the next apply).
 */
export type MaskingMechanism = 'views' | 'dynamic-data-masking';

/** What compile wants of personal data, warehouse-wide. Absent: no app declares personal columns. */
export interface MaskingState {
  /** Absent: 'views'. */
  mechanism?: MaskingMechanism;
  /** The role that owns the companion schemas, their views and the pseudonym key (no login, no members but the provisioning role). */
  owner: string;
  /** The schema holding the pseudonym key; only `owner` may read it. */
  keySchema: string;
  apps: MaskedApp[];
}

/** What inspect found for masking: the relations of the app schemas with personal data, their companions and the key schema. */
export interface LiveRelation {
  schema: string;
  name: string;
  /** pg_class.relkind (r table, v view, m materialized view, f foreign table, p partitioned table). */
  kind: string;
  /** The relation's comment (a pmgrants view carries its marker and fingerprint). */
  comment: string | null;
  /** Its columns in order. */
  columns: string[];
  /** SQL Server: each column's type name (sys.types.name), in the same order. */
  columnTypes?: string[];
  /** SQL Server: each column's Dynamic Data Masking function (sys.masked_columns.masking_function), null when unmasked. */
  columnMasks?: (string | null)[];
  /** SQL Server: whether each column is computed (no mask can be defined on one). */
  columnComputed?: boolean[];
}

export interface LiveMasking {
  relations: LiveRelation[];
}

export const maskingNames = {
  owner: (prefix: string) => `${prefix}masker`,
  keySchema: (prefix: string) => `${prefix}masking`,
  companion: (schema: string, visibility: 'masked' | 'hidden') => `${schema}_${visibility}`,
  keyTable: 'pseudonym_key',
};

/** `table.column` -> its two globs, split at the first dot; undefined when there is none or a part is empty. */
export function splitPattern(pattern: string): { table: string; column: string } | undefined {
  const dot = pattern.indexOf('.');
  if (dot <= 0 || dot === pattern.length - 1) return undefined;
  return { table: pattern.slice(0, dot), column: pattern.slice(dot + 1) };
}

/** A glob (`*` any run of characters, `?` one) matches a name, case and all. */
export function globMatches(glob: string, name: string): boolean {
  // Iterative wildcard matching with backtracking to the last `*`.
  let g = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (g < glob.length && (glob[g] === '?' || glob[g] === name[n])) {
      g++;
      n++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      mark = n;
    } else if (star >= 0) {
      g = star + 1;
      n = ++mark;
    } else return false;
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}

/** The mask of a column: the first rule whose table and column globs match, or undefined (not personal). */
export function columnMask(rules: readonly PersonalColumnRule[], table: string, column: string): MaskSpec | undefined {
  return rules.find((r) => globMatches(r.table, table) && globMatches(r.column, column))?.mask;
}

/** The rules of an app's personal-data spec, in policy order (patterns that cannot split are left out: validation reports them). */
export function personalColumnRules(spec: PersonalDataSpec | undefined): PersonalColumnRule[] {
  const out: PersonalColumnRule[] = [];
  for (const [pattern, column] of Object.entries(spec?.columns ?? {})) {
    const parts = splitPattern(pattern);
    if (parts) out.push({ pattern, ...parts, mask: maskOf(column) });
  }
  return out;
}

/** One view of a companion schema as the policy wants it, for one base relation. */
export interface MaskedView {
  app: string;
  /** The companion schema and the view's name (the base relation's). */
  schema: string;
  name: string;
  visibility: 'masked' | 'hidden';
  source: { schema: string; name: string };
  /** The view's columns in the base relation's order; hidden columns are left out. */
  columns: { name: string; mask?: MaskSpec }[];
  /** Base columns left out (hidden visibility). */
  hidden: string[];
  /** Who owns it and who reads it. */
  owner: string;
  readers: string[];
  keySchema: string;
}

/** The marker a pmgrants view's comment starts with. */
export const MASKED_VIEW_MARKER = 'pmgrants masked view';

/** The comment that says which policy a view was made from: its marker and a fingerprint of its columns and masks. */
export function maskedViewComment(view: Pick<MaskedView, 'source' | 'columns' | 'hidden' | 'keySchema'>): string {
  return `${MASKED_VIEW_MARKER} ${JSON.stringify({ of: [view.source.schema, view.source.name], key: view.keySchema, columns: view.columns.map((c) => (c.mask ? [c.name, c.mask] : [c.name])), hidden: view.hidden })}`;
}

/** How many columns of a view are masked (not clear). */
export function maskedCount(view: Pick<MaskedView, 'columns'>): number {
  return view.columns.filter((c) => c.mask !== undefined).length;
}

/** The string types Dynamic Data Masking's partial() applies to (sys.types names). */
const DDM_STRING_TYPES = new Set(['char', 'varchar', 'nchar', 'nvarchar', 'text', 'ntext']);

/** The padding Dynamic Data Masking's partial() puts between the characters it keeps. */
const PARTIAL_PADDING = '****';

/**
 * The Dynamic Data Masking function (SQL Server, Azure SQL) that stands for a mask on a column of a
 * type. The built-in functions have no keyed hash and no NULL: pseudonym and nullify become default()
 * (a fixed value by type: XXXX, 0, 1900-01-01), and redact and partial on a non-string column too
 * (partial() takes strings only). docs/sqlserver.md, "Personal data".
 */
export function dynamicMaskFunction(mask: MaskSpec, sqlType: string): string {
  if (!DDM_STRING_TYPES.has(sqlType.toLowerCase())) return 'default()';
  switch (mask.mask) {
    case 'redact':
      return `partial(0, "${mask.text ?? REDACTED_TEXT}", 0)`;
    case 'partial':
      return `partial(${mask.first ?? 1}, "${PARTIAL_PADDING}", ${mask.last ?? 1})`;
    case 'pseudonym':
    case 'nullify':
      return 'default()';
    default: {
      const never: never = mask.mask;
      throw new Error(`unknown mask ${String(never)}`);
    }
  }
}


/** Two masking functions are the same function: the catalog may space its arguments otherwise (quoted text aside). */
export function sameMaskFunction(a: string, b: string): boolean {
  // Quoted text as it is; outside it, no spaces and the function's name in any case.
  const squeeze = (f: string) => f.replace(/("[^"]*")|([^"]+)/g, (_m, quoted: string | undefined, plain: string | undefined) => quoted ?? (plain ?? '').replace(/\s+/g, '').toLowerCase());
  return squeeze(a) === squeeze(b);
}
