import { Document, LineCounter, Node, Pair, YAMLMap, isMap, isPair, isScalar, isSeq, parseAllDocuments, visit } from 'yaml';
import { Diagnostic, RuleId } from '../diagnostics/diagnostic';
import { parseFast } from './fast-yaml';

/** Largest policy or overlay file accepted, in bytes. 20,000 grants take about 2 MB. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Alias expansion limit: a YAML bomb fails fast instead of eating memory. */
export const MAX_ALIAS_COUNT = 100;

export type PathSegment = string | number;

/** A parsed YAML file: its JS value plus what is needed to point back into the text. */
export interface SourceFile {
  file: string;
  text: string;
  value: unknown;
  /** Line and column (1-based) of the node at `path`; key=true points at a mapping key. */
  locate(path: readonly PathSegment[], key?: boolean): { line: number; column: number } | undefined;
}

const YAML_CODES: Record<string, RuleId> = {
  DUPLICATE_KEY: 'yaml-duplicate-key',
  TAB_AS_INDENT: 'yaml-tab-indent',
  MULTIPLE_DOCS: 'yaml-multiple-documents',
};

export function toPointer(path: readonly PathSegment[]): string {
  return path.length === 0 ? '' : '/' + path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

export function fromPointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function diag(file: string, code: RuleId, message: string, line = 0, column = 0, hint?: string): Diagnostic {
  return { code, severity: 'error', message, file, line, column, path: '', ...(hint ? { hint } : {}) };
}

/**
 * Parse YAML text with positions. Pure: the caller reads the file. Never throws for bad input;
 * every problem becomes a diagnostic and `source` is undefined when nothing usable was read.
 *
 * Most policies are read the quick way (parseFast, js-yaml), which gives the same value and positions;
 * whatever it declines, including every file with a problem in its YAML, is read here in full.
 */
export function parseSource(file: string, text: string): { source?: SourceFile; diagnostics: Diagnostic[] } {
  const fast = Buffer.byteLength(text, 'utf8') <= MAX_FILE_BYTES ? parseFast(text) : undefined;
  if (fast) {
    const lines = lineStarts(text);
    return {
      source: { file, text, value: fast.value, locate: (path, key = false) => positionAt(lines, fast.offsetOf(path, key)) },
      diagnostics: [],
    };
  }
  return parseSourceFully(file, text);
}

/** parseSource without the quick way: the yaml package's full parse, which reports every problem. */
export function parseSourceFully(file: string, text: string): { source?: SourceFile; diagnostics: Diagnostic[] } {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_FILE_BYTES) {
    return {
      diagnostics: [
        diag(
          file,
          'file-too-large',
          `file is ${(bytes / 1048576).toFixed(1)} MiB; the limit is ${MAX_FILE_BYTES / 1048576} MiB`,
          0,
          0,
          'split the policy or remove generated content',
        ),
      ],
    };
  }
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    // Duplicate keys are found below in one pass per mapping: yaml's own uniqueKeys check compares
    // each key with every earlier one (2,000 principals: 2 million comparisons, a quarter of the parse).
    // logLevel 'error': yaml's warnings (e.g. a collection used as a key) would go to the process's stderr
    // as Node warnings; such input is reported as a diagnostic by the schema instead.
    docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false, prettyErrors: false, logLevel: 'error' }) as Document.Parsed[];
  } catch (e) {
    return { diagnostics: [diag(file, 'yaml-syntax', `cannot parse YAML: ${(e as Error).message}`)] };
  }
  const diagnostics: Diagnostic[] = [];
  const at = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (!Array.isArray(docs) || docs.length === 0 || docs.every((d) => d.contents === null)) {
    return { diagnostics: [diag(file, 'empty-policy', 'file holds no YAML document', 1, 1)] };
  }
  if (docs.length > 1) {
    const p = at(docs[1].range[0]);
    diagnostics.push(
      diag(file, 'yaml-multiple-documents', `file holds ${docs.length} YAML documents; a policy is one document`, p.line, p.column, "remove the '---' separator"),
    );
  }
  const doc = docs[0];
  const errors: { pos: [number, number]; code: string; message: string }[] = [...doc.errors, ...duplicateKeyErrors(doc, at)].sort((a, b) => a.pos[0] - b.pos[0]);
  for (const e of errors) {
    const p = at(e.pos[0]);
    const code = YAML_CODES[e.code] ?? 'yaml-syntax';
    const message = e.message.replace(/\s+at line \d+, column \d+.*$/s, '').split('\n')[0];
    diagnostics.push(diag(file, code, message.charAt(0).toLowerCase() + message.slice(1), p.line, p.column));
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const message = (e as Error).message;
    if (/alias/i.test(message)) {
      return {
        diagnostics: [
          diag(file, 'yaml-alias-limit', `aliases expand beyond ${MAX_ALIAS_COUNT} nodes (a YAML bomb?)`, 1, 1, 'write the values out instead of using anchors and aliases'),
        ],
      };
    }
    return { diagnostics: [diag(file, 'yaml-syntax', `cannot read YAML: ${message}`, 1, 1)] };
  }
  if (value === null || value === undefined) {
    return { diagnostics: [diag(file, 'empty-policy', 'file holds an empty document', 1, 1)] };
  }

  return { source: { file, text, value, locate: locatorOf(doc, at) }, diagnostics };
}

/** Where a path of the value is in the document (its key, with `key`): the nearest node that exists. */
function locatorOf(doc: Document.Parsed, at: (offset: number) => { line: number; column: number }): SourceFile['locate'] {
  // The first pair of each key, per mapping, built on the first look-up (not a scan per look-up).
  const pairIndex = new WeakMap<object, Map<string, Pair>>();
  const pairOf = (map: YAMLMap, key: string): Pair | undefined => {
    let index = pairIndex.get(map);
    if (!index) {
      index = new Map();
      for (const it of map.items) if (isPair(it) && isScalar(it.key) && !index.has(String(it.key.value))) index.set(String(it.key.value), it);
      pairIndex.set(map, index);
    }
    return index.get(key);
  };
  const locate = (path: readonly PathSegment[], key = false) => {
    let node: unknown = doc.contents;
    let keyNode: unknown = undefined;
    for (const seg of path) {
      keyNode = undefined;
      if (isMap(node)) {
        const pair = pairOf(node, String(seg));
        if (!pair) return positionOf(node);
        keyNode = pair.key;
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof seg === 'number' || (isSeq(node) && /^\d+$/.test(String(seg)))) {
        const item = (node as { items: unknown[] }).items[Number(seg)];
        if (item === undefined) return positionOf(node);
        node = item;
      } else {
        return positionOf(node);
      }
    }
    return positionOf(key && keyNode ? keyNode : node);
  };
  const positionOf = (n: unknown) => {
    const range = (n as Node | undefined)?.range;
    return range ? at(range[0]) : { line: 1, column: 1 };
  };
  return locate;
}

/**
 * What yaml's `uniqueKeys: true` reports, found with one map per mapping instead of comparing each key
 * with every earlier one: a key equal to an earlier key of the same mapping (the same node, or
 * scalars whose values are ===), at the later key. The message names the key and where it first was,
 * which yaml's own "Map keys must be unique" does not.
 */
function duplicateKeyErrors(doc: Document.Parsed, at: (offset: number) => { line: number; column: number }): { pos: [number, number]; code: string; message: string }[] {
  const out: { pos: [number, number]; code: string; message: string }[] = [];
  const offsetOf = (key: unknown) => (key as Node | null)?.range?.[0] ?? 0;
  visit(doc, {
    Map(_, map) {
      const firstByValue = new Map<unknown, unknown>();
      const nodes = new Set<unknown>();
      for (const pair of map.items) {
        const key = pair.key;
        let first: unknown;
        if (isScalar(key)) {
          // NaN !== NaN: yaml never finds two .nan keys equal, so neither does this.
          if (typeof key.value === 'number' && Number.isNaN(key.value)) continue;
          first = firstByValue.get(key.value);
          if (first === undefined) firstByValue.set(key.value, key);
        } else {
          first = nodes.has(key) ? key : undefined;
          nodes.add(key);
        }
        if (first !== undefined) {
          const offset = offsetOf(key);
          const was = at(offsetOf(first));
          const name = isScalar(key) ? `key ${JSON.stringify(String(key.source ?? key.value))}` : 'a key';
          out.push({ pos: [offset, offset + 1], code: 'DUPLICATE_KEY', message: `${name} appears twice in this mapping (first on line ${was.line}, column ${was.column}); keys must be unique` });
        }
      }
    },
  });
  return out;
}

/** Offsets where each line starts, for positionAt. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** Line and column (1-based) of an offset, as yaml's LineCounter.linePos gives them. */
function positionAt(starts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo] + 1 };
}
