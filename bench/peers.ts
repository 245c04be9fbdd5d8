/**
 * The peer tools on the same work: the configuration each one needs to create what pmgrants creates
 * for a benchmark policy, and how to run them.
 *
 * Both configurations are derived from pmgrants's own realised desired state, so the three tools are
 * asked for the same roles, memberships and privileges, as far as each can express them:
 *
 * | pmgrants (PostgreSQL)                          | ldap2pg 5.9                          | pgbedrock 0.4.2                        |
 * |------------------------------------------------|--------------------------------------|----------------------------------------|
 * | roles (LOGIN / NOLOGIN), principals            | static `role` rules                  | one spec entry per role                |
 * | memberships (+ ADMIN OPTION)                   | `parents` (no ADMIN OPTION)          | `member_of` (no ADMIN OPTION)          |
 * | schema owner role owns the app schema          | not expressible (schemas untouched)  | `owns: schemas`                        |
 * | USAGE / CREATE on schema                       | __usage/__create_on_schemas__        | schemas read / write                   |
 * | table privileges (+ defaults for creators)     | __<priv>_on_tables__ (all + default) | tables read / write (per table)        |
 * | USAGE on sequences (+ defaults)                | __usage_on_sequences__               | sequences write (USAGE, UPDATE)        |
 * | EXECUTE on routines (+ defaults)               | __execute_on_all_functions__ + default | not expressible                      |
 * | CONNECT on the database                        | __connect__                          | not expressible                        |
 * | marker comments, SCRAM passwords of app logins | (its own comment)                    | not asked (no password)                |
 */
import { spawn } from 'node:child_process';
import { parse as parseYaml } from 'yaml';
import { DesiredState, Permission } from '../provider/model/types';
import { PRINCIPAL_PREFIXES } from './generate';

export type PeerName = 'ldap2pg' | 'pgbedrock';

export interface PeerTool {
  name: PeerName;
  version: string;
  exe: string;
}

/** Every role of the desired state with whether it logs in. */
function desiredRoles(desired: DesiredState): Map<string, boolean> {
  const roles = new Map<string, boolean>();
  for (const l of desired.logins) roles.set(l.name, true);
  for (const r of desired.roles) roles.set(r.name, false);
  for (const u of desired.users) {
    if (roles.has(u.name)) continue;
    const s = u.source;
    roles.set(u.name, s.type === 'login' || s.type === 'sql-login' || ((s.type === 'external' || s.type === 'windows') && (s.kind === 'entra-user' || s.kind === 'windows-user')));
  }
  return roles;
}

/** Grantee -> member_of list (plain memberships; ADMIN OPTION is dropped). */
function parentsOf(desired: DesiredState): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  for (const m of desired.memberships) {
    const list = parents.get(m.member) ?? [];
    list.push(m.role);
    parents.set(m.member, list);
  }
  for (const list of parents.values()) list.sort();
  return parents;
}

/** What a grantee holds on one app schema, in the peers' vocabulary. */
interface SchemaRights {
  usage: boolean;
  create: boolean;
  /** Table privileges (SELECT, INSERT, ...). */
  tables: Set<string>;
  sequences: Set<string>;
  functions: Set<string>;
}

/** (grantee, schema) -> rights, from the realised permissions; database CONNECT per grantee. */
function rightsBySchema(desired: DesiredState): { rights: Map<string, Map<string, SchemaRights>>; connect: Set<string> } {
  const rights = new Map<string, Map<string, SchemaRights>>();
  const connect = new Set<string>();
  const entry = (grantee: string, schema: string) => {
    const bySchema = rights.get(grantee) ?? new Map<string, SchemaRights>();
    rights.set(grantee, bySchema);
    const r = bySchema.get(schema) ?? { usage: false, create: false, tables: new Set<string>(), sequences: new Set<string>(), functions: new Set<string>() };
    bySchema.set(schema, r);
    return r;
  };
  const consider = (p: Permission) => {
    const on = p.on;
    if (on.type === 'database') {
      if (p.privilege === 'CONNECT') connect.add(p.grantee);
    } else if (on.type === 'schema') {
      const r = entry(p.grantee, on.name);
      if (p.privilege === 'USAGE') r.usage = true;
      if (p.privilege === 'CREATE') r.create = true;
    } else if (on.type === 'engine' && (on.kind === 'tables' || on.kind === 'sequences' || on.kind === 'functions')) {
      entry(p.grantee, on.name)[on.kind].add(p.privilege);
    }
    // default-<kind> permissions follow from the bulk ones in both peers' models.
  };
  desired.permissions.forEach(consider);
  return { rights, connect };
}

const yamlList = (items: readonly string[]) => `[${items.map((i) => JSON.stringify(i)).join(', ')}]`;

/**
 * ldap2pg 5.9: static roles and grants, no LDAP. Managed roles are limited to the benchmark's name
 * prefixes; the app schemas' "owners" (whose future objects get default privileges) are pmgrants's
 * object creators: the schema owner role and the app login.
 */
export function ldap2pgConfig(desired: DesiredState): string {
  const roles = desiredRoles(desired);
  const parents = parentsOf(desired);
  const { rights, connect } = rightsBySchema(desired);
  const prefixes = [desired.prefix, ...PRINCIPAL_PREFIXES];
  const lines: string[] = [
    '# Generated by bench/peers.ts from the pmgrants benchmark policy: static roles and grants, no LDAP.',
    'version: 5',
    'postgres:',
    `  databases_query: [${JSON.stringify(desired.database)}]`,
    '  roles_blacklist_query: [postgres, "pg_*"]',
    '  managed_roles_query: |',
    `    SELECT rolname FROM pg_catalog.pg_roles WHERE rolname ~ '^(${prefixes.join('|')})'`,
    '  schemas_query:',
  ];
  for (const s of desired.schemas) {
    const creators = [...new Set([s.owner, desired.appLogins[s.app]].filter((x): x is string => !!x))].sort();
    lines.push(`  - [${JSON.stringify(s.name)}, ${yamlList(creators)}]`);
  }
  // One named privilege group per distinct set of well-known privileges.
  const groups = new Map<string, string[]>();
  const groupName = (privs: string[]) => {
    const key = privs.join(',');
    let name = [...groups.entries()].find(([, v]) => v.join(',') === key)?.[0];
    if (!name) {
      name = `bench_${groups.size + 1}`;
      groups.set(name, privs);
    }
    return name;
  };
  // grant rules: (group, schema) -> roles
  const rules = new Map<string, { group: string; schema: string; roles: string[] }>();
  for (const [grantee, bySchema] of [...rights].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const [schema, r] of [...bySchema].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const privs: string[] = [];
      if (r.usage) privs.push('__usage_on_schemas__');
      if (r.create) privs.push('__create_on_schemas__');
      for (const p of [...r.tables].sort()) privs.push(`__${p.toLowerCase()}_on_tables__`);
      for (const p of [...r.sequences].sort()) privs.push(`__${p.toLowerCase()}_on_sequences__`);
      if (r.functions.has('EXECUTE')) privs.push('__execute_on_all_functions__', '__default_execute_on_functions__');
      if (privs.length === 0) continue;
      const group = groupName(privs);
      const key = `${group}\u0000${schema}`;
      const rule = rules.get(key) ?? { group, schema, roles: [] };
      rule.roles.push(grantee);
      rules.set(key, rule);
    }
  }
  lines.push('privileges:');
  lines.push('  bench_connect: [__connect__]');
  for (const [name, privs] of groups) lines.push(`  ${name}: ${yamlList(privs)}`);
  lines.push('sync_map:');
  // Roles: those without memberships grouped by LOGIN, the others one rule each (with their parents).
  for (const login of [false, true]) {
    const plain = [...roles].filter(([name, l]) => l === login && !parents.has(name)).map(([name]) => name);
    if (plain.length) lines.push(`- role: { names: ${yamlList(plain)}, options: ${login ? 'LOGIN' : 'NOLOGIN'} }`);
  }
  for (const [name, login] of roles) {
    const p = parents.get(name);
    if (p) lines.push(`- role: { name: ${JSON.stringify(name)}, options: ${login ? 'LOGIN' : 'NOLOGIN'}, parents: ${yamlList(p)} }`);
  }
  if (connect.size) lines.push(`- grant: { privilege: bench_connect, roles: ${yamlList([...connect].sort())}, database: ${JSON.stringify(desired.database)} }`);
  for (const rule of rules.values()) {
    lines.push(`- grant: { privilege: ${rule.group}, roles: ${yamlList(rule.roles)}, database: ${JSON.stringify(desired.database)}, schema: ${JSON.stringify(rule.schema)} }`);
  }
  return lines.join('\n') + '\n';
}

/**
 * pgbedrock 0.4.2 manages every role and schema of the cluster, so its spec starts from what
 * `pgbedrock generate` says about the fresh cluster (built-in roles, postgres and the tables the
 * fixture made), hands each app schema to its owner role, and adds the benchmark's roles.
 * Table privileges are read (SELECT) or write (INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
 * + read): a grantee with more than SELECT gets write.
 */
export function pgbedrockSpec(desired: DesiredState, generated: string): string {
  const base = (parseYaml(generated) ?? {}) as Record<string, Record<string, unknown> | null>;
  const appSchemas = new Set(desired.schemas.map((s) => s.name));
  // The fixture made the app schemas as postgres: their ownership moves to the owner roles below.
  for (const config of Object.values(base)) {
    const owns = (config?.owns ?? undefined) as { schemas?: string[] } | undefined;
    if (owns?.schemas) owns.schemas = owns.schemas.filter((s) => !appSchemas.has(s));
    const privs = (config?.privileges ?? undefined) as { schemas?: { write?: string[] } } | undefined;
    if (privs?.schemas?.write) privs.schemas.write = privs.schemas.write.filter((s) => !appSchemas.has(s));
  }
  const roles = desiredRoles(desired);
  const parents = parentsOf(desired);
  const { rights } = rightsBySchema(desired);
  const owners = new Map<string, string[]>();
  for (const s of desired.schemas) owners.set(s.owner, [...(owners.get(s.owner) ?? []), s.name]);
  const spec: Record<string, unknown> = { ...base };
  for (const [name, login] of roles) {
    const entry: Record<string, unknown> = { can_login: login };
    const p = parents.get(name);
    if (p) entry.member_of = p;
    const owned = owners.get(name);
    if (owned) entry.owns = { schemas: owned };
    const bySchema = rights.get(name);
    if (bySchema) {
      const schemas = { read: [] as string[], write: [] as string[] };
      const tables = { read: [] as string[], write: [] as string[] };
      const sequences = { write: [] as string[] };
      for (const [schema, r] of bySchema) {
        if (r.create) schemas.write.push(schema);
        else if (r.usage) schemas.read.push(schema);
        const writes = [...r.tables].some((t) => t !== 'SELECT');
        if (writes) tables.write.push(`${schema}.*`);
        else if (r.tables.has('SELECT')) tables.read.push(`${schema}.*`);
        if (r.sequences.size) sequences.write.push(`${schema}.*`);
      }
      const drop = <T extends Record<string, string[]>>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v.length > 0));
      const privileges: Record<string, unknown> = {};
      if (schemas.read.length + schemas.write.length) privileges.schemas = drop(schemas);
      if (tables.read.length + tables.write.length) privileges.tables = drop(tables);
      if (sequences.write.length) privileges.sequences = sequences;
      if (Object.keys(privileges).length) entry.privileges = privileges;
    }
    spec[name] = entry;
  }
  // Block style, as pgbedrock's own documents are written; JSON flow values are valid YAML.
  const out: string[] = ['# Generated by bench/peers.ts: pgbedrock generate of the fresh cluster + the pmgrants benchmark roles.'];
  for (const [name, config] of Object.entries(spec)) {
    out.push(`${JSON.stringify(name)}: ${config === null || config === undefined ? '' : JSON.stringify(config)}`);
  }
  return out.join('\n') + '\n';
}

export interface PeerRun {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Run a command, timing it from spawn to exit. Output is kept (bounded) for checks and failures. */
export function runTimed(exe: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<PeerRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(exe, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunks: string[]) => (b: Buffer) => {
      chunks.push(b.toString('utf8'));
      // Keep the head and the tail: the verdict lines are at the end.
      if (chunks.length > 400) chunks.splice(200, chunks.length - 300);
    };
    const out: string[] = [];
    const err: string[] = [];
    child.stdout.on('data', keep(out));
    child.stderr.on('data', keep(err));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, code, stdout: out.join(''), stderr: err.join(''), timedOut });
    });
  });
}

/** Connection pieces of a postgres:// URL for command-line tools. */
export function urlParts(url: string, database: string): { host: string; port: string; user: string; password: string; database: string } {
  const u = new URL(url);
  return { host: u.hostname, port: u.port || '5432', user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database };
}

/** libpq key=value DSN (ldap2pg's PGDSN). Values quoted as libpq wants. */
export function libpqDsn(url: string, database: string): string {
  const p = urlParts(url, database);
  const q = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `host=${q(p.host)} port=${q(p.port)} user=${q(p.user)} password=${q(p.password)} dbname=${q(p.database)}`;
}

/** The peer's first apply and its check mode, as argument lists. */
export function peerCommands(tool: PeerTool, configFile: string, url: string, database: string): { apply: string[]; check: string[]; env: NodeJS.ProcessEnv } {
  const p = urlParts(url, database);
  const baseEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
  if (tool.name === 'ldap2pg') {
    const env = { ...baseEnv, PGDSN: libpqDsn(url, database) };
    // --real applies; without it ldap2pg is in dry mode; --check exits 1 when something would change.
    return { apply: ['--config', configFile, '--real', '--quiet'], check: ['--config', configFile, '--check', '--quiet'], env };
  }
  // pgbedrock: --live applies; --check (default) rolls back. Its spec reads POSTGRES_PASSWORD (see pgbedrockSpec).
  const common = ['-h', p.host, '-p', p.port, '-U', p.user, '-w', p.password, '-d', p.database];
  const env = { ...baseEnv, POSTGRES_PASSWORD: p.password };
  return { apply: ['configure', configFile, ...common, '--live'], check: ['configure', configFile, ...common, '--check'], env };
}

/** Did the check-mode run find nothing to change? */
export function peerFoundNothing(tool: PeerTool, run: PeerRun): boolean {
  if (tool.name === 'ldap2pg') return run.code === 0;
  if (run.code !== 0) return false;
  if (/No changes needed/.test(run.stdout)) return true;
  // pgbedrock prints its statements; comments ("--...") are not changes. With a SCRAM server it always
  // "re-sets" the postgres password, printed as a comment (see the note in run.ts).
  const statements = run.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('--') && !/^Analyzing /.test(l));
  return statements.length === 0;
}
