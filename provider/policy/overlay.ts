import { Diagnostic } from '../diagnostics/diagnostic';
import { Policy } from '../model/types';
import { PathSegment, SourceFile } from './source';
import { Locator } from './schema';

/**
 * Stack overlays (stacks/<stack>.yaml), merged onto the policy by these rules:
 * - mappings merge key by key, recursively;
 * - lists and scalars replace the base value;
 * - a key set to null deletes it from the base;
 * - `apps: [...]` (top level of the stack file) keeps only those apps, and drops grant references to others;
 * - `guardrails` switch on rules for this stack (they replace the policy's own, key by key).
 */
export interface StackFile {
  overlay?: Record<string, unknown>;
  apps?: string[];
  guardrails?: Record<string, unknown>;
}

export function deepMerge(base: unknown, overlay: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overlay)) return overlay;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overlay)) {
    if (v === null) delete out[k];
    else out[k] = k in out ? deepMerge(out[k], v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function has(root: unknown, path: readonly PathSegment[]): boolean {
  let v: unknown = root;
  for (const seg of path) {
    if (!isPlainObject(v) && !Array.isArray(v)) return false;
    if (!(String(seg) in (v as object))) return false;
    v = (v as Record<string, unknown>)[String(seg)];
  }
  return true;
}

/** Merge a stack onto the policy value. The result is what schema and rules validate. */
export function applyOverlay(base: unknown, stack: StackFile): unknown {
  let merged = stack.overlay ? deepMerge(base, stack.overlay) : base;
  if (stack.guardrails && isPlainObject(merged)) {
    merged = { ...merged, guardrails: deepMerge(merged.guardrails ?? {}, stack.guardrails) };
  }
  return merged;
}

/** Errors point at the file that gave the value: the stack when it set it, else the policy. */
export function compositeLocator(base: SourceFile, stack: SourceFile | undefined): Locator {
  return (path, key) => {
    if (stack) {
      const sv = stack.value as StackFile;
      if (path[0] === 'guardrails' && sv.guardrails && has(sv.guardrails, path.slice(1))) {
        const p = stack.locate(path, key) ?? { line: 1, column: 1 };
        return { file: stack.file, ...p };
      }
      if (sv.overlay && path.length > 0 && has(sv.overlay, path)) {
        const p = stack.locate(['overlay', ...path], key) ?? { line: 1, column: 1 };
        return { file: stack.file, ...p };
      }
    }
    const p = base.locate(path, key) ?? { line: 1, column: 1 };
    return { file: base.file, ...p };
  };
}

/** Keep only the stack's apps; grants lose references to the others (and vanish if none remain). */
export function restrictApps(policy: Policy, stack: SourceFile | undefined): { policy: Policy; diagnostics: Diagnostic[] } {
  const wanted = (stack?.value as StackFile | undefined)?.apps;
  if (!stack || !wanted) return { policy, diagnostics: [] };
  const diagnostics: Diagnostic[] = [];
  wanted.forEach((a, i) => {
    if (!Object.hasOwn(policy.apps, a)) {
      const p = stack.locate(['apps', i]) ?? { line: 1, column: 1 };
      diagnostics.push({ code: 'overlay-unknown-app', severity: 'error', message: `stack lists app "${a}", which the policy does not define`, file: stack.file, ...p, path: `/apps/${i}` });
    }
  });
  const keep = new Set(wanted);
  const apps = Object.fromEntries(Object.entries(policy.apps).filter(([k]) => keep.has(k)));
  const grants = policy.grants
    .map((g) => (g.apps === undefined ? g : { ...g, apps: g.apps.filter((a) => a === '*' || keep.has(a)) }))
    .filter((g) => g.apps === undefined || g.apps.length > 0);
  return { policy: { ...policy, apps, grants }, diagnostics };
}
