/**
 * What the Pulumi end-to-end tests read of a run: the operations the engine reported, and every file
 * of a local state backend.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Automation from '@pulumi/pulumi/automation';

/** Operations the engine reported, by resource name, leaving out the ones that do nothing. */
export function operations(events: Automation.EngineEvent[]): Record<string, string> {
  const ops: Record<string, string> = {};
  for (const e of events) {
    const m = e.resourcePreEvent?.metadata;
    if (m && m.op !== 'same' && m.op !== 'read' && m.op !== 'refresh') ops[m.urn.split('::').pop()!] = m.op;
  }
  return ops;
}

/** Every file of the state backend under `dir`/state (checkpoints, history, backups), as text, named relative to `dir`. */
export function stateFiles(dir: string): { file: string; text: string }[] {
  const files: { file: string; text: string }[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push({ file: path.relative(dir, p), text: fs.readFileSync(p, 'utf8') });
    }
  };
  walk(path.join(dir, 'state'));
  return files;
}
