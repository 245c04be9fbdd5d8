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
}

/** What compile wants of personal data, warehouse-wide. Absent: no app declares personal columns. */
export interface MaskingState {
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
