import * as fs from 'node:fs';
import * as path from 'node:path';
import { Diagnostic } from '../diagnostics/diagnostic';
import { checkPolicy, CheckedPolicy } from './check';
import { ExpiryCheckOptions } from './rules-expiry';
import { MAX_FILE_BYTES, parseSource, SourceFile } from './source';
import { decodePolicyText } from './text';
import { pushAll } from '../model/collections';

export interface LoadOptions extends ExpiryCheckOptions {
  /** Stack name: stacks/<stack>.yaml is merged onto the policy. */
  stack?: string;
  /** Where stack files live; default: ./stacks, then <policy dir>/stacks, then <policy dir>/../stacks. */
  stacksDir?: string;
}

export interface LoadedPolicy extends CheckedPolicy {
  /** File contents by name, for caret excerpts in diagnostics. */
  sources: Map<string, string>;
  stackFile?: string;
}

/** What a file that is not a regular file is, for the one sentence that refuses it. */
function fileKind(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Read a policy or overlay file: a regular file of at most MAX_FILE_BYTES, as UTF-8 text.
 * The file is opened without blocking (a FIFO with no writer opens at once) and its type taken from
 * the open descriptor (fstat), so a name swapped for a FIFO or a device after a check cannot slip
 * through; at most MAX_FILE_BYTES + 1 bytes are ever read, whatever the file claims its size is.
 */
function readText(file: string): { text?: string; diagnostic?: Diagnostic } {
  const d = (message: string, code: Diagnostic['code'] = 'file-unreadable'): Diagnostic => ({ code, severity: 'error', message, file, line: 0, column: 0, path: '' });
  const tooLarge = (bytes: string) => d(`file is ${bytes}; the limit is ${MAX_FILE_BYTES / 1048576} MiB`, 'file-too-large');
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'EISDIR') {
      // A socket (or a FIFO opened for writing only) cannot be opened for reading; say what it is.
      let kind = 'not a regular file';
      try {
        kind = fileKind(fs.statSync(file));
      } catch {
        // keep the general word
      }
      return { diagnostic: d(`is ${kind}, not a regular file; a policy must be a regular file`, 'file-not-regular') };
    }
    return { diagnostic: d(code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot read: ${(e as Error).message}`) };
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return { diagnostic: d(`is ${fileKind(stat)}, not a regular file; a policy must be a regular file`, 'file-not-regular') };
    if (stat.size > MAX_FILE_BYTES) return { diagnostic: tooLarge(`${(stat.size / 1048576).toFixed(1)} MiB`) };
    // The size is a hint only (the file may grow while it is read): the cap holds on the bytes read.
    let buf = Buffer.allocUnsafe(Math.min(stat.size, MAX_FILE_BYTES) + 1);
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length > MAX_FILE_BYTES) return { diagnostic: tooLarge(`more than ${MAX_FILE_BYTES / 1048576} MiB`) };
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, MAX_FILE_BYTES + 1));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const n = fs.readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    const bytes = buf.subarray(0, length);
    if (bytes.includes(0)) return { diagnostic: d('file is binary, not YAML text', 'yaml-syntax') };
    return decodePolicyText(file, bytes);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { diagnostic: d(code === 'EISDIR' ? 'is a directory, not a regular file; a policy must be a regular file' : `cannot read: ${(e as Error).message}`) };
  } finally {
    fs.closeSync(fd);
  }
}

export function findStackFile(policyFile: string, stack: string, stacksDir?: string): string | undefined {
  const dirs = stacksDir
    ? [stacksDir]
    : [path.resolve('stacks'), path.join(path.dirname(path.resolve(policyFile)), 'stacks'), path.join(path.dirname(path.resolve(policyFile)), '..', 'stacks')];
  for (const dir of dirs) {
    for (const ext of ['.yaml', '.yml']) {
      const f = path.join(dir, stack + ext);
      if (fs.existsSync(f)) return path.relative(process.cwd(), f) || f;
    }
  }
  return undefined;
}

/** Read, parse and validate a policy (and its stack overlay). Never throws for user errors. */
export function loadPolicy(file: string, options: LoadOptions = {}): LoadedPolicy {
  const sources = new Map<string, string>();
  const base = readSource(file, sources);
  let stack: SourceFile | undefined;
  let stackFile: string | undefined;
  const diagnostics: Diagnostic[] = [...base.diagnostics];
  if (options.stack !== undefined) {
    stackFile = findStackFile(file, options.stack, options.stacksDir);
    if (!/^[A-Za-z0-9_.-]+$/.test(options.stack) || !stackFile) {
      diagnostics.push({ code: 'unknown-stack', severity: 'error', message: `no overlay for stack "${options.stack}" (looked for stacks/${options.stack}.yaml)`, file, line: 0, column: 0, path: '' });
    } else {
      const s = readSource(stackFile, sources);
      pushAll(diagnostics, s.diagnostics);
      stack = s.source;
    }
  }
  if (!base.source || diagnostics.some((d) => d.severity === 'error')) return { policy: undefined, diagnostics, sources, ...(stackFile ? { stackFile } : {}) };
  // Loading reads files anyway: it may read the clock too (expiring grants), unless the caller set it.
  const checked = checkPolicy(base.source, stack, { now: options.now ?? new Date(), ...(options.expiryWarningDays !== undefined ? { expiryWarningDays: options.expiryWarningDays } : {}) });
  return { ...checked, diagnostics: [...diagnostics, ...checked.diagnostics], sources, ...(stackFile ? { stackFile } : {}) };
}

function readSource(file: string, sources: Map<string, string>): { source?: SourceFile; diagnostics: Diagnostic[] } {
  const r = readText(file);
  if (r.diagnostic) return { diagnostics: [r.diagnostic] };
  sources.set(file, r.text!);
  return parseSource(file, r.text!);
}
