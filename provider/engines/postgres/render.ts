import { Change, ExceptedObject } from '../../plan/change';
import { DesiredState, Permission, Role, User } from '../../model/types';
import { GLOBAL_DEFAULT_PREFIX, PUBLIC_GRANTEE } from '../../plan/diff';
import { PmgrantsError } from '../../model/errors';
import { Statement } from '../../model/statement';
import { managedComment, PRINCIPAL_MARKER } from './marker';
import { quoteIdent, quoteLiteral } from './quote';
import { columnsOf } from '../../model/state';
import { renderDropMaskedView, renderMaskedView, renderMaskingKey } from './masking';

/**
 * Change -> PostgreSQL statements. Pure: no clock, no I/O, no secrets.
 *
 * A statement that sets a generated password ends with the placeholder `$1` and carries the parameter
 * `{ name: '$1', secretFor: <login> }`; apply replaces that trailing placeholder with the quoted
 * SCRAM-SHA-256 verifier of a fresh password and stamps the login's marker comment with the time.
 * Its display shows PASSWORD '********'.
 */
export const SECRET_PLACEHOLDER = '$1';
const MASK = "'********'";

/** Whole-schema objects for each engine securable kind, as GRANT ... ON ALL <x> IN SCHEMA and ALTER DEFAULT PRIVILEGES ... ON <x> spell them. */
const BULK_OBJECTS: Record<string, { all: string; defaults: string }> = {
  tables: { all: 'ALL TABLES', defaults: 'TABLES' },
  sequences: { all: 'ALL SEQUENCES', defaults: 'SEQUENCES' },
  functions: { all: 'ALL ROUTINES', defaults: 'FUNCTIONS' },
  types: { all: '', defaults: 'TYPES' },
  schemas: { all: '', defaults: 'SCHEMAS' },
};

/** A grantee as GRANT and REVOKE name it: PUBLIC is a keyword, not a role. */
function granteeName(grantee: string): string {
  return grantee === PUBLIC_GRANTEE ? 'PUBLIC' : quoteIdent(grantee);
}

function stmt(sql: string, display: string = sql): Statement {
  return { sql, params: [], display, target: 'warehouse' };
}

/**
 * The parts of a GRANT or REVOKE that render produced, so apply can send many of them as one command
 * (`GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA "s" TO "a", "b"`): PostgreSQL scans the schema's
 * objects once per command, not once per grantee and privilege. Kept beside the statement (a
 * statement stays plain data); a statement without recorded parts is sent as it is.
 */
export type GrantParts =
  | {
      kind: 'privilege';
      revoke: boolean;
      /** A PostgreSQL privilege keyword (checked by privilegeName). */
      privilege: string;
      /** `ON ...` clause, identifiers already quoted. */
      on: string;
      /** `ALTER DEFAULT PRIVILEGES FOR ROLE "r" IN SCHEMA "s"`, quoted, for default privileges. */
      defaultsPrefix?: string;
      /** Quoted grantee. */
      grantee: string;
      grantOption: boolean;
    }
  | { kind: 'membership'; role: string; member: string; admin: boolean };

const grantParts = new WeakMap<Statement, GrantParts>();

/** The recorded parts of a statement render made, or undefined for any other statement. */
export function grantPartsOf(statement: Statement): GrantParts | undefined {
  return grantParts.get(statement);
}

function withParts(statement: Statement, parts: GrantParts): Statement {
  grantParts.set(statement, parts);
  return statement;
}

/**
 * What a statement does to a role as a whole, recorded beside it as grantParts is: apply creates new
 * logins in a transaction of their own before the other changes (see prepareStatements), and needs to
 * know which statements create a login, let the provisioning role act as it, or drop a role.
 */
export type RoleEffect = { kind: 'create-login' | 'act-as' | 'drop'; role: string };

const roleEffects = new WeakMap<Statement, RoleEffect>();

export function roleEffectOf(statement: Statement): RoleEffect | undefined {
  return roleEffects.get(statement);
}

function withEffect(statement: Statement, effect: RoleEffect): Statement {
  roleEffects.set(statement, effect);
  return statement;
}

function secretStatement(prefix: string, login: string): Statement {
  return {
    sql: `${prefix} PASSWORD ${SECRET_PLACEHOLDER}`,
    params: [{ name: SECRET_PLACEHOLDER, secretFor: login }],
    display: `${prefix} PASSWORD ${MASK}`,
    target: 'warehouse',
  };
}

function commentOn(role: string, comment: string): Statement {
  return stmt(`COMMENT ON ROLE ${quoteIdent(role)} IS ${quoteLiteral(comment)}`);
}

/** People and applications log in (their authentication is configured outside pmgrants); groups do not. */
function principalCanLogin(user: User): boolean {
  switch (user.source.type) {
    case 'login':
    case 'sql-login':
      return true;
    case 'external':
    case 'windows':
      return user.source.kind === 'entra-user' || user.source.kind === 'windows-user';
    case 'role':
      return false;
  }
}

/**
 * The provisioning role becomes a member of the roles that own objects (schema owners, generated
 * logins): a non-superuser needs that to create a schema owned by another role, to grant on its
 * objects and to set its default privileges (PostgreSQL 16+ gives a CREATEROLE creator only ADMIN).
 * Inspect ignores the provisioning role's own memberships.
 */
function actAs(role: string): Statement {
  return stmt(`GRANT ${quoteIdent(role)} TO CURRENT_USER`);
}

function roleMarker(role: Role, warehouse: string): string {
  return managedComment({ purpose: role.purpose, ...(role.app ? { app: role.app } : {}), ...(role.persona ? { persona: role.persona } : {}), warehouse });
}

/** The privilege clause target of a permission: `ON SCHEMA "s"`, `ON ALL TABLES IN SCHEMA "s"`, ... */
function grantTarget(p: Permission, desired: DesiredState): { defaultsFor?: string; schema?: string; on: string } {
  // A role's default privileges in every schema (ALTER DEFAULT PRIVILEGES FOR ROLE r, no IN SCHEMA).
  if (p.on.type === 'engine' && p.on.kind.startsWith(GLOBAL_DEFAULT_PREFIX)) {
    const objects = BULK_OBJECTS[p.on.kind.slice(GLOBAL_DEFAULT_PREFIX.length)];
    if (!objects || p.on.forRole === undefined) throw new Error(`render: unknown PostgreSQL securable kind ${p.on.kind}`);
    return { defaultsFor: p.on.forRole, on: `ON ${objects.defaults}` };
  }
  const on = p.on;
  switch (on.type) {
    case 'database':
      return { on: `ON DATABASE ${quoteIdent(desired.database)}` };
    case 'schema':
      return { on: `ON SCHEMA ${quoteIdent(on.name)}` };
    case 'role':
      throw new Error(`render: "${p.privilege}" on role ${on.name} is a neutral permission; realize the desired state first`);
    case 'engine': {
      const defaults = on.kind.startsWith('default-') ? on.kind.slice('default-'.length) : undefined;
      const kind = defaults ?? (on.kind.startsWith('some-') ? on.kind.slice('some-'.length) : on.kind);
      const objects = BULK_OBJECTS[kind];
      if (!objects) throw new Error(`render: unknown PostgreSQL securable kind ${on.kind}`);
      if (defaults !== undefined) {
        if (on.forRole === undefined) throw new Error(`render: default privileges on ${on.name} need a role`);
        return { defaultsFor: on.forRole, schema: on.name, on: `ON ${objects.defaults}` };
      }
      if (!objects.all) throw new Error(`render: ${on.kind} can only be granted as default privileges`);
      return { on: `ON ${objects.all} IN SCHEMA ${quoteIdent(on.name)}` };
    }
  }
}

function privilegeName(privilege: string): string {
  if (!/^[A-Z]+( [A-Z]+)?$/.test(privilege)) {
    throw new Error(`render: "${privilege}" is not a PostgreSQL privilege (realize the desired state first)`);
  }
  return privilege;
}

/** The word GRANT and REVOKE name one object of each bulk kind by (ROUTINE: functions, procedures and aggregates alike). */
const ONE_OBJECT: Record<string, { word: string }> = {
  tables: { word: 'TABLE' },
  sequences: { word: 'SEQUENCE' },
  functions: { word: 'ROUTINE' },
};

/**
 * A GRANT or REVOKE on all objects of a kind in a schema but those the connecting role cannot act as
 * the owner of (Change except): on those, GRANT and REVOKE by a non-owner fail outright, or grant or
 * revoke nothing with a warning (GRANT, REVOKE: Notes), and the bulk form would take the whole apply
 * down. The objects are listed when the statement runs, in one GRANT or REVOKE naming each object of
 * the kind whose owner's privileges the role has (pg_has_role ... 'USAGE', the rule inspect reads by),
 * so a table made since the plan is covered too. The schema, the kind and the statement (a format()
 * template: `%s` where the objects go) reach the DO block as transaction-local settings; its body is constant text.
 */
function renderOneByOne(template: string, schema: string, kind: string, display: string): Statement {
  const sql = `${passNames({ schema, kind, command: template })};
DO $pmgrants$
DECLARE
  s text := current_setting('pmgrants.schema');
  k text := current_setting('pmgrants.kind');
  objects text;
BEGIN
  IF k = 'functions' THEN
    SELECT string_agg(format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)), ', ' ORDER BY p.oid) INTO objects
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = s AND pg_catalog.pg_has_role(p.proowner, 'USAGE');
  ELSE
    SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY c.oid) INTO objects
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = s AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
      AND c.relkind = ANY (CASE WHEN k = 'sequences' THEN '{S}' ELSE '{r,v,m,f,p}' END::"char"[]);
  END IF;
  IF objects IS NOT NULL THEN
    EXECUTE format(current_setting('pmgrants.command'), objects);
  END IF;
END
$pmgrants$`;
  return stmt(sql, display);
}

function renderGrant(p: Permission, desired: DesiredState, revoke: boolean, except?: readonly ExceptedObject[]): Statement {
  if (p.effect === 'DENY') {
    throw new PmgrantsError(`PostgreSQL has no DENY; cannot ${revoke ? 'revoke' : 'grant'} DENY ${p.privilege} for "${p.grantee}"`);
  }
  if (!revoke && p.on.type === 'engine' && p.on.kind.startsWith('some-')) {
    throw new Error(`render: ${p.on.kind} is what inspect reports for a partial holding; it is never granted`);
  }
  const column = columnsOf(p.on);
  if (column && !revoke) throw new Error(`render: a column grant is what inspect reports on an app schema; it is never granted`);
  // REVOKE SELECT (c, d) ON TABLE s.t: the privilege names the columns (REVOKE's column form).
  const target = column ? { on: `ON TABLE ${quoteIdent(column.schema)}.${quoteIdent(column.table)}` } : grantTarget(p, desired);
  const privilege = column ? `${privilegeName(p.privilege)} (${column.columns.map(quoteIdent).join(', ')})` : privilegeName(p.privilege);
  const grantee = granteeName(p.grantee);
  const body = revoke
    ? `REVOKE ${privilege} ${target.on} FROM ${grantee}`
    : `GRANT ${privilege} ${target.on} TO ${grantee}${p.withGrantOption ? ' WITH GRANT OPTION' : ''}`;
  const oneByOne = except && except.length > 0 && !column && target.defaultsFor === undefined && p.on.type === 'engine' ? ONE_OBJECT[p.on.kind.replace(/^some-/, '')] : undefined;
  if (oneByOne && p.on.type === 'engine') {
    const kind = p.on.kind.replace(/^some-/, '');
    const each = (objects: string, to: string) =>
      revoke ? `REVOKE ${privilege} ON ${oneByOne.word} ${objects} FROM ${to}` : `GRANT ${privilege} ON ${oneByOne.word} ${objects} TO ${to}${p.withGrantOption ? ' WITH GRANT OPTION' : ''}`;
    const but = except!.map((o) => `${o.name} (owned by ${o.owner})`).join(', ');
    // format()'s template: '%s' where the objects go, and any '%' of the grantee's name doubled.
    const template = each('%s', grantee.replace(/%/g, '%%'));
    return renderOneByOne(template, p.on.name, kind, `${body} -- except ${but}: ${each(`<every other ${oneByOne.word.toLowerCase()} of ${p.on.name}>`, grantee)}`);
  }
  const parts: GrantParts = { kind: 'privilege', revoke, privilege, on: target.on, grantee, grantOption: !revoke && p.withGrantOption };
  if (target.defaultsFor !== undefined) {
    const inSchema = target.schema !== undefined ? ` IN SCHEMA ${quoteIdent(target.schema)}` : '';
    const defaultsPrefix = `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(target.defaultsFor)}${inSchema}`;
    return withParts(stmt(`${defaultsPrefix} ${body}`), { ...parts, defaultsPrefix });
  }
  return withParts(stmt(body), parts);
}

/** `SELECT set_config(...)` of transaction-local settings: how names reach a DO block whose body stays constant text. */
function passNames(values: Record<string, string>): string {
  return `SELECT ${Object.entries(values)
    .map(([k, v]) => `set_config(${quoteLiteral(`pmgrants.${k}`)}, ${quoteLiteral(v)}, true)`)
    .join(', ')}`;
}

const SESSIONS_GUARD = `IF EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity WHERE usename = target) THEN
    RAISE EXCEPTION USING ERRCODE = '55006', MESSAGE = format('role %I has open sessions: end them (pg_terminate_backend) or wait, then apply again', target);
  END IF;`;

/**
 * Dropping a managed role. With an heir (handTo, the owner of the app schema the role worked in), what
 * the role owns in this database goes to the heir first (REASSIGN OWNED: tables keep their rows and the
 * grants others hold on them), and DROP OWNED then revokes the role's own privileges and default
 * privileges here (its revoke of PUBLIC's EXECUTE on future functions among them); both act on the
 * current database only, so objects or privileges the role holds in another database still make DROP
 * ROLE fail, with the server's sentence naming that database. Without an heir, the drop is refused (one
 * clear sentence) while the role owns objects in this database, and its default privileges in every
 * schema for functions go back to PostgreSQL's first (see creatorDefaults in inspect.ts). Either way it
 * is refused while the role has open sessions. One statement of three parts: the names go in through
 * transaction-local settings, so the guard's body never holds quoted input.
 */
function renderDropRole(name: string, heir?: string): Statement {
  const drop = `DROP ROLE IF EXISTS ${quoteIdent(name)}`;
  if (heir !== undefined) {
    const sql = `${passNames({ drop_role: name, hand_to: heir })};
DO $pmgrants$
DECLARE
  target text := current_setting('pmgrants.drop_role');
  heir text := current_setting('pmgrants.hand_to');
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = target) THEN
    RETURN;
  END IF;
  ${SESSIONS_GUARD}
  EXECUTE format('REASSIGN OWNED BY %I TO %I', target, heir);
  EXECUTE format('DROP OWNED BY %I', target);
END
$pmgrants$;
${drop}`;
    return stmt(sql, `REASSIGN OWNED BY ${quoteIdent(name)} TO ${quoteIdent(heir)}; DROP OWNED BY ${quoteIdent(name)}; ${drop} -- refused if it has open sessions`);
  }
  const sql = `${passNames({ drop_role: name })};
DO $pmgrants$
DECLARE
  target text := current_setting('pmgrants.drop_role');
  owned text;
BEGIN
  SELECT string_agg(what, ', ') INTO owned FROM (
    SELECT 'schema ' || quote_ident(n.nspname) AS what FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner WHERE r.rolname = target
    UNION ALL
    SELECT 'relation ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN pg_catalog.pg_roles r ON r.oid = c.relowner WHERE r.rolname = target AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S')
    UNION ALL
    SELECT 'routine ' || quote_ident(n.nspname) || '.' || quote_ident(p.proname) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace JOIN pg_catalog.pg_roles r ON r.oid = p.proowner WHERE r.rolname = target
    LIMIT 5
  ) o;
  IF owned IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = '2BP01', MESSAGE = format('role %I still owns objects (%s) and works in no single app schema whose owner could take them: hand them over (ALTER ... OWNER TO) or drop them, then plan again', target, owned);
  END IF;
  ${SESSIONS_GUARD}
  -- The revoke of PUBLIC's EXECUTE on its future functions is an entry that depends on the role: back
  -- to the built-in default, which removes the entry.
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_default_acl d JOIN pg_catalog.pg_roles r ON r.oid = d.defaclrole WHERE r.rolname = target AND d.defaclnamespace = 0 AND d.defaclobjtype = 'f') THEN
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I GRANT EXECUTE ON FUNCTIONS TO PUBLIC', target);
  END IF;
END
$pmgrants$;
${drop}`;
  return stmt(sql, `${drop} -- refused if it still owns objects or has open sessions`);
}

/**
 * Ending a membership whoever granted it: PostgreSQL 16+ keeps one grant per grantor and a plain REVOKE
 * only ends the current user's, so the guard revokes each grantor's (GRANTED BY). Names go in as in
 * renderDropRole.
 */
function renderRevokeMembership(role: string, member: string): Statement {
  const sql = `${passNames({ role, member })};
DO $pmgrants$
DECLARE
  r text := current_setting('pmgrants.role');
  m text := current_setting('pmgrants.member');
  g text;
BEGIN
  IF current_setting('server_version_num')::int < 160000 THEN
    EXECUTE format('REVOKE %I FROM %I', r, m);
    RETURN;
  END IF;
  FOR g IN
    SELECT DISTINCT gr.rolname
    FROM pg_catalog.pg_auth_members a
    JOIN pg_catalog.pg_roles ro ON ro.oid = a.roleid
    JOIN pg_catalog.pg_roles me ON me.oid = a.member
    JOIN pg_catalog.pg_roles gr ON gr.oid = a.grantor
    WHERE ro.rolname = r AND me.rolname = m
  LOOP
    EXECUTE format('REVOKE %I FROM %I GRANTED BY %I', r, m, g);
  END LOOP;
END
$pmgrants$`;
  return stmt(sql, `REVOKE ${quoteIdent(role)} FROM ${quoteIdent(member)} -- every grantor's grant`);
}

/** One change -> its statements (possibly none: in PostgreSQL a login's user is the login itself). */
export function renderChange(change: Change, desired: DesiredState): Statement[] {
  switch (change.kind) {
    case 'create-login': {
      const name = change.login.name;
      // apply stamps the managed marker (with the password time) right after the first statement.
      return [
        withEffect(secretStatement(`CREATE ROLE ${quoteIdent(name)} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT`, name), { kind: 'create-login', role: name }),
        withEffect(actAs(name), { kind: 'act-as', role: name }),
      ];
    }
    case 'rotate-password':
      return [secretStatement(`ALTER ROLE ${quoteIdent(change.login)} WITH`, change.login)];
    case 'create-user': {
      const user = change.user;
      if (user.source.type === 'login') return [];
      const kind = user.source.type === 'sql-login' ? 'sql-login' : user.source.type === 'role' ? 'database-role' : user.source.kind;
      return [
        stmt(`CREATE ROLE ${quoteIdent(user.name)} WITH ${principalCanLogin(user) ? 'LOGIN' : 'NOLOGIN'} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT`),
        commentOn(user.name, `${PRINCIPAL_MARKER} ${JSON.stringify({ kind })} (created by pmgrants; authentication is configured outside it)`),
      ];
    }
    case 'create-role':
      return [
        stmt(`CREATE ROLE ${quoteIdent(change.role.name)} WITH NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT`),
        commentOn(change.role.name, roleMarker(change.role, desired.database)),
        ...(change.role.purpose === 'schema-owner' ? [actAs(change.role.name)] : []),
      ];
    case 'create-schema':
      return [stmt(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(change.schema.name)} AUTHORIZATION ${quoteIdent(change.schema.owner)}`)];
    case 'alter-schema-owner':
      return [stmt(`ALTER SCHEMA ${quoteIdent(change.schema)} OWNER TO ${quoteIdent(change.to)}`)];
    case 'add-member': {
      const role = quoteIdent(change.membership.role);
      const member = quoteIdent(change.membership.member);
      const admin = Boolean(change.membership.admin);
      return [withParts(stmt(`GRANT ${role} TO ${member}${admin ? ' WITH ADMIN OPTION' : ''}`), { kind: 'membership', role, member, admin })];
    }
    case 'drop-member':
      return [renderRevokeMembership(change.membership.role, change.membership.member)];
    case 'grant':
      return [renderGrant(change.permission, desired, false, change.except)];
    case 'revoke':
      return [renderGrant(change.permission, desired, true, change.except)];
    // A login, its user and a role are all one role in PostgreSQL: whichever drop comes first drops it,
    // the others find nothing (IF EXISTS). Each change renders alone, so no change relies on another.
    case 'drop-role':
      return [withEffect(renderDropRole(change.role, change.handTo), { kind: 'drop', role: change.role })];
    case 'drop-user':
      return [withEffect(renderDropRole(change.user, change.handTo), { kind: 'drop', role: change.user })];
    case 'drop-login':
      return [withEffect(renderDropRole(change.login, change.handTo), { kind: 'drop', role: change.login })];
    case 'create-masking-key':
      return renderMaskingKey(change.schema, change.owner);
    case 'create-masked-view':
    case 'replace-masked-view':
      return renderMaskedView(change.view);
    case 'drop-masked-view':
      return renderDropMaskedView(change.schema, change.name);
    case 'mask-columns':
      // PostgreSQL masks through views (engines/postgres/masking.ts): the diff plans no column masks for it.
      throw new Error('render: mask-columns is Dynamic Data Masking (SQL Server); PostgreSQL masks personal columns through views');
    default: {
      const never: never = change;
      throw new Error(`render: unknown change ${JSON.stringify(never)}`);
    }
  }
}

export function renderPostgres(changes: readonly Change[], desired: DesiredState): Statement[] {
  return changes.flatMap((c) => renderChange(c, desired));
}

/**
 * The plan's lock lines. A drop with an heir runs REASSIGN OWNED, which changes the owner of every
 * table and view the role owns: ALTER ... OWNER takes ACCESS EXCLUSIVE on each, held to the commit,
 * and every reader of those tables queues behind the request while it waits. Drops come last in the
 * transaction (CHANGE_ORDER), so the window is short; the lock timeout bounds the wait.
 */
export function postgresLocks(changes: readonly Change[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const c of changes) {
    // Personal data: a masked view made again, or dropped, is locked against its readers until the commit.
    if (c.kind === 'replace-masked-view' || c.kind === 'drop-masked-view') {
      const view = c.kind === 'replace-masked-view' ? `${c.view.schema}.${c.view.name}` : `${c.schema}.${c.name}`;
      out.push(`masked view ${view} is ${c.kind === 'replace-masked-view' ? 'made again' : 'dropped'}: DROP VIEW takes an exclusive lock (ACCESS EXCLUSIVE) on it, from then to the commit`);
      continue;
    }
    const name = c.kind === 'drop-role' ? c.role : c.kind === 'drop-user' ? c.user : c.kind === 'drop-login' ? c.login : undefined;
    if (name === undefined || !('handTo' in c) || c.handTo === undefined) continue;
    if (seen.has(name)) continue; // a user and a login of one name are one role
    seen.add(name);
    out.push(`${name} is dropped: REASSIGN OWNED hands its objects to ${c.handTo}, which takes an exclusive lock (ACCESS EXCLUSIVE) on every table and view ${name} owns, from then to the commit, late in the transaction`);
  }
  return out;
}
