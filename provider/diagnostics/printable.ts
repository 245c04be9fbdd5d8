/**
 * Names come from policies and from catalogs, and a catalog name can hold anything: a newline that
 * forges a plan line in a pull-request comment, an ESC sequence that recolours a terminal, a bidi
 * override that shows text in another order than it is. Everything printed for a person goes through
 * here. Pure.
 */

/** What is escaped on output: controls (C0, DEL, C1), format characters (bidi marks and overrides,
 *  zero-width ones), lone surrogates, and the line and paragraph separators. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
const UNPRINTABLE_ALL = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One character as an escape: \n, \x1b, \u202e, \u{e0001}. */
export function escapeChar(c: string): string {
  if (SHORT[c]) return SHORT[c];
  const cp = c.codePointAt(0)!;
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\u{${cp.toString(16)}}`;
}

/** The text with every character that is not printable escaped; text without one is returned as is. */
export function printable(text: string): string {
  return UNPRINTABLE.test(text) ? text.replace(UNPRINTABLE_ALL, escapeChar) : text;
}

/**
 * A statement's display for printing, on as many lines as the statement itself has: a line break
 * inside a quoted identifier or string ("...", '...', and for T-SQL [...]) is escaped like any other
 * unprintable character, a line break of the statement's own layout is kept. Comments (-- and /* *\/)
 * are skipped, so that an apostrophe in one does not open a string.
 */
export function printableStatement(display: string, brackets: boolean): string {
  if (!UNPRINTABLE.test(display)) return display;
  let out = '';
  let i = 0;
  /** The closing character while inside a quoted span; '' outside. */
  let close = '';
  while (i < display.length) {
    const c = display[i];
    if (close === '') {
      if (c === '-' && display[i + 1] === '-') {
        const end = display.indexOf('\n', i);
        const stop = end < 0 ? display.length : end;
        out += printable(display.slice(i, stop));
        i = stop;
        continue;
      }
      if (c === '/' && display[i + 1] === '*') {
        const end = display.indexOf('*/', i + 2);
        const stop = end < 0 ? display.length : end + 2;
        out += display
          .slice(i, stop)
          .split('\n')
          .map((l) => printable(l))
          .join('\n');
        i = stop;
        continue;
      }
      if (c === '"' || c === "'") close = c;
      else if (c === '[' && brackets) close = ']';
      const ch = codePointAt(display, i);
      out += c === '\n' ? c : printable(ch);
      i += ch.length;
      continue;
    }
    if (c === close) {
      // A doubled closing character is an escaped one: still inside.
      if (display[i + 1] === close) {
        out += c + c;
        i += 2;
        continue;
      }
      close = '';
      out += c;
      i++;
      continue;
    }
    const ch = codePointAt(display, i);
    out += printable(ch);
    i += ch.length;
  }
  return out;
}

/** The whole character at i: a surrogate pair together, a lone surrogate alone. */
function codePointAt(text: string, i: number): string {
  return String.fromCodePoint(text.codePointAt(i)!);
}

/** "1 change", "3 changes": a count with its noun, for sentences printed for a person. */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
