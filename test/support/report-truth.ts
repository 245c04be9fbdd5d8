/**
 * The access report's truth probe on a real PostgreSQL server: every right the JSON report claims for
 * an identity, object by object and column by column, compared with what connecting as that identity
 * really allows. Each statement runs in a savepoint that is rolled back. Only SQLSTATE 42501
 * (insufficient_privilege) counts as a denial: any other error is a broken probe and fails the test.
 *
 * What a cell claims comes from its paths alone (docs/report.md): a path with neither `objects` nor
 * `columns` holds the right on every object of its kind in the schema; otherwise on the listed objects
 * and, beyond them, on the listed columns. Paths of kind `set-role` hold only after SET ROLE to the
 * first role of their chain, and are probed that way; every other path holds in the identity's own
 * session. An identity the report has no row for claims nothing.
 */
import { Client } from 'pg';
import { quoteIdent } from '../../provider/engines/postgres/quote';
import { TestServer } from './pg';

/** The parts of the report the probe reads (kept loose: the claim is in the paths). */
export interface ProbedReport {
  principals: { name: string }[];
  apps: { key: string; schema: string }[];
  cells: ProbedCell[];
}
interface ColumnRef {
  object: string;
  column: string;
}
interface ProbedPath {
  kind: string;
  via: string[];
  objects?: string[];
  columns?: ColumnRef[];
}
interface ProbedCell {
  principal: string;
  app: string;
  right: string;
  status: string;
  paths: ProbedPath[];
  /** Held on the app's companion schema of masked views, not on the app schema (personal data). */
  personalData?: { schema: string };
}

interface TableInfo {
  schema: string;
  name: string;
  columns: string[];
  /** Has a unique `id` column: REFERENCES can be probed on it. */
  referenceable: boolean;
}
interface FunctionInfo {
  schema: string;
  /** name(identity arguments), as the report names it */
  name: string;
  call: string;
  signature: string;
}

/** One statement the probe runs, and what it exercises. */
interface Probe {
  right: string;
  schema: string;
  object: string;
  column?: string;
  /** A whole-table probe of a right columns can carry: held too when every one of these columns is. */
  allColumns?: string[];
  sql: string;
}

export interface ProbeResult {
  /** Statements compared with the report (each a right on an object or a column, in one session context). */
  compared: number;
  mismatches: string[];
}

const q = quoteIdent;
/** A schema outside the policy where every role may create: where the REFERENCES probe's table goes. */
const SCRATCH = 'probe_scratch';

/** The tables (with their columns) and zero-argument functions of the schemas, read as superuser. */
async function readObjects(admin: Client, schemas: string[]): Promise<{ tables: TableInfo[]; functions: FunctionInfo[] }> {
  const tables = await admin.query<{ schema: string; name: string; columns: string[]; referenceable: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS name,
            array_agg(a.attname::text ORDER BY a.attnum) AS columns,
            EXISTS (SELECT FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute ia ON ia.attrelid = i.indrelid AND ia.attnum = i.indkey[0]
                    WHERE i.indrelid = c.oid AND i.indisunique AND i.indnatts = 1 AND ia.attname = 'id') AS referenceable
     FROM pg_catalog.pg_class c
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p')
     GROUP BY n.nspname, c.relname, c.oid ORDER BY 1, 2`,
    [schemas],
  );
  const functions = await admin.query<{ schema: string; name: string; args: string }>(
    `SELECT n.nspname AS schema, p.proname AS name, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args
     FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = ANY($1) AND p.prokind = 'f' AND p.pronargs = 0 ORDER BY 1, 2`,
    [schemas],
  );
  return {
    tables: tables.rows,
    functions: functions.rows.map((f) => ({ schema: f.schema, name: `${f.name}(${f.args})`, call: `SELECT ${q(f.schema)}.${q(f.name)}()`, signature: `${q(f.schema)}.${q(f.name)}()` })),
  };
}

/** The views of the companion schemas (personal data). */
async function readCompanionViews(server: TestServer, database: string, schemas: string[]): Promise<{ schema: string; name: string }[]> {
  const admin = await server.connect(server.url(database));
  try {
    const { rows } = await admin.query<{ schema: string; name: string }>("SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1) AND c.relkind = 'v' ORDER BY 1, 2", [schemas]);
    return rows;
  } finally {
    await admin.end();
  }
}

/** Every statement to run for the schemas' objects: whole-object rights, then per column. */
function probesOf(objects: { tables: TableInfo[]; functions: FunctionInfo[] }, schemas: string[]): Probe[] {
  const out: Probe[] = [];
  for (const t of objects.tables) {
    const rel = `${q(t.schema)}.${q(t.name)}`;
    const all = t.columns.map(q).join(', ');
    const defaults = t.columns.map(() => 'DEFAULT').join(', ');
    const at = { schema: t.schema, object: t.name };
    const allColumns = t.columns;
    out.push({ ...at, allColumns, right: 'select', sql: `SELECT * FROM ${rel} LIMIT 0` });
    out.push({ ...at, allColumns, right: 'insert', sql: `INSERT INTO ${rel} (${all}) VALUES (${defaults})` });
    out.push({ ...at, allColumns, right: 'update', sql: `UPDATE ${rel} SET (${all}) = ROW(${defaults}) WHERE false` });
    out.push({ ...at, right: 'delete', sql: `DELETE FROM ${rel} WHERE false` });
    out.push({ ...at, right: 'alter', sql: `ALTER TABLE ${rel} ADD COLUMN probe_added int` });
    for (const c of t.columns) {
      out.push({ ...at, column: c, right: 'select', sql: `SELECT ${q(c)} FROM ${rel} LIMIT 0` });
      out.push({ ...at, column: c, right: 'insert', sql: `INSERT INTO ${rel} (${q(c)}) VALUES (DEFAULT)` });
      out.push({ ...at, column: c, right: 'update', sql: `UPDATE ${rel} SET ${q(c)} = DEFAULT WHERE false` });
    }
    // REFERENCES needs a unique referenced column: probed on id, the column the fixtures make unique,
    // from a table in the scratch schema (a temporary table may not reference a permanent one).
    if (t.referenceable) out.push({ ...at, column: 'id', right: 'references', sql: `CREATE TABLE ${SCRATCH}.probe_ref (x int REFERENCES ${rel} (id))` });
  }
  for (const f of objects.functions) {
    out.push({ schema: f.schema, object: f.name, right: 'execute', sql: f.call });
    out.push({ schema: f.schema, object: f.name, right: 'alter', sql: `ALTER FUNCTION ${f.signature} COST 7` });
  }
  for (const s of schemas) out.push({ schema: s, object: '', right: 'create-objects', sql: `CREATE TABLE ${q(s)}.probe_created (x int)` });
  return out;
}

/** What the paths hold: every object (whole), or these objects and columns. */
interface Scope {
  whole: boolean;
  objects: Set<string>;
  columns: Set<string>;
}
const columnKey = (object: string, column: string) => `${object}\u0000${column}`;

function scopeOf(paths: ProbedPath[]): Scope {
  const scope: Scope = { whole: false, objects: new Set(), columns: new Set() };
  for (const p of paths) {
    if (p.objects === undefined && p.columns === undefined) scope.whole = true;
    for (const o of p.objects ?? []) scope.objects.add(o);
    for (const c of p.columns ?? []) scope.columns.add(columnKey(c.object, c.column));
  }
  return scope;
}

function claims(scope: Scope | undefined, probe: Probe): boolean {
  if (!scope) return false;
  if (scope.whole || scope.objects.has(probe.object)) return true;
  if (probe.column === undefined) return probe.allColumns !== undefined && probe.allColumns.every((c) => scope.columns.has(columnKey(probe.object, c)));
  return scope.columns.has(columnKey(probe.object, probe.column));
}

/** Runs `sql` in a savepoint (after SET ROLE when asked): true when it ran, false on 42501; throws otherwise. */
async function allowed(client: Client, sql: string, setRole: string | undefined, what: string): Promise<boolean> {
  await client.query('SAVEPOINT probe');
  try {
    if (setRole !== undefined) await client.query(`SET ROLE ${q(setRole)}`);
    await client.query(sql);
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '42501') return false;
    throw new Error(`truth probe ${what}: ${sql} failed with SQLSTATE ${code ?? '?'} (${(err as Error).message}), not a permission denial: the probe is broken`);
  } finally {
    await client.query('ROLLBACK TO SAVEPOINT probe');
  }
}

/** The contexts a report row names for an identity: its own session, and each role its set-role paths start with. */
function contextsOf(report: ProbedReport, identity: string): Map<string | undefined, Map<string, Scope>> {
  // context (undefined = own session) -> app + right -> scope
  const out = new Map<string | undefined, Map<string, Scope>>([[undefined, new Map()]]);
  for (const cell of report.cells) {
    if (cell.principal !== identity || cell.personalData) continue;
    const byContext = new Map<string | undefined, ProbedPath[]>();
    for (const p of cell.paths) {
      const ctx = p.kind === 'set-role' ? p.via[0] : undefined;
      byContext.set(ctx, [...(byContext.get(ctx) ?? []), p]);
    }
    for (const [ctx, paths] of byContext) {
      const m = out.get(ctx) ?? new Map<string, Scope>();
      m.set(`${cell.app}\u0000${cell.right}`, scopeOf(paths));
      out.set(ctx, m);
    }
  }
  return out;
}

/**
 * Compare the report with the server for every identity: each probe runs in the identity's own session
 * and after SET ROLE to each role the report says it reaches that way. `passwords` gives each
 * identity's password; identities are logins.
 */
export async function probeReport(server: TestServer, database: string, report: ProbedReport, identities: string[], passwords: (identity: string) => string): Promise<ProbeResult> {
  const schemas = report.apps.map((a) => a.schema);
  const appOf = new Map(report.apps.map((a) => [a.schema, a.key]));
  const admin = await server.connect(server.url(database));
  const objects = await readObjects(admin, schemas);
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${SCRATCH}; GRANT USAGE, CREATE ON SCHEMA ${SCRATCH} TO PUBLIC`);
  await admin.end();
  const probes = probesOf(objects, schemas);
  const rows = new Set(report.principals.map((p) => p.name));
  const result: ProbeResult = { compared: 0, mismatches: [] };
  // Personal data: a cell read through a companion schema claims SELECT on each of its views (and
  // nothing on the app schema). Probed for the identities whose cells say so.
  const viewsRead = new Map<string, Set<string>>();
  for (const c of report.cells) if (c.personalData && c.right === 'select') viewsRead.set(c.principal, (viewsRead.get(c.principal) ?? new Set()).add(c.personalData.schema));
  const companions = [...new Set([...viewsRead.values()].flatMap((v) => [...v]))];
  const views = companions.length > 0 ? await readCompanionViews(server, database, companions) : [];
  for (const identity of identities) {
    const client = await server.connectAs(identity, passwords(identity), database);
    try {
      await client.query('BEGIN');
      for (const v of views.filter((x) => viewsRead.get(identity)?.has(x.schema))) {
        const real = await allowed(client, `SELECT * FROM ${q(v.schema)}.${q(v.name)} LIMIT 0`, undefined, `${identity} select on ${v.schema}.${v.name}`);
        result.compared++;
        if (!real) result.mismatches.push(`${identity} select on ${v.schema}.${v.name}: the report says it reads the app through ${v.schema}, the server denies it`);
      }
      // The REFERENCES probe creates a table in the scratch schema: a session that cannot would look like a denial.
      if (!(await allowed(client, `CREATE TABLE ${SCRATCH}.probe_ok (x int)`, undefined, `${identity} scratch table`))) {
        throw new Error(`truth probe: ${identity} may not create tables in ${SCRATCH}, so REFERENCES cannot be probed`);
      }
      const contexts = rows.has(identity) ? contextsOf(report, identity) : new Map([[undefined, new Map<string, Scope>()]]);
      for (const [setRole, scopes] of contexts) {
        for (const probe of probes) {
          const claim = claims(scopes.get(`${appOf.get(probe.schema)}\u0000${probe.right}`), probe);
          const where = `${probe.right} on ${probe.schema}${probe.object ? `.${probe.object}` : ''}${probe.column ? `.${probe.column}` : ''}${setRole ? ` after SET ROLE ${setRole}` : ''}`;
          const real = await allowed(client, probe.sql, setRole, `${identity} ${where}`);
          result.compared++;
          if (real !== claim) result.mismatches.push(`${identity} ${where}: the report says ${claim ? 'allowed' : 'denied'}, the server ${real ? 'allows' : 'denies'} it`);
        }
      }
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    }
  }
  return result;
}
