import { Diagnostic } from '../diagnostics/diagnostic';
import { escapeChar } from '../diagnostics/printable';
import { Locator } from './schema';
import { PathSegment } from './source';

/**
 * Characters no name in a policy may hold, whatever the engine accepts: NUL (PostgreSQL cannot store
 * it, and would fail late, inside inspect), the other C0 and C1 controls and DEL (a newline or an ESC
 * sequence in a role name forges plan lines or recolours a terminal), bidirectional overrides,
 * isolates and marks (a name shown in another order than it is), the line and paragraph separators,
 * and lone surrogates (not Unicode text; neither engine stores them as written).
 */
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const CHAR_NAMES: Record<number, string> = {
  0x00: 'NUL',
  0x09: 'TAB',
  0x0a: 'LINE FEED',
  0x0d: 'CARRIAGE RETURN',
  0x1b: 'ESC',
  0x7f: 'DEL',
  0x061c: 'ARABIC LETTER MARK',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x2028: 'LINE SEPARATOR',
  0x2029: 'PARAGRAPH SEPARATOR',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
};

/** The first forbidden character of a name, described ("U+001B (ESC) at character 4"), or undefined. */
export function forbiddenNameCharacter(name: string): string | undefined {
  const m = FORBIDDEN.exec(name);
  if (!m) return undefined;
  const cp = m[0].charCodeAt(0);
  const label =
    CHAR_NAMES[cp] ??
    (cp >= 0xd800 && cp <= 0xdfff ? 'a lone surrogate' : cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ? 'a control character' : 'a format character');
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} (${label}, written ${escapeChar(m[0])}) at character ${[...name.slice(0, m.index)].length + 1}`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Every name of a (merged) policy value that holds a forbidden character: keys and values that become or select database objects.
 * Tolerant of any shape, so it runs before the schema and its problems are reported with the schema's.
 */
function* badNamesOf(value: unknown): Generator<{ path: PathSegment[]; name: string; atKey: boolean; what: string }> {
  if (!isObj(value)) return;
  // Only names with a forbidden character are yielded (paths are built for those alone).
  const str = function* (path: PathSegment[], v: unknown, what: string) {
    if (typeof v === 'string' && FORBIDDEN.test(v)) yield { path, name: v, atKey: false, what };
  };
  const list = function* (path: PathSegment[], v: unknown, what: string) {
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) if (typeof v[i] === 'string' && FORBIDDEN.test(v[i])) yield* str([...path, i], v[i], what);
  };
  const keys = function* (path: PathSegment[], v: unknown, what: string) {
    if (isObj(v)) for (const k of Object.keys(v)) if (FORBIDDEN.test(k)) yield { path: [...path, k], name: k, atKey: true, what };
  };
  const w = value.warehouse;
  if (isObj(w)) yield* str(['warehouse', 'database'], w.database, 'database name');
  const o = value.options;
  if (isObj(o)) yield* str(['options', 'prefix'], o.prefix, 'prefix');
  const principals = value.principals;
  yield* keys(['principals'], principals, 'principal key');
  if (isObj(principals)) {
    for (const k of Object.keys(principals)) {
      const p = principals[k];
      if (isObj(p) && typeof p.name === 'string' && FORBIDDEN.test(p.name)) yield* str(['principals', k, 'name'], p.name, 'principal name');
    }
  }
  const apps = value.apps;
  yield* keys(['apps'], apps, 'app key');
  if (isObj(apps)) {
    for (const [k, a] of Object.entries(apps)) {
      if (!isObj(a)) continue;
      yield* str(['apps', k, 'schema'], a.schema, 'schema name');
      yield* str(['apps', k, 'ownerTeam'], a.ownerTeam, 'owner team');
      yield* list(['apps', k, 'personas'], a.personas, 'persona');
      yield* keys(['apps', k, 'roles'], a.roles, 'role slot');
      if (isObj(a.roles)) for (const [slot, r] of Object.entries(a.roles)) yield* str(['apps', k, 'roles', slot], r, 'adopted role name');
    }
  }
  const personas = value.personas;
  yield* keys(['personas'], personas, 'persona name');
  if (isObj(personas)) for (const [k, p] of Object.entries(personas)) if (isObj(p)) yield* list(['personas', k, 'manages'], p.manages, 'persona');
  if (Array.isArray(value.grants)) {
    for (let i = 0; i < value.grants.length; i++) {
      const g = value.grants[i];
      if (!isObj(g)) continue;
      yield* str(['grants', i, 'persona'], g.persona, 'persona');
      yield* list(['grants', i, 'to'], g.to, 'principal');
      yield* list(['grants', i, 'apps'], g.apps, 'app');
    }
  }
  const guardrails = value.guardrails;
  if (isObj(guardrails)) yield* list(['guardrails', 'forbidWildcardFor'], guardrails.forbidWildcardFor, 'persona');
  if (Array.isArray(value.protected)) {
    for (let i = 0; i < value.protected.length; i++) {
      const entry = value.protected[i];
      yield* str(['protected', i], entry, 'protected role');
      if (!isObj(entry)) continue;
      yield* str(['protected', i, 'role'], entry.role, 'protected role');
      yield* list(['protected', i, 'members'], entry.members, 'protected role member');
    }
  }
}

/** One name-character error per name that holds a forbidden character. */
export function nameCharacterDiagnostics(value: unknown, locate: Locator, stackApps?: { value: unknown; locate: Locator }): Diagnostic[] {
  const out: Diagnostic[] = [];
  const check = (n: { path: PathSegment[]; name: string; atKey: boolean; what: string }, at: Locator) => {
    const bad = forbiddenNameCharacter(n.name);
    if (!bad) return;
    const loc = at(n.path, n.atKey);
    out.push({
      code: 'name-character',
      severity: 'error',
      message: `${n.what} "${n.name}" holds ${bad}; names may not hold control characters, DEL or bidirectional formatting characters`,
      file: loc.file,
      line: loc.line,
      column: loc.column,
      path: '/' + n.path.join('/'),
    });
  };
  for (const n of badNamesOf(value)) check(n, locate);
  const apps = stackApps && isObj(stackApps.value) ? stackApps.value.apps : undefined;
  if (Array.isArray(apps)) apps.forEach((a, i) => typeof a === 'string' && check({ path: ['apps', i], name: a, atKey: false, what: 'stack app' }, stackApps!.locate));
  return out;
}
