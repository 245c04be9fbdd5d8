/**
 * The warehouse every tool starts from: a fresh cluster (startLocalPostgres), one database, and each
 * app's schema already there with data objects in it, owned by the superuser (as a process-mining
 * product would have made them). The tools then only manage access. Not timed.
 */
import { Client } from 'pg';
import { LocalPostgres, startLocalPostgres } from '../provider/engines/postgres';
import { quoteIdent } from '../provider/engines/postgres/quote';

/** Tables per app schema unless told otherwise: cases and events (with a bigserial, so a sequence), plus one view. */
export const DEFAULT_TABLES = 2;

export function describeFixture(tables: number): string {
  return `${tables} tables (one with a bigserial column, so one sequence) and 1 view per app schema, owned by the superuser`;
}

export interface Warehouse {
  server: LocalPostgres;
  /** Superuser URL of the warehouse database. */
  url: string;
  database: string;
  serverVersion: string;
  stop(): Promise<void>;
}

export function databaseUrl(serverUrl: string, database: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Start a fresh cluster and build the warehouse in it: `database` with one schema per app. */
export async function startWarehouse(database: string, schemas: readonly string[], tables: number = DEFAULT_TABLES): Promise<Warehouse> {
  if (!Number.isInteger(tables) || tables < 2) throw new Error(`the fixture needs at least 2 tables per schema, not ${tables}`);
  const server = await startLocalPostgres();
  try {
    const admin = new Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${quoteIdent(database)}`);
    await admin.end();
    const url = databaseUrl(server.url, database);
    const c = new Client({ connectionString: url });
    await c.connect();
    // In slices: one transaction creating thousands of relations runs out of lock slots.
    const slice = Math.max(1, Math.floor(2000 / (tables + 2)));
    for (let i = 0; i < schemas.length; i += slice) {
      const sql = schemas.slice(i, i + slice).map((s) => {
        const q = quoteIdent(s);
        return [
          `CREATE SCHEMA ${q}`,
          `CREATE TABLE ${q}.cases (id int PRIMARY KEY, name text)`,
          `CREATE TABLE ${q}.events (id bigserial PRIMARY KEY, case_id int, activity text, at timestamptz)`,
          ...Array.from({ length: tables - 2 }, (_, k) => `CREATE TABLE ${q}.attributes_${k + 1} (case_id int, name text, value text)`),
          `CREATE VIEW ${q}.case_events AS SELECT c.id, c.name, e.activity, e.at FROM ${q}.cases c JOIN ${q}.events e ON e.case_id = c.id`,
        ].join(';\n');
      });
      await c.query(`BEGIN;\n${sql.join(';\n')};\nCOMMIT`);
    }
    const version = (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v;
    await c.end();
    return { server, url, database, serverVersion: version, stop: () => server.stop() };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/**
 * What a tool left in the catalog, counted the same way for every tool, so the comparison can show
 * that each was asked for (and made) the same things. Scope: roles with the benchmark's prefixes.
 */
export interface CatalogCounts {
  roles: number;
  loginRoles: number;
  memberships: number;
  schemaOwnedByBenchRole: number;
  schemaPrivileges: number;
  tablePrivileges: number;
  sequencePrivileges: number;
  routinePrivileges: number;
  defaultPrivileges: number;
  databasePrivileges: number;
}

export async function catalogCounts(url: string, prefixes: readonly string[]): Promise<CatalogCounts> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const pattern = `^(${prefixes.map((p) => p.replace(/[^a-z0-9_]/g, '')).join('|')})`;
    const r = await c.query(
      `WITH b AS (SELECT oid, rolname, rolcanlogin FROM pg_catalog.pg_roles WHERE rolname ~ $1)
       SELECT (SELECT count(*) FROM b)::int AS roles,
              (SELECT count(*) FROM b WHERE rolcanlogin)::int AS "loginRoles",
              (SELECT count(*) FROM pg_catalog.pg_auth_members m WHERE m.roleid IN (SELECT oid FROM b) AND m.member IN (SELECT oid FROM b))::int AS memberships,
              (SELECT count(*) FROM pg_catalog.pg_namespace n WHERE n.nspowner IN (SELECT oid FROM b))::int AS "schemaOwnedByBenchRole",
              (SELECT count(*) FROM pg_catalog.pg_namespace n, aclexplode(n.nspacl) a WHERE a.grantee IN (SELECT oid FROM b) AND a.grantee <> n.nspowner)::int AS "schemaPrivileges",
              (SELECT count(*) FROM pg_catalog.pg_class c, aclexplode(c.relacl) a WHERE c.relkind IN ('r','v','m','f','p') AND a.grantee IN (SELECT oid FROM b) AND a.grantee <> c.relowner)::int AS "tablePrivileges",
              (SELECT count(*) FROM pg_catalog.pg_class c, aclexplode(c.relacl) a WHERE c.relkind = 'S' AND a.grantee IN (SELECT oid FROM b) AND a.grantee <> c.relowner)::int AS "sequencePrivileges",
              (SELECT count(*) FROM pg_catalog.pg_proc p, aclexplode(p.proacl) a WHERE a.grantee IN (SELECT oid FROM b) AND a.grantee <> p.proowner)::int AS "routinePrivileges",
              (SELECT count(*) FROM pg_catalog.pg_default_acl d, aclexplode(d.defaclacl) a WHERE a.grantee IN (SELECT oid FROM b) AND a.grantee <> d.defaclrole)::int AS "defaultPrivileges",
              (SELECT count(*) FROM pg_catalog.pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database() AND a.grantee IN (SELECT oid FROM b))::int AS "databasePrivileges"`,
      [pattern],
    );
    return r.rows[0] as CatalogCounts;
  } finally {
    await c.end();
  }
}
