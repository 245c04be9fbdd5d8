import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../support/cli';
import { loadPolicy } from '../../provider/policy/load';
import { decodePolicyText, firstInvalidUtf8 } from '../../provider/policy/text';

const root = path.join(__dirname, '..', '..');
const example = path.join(root, 'examples', 'uipath-system-managed.yaml');

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runCliCaptured(args, { env, cwd: root });

/** A promise that fails when the work under test takes longer than it could unless it blocked. */
function within<T>(ms: number, work: () => Promise<T>): Promise<T> {
  return Promise.race([work(), new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms))]);
}

describe('policy files must be regular files, read with a cap', () => {
  let dir: string;
  let fifo: string;
  let sock: string;
  let server: net.Server;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-input-'));
    fifo = path.join(dir, 'policy.fifo');
    execFileSync('mkfifo', [fifo]);
    fs.symlinkSync(fifo, path.join(dir, 'link-to-fifo.yaml'));
    sock = path.join(dir, 'policy.sock');
    server = net.createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    fs.mkdirSync(path.join(dir, 'stacks'));
    fs.copyFileSync(example, path.join(dir, 'policy.yaml'));
    execFileSync('mkfifo', [path.join(dir, 'stacks', 'dev.yaml')]);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, () => string, RegExp][] = [
    ['a FIFO with no writer', () => fifo, /is a FIFO \(named pipe\), not a regular file/],
    ['a symlink to a FIFO', () => path.join(dir, 'link-to-fifo.yaml'), /is a FIFO \(named pipe\), not a regular file/],
    ['/dev/zero', () => '/dev/zero', /is a character device, not a regular file/],
    ['/dev/urandom', () => '/dev/urandom', /is a character device, not a regular file/],
    ['a directory', () => dir, /is a directory, not a regular file/],
    ['a socket', () => sock, /is a socket, not a regular file/],
  ];
  for (const [name, file, message] of cases) {
    it(`${name}: refused before reading, one diagnostic`, async () => {
      const loaded = await within(5000, async () => loadPolicy(file()));
      expect(loaded.diagnostics).toHaveLength(1);
      expect(loaded.diagnostics[0]).toMatchObject({ code: 'file-not-regular', severity: 'error' });
      expect(loaded.diagnostics[0].message).toMatch(message);
    });
    it(`${name}: validate and plan exit 2 with one sentence`, async () => {
      for (const args of [['validate', file()], ['plan', file(), '--offline']]) {
        const r = await within(5000, () => run(args));
        expect(r.code).toBe(2);
        expect(r.out).toBe('');
        expect(r.err.split('\n')).toHaveLength(2);
        expect(r.err).toMatch(message);
        expect(r.err.startsWith(`pmgrants: ${file()}: is `)).toBe(true);
      }
    });
  }

  it('a stack overlay that is a FIFO is refused the same way', async () => {
    const r = await within(5000, () => run(['validate', path.join(dir, 'policy.yaml'), '--stack', 'dev', '--stacks-dir', path.join(dir, 'stacks')]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/stacks\/dev\.yaml: is a FIFO \(named pipe\), not a regular file; a policy must be a regular file\n$/);
  });

  it('a missing file is one sentence, exit 2 (an environment error, README "Exit codes")', async () => {
    const r = await run(['validate', path.join(dir, 'nope.yaml')]);
    expect(r).toMatchObject({ code: 2, out: '' });
    expect(r.err).toBe(`pmgrants: ${path.join(dir, 'nope.yaml')}: no such file\n`);
  });

  it('a regular file over the cap is refused; a file of exactly the cap is read', async () => {
    const { MAX_FILE_BYTES } = await import('../../provider/policy/source');
    const big = path.join(dir, 'big.yaml');
    fs.writeFileSync(big, Buffer.alloc(MAX_FILE_BYTES + 1, 0x23));
    expect(loadPolicy(big).diagnostics[0]).toMatchObject({ code: 'file-too-large' });
    const r = await run(['validate', big]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/big\.yaml: file is 16\.0 MiB; the limit is 16 MiB\n$/);
    fs.truncateSync(big, MAX_FILE_BYTES);
    expect(loadPolicy(big).diagnostics.map((d) => d.code)).not.toContain('file-too-large');
  });
});

describe('invalid UTF-8', () => {
  const policy = (name: Buffer) =>
    Buffer.concat([
      Buffer.from('apiVersion: pmgrants/v1\nwarehouse: { engine: postgres, database: wh }\nsecurity: { mode: system_managed }\nprincipals:\n  team: { kind: database-role, name: "caf'),
      name,
      Buffer.from('" }\napps: { a: { schema: a } }\ngrants:\n  - { persona: data_consumer, to: [team], apps: [a] }\n'),
    ]);

  it('a Latin-1 byte is an error at its line and column, never U+FFFD', () => {
    const r = decodePolicyText('p.yaml', policy(Buffer.from([0xe9])));
    expect(r.text).toBeUndefined();
    expect(r.diagnostic).toMatchObject({ code: 'invalid-utf8', file: 'p.yaml', line: 5, column: 42, message: 'byte 0xE9 is not valid UTF-8; a policy file is UTF-8 text' });
  });

  it('the column counts characters, not bytes, before the bad byte', () => {
    const r = decodePolicyText('p.yaml', Buffer.concat([Buffer.from('a: "é€𝄞'), Buffer.from([0xff]), Buffer.from('"\n')]));
    expect(r.diagnostic).toMatchObject({ line: 1, column: 9 });
  });

  it('valid UTF-8 (with a BOM) decodes; the BOM is dropped', () => {
    expect(decodePolicyText('p.yaml', Buffer.from('\uFEFFa: café\n')).text).toBe('a: café\n');
  });

  it('overlong forms, surrogates, truncated sequences and bytes above F4 are invalid', () => {
    for (const bad of [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xc3]]) {
      const bytes = Buffer.from([0x61, ...bad]);
      expect(firstInvalidUtf8(bytes), bad.join(',')).toBe(1);
      expect(decodePolicyText('p.yaml', bytes).diagnostic?.code).toBe('invalid-utf8');
    }
    expect(firstInvalidUtf8(Buffer.from('aé€𝄞z'))).toBe(-1);
  });

  it('a file with a Latin-1 byte: validate exits 1 with file:line:col and the rule id', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmgrants-latin1-'));
    try {
      const file = path.join(dir, 'p.yaml');
      fs.writeFileSync(file, policy(Buffer.from([0xe9])));
      const r = await run(['validate', file]);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`${file}:5:42 error invalid-utf8 byte 0xE9 is not valid UTF-8`);
      expect(r.out).not.toContain('\uFFFD');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
