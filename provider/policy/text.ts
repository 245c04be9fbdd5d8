import { Diagnostic } from '../diagnostics/diagnostic';

/**
 * Bytes of a policy file -> its text, pure. Invalid UTF-8 is a diagnostic at the first bad byte, never
 * silently U+FFFD (a Latin-1 name would otherwise create a role named with the replacement character).
 */
export function decodePolicyText(file: string, bytes: Uint8Array): { text?: string; diagnostic?: Diagnostic } {
  const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    return { text: fatal.decode(bytes).replace(/^\uFEFF/, '') };
  } catch {
    const at = Math.max(0, firstInvalidUtf8(bytes));
    const before = Buffer.from(bytes.buffer, bytes.byteOffset, at);
    const lineStart = before.lastIndexOf(0x0a) + 1;
    const line = countNewlines(before) + 1;
    const column = before.subarray(lineStart).toString('utf8').replace(/^\uFEFF/, '').length + 1;
    const hex = bytes[at].toString(16).toUpperCase().padStart(2, '0');
    return {
      diagnostic: {
        code: 'invalid-utf8',
        severity: 'error',
        message: `byte 0x${hex} is not valid UTF-8; a policy file is UTF-8 text`,
        file,
        line,
        column,
        path: '',
        hint: 're-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)',
      },
    };
  }
}

function countNewlines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) n++;
  return n;
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629), or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f; // no UTF-16 surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need >= b.length) return i;
    if (b[i + 1] < lo || b[i + 1] > hi) return i;
    for (let k = 2; k <= need; k++) if (b[i + k] < 0x80 || b[i + k] > 0xbf) return i;
    i += need + 1;
  }
  return -1;
}
