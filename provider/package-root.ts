import * as fs from 'node:fs';
import * as path from 'node:path';

let root: string | undefined;

/**
 * The directory of this installation's package.json (the one named "pmgrants"), found by walking up
 * from this file: the same answer from the TypeScript sources, from dist/, and from the one-file CLI
 * bundle (dist/pmgrants.js), whose __dirname is dist. Files that ship beside the code (the catalog SQL,
 * the JSON Schemas, the examples) are found from here.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'pmgrants') return (root = dir);
      } catch {
        // not ours: keep looking
      }
    }
    if (path.dirname(dir) === dir) throw new Error(`pmgrants installation is incomplete: no package.json named "pmgrants" above ${__dirname}`);
  }
}

/** The version in package.json. */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
