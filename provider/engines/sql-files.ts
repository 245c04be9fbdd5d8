import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../package-root';

/**
 * Catalog SQL lives in named .sql files, sql/<name>.sql next to each engine's sources. tsc does not
 * copy .sql files into dist/, so from dist/ (or the one-file CLI bundle) the files are found in the
 * source tree the package ships: <package root>/provider/engines/<engine>/sql.
 */
export function sqlFileDirs(engine: 'postgres' | 'sqlserver', dir: string): string[] {
  return [path.join(dir, 'sql'), path.join(packageRoot(), 'provider', 'engines', engine, 'sql')];
}

export interface SqlFileOptions {
  /** Leave out the leading `--` comment lines: they document the query; the server gets the statements alone. */
  withoutLeadingComments?: boolean;
}

/**
 * A reader of one engine's sql/<name>.sql files: the text without trailing whitespace, read once.
 * Throws one clear sentence when a file is missing.
 */
export function sqlFileReader(defaultDirs: () => readonly string[], options: SqlFileOptions = {}): (name: string, dirs?: readonly string[]) => string {
  const cache = new Map<string, string>();
  return (name, dirs = defaultDirs()) => {
    const cached = cache.get(name);
    if (cached !== undefined) return cached;
    for (const dir of dirs) {
      const file = path.join(dir, `${name}.sql`);
      if (fs.existsSync(file)) {
        let text = fs.readFileSync(file, 'utf8').trimEnd();
        if (options.withoutLeadingComments) text = text.replace(/^(--.*\n)+/, '');
        cache.set(name, text);
        return text;
      }
    }
    throw new Error(`pmgrants installation is incomplete: catalog query ${name}.sql not found in ${dirs.join(' or ')}`);
  };
}
