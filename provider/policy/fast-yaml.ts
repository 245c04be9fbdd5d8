import { FAILSAFE_SCHEMA, load, Type } from 'js-yaml';

/**
 * The quick way to read a policy file, for the files it can read exactly as parseSource's full parse
 * (the yaml package) would: the same value, and the same position for every node a diagnostic can
 * point at. Anything else is left to the full parse, which also reports every problem.
 *
 * Why: a policy is read by every command, and the yaml package, which keeps a full syntax tree, took
 * most of a short command's time (some 50 ms cold for a 26 KB policy; js-yaml takes about 12 ms).
 *
 * How it stays exact:
 * - Plain scalars resolve by the YAML 1.2 core schema as the yaml package writes it (the same
 *   patterns, below), not by js-yaml's own core schema (which, for one, reads 1_000 as a number).
 * - Positions come from js-yaml's node events: each node starts at the first character that is not
 *   space or comment after the event, as the yaml package's node ranges do.
 * - It declines (returns undefined) whatever it cannot promise to read alike: any js-yaml error
 *   (syntax, duplicate keys, several documents), anchors (so no aliases), tags, directives, a '#'
 *   not after white space, a
 *   scalar or flow collection spanning lines (block scalars, folded flow scalars), a null or empty node, a key that is
 *   not a plain string, number or boolean, the keys "<<" and "__proto__", and a top level that is
 *   not a mapping.
 * test/unit/fast-yaml.test.ts compares both readings on every example, fixture and thousands of
 * mutated policies.
 */

/** The yaml package's YAML 1.2 core schema (yaml/dist/schema/core), as js-yaml types. */
const CORE_TYPES = [
  new Type('tag:yaml.org,2002:null', {
    kind: 'scalar',
    resolve: (s: string) => /^(?:~|[Nn]ull|NULL)?$/.test(s),
    construct: () => null,
  }),
  new Type('tag:yaml.org,2002:bool', {
    kind: 'scalar',
    resolve: (s: string) => /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s),
    construct: (s: string) => s[0] === 't' || s[0] === 'T',
  }),
  new Type('tag:yaml.org,2002:int', {
    kind: 'scalar',
    resolve: (s: string) => /^0o[0-7]+$/.test(s) || /^[-+]?[0-9]+$/.test(s) || /^0x[0-9a-fA-F]+$/.test(s),
    construct: (s: string) => (s.startsWith('0o') ? parseInt(s.slice(2), 8) : s.startsWith('0x') ? parseInt(s.slice(2), 16) : parseInt(s, 10)),
  }),
  new Type('tag:yaml.org,2002:float', {
    kind: 'scalar',
    resolve: (s: string) =>
      /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s) ||
      /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s) ||
      /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s),
    construct: (s: string) =>
      /^[-+]?\.(?:inf|Inf|INF)$/.test(s) ? (s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY) : /^\.(?:nan|NaN|NAN)$/.test(s) ? NaN : parseFloat(s),
  }),
];

const YAML_CORE = FAILSAFE_SCHEMA.extend({ implicit: CORE_TYPES });

/** A node as js-yaml composed it: where it starts, what it is, and (collections) its children in order. */
interface FastNode {
  start: number;
  end: number;
  kind: string | null;
  result: unknown;
  anchored: boolean;
  /** Mapping: key, value, key, value...; sequence: the items. */
  children: FastNode[];
  /** Mapping: the child index of each key (as a string), built on the first look-up. */
  keyIndex?: Map<string, number>;
}

export interface FastParse {
  value: Record<string, unknown>;
  /** Offset of the node at `path` (of its key, with `key`), exactly as parseSource's locate finds it. */
  offsetOf(path: readonly (string | number)[], key?: boolean): number;
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

class Declined extends Error {}

/** Read `text` the quick way, or undefined when it must be read in full (see above). */
export function parseFast(text: string): FastParse | undefined {
  // Left to the full parse: directives; any '!' that may start a tag; any '#' right after another
  // character (yaml refuses a comment not separated by white space, js-yaml takes it). Either may
  // also sit inside a quoted string: that only costs the quick way.
  if (/^%/m.test(text) || /(?:^|[\s[{,])!/.test(text) || /[^\s]#/.test(text)) return undefined;
  const startAt = (i: number) => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (isSpace(c)) i++;
      else if (c === 35 /* # */) {
        while (i < text.length && text.charCodeAt(i) !== 10) i++;
      } else return i;
    }
  };
  const stack: FastNode[] = [{ start: 0, end: 0, kind: null, result: undefined, anchored: false, children: [] }];
  const listener = (event: 'open' | 'close', state: { position: number; kind: string | null; result: unknown; anchor: string | null }) => {
    if (event === 'open') {
      stack.push({ start: startAt(state.position), end: 0, kind: null, result: undefined, anchored: false, children: [] });
      return;
    }
    let node = stack.pop()!;
    node.kind = state.kind;
    node.result = state.result;
    node.end = state.position;
    node.anchored = state.anchor !== null;
    // js-yaml composes some nodes twice, one inside the other (a flow collection as a sequence item): keep the inner one.
    if (node.children.length === 1 && node.children[0].result === node.result && node.children[0].kind === node.kind) node = node.children[0];
    stack[stack.length - 1].children.push(node);
  };
  let value: unknown;
  try {
    value = load(text, { schema: YAML_CORE, listener: listener as never });
  } catch {
    return undefined;
  }
  const root = stack[0].children[0];
  if (stack.length !== 1 || !root || root.kind !== 'mapping' || value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  try {
    check(root, text);
  } catch (e) {
    if (e instanceof Declined) return undefined;
    throw e;
  }
  return { value: value as Record<string, unknown>, offsetOf: (path, key) => offsetOf(root, path, key ?? false) };
}

/** Decline what the full parse might read otherwise (see the module comment). */
function check(node: FastNode, text: string): void {
  if (node.anchored || node.result === null || node.result === undefined || node.kind === null) throw new Declined();
  const written = text.slice(node.start, node.end);
  if (node.kind === 'scalar') {
    if (written.includes('\n')) throw new Declined();
    return;
  }
  // A flow collection spanning lines: js-yaml takes less indentation on its later lines than yaml does.
  if ((written[0] === '{' || written[0] === '[') && written.includes('\n')) throw new Declined();
  if (node.kind === 'mapping') {
    const keys = Object.keys(node.result as object).length;
    if (node.children.length !== 2 * keys) throw new Declined();
    for (let i = 0; i < node.children.length; i += 2) {
      const k = node.children[i].result;
      if (!(typeof k === 'string' || typeof k === 'number' || typeof k === 'boolean') || k === '<<' || k === '__proto__') throw new Declined();
    }
  } else if (node.kind === 'sequence') {
    if (node.children.length !== (node.result as unknown[]).length) throw new Declined();
  } else throw new Declined();
  for (const child of node.children) check(child, text);
}

/** parseSource's locate, over js-yaml's nodes: a missing key or item points at its collection. */
function offsetOf(root: FastNode, path: readonly (string | number)[], key: boolean): number {
  let node = root;
  let keyNode: FastNode | undefined;
  for (const seg of path) {
    keyNode = undefined;
    if (node.kind === 'mapping') {
      // An index per mapping, not a scan per look-up: validate locates one warning per unused principal.
      if (!node.keyIndex) {
        node.keyIndex = new Map();
        for (let i = node.children.length - 2; i >= 0; i -= 2) node.keyIndex.set(String(node.children[i].result), i);
      }
      const found = node.keyIndex.get(String(seg)) ?? -1;
      if (found < 0) return node.start;
      keyNode = node.children[found];
      node = node.children[found + 1];
    } else if (node.kind === 'sequence') {
      const item = /^\d+$/.test(String(seg)) ? node.children[Number(seg)] : undefined;
      if (!item) return node.start;
      node = item;
    } else return node.start;
  }
  return (key && keyNode ? keyNode : node).start;
}
