import * as fs from 'node:fs';
import * as path from 'node:path';
import { Diagnostic } from '../diagnostics/diagnostic';
import { checkPolicy, CheckedPolicy } from './check';
import { ExpiryCheckOptions } from './rules-expiry';
import { MAX_FILE_BYTES, parseSource, SourceFile } from './source';

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

function readText(file: string): { text?: string; diagnostic?: Diagnostic } {
  const d = (message: string, code: Diagnostic['code'] = 'file-unreadable'): Diagnostic => ({ code, severity: 'error', message, file, line: 0, column: 0, path: '' });
  try {
    const stat = fs.statSync(file);
    if (stat.isDirectory()) return { diagnostic: d('is a directory, not a policy file') };
    if (stat.size > MAX_FILE_BYTES) {
      return { diagnostic: d(`file is ${(stat.size / 1048576).toFixed(1)} MiB; the limit is ${MAX_FILE_BYTES / 1048576} MiB`, 'file-too-large') };
    }
    const buf = fs.readFileSync(file);
    if (buf.includes(0)) return { diagnostic: d('file is binary, not YAML text', 'yaml-syntax') };
    return { text: buf.toString('utf8').replace(/^\uFEFF/, '') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { diagnostic: d(code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot read: ${(e as Error).message}`) };
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
      diagnostics.push(...s.diagnostics);
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
