import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GeneratedPassword } from '../engines/engine';
import { PmgrantsError } from '../model/errors';
import { ActualState, DesiredState } from '../model/types';
import { DeliveredPasswords, fileRepairs, unverifiablePending } from '../plan/delivery';
import { Plan } from '../plan/change';

/**
 * The secrets file: where the CLI delivers generated passwords (pipelines use Pulumi secret outputs).
 * Never printed, mode 0600, written write-ahead: a password is in the file, fsynced, before the server
 * is asked to take it (as `pending`), and becomes the login's `password` once the server has it.
 * docs/credentials.md describes the format and what happens on interruption.
 *
 *   { "version": 2, "logins": { "<login>": { "password", "generation", "database", "setAt", "validUntil",
 *                                            "pending": { "password", "generation", "createdAt", "validUntil" } } } }
 *
 * Files of version 1 (no "version", entries without "generation") are read as they are and written back
 * as version 2. Keys the file holds beside these are kept.
 */
export const SECRETS_FILE_VERSION = 2;

export interface PendingSecret {
  password: string;
  generation: string;
  createdAt: string;
  /** When it stops being valid (security.rotation.validFor, pmgrants checkout); absent: no end. */
  validUntil?: string;
}

export interface SecretEntry {
  /** The delivered password: the one the server holds (absent for a login whose first password is still pending). */
  password?: string;
  /** Its generation, as the login's marker records it (absent in version 1 files). */
  generation?: string;
  database?: string;
  setAt?: string;
  /** When the delivered password stops being valid (PostgreSQL refuses it after; docs/credentials.md); absent: no end. */
  validUntil?: string;
  /** A password written before the server was asked to take it; promoted once the server has it. */
  pending?: PendingSecret;
}

export interface SecretsDocument {
  version: number;
  logins: Record<string, SecretEntry>;
  [key: string]: unknown;
}

/** The secrets file a command uses, absolute: --secrets-file, else $PMGRANTS_SECRETS_FILE, else .pmgrants/credentials.json, from the working directory. */
export function secretsFileOf(values: Record<string, unknown>, env: NodeJS.ProcessEnv, cwd: string): string {
  return path.resolve(cwd, (values['secrets-file'] as string | undefined) ?? env.PMGRANTS_SECRETS_FILE ?? path.join('.pmgrants', 'credentials.json'));
}

/** How long a writer waits for another one's lock file before giving up. */
const LOCK_WAIT_MS = 15_000;

/**
 * One secrets file. `open` checks the destination without changing anything; every write re-reads the
 * file under a lock file (`<file>.lock`, O_EXCL), applies its change to what is there now (so two
 * applies sharing the file keep each other's entries), and replaces the file atomically.
 */
export class SecretsFile {
  private constructor(
    readonly file: string,
    private document: SecretsDocument | undefined,
    private readonly lockWaitMs: number,
  ) {}

  /**
   * Check that `file` can hold secrets: an existing regular file (not a link, FIFO or directory) whose
   * content is a secrets file, or a path that can be created, in a directory the user owns (or a
   * shared one with the sticky bit, like /tmp) and can write. Throws a PmgrantsError of one sentence;
   * changes nothing.
   */
  static open(file: string, options: { forWriting: boolean; lockWaitMs?: number }): SecretsFile {
    const absolute = path.resolve(file);
    const document = readDocument(absolute);
    if (options.forWriting) checkDirectory(absolute);
    return new SecretsFile(absolute, document, options.lockWaitMs ?? LOCK_WAIT_MS);
  }

  /** The file existed when opened (or was written since). */
  get exists(): boolean {
    return this.document !== undefined;
  }

  /** The entries as last read or written. */
  get logins(): Readonly<Record<string, SecretEntry>> {
    return this.document?.logins ?? {};
  }

  /** The generations the file holds, for plan (diffState's `delivered`). */
  delivered(): DeliveredPasswords {
    const out: DeliveredPasswords = {};
    for (const [login, e] of Object.entries(this.logins)) out[login] = { generation: e.generation, pending: e.pending?.generation };
    return out;
  }

  /** Write-ahead: record passwords about to be set, fsynced, before the server sees them. */
  stagePending(passwords: readonly GeneratedPassword[], database: string, now = new Date()): void {
    if (passwords.length === 0) return;
    this.update((logins) => {
      for (const p of passwords) {
        const entry = logins[p.login] ?? { database };
        entry.pending = { password: p.password, generation: p.generation, createdAt: now.toISOString(), ...(p.validUntil ? { validUntil: p.validUntil } : {}) };
        logins[p.login] = entry;
      }
    });
  }

  /** The server holds these logins' pending passwords: make them the delivered ones. */
  promote(logins: Iterable<string>, database: string, now = new Date()): number {
    const wanted = [...logins].filter((l) => this.logins[l]?.pending);
    if (wanted.length === 0) return 0;
    let promoted = 0;
    this.update((entries) => {
      for (const login of wanted) {
        const e = entries[login];
        if (!e?.pending) continue;
        const { validUntil } = e.pending;
        entries[login] = { password: e.pending.password, generation: e.pending.generation, database: e.database ?? database, setAt: now.toISOString(), ...(validUntil ? { validUntil } : {}) };
        promoted++;
      }
    });
    return promoted;
  }

  /** Forget pending passwords the server never took (it holds the delivered one). */
  discardPending(logins: Iterable<string>): void {
    const wanted = [...logins].filter((l) => this.logins[l]?.pending);
    if (wanted.length === 0) return;
    this.update((entries) => {
      for (const login of wanted) {
        const e = entries[login];
        if (!e?.pending) continue;
        const { pending: _dropped, ...rest } = e;
        if (rest.password === undefined) delete entries[login];
        else entries[login] = rest;
      }
    });
  }

  /** Re-read under the lock, change, write atomically (fsync file, rename, fsync directory). */
  private update(change: (logins: Record<string, SecretEntry>) => void): void {
    const dir = path.dirname(this.file);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw cannotWrite(this.file, err);
    }
    const release = lock(this.file, this.lockWaitMs);
    try {
      const current = readDocument(this.file) ?? { version: SECRETS_FILE_VERSION, logins: {} };
      const logins = { ...current.logins };
      change(logins);
      const next: SecretsDocument = { ...current, version: SECRETS_FILE_VERSION, logins };
      writeAtomically(this.file, JSON.stringify(next, null, 2) + '\n');
      this.document = next;
    } finally {
      release();
    }
  }
}

/** Plan notes about the secrets file: what apply repairs in it alone, and what cannot be checked. */
export function addDeliveryNotes(plan: Plan, desired: DesiredState, store: SecretsFile, actual: ActualState): void {
  // Generated logins that exist: only their passwords can have been delivered, or not.
  const existing = new Set(actual.logins.map((l) => l.name));
  const generated = desired.logins.filter((l) => l.password === 'generated' && !l.adopted && existing.has(l.name)).map((l) => l.name);
  if (generated.length === 0) return;
  if (!store.exists) {
    plan.warnings.push(`delivery of generated passwords not checked: there is no secrets file at ${store.file}`);
    return;
  }
  const { promote, discard } = fileRepairs(store.logins, actual.passwordGeneration);
  if (promote.length > 0 || discard.length > 0) plan.secretsFile = { promote, discard };
  if (promote.length > 0) {
    plan.warnings.push(
      `the server holds the pending password${promote.length === 1 ? '' : 's'} of ${listLogins(promote)} in ${store.file} (an apply was interrupted); apply records ${promote.length === 1 ? 'it' : 'them'} as delivered`,
    );
  }
  const passwordless = new Set(actual.passwordMissing);
  const unknown = unverifiablePending(
    store.logins,
    actual.passwordGeneration,
    generated.filter((l) => !passwordless.has(l)),
  );
  if (unknown.length > 0 && !actual.passwordGeneration) {
    plan.warnings.push(
      `${listLogins(unknown)} ${unknown.length === 1 ? 'has' : 'have'} a pending password in ${store.file} (an apply was interrupted) and this server does not record which one it holds; run pmgrants rotate for ${unknown.length === 1 ? 'it' : 'them'}`,
    );
  }
}

function listLogins(logins: readonly string[]): string {
  return logins.length <= 5 ? logins.join(', ') : `${logins.slice(0, 5).join(', ')} and ${logins.length - 5} more login${logins.length === 6 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

function cannotWrite(file: string, err: unknown): PmgrantsError {
  const code = errnoOf(err);
  const why =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied (a read-only or immutable location?)'
      : code === 'EROFS'
        ? 'the file system is read-only'
        : code === 'ENOTDIR'
          ? 'a part of its path is not a directory'
          : code === 'ENOSPC' || code === 'EDQUOT'
            ? 'no space left'
            : code === 'EISDIR'
              ? 'it is a directory'
              : String((err as Error)?.message ?? err).split('\n')[0];
  return new PmgrantsError(`cannot write the secrets file ${file}: ${why}; nothing was applied`);
}

/** The document at `file`, undefined when there is none; a PmgrantsError when it cannot be a secrets file. */
function readDocument(file: string): SecretsDocument | undefined {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw new PmgrantsError(`the secrets file ${file} cannot exist: a part of its path is a file, not a directory; nothing was applied`);
    throw new PmgrantsError(`cannot read the secrets file ${file}: ${(err as Error).message.split('\n')[0]}; nothing was applied`);
  }
  if (st.isSymbolicLink()) throw new PmgrantsError(`the secrets file ${file} is a symbolic link; name the file it points to instead (nothing was applied)`);
  if (st.isDirectory()) throw new PmgrantsError(`the secrets file ${file} is a directory; name a file in it instead (nothing was applied)`);
  if (!st.isFile()) throw new PmgrantsError(`the secrets file ${file} is not a regular file (a FIFO, socket or device); name a regular file (nothing was applied)`);
  let text: string;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      if (!fs.fstatSync(fd).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new PmgrantsError(`cannot read the secrets file ${file}: ${(err as Error).message.split('\n')[0]}; nothing was applied`);
  }
  if (text.trim() === '') return { version: SECRETS_FILE_VERSION, logins: {} };
  const problem = (what: string) =>
    new PmgrantsError(`the secrets file ${file} is not a pmgrants secrets file (${what}); it was left as it is and nothing was applied: repair or move it, or pass another --secrets-file`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw problem('it is not valid JSON: truncated or edited?');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw problem('its content is not a JSON object');
  const doc = value as Record<string, unknown>;
  if (doc.version !== undefined && doc.version !== 1 && doc.version !== SECRETS_FILE_VERSION) {
    throw problem(`version ${JSON.stringify(doc.version)}, which this pmgrants does not know; a newer pmgrants wrote it?`);
  }
  const logins = doc.logins === undefined ? {} : doc.logins;
  if (logins === null || typeof logins !== 'object' || Array.isArray(logins)) throw problem('"logins" is not an object');
  for (const [login, entry] of Object.entries(logins as Record<string, unknown>)) {
    if (!isEntry(entry)) throw problem(`the entry of login "${login}" is not an object with a string password`);
  }
  return { ...doc, version: typeof doc.version === 'number' ? doc.version : 1, logins: logins as Record<string, SecretEntry> };
}

function isEntry(v: unknown): v is SecretEntry {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const e = v as Record<string, unknown>;
  const optionalString = (x: unknown) => x === undefined || typeof x === 'string';
  if (!optionalString(e.password) || !optionalString(e.generation)) return false;
  if (e.pending !== undefined) {
    const p = e.pending as Record<string, unknown> | null;
    if (p === null || typeof p !== 'object' || typeof p.password !== 'string' || typeof p.generation !== 'string') return false;
  }
  return e.password !== undefined || e.pending !== undefined;
}

/**
 * The directory that holds (or will hold) `file`: the nearest existing one must be a directory the user
 * owns, or a shared one with the sticky bit (nobody else can then replace what we create in it), and a
 * file must be creatable in it (a real probe: O_EXCL, removed at once; catches read-only and immutable
 * locations, which permission bits do not show to root).
 */
function checkDirectory(file: string): void {
  let dir = path.dirname(file);
  for (;;) {
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT' && path.dirname(dir) !== dir) {
        dir = path.dirname(dir);
        continue;
      }
      if (code === 'ENOTDIR') throw new PmgrantsError(`the secrets file ${file} cannot exist: a part of its path is a file, not a directory; nothing was applied`);
      throw cannotWrite(file, err);
    }
    if (!st.isDirectory()) throw new PmgrantsError(`the secrets file ${file} cannot exist: ${dir} is a file, not a directory; nothing was applied`);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid && (st.mode & 0o1000) === 0) {
      throw new PmgrantsError(`the secrets file ${file} would be in ${dir}, a directory owned by another user (uid ${st.uid}); use a directory you own (nothing was applied)`);
    }
    break;
  }
  const probe = path.join(dir, `.pmgrants-probe-${randomBytes(8).toString('hex')}`);
  try {
    fs.closeSync(fs.openSync(probe, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW, 0o600));
  } catch (err) {
    throw cannotWrite(file, err);
  }
  fs.rmSync(probe, { force: true });
}

/** Replace `file` with `text`: a new temp file of a random name (O_EXCL|O_NOFOLLOW, 0600), fsync, rename, fsync the directory. */
function writeAtomically(file: string, text: string): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(8).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW, 0o600);
    fs.fchmodSync(fd, 0o600);
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw cannotWrite(file, err);
  }
  syncDirectory(dir);
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    fs.fsyncSync(fd);
  } catch {
    // Some file systems cannot fsync a directory; the rename is then as durable as they make it.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Take `<file>.lock` (O_EXCL); a lock left by a process that no longer runs is taken over. Returns the release. */
function lock(file: string, waitMs: number): () => void {
  const lockFile = `${file}.lock`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = fs.openSync(lockFile, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW, 0o600);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return () => fs.rmSync(lockFile, { force: true });
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw cannotWrite(file, err);
    }
    const holder = lockHolder(lockFile);
    // A holder that is gone, or a lock file without a pid that is old (its writer died between creating and writing it).
    if (holder !== undefined ? !isRunning(holder) : ageMs(lockFile) > 5_000) {
      fs.rmSync(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new PmgrantsError(`another pmgrants (pid ${holder ?? 'unknown'}) holds ${lockFile} and is writing the secrets file; nothing was applied, try again when it has finished`);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function lockHolder(lockFile: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockFile, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) === 'EPERM';
  }
}
