/**
 * The parts of a policy the schema accepted, so that the semantic rules report their problems in the
 * same run as the schema's (a grant with `to: []` must not hide an unknown principal in another grant).
 * Pure.
 *
 * Each schema error cuts out the smallest part the rules can do without: a whole principal, app or
 * persona (by key), a whole grant, or else the property the error is about. A grant is cut out by
 * leaving a hole in the grants list (`delete grants[i]`): the others keep their indices, so every rule
 * diagnostic still points at the right grant, and the rules walk grants with forEach / map / filter /
 * flatMap, which skip holes. The rules are told what was cut out (RejectedParts), so a reference to a
 * principal whose own entry was refused is not reported again as unknown, and a principal named only by
 * a refused grant is not "granted nothing".
 *
 * When what is left still fails the schema (a required section was refused, the document is not a
 * mapping), there is nothing sound to run the rules on: undefined.
 */
import { schemaCheck } from './schema';
import { PathSegment } from './source';

/** The collections whose entries are cut out whole, by key. */
const KEYED = ['principals', 'apps', 'personas'] as const;
type Keyed = (typeof KEYED)[number];

export interface RejectedParts {
  /** Keys of entries the schema refused (whose entry was cut out); `all` when the whole collection was. */
  keys: Record<Keyed, ReadonlySet<string> | 'all'>;
  /** Names the refused grants' `to` lists and refused apps' ownerTeam mention: they count as used. */
  mentioned: ReadonlySet<string>;
  /** JSON pointers ('/options/prefix') of the properties that were cut out, for a rule that reads them. */
  pointers: ReadonlySet<string>;
}

export const NOTHING_REJECTED: RejectedParts = { keys: { principals: new Set(), apps: new Set(), personas: new Set() }, mentioned: new Set(), pointers: new Set() };

/** Whether the key was refused by the schema (its entry, or its whole collection). */
export function isRejectedKey(rejected: RejectedParts, collection: Keyed, key: string): boolean {
  const keys = rejected.keys[collection];
  return keys === 'all' || keys.has(key);
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy deep enough to cut into: the document, its top-level mappings and the grants list. */
function cuttable(doc: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...doc };
  for (const [k, v] of Object.entries(out)) {
    if (isMapping(v)) out[k] = { ...v };
    else if (Array.isArray(v)) out[k] = v.slice();
  }
  return out;
}

/** The strings a refused grant's `to` or a refused app's ownerTeam names, whatever else is wrong with it. */
function mentions(part: unknown): string[] {
  if (!isMapping(part)) return [];
  const to = Array.isArray(part.to) ? part.to.filter((t): t is string => typeof t === 'string') : [];
  return typeof part.ownerTeam === 'string' ? [...to, part.ownerTeam] : to;
}

/** Cut one refused part out of `doc` (in place) and record it in the sets. */
function cut(doc: Record<string, unknown>, path: readonly string[], keys: Record<Keyed, Set<string> | 'all'>, mentioned: Set<string>, pointers: Set<string>): void {
  const [top, second] = path;
  if (top === undefined) return;
  if ((KEYED as readonly string[]).includes(top)) {
    const collection = doc[top];
    const k = top as Keyed;
    if (second === undefined || !isMapping(collection)) {
      keys[k] = 'all';
      delete doc[top];
    } else if (Object.hasOwn(collection, second)) {
      for (const m of mentions(collection[second])) mentioned.add(m);
      if (keys[k] !== 'all') (keys[k] as Set<string>).add(second);
      delete collection[second];
    }
    return;
  }
  if (top === 'grants' && second !== undefined && Array.isArray(doc.grants) && /^\d+$/.test(second)) {
    for (const m of mentions(doc.grants[Number(second)])) mentioned.add(m);
    delete doc.grants[Number(second)];
    return;
  }
  // Any other part: the section's property that holds the error (options.prefix, guardrails.maxGrantDays,
  // warehouse.engine), or the top-level property itself. The top-level mappings are copies (cuttable).
  const section = doc[top];
  if (second !== undefined && isMapping(section)) {
    delete section[second];
    pointers.add(`/${top}/${second}`);
  } else {
    delete doc[top];
    pointers.add(`/${top}`);
  }
}

/** The policy without the parts the schema refused, and what was cut out; undefined when none is left to check. */
export function prunePolicy(merged: unknown, rejectedPaths: readonly (readonly PathSegment[])[]): { value: Record<string, unknown>; rejected: RejectedParts } | undefined {
  if (!isMapping(merged) || rejectedPaths.some((p) => p.length === 0)) return undefined;
  const doc = cuttable(merged);
  const keys: Record<Keyed, Set<string> | 'all'> = { principals: new Set(), apps: new Set(), personas: new Set() };
  const mentioned = new Set<string>();
  const pointers = new Set<string>();
  for (const path of rejectedPaths) cut(doc, path.map(String), keys, mentioned, pointers);
  // What is left must pass the schema as it is (the holes in grants aside), or the rules cannot trust its shape.
  const compact = Array.isArray(doc.grants) ? { ...doc, grants: doc.grants.filter(() => true) } : doc;
  if (schemaCheck('policy', compact, () => ({ file: '', line: 0, column: 0 })).diagnostics.length > 0) return undefined;
  return { value: doc, rejected: { keys, mentioned, pointers } };
}
