/**
 * The secrets destination is checked before anything is changed, a file that is not a secrets file is
 * never overwritten, and writes are atomic (random O_EXCL|O_NOFOLLOW temp file, fsync, rename) and
 * merge with what other writers put in the file meanwhile.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EngineConnection } from '../../provider/engines/engine';
import { postgresDialect } from '../../provider/engines/postgres';
import { emptyState } from '../../provider/model/state';
import { SecretsFile } from '../../provider/cli/secrets';
import { fileRepairs } from '../../provider/plan/delivery';

const calls = { connect: 0, apply: 0 };
vi.mock('../../provider/engines/registry', async (original) => ({
  ...(await original<typeof import('../../provider/engines/registry')>()),
  connectEngine: async (): Promise<EngineConnection> => {
    calls.connect++;
    return {
      dialect: postgresDialect,
      inspect: async (desired) => ({ ...emptyState(desired.engine, desired.database), managed: [] }),
      lockForApply: async () => async () => undefined,
      apply: async (_s, _p, options) => {
        calls.apply++;
        await options?.deliver?.([{ login: 'pmg_claims-open_app', password: 'Zq9!never-set', generation: 'g' }]);
        return { statements: 1, roundTrips: 1, secrets: new Map() };
      },
      preflight: async () => [],
      exportCatalog: async () => {
        throw new Error('unused');
      },
      roundTrips: () => 0,
      close: async () => undefined,
    };
  },
}));

const POLICY = path.join(__dirname, '..', '..', 'examples', 'ibm-custom-apps.yaml');
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-secrets-'));
  calls.connect = 0;
  calls.apply = 0;
});
afterEach(() => {
  try {
    execFileSync('chattr', ['-R', '-i', dir], { stdio: 'ignore' });
  } catch {
    // not immutable
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

async function applyWith(secretsFile: string): Promise<{ code: number; out: string; err: string }> {
  const { runCli } = await import('../../provider/cli/main');
  let out = '';
  let err = '';
  const code = await runCli(['apply', POLICY, '--yes', '--database-url', 'postgres://x@localhost/ibm_process_apps', '--secrets-file', secretsFile], {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: {},
    interactive: false,
    confirm: async () => false,
    cwd: dir,
  });
  return { code, out, err };
}

/** Every destination that cannot hold secrets: exit 2, one sentence, the engine never reached, the path as it was. */
async function expectRefused(secretsFile: string, message: RegExp): Promise<void> {
  const before = snapshot(secretsFile);
  const r = await applyWith(secretsFile);
  expect(r.code).toBe(2);
  const lines = r.err.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^pmgrants: /);
  expect(lines[0]).toMatch(message);
  expect(calls).toEqual({ connect: 0, apply: 0 });
  expect(snapshot(secretsFile)).toEqual(before);
}

function snapshot(file: string): string {
  try {
    const st = fs.lstatSync(file);
    return st.isFile() ? `file:${fs.readFileSync(file, 'utf8')}` : st.isSymbolicLink() ? `link:${fs.readlinkSync(file)}` : `other:${st.mode}`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'error';
  }
}

function immutable(p: string): boolean {
  try {
    execFileSync('chattr', ['+i', p], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('secrets destination checked before any change', () => {
  it('a directory', async () => {
    await expectRefused(dir, /is a directory; name a file in it instead/);
  });

  it('a path under a regular file', async () => {
    fs.writeFileSync(path.join(dir, 'plain'), 'x');
    await expectRefused(path.join(dir, 'plain', 'credentials.json'), /cannot exist: a part of its path is a file, not a directory/);
    await expectRefused(path.join(dir, 'plain', 'deeper', 'credentials.json'), /cannot exist: .*(is a file|a part of its path is a file), not a directory/);
  });

  it('a truncated file: left byte for byte as it was', async () => {
    const file = path.join(dir, 'credentials.json');
    fs.writeFileSync(file, '{"version":2,"logins":{"pmg_other_app":{"password":"kept-secret","gen', { mode: 0o600 });
    await expectRefused(file, /is not a pmgrants secrets file \(it is not valid JSON: truncated or edited\?\); it was left as it is and nothing was applied/);
  });

  it('null, an array, or entries that are not password entries', async () => {
    const file = path.join(dir, 'credentials.json');
    for (const content of ['null', '[]', '{"logins":null}', '{"logins":{"a":"pw"}}', '{"logins":{"a":{"password":3}}}', '{"version":9,"logins":{}}']) {
      fs.writeFileSync(file, content);
      await expectRefused(file, /is not a pmgrants secrets file/);
    }
  });

  it('a symbolic link planted at the secrets file: refused, its target never written', async () => {
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'do not touch');
    const file = path.join(dir, 'credentials.json');
    fs.symlinkSync(victim, file);
    await expectRefused(file, /is a symbolic link/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('do not touch');
  });

  it('a FIFO: refused without blocking on it', async () => {
    const file = path.join(dir, 'fifo.json');
    execFileSync('mkfifo', [file]);
    await expectRefused(file, /is not a regular file \(a FIFO, socket or device\)/);
  });

  it('an immutable (read-only) directory, or an existing file in one', async (ctx) => {
    const locked = path.join(dir, 'locked');
    fs.mkdirSync(locked);
    fs.writeFileSync(path.join(locked, 'credentials.json'), '{"version":2,"logins":{}}');
    if (!immutable(locked)) {
      ctx.skip(); // chattr needs CAP_LINUX_IMMUTABLE on an ext4-like file system; the other cases still run
      return;
    }
    await expectRefused(path.join(locked, 'new.json'), /cannot write the secrets file .*: permission denied \(a read-only or immutable location\?\); nothing was applied/);
    await expectRefused(path.join(locked, 'credentials.json'), /cannot write the secrets file .*: permission denied/);
  });

  it('a directory owned by another user (without the sticky bit)', async () => {
    const theirs = path.join(dir, 'theirs');
    fs.mkdirSync(theirs, { mode: 0o777 });
    fs.chmodSync(theirs, 0o777);
    fs.chownSync(theirs, 65534, 65534);
    await expectRefused(path.join(theirs, 'credentials.json'), /a directory owned by another user \(uid 65534\); use a directory you own/);
  });

  it('a creatable path in a new directory: accepted, created 0700 with the file 0600', async () => {
    const file = path.join(dir, 'new', 'sub', 'credentials.json');
    const r = await applyWith(file);
    expect(r.code, r.err).toBe(0);
    expect(calls.apply).toBe(1);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // Delivered write-ahead as pending (this fake server never confirmed it).
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).logins['pmg_claims-open_app'].pending.generation).toBe('g');
    expect(r.out + r.err).not.toContain('Zq9!never-set');
  });
});

describe('SecretsFile writes', () => {
  it('a version 1 file is read and written back as version 2, its other logins and keys kept', () => {
    const file = path.join(dir, 'credentials.json');
    fs.writeFileSync(file, JSON.stringify({ note: 'mine', logins: { old: { password: 'old-pw', database: 'd', setAt: '2020-01-01T00:00:00.000Z' } } }));
    const store = SecretsFile.open(file, { forWriting: true });
    expect(store.delivered()).toEqual({ old: { generation: undefined, pending: undefined } });
    store.stagePending([{ login: 'new', password: 'new-pw', generation: 'g1' }], 'd', new Date('2030-01-01T00:00:00.000Z'));
    store.promote(['new'], 'd', new Date('2030-01-01T00:00:01.000Z'));
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({
      note: 'mine',
      version: 2,
      logins: {
        old: { password: 'old-pw', database: 'd', setAt: '2020-01-01T00:00:00.000Z' },
        new: { password: 'new-pw', generation: 'g1', database: 'd', setAt: '2030-01-01T00:00:01.000Z' },
      },
    });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('two writers sharing the file keep each other\'s entries (each write re-reads under the lock)', () => {
    const file = path.join(dir, 'credentials.json');
    const one = SecretsFile.open(file, { forWriting: true });
    const two = SecretsFile.open(file, { forWriting: true });
    one.stagePending([{ login: 'a', password: 'pa', generation: 'ga' }], 'w1');
    two.stagePending([{ login: 'b', password: 'pb', generation: 'gb' }], 'w2');
    one.promote(['a'], 'w1');
    const logins = JSON.parse(fs.readFileSync(file, 'utf8')).logins;
    expect(logins.a).toMatchObject({ password: 'pa', generation: 'ga', database: 'w1' });
    expect(logins.b).toMatchObject({ pending: { password: 'pb', generation: 'gb' }, database: 'w2' });
  });

  it('a live writer\'s lock is waited for, then reported in one sentence; a lock left by a process that is gone is taken over', async () => {
    const file = path.join(dir, 'credentials.json');
    const store = SecretsFile.open(file, { forWriting: true, lockWaitMs: 200 });
    const sleeper = spawn('sleep', ['30']);
    try {
      fs.writeFileSync(`${file}.lock`, `${sleeper.pid}\n`);
      const started = Date.now();
      expect(() => store.stagePending([{ login: 'a', password: 'pa', generation: 'ga' }], 'w')).toThrow(
        new RegExp(`another pmgrants \\(pid ${sleeper.pid}\\) holds .*credentials.json.lock and is writing the secrets file; nothing was applied`),
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
      expect(fs.existsSync(file)).toBe(false);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((resolve) => sleeper.on('exit', resolve));
    }
    // The holder is gone (SIGKILL: its lock file stays behind): the next writer takes the lock over.
    store.stagePending([{ login: 'a', password: 'pa', generation: 'ga' }], 'w');
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).logins.a.pending.password).toBe('pa');
  });

  it('symbolic links planted at temp-file names are never followed (random O_EXCL|O_NOFOLLOW temp file)', () => {
    const file = path.join(dir, 'credentials.json');
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'do not touch');
    // The names an older version used (<file>.<pid>.tmp) and a spread of others.
    for (const name of [`credentials.json.${process.pid}.tmp`, '.credentials.json.tmp', 'credentials.json.tmp']) fs.symlinkSync(victim, path.join(dir, name));
    const store = SecretsFile.open(file, { forWriting: true });
    store.stagePending([{ login: 'a', password: 'pa', generation: 'ga' }], 'w');
    expect(fs.readFileSync(victim, 'utf8')).toBe('do not touch');
    expect(fs.lstatSync(file).isFile()).toBe(true);
    // No temp file is left behind.
    expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp') && !fs.lstatSync(path.join(dir, n)).isSymbolicLink())).toEqual([]);
  });

  it('fileRepairs: pending generation held by the server -> promote; delivered one held -> discard the pending one', () => {
    const logins = {
      a: { password: 'p1', generation: 'a1', pending: { password: 'p2', generation: 'a2', createdAt: 't' } },
      b: { password: 'p1', generation: 'b1', pending: { password: 'p2', generation: 'b2', createdAt: 't' } },
      c: { password: 'p1', generation: 'c1' },
    };
    expect(fileRepairs(logins, { a: 'a2', b: 'b1', c: 'c1' })).toEqual({ promote: ['a'], discard: ['b'] });
    const store = SecretsFile.open(path.join(dir, 'f.json'), { forWriting: true });
    store.stagePending([{ login: 'n', password: 'pn', generation: 'gn' }], 'w');
    store.discardPending(['n']);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'f.json'), 'utf8')).logins).toEqual({});
  });
});
