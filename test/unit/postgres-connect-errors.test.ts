/**
 * A connection that fails is one sentence naming the likely cause, said as soon as it is known: a port
 * where nothing listens (refused at once), a listener that never answers as PostgreSQL (after the
 * connect timeout), and a URL with sslmode=require connects without the driver's multi-line warning.
 * Real sockets on 127.0.0.1; no PostgreSQL server needed.
 */
import * as net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { connectPostgres } from '../../provider/engines/postgres/connection';
import { connectErrorMessage } from '../../provider/engines/postgres/errors';
import { driverConnectionString } from '../../provider/engines/postgres/url';

/** A port on 127.0.0.1 where nothing listens: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** A listener that accepts connections and never says anything (not PostgreSQL). */
const silent = net.createServer(() => undefined).listen(0, '127.0.0.1');
const held: net.Socket[] = [];
silent.on('connection', (s) => held.push(s));
afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => silent.close(r));
});

describe('connecting to PostgreSQL fails in one clear sentence', () => {
  it('a port where nothing listens: refused at once, saying nothing accepts connections there', async () => {
    const port = await closedPort();
    // The connect timeout is far longer than the test's own: a refusal that waited for it would fail the test.
    await expect(connectPostgres(`postgres://u:p@127.0.0.1:${port}/wh`, { connectTimeoutMs: 120_000 }).then((c) => c.inspect)).rejects.toThrow(
      `cannot connect to PostgreSQL at 127.0.0.1:${port}/wh: nothing accepts connections there (connection refused): is the server running, and are the host and port right?`,
    );
  });

  it('a listener that is not PostgreSQL: the timeout says something answered, but not as PostgreSQL', async () => {
    await new Promise((r) => (silent.listening ? r(undefined) : silent.once('listening', r)));
    const { port } = silent.address() as net.AddressInfo;
    const connection = connectPostgres(`postgres://u:p@127.0.0.1:${port}/wh`, { connectTimeoutMs: 300 });
    const attempt = connection.then((c) => c.inspect);
    await expect(attempt).rejects.toThrow(
      `cannot connect to PostgreSQL at 127.0.0.1:${port}/wh: something accepted the connection but did not answer as PostgreSQL within 0.3 s (is this the server's port, and not another service's or a proxy's?)`,
    );
  });

  it('a host that never answers: "no answer from host:port within N s", and unreachable or refused say so', () => {
    const timeout = new Error('timeout expired');
    expect(connectErrorMessage(timeout, 'db.example:5432/wh', { timeoutMs: 10_000, reached: false })).toBe(
      'cannot connect to PostgreSQL at db.example:5432/wh: no answer within 10 s (the host is down or unreachable, or a firewall drops the connection; check the host and port)',
    );
    expect(connectErrorMessage({ code: 'EHOSTUNREACH', message: 'connect EHOSTUNREACH' }, 'db:5432/wh')).toBe('cannot connect to PostgreSQL at db:5432/wh: the host cannot be reached from here (no route to it)');
    expect(connectErrorMessage({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, 'db:5432/wh')).toMatch(/nothing accepts connections there/);
  });

  it('sslmode=require is passed as the verify-full the driver reads it as; uselibpqcompat and other modes are left alone', () => {
    expect(driverConnectionString('postgres://u:p@db:5432/wh?sslmode=require')).toBe('postgres://u:p@db:5432/wh?sslmode=verify-full');
    expect(driverConnectionString('postgres://u:p@db/wh?application_name=x&sslmode=prefer')).toBe('postgres://u:p@db/wh?application_name=x&sslmode=verify-full');
    expect(driverConnectionString('postgres://u:p@db/wh?sslmode=verify-ca')).toBe('postgres://u:p@db/wh?sslmode=verify-full');
    for (const url of ['postgres://u:p@db/wh', 'postgres://u:p@db/wh?sslmode=disable', 'postgres://u:p@db/wh?sslmode=no-verify', 'postgres://u:p@db/wh?uselibpqcompat=true&sslmode=require']) {
      expect(driverConnectionString(url)).toBe(url);
    }
  });

  it('sslmode=require prints no driver warning; the driver alone would (the listener sees it)', async () => {
    const warnings: string[] = [];
    const listener = (w: Error) => warnings.push(w.message);
    process.on('warning', listener);
    try {
      const port = await closedPort();
      const url = `postgres://u:p@127.0.0.1:${port}/wh?sslmode=require`;
      await expect(connectPostgres(url).then((c) => c.inspect)).rejects.toThrow(/nothing accepts connections there/);
      await new Promise((r) => setTimeout(r, 0));
      expect(warnings.filter((w) => w.includes('SECURITY WARNING'))).toEqual([]);
      // The same URL straight to the driver: the warning this test must not miss.
      const pg = require('pg') as typeof import('pg');
      const raw = new pg.Client({ connectionString: url });
      await raw.connect().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 0));
      expect(warnings.some((w) => w.includes('SECURITY WARNING'))).toBe(true);
    } finally {
      process.off('warning', listener);
    }
  });
});
