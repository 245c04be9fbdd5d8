import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Generated passwords are never printed. The CLI hands them over in a file only its owner can read
 * (mode 0600), merged with what the file already holds; pipelines use Pulumi secret outputs instead.
 */
export function writeSecretsFile(file: string, database: string, secrets: ReadonlyMap<string, string>, now = new Date()): void {
  if (secrets.size === 0) return;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  let existing: Record<string, unknown> = {};
  try {
    existing = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    existing = {};
  }
  const logins = (existing.logins ?? {}) as Record<string, unknown>;
  for (const [login, password] of secrets) logins[login] = { password, database, setAt: now.toISOString() };
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ ...existing, logins }, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
  fs.chmodSync(file, 0o600);
}

export function defaultSecretsFile(env: NodeJS.ProcessEnv): string {
  return env.PMGRANTS_SECRETS_FILE ?? path.join('.pmgrants', 'credentials.json');
}
