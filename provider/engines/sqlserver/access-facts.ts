import { EngineName, Right, RIGHTS } from '../../model/types';
import { AccessFacts, AccessPath, FactPrincipal, HeldRight } from '../../model/access';
import { SCHEMA_PERMISSION_OF } from './privileges';

/**
 * SQL Server / Azure SQL effective access, pure: rows shaped like the sys.* result sets of
 * ACCESS_SQL (sql/access-*.sql) -> what every database principal can do on every app
 * schema, and through which path. The rules, each from Microsoft's documentation (docs/sqlserver.md,
 * "Access report"):
 * - Role membership nests and always passes permissions on; every user is a member of public.
 * - A schema permission is implied by CONTROL on the schema, by the same permission on the database
 *   (ALTER: by ALTER ANY SCHEMA, itself implied by ALTER on the database), and by CONTROL on the
 *   database (GRANT Schema Permissions, "Implied by ...").
 * - db_owner holds CONTROL on the database; db_datareader SELECT; db_datawriter INSERT, UPDATE, DELETE;
 *   db_ddladmin any DDL (ALTER ANY SCHEMA, CREATE TABLE ...); db_denydatareader / db_denydatawriter deny
 *   them (Database-level roles).
 * - The owner of a schema holds CONTROL on it.
 * - DENY anywhere on the path (on the schema or the database, of the permission or of CONTROL, to the
 *   user or any of its roles, public included) wins over every GRANT, except for object owners and
 *   members of sysadmin (DENY). db_owner members are not exempt. dbo and sysadmin logins pass every check.
 */
export interface SqlServerAccessRows {
  identity: { database_name: string; server_name: string | null; product_version: string | null; edition: string | null; database_id: number }[];
  principals: {
    principal_id: number;
    name: string;
    type: string;
    is_fixed_role: boolean | number;
    pmgrants_marker: string | null;
    password_last_set: string | null;
    is_sysadmin: number | null;
  }[];
  members: { role_name: string; member_name: string }[];
  /** class 0 = database, 3 = schema; state G, W (grant option) or D (deny). */
  permissions: { class: number; schema_name: string | null; grantee_name: string; permission_name: string; state: string }[];
  schemas: { name: string; owner_name: string }[];
}

/** Database permissions that imply a schema permission (besides CONTROL on the database). */
const DATABASE_IMPLIES: Record<string, string[]> = {
  SELECT: ['SELECT'],
  INSERT: ['INSERT'],
  UPDATE: ['UPDATE'],
  DELETE: ['DELETE'],
  EXECUTE: ['EXECUTE'],
  REFERENCES: ['REFERENCES'],
  'VIEW DEFINITION': ['VIEW DEFINITION'],
  ALTER: ['ALTER ANY SCHEMA', 'ALTER'],
  'CREATE TABLE': ['CREATE TABLE', 'ALTER'],
};
/** What the fixed database roles hold and deny on the database (Database-level roles). */
const FIXED_GRANTS: Record<string, string[]> = {
  db_owner: ['CONTROL'],
  db_datareader: ['SELECT'],
  db_datawriter: ['INSERT', 'UPDATE', 'DELETE'],
  db_ddladmin: ['ALTER ANY SCHEMA', 'CREATE TABLE', 'CREATE VIEW', 'CREATE PROCEDURE', 'CREATE FUNCTION'],
};
const FIXED_DENIES: Record<string, string[]> = {
  db_denydatareader: ['SELECT'],
  db_denydatawriter: ['INSERT', 'UPDATE', 'DELETE'],
};
const INTERNAL_USERS = new Set(['sys', 'INFORMATION_SCHEMA', 'guest']);

interface Holder {
  name: string;
  kind: 'direct' | 'public' | 'membership';
  via: string[];
}

const key = (s: string) => s.toLowerCase();

export function sqlServerAccessFacts(rows: SqlServerAccessRows, engine: EngineName = 'sqlserver'): AccessFacts {
  const id = rows.identity[0];
  const parents = new Map<string, string[]>();
  for (const m of rows.members) parents.set(key(m.member_name), [...(parents.get(key(m.member_name)) ?? []), m.role_name].sort());
  // grantee -> class/schema -> permission -> state
  const perms = new Map<string, { on: string; permission: string; deny: boolean }[]>();
  for (const p of rows.permissions) {
    const on = p.class === 0 ? 'database' : `schema:${key(p.schema_name ?? '')}`;
    perms.set(key(p.grantee_name), [...(perms.get(key(p.grantee_name)) ?? []), { on, permission: p.permission_name, deny: p.state === 'D' }]);
  }
  const owners = new Map(rows.schemas.map((s) => [key(s.name), s.owner_name]));

  const principals: FactPrincipal[] = [];
  const held: HeldRight[] = [];
  const denials: NonNullable<AccessFacts['denials']> = [];
  for (const p of rows.principals) {
    const fixed = p.is_fixed_role === true || p.is_fixed_role === 1;
    const isPublic = p.principal_id === 0;
    const internal = fixed || INTERNAL_USERS.has(p.name);
    const bypassBy = p.principal_id === 1 ? 'the database owner: no permission check applies' : p.is_sysadmin === 1 ? 'its login is a member of sysadmin: no permission check applies' : undefined;
    const kind: FactPrincipal['kind'] = isPublic ? 'public' : p.type === 'R' || p.type === 'A' ? 'role' : p.type === 'G' || p.type === 'X' ? 'group' : 'user';
    const notes: string[] = [];
    if (bypassBy) notes.push(p.principal_id === 1 ? 'dbo: the database owner; sysadmin logins enter as dbo' : 'sysadmin');
    principals.push({
      name: p.name,
      kind,
      canLogin: ['S', 'U', 'E'].includes(p.type),
      superuser: bypassBy !== undefined,
      notes,
      ...(p.pmgrants_marker !== null || p.password_last_set ? { marker: { ...(p.password_last_set ? { passwordSetAt: `${p.password_last_set.replace(/Z?$/, '')}Z` } : {}) } } : {}),
      ...(internal ? { internal: true } : {}),
    });
    if (internal) continue;

    // The roles this principal holds the permissions of: itself, its roles (nested), public.
    const holders: Holder[] = [{ name: p.name, kind: isPublic ? 'public' : 'direct', via: [] }];
    const seen = new Set([key(p.name)]);
    const queue: Holder[] = [holders[0]];
    while (queue.length) {
      const at = queue.shift()!;
      for (const role of parents.get(key(at.name)) ?? []) {
        if (seen.has(key(role))) continue;
        seen.add(key(role));
        const h: Holder = { name: role, kind: 'membership', via: [...at.via, role] };
        holders.push(h);
        queue.push(h);
      }
    }
    if (!isPublic) holders.push({ name: 'public', kind: 'public', via: [] });
    const who = (h: Holder, what: string): AccessPath => {
      if (h.kind === 'direct') return { kind: 'direct', via: [], detail: `${what} granted to ${p.name}` };
      if (h.kind === 'public') return { kind: 'public', via: [], detail: `${what} granted to public` };
      return { kind: 'membership', via: h.via, detail: `${what} granted to ${h.name}, a role of ${p.name} through ${h.via.join(' → ')}` };
    };

    for (const schema of rows.schemas) {
      const add = (right: Right, paths: AccessPath[], extra: Partial<HeldRight> = {}) => {
        if (paths.length) held.push({ principal: p.name, schema: schema.name, right, paths, ...extra });
      };
      if (bypassBy) {
        for (const right of RIGHTS) add(right, [{ kind: 'bypass', via: [], detail: `${p.name}: ${bypassBy}` }], { bypass: true });
        continue;
      }
      const owner = owners.get(key(schema.name))!;
      const ownerHolder = holders.find((h) => key(h.name) === key(owner));
      const ownership: AccessPath = { kind: 'ownership', via: [], detail: `${p.name} owns schema ${schema.name} (CONTROL; DENY does not apply to owners)` };
      const directOwner = ownerHolder?.kind === 'direct';
      const onSchema = `schema:${key(schema.name)}`;
      /** Grants and denials that decide one schema-level permission. */
      const decide = (permission: string): { grants: AccessPath[]; denies: string[] } => {
        const grants: AccessPath[] = [];
        const denies: string[] = [];
        const databaseLevel = DATABASE_IMPLIES[permission] ?? [permission];
        const schemaLevel = permission === 'CREATE TABLE' ? [] : [permission, 'CONTROL'];
        if (ownerHolder && permission !== 'CREATE TABLE') grants.push({ kind: 'ownership', via: ownerHolder.via, detail: `${owner} owns schema ${schema.name} (CONTROL), a role of ${p.name} through ${ownerHolder.via.join(' → ')}` });
        for (const h of holders) {
          for (const g of perms.get(key(h.name)) ?? []) {
            const hit = (g.on === onSchema && schemaLevel.includes(g.permission)) || (g.on === 'database' && (databaseLevel.includes(g.permission) || g.permission === 'CONTROL'));
            if (!hit) continue;
            const what = `${g.deny ? 'DENY ' : ''}${g.permission} on ${g.on === 'database' ? 'the database' : `schema ${schema.name}`}`;
            if (g.deny) denies.push(`${what} to ${h.name}`);
            else {
              const path = who(h, what);
              grants.push(g.on === 'database' ? { ...path, kind: h.kind === 'membership' || h.kind === 'public' ? 'database' : path.kind } : path);
            }
          }
          const fixed = FIXED_GRANTS[key(h.name)];
          if (fixed && (fixed.includes('CONTROL') || fixed.some((x) => databaseLevel.includes(x)))) {
            grants.push({ kind: key(h.name) === 'db_owner' ? 'bypass' : 'database', via: h.via, detail: `member of ${h.name} (${fixed.join(', ')} on the database)${h.via.length > 1 ? ` through ${h.via.join(' → ')}` : ''}` });
          }
          const denied = FIXED_DENIES[key(h.name)];
          if (denied?.some((x) => databaseLevel.includes(x))) denies.push(`member of ${h.name} (DENY ${denied.join(', ')} on the database)${h.via.length > 1 ? ` through ${h.via.join(' → ')}` : ''}`);
        }
        return { grants, denies };
      };
      const settle = (right: Right, d: ReturnType<typeof decide>) => {
        if (d.denies.length) {
          if (d.grants.length) denials.push({ principal: p.name, schema: schema.name, right, detail: `granted but denied: ${d.denies.join('; ')}` });
          return;
        }
        const paths = d.grants.filter((g, i) => d.grants.findIndex((x) => x.detail === g.detail) === i);
        add(right, paths, paths.every((g) => g.kind === 'bypass') ? { bypass: true } : {});
      };
      for (const right of RIGHTS) {
        if (right === 'create-objects') {
          // CREATE TABLE on the database, and ALTER on the schema to create in it.
          const create = decide('CREATE TABLE');
          const alter = directOwner ? { grants: [ownership], denies: [] } : decide('ALTER');
          if (create.grants.length && alter.grants.length) settle(right, { grants: [...create.grants, ...alter.grants], denies: [...create.denies, ...alter.denies] });
        } else if (directOwner) add(right, [ownership]);
        else settle(right, decide(SCHEMA_PERMISSION_OF[right]));
      }
    }
  }
  return {
    engine,
    identity: {
      database: id?.database_name ?? '',
      server: id?.server_name ?? 'unknown server',
      version: `SQL Server ${id?.product_version ?? ''}${id?.edition ? ` (${id.edition})` : ''}`.trim(),
      id: `database_id ${id?.database_id ?? '?'}`,
    },
    principals,
    schemas: Object.fromEntries(rows.schemas.map((s) => [s.name, s.owner_name])),
    held,
    denials,
    memberships: rows.members.map((m) => ({ role: m.role_name, member: m.member_name })),
    raw: rows,
  };
}
