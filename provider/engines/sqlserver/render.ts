import { columnOf, columnsOf, permissionKey } from '../../model/state';
import { renderColumnMask } from './masking';
import { DesiredState, Login, Permission, Securable, User } from '../../model/types';
import { Change } from '../../plan/change';
import { PmgrantsError } from '../../model/errors';
import { Statement, StatementParam } from '../../model/statement';
import { MANAGED_MARKER, ResolvedDialectOptions } from './options';
import { isCatalogPermissionName, MANAGED_PERMISSIONS, OBJECT_KIND_PREFIX, realizePermission, realizePermissions } from './privileges';
import { assertSysname, quoteName, quoteObjectId, quoteString } from './quote';
import { generatedLoginSid } from './sid';

/**
 * The owner of every role pmgrants creates. CREATE ROLE ... AUTHORIZATION a user needs IMPERSONATE on
 * that user (only CONTROL gives it, so [dbo] is out of the seed's reach); a role needs membership in it
 * or ALTER on it (CREATE ROLE, Permissions). The seed's provisioning login is a member of
 * db_securityadmin, and the page's example B creates a role owned by it.
 */
export const ROLE_OWNER = 'db_securityadmin';

/**
 * Who grants: GRANT, DENY and REVOKE name the principal they derive the right from (AS). On a schema,
 * its owner (which may grant on what it owns; DENY Schema Permissions: "the specified principal must own
 * the schema"); anywhere else dbo, which "has all permissions in the database" (Principals (Database
 * Engine)). Naming a user after AS needs IMPERSONATE on it or db_securityadmin, a role ALTER on it or
 * db_securityadmin (the AS tables of GRANT Schema / Database / Database Principal Permissions): the seed's
 * db_securityadmin is what makes every grant pmgrants renders its own to make.
 */
export const DATABASE_GRANTOR = 'dbo';

/** What display shows instead of a password. */
export const MASKED_PASSWORD = '********';

/** Error numbers of the THROWs pmgrants renders (THROW needs 50000 or more). */
export const THROW_NAME_TOO_LONG = 50001;
export const THROW_ACTIVE_SESSIONS = 50002;

export interface RenderContext {
  options: ResolvedDialectOptions;
  /** The desired state (neutral or realized); used for DEFAULT_DATABASE, re-grants and grant-option revokes. */
  desired: DesiredState;
}

/** Changes -> statements, in order. */
export function renderChanges(changes: readonly Change[], ctx: RenderContext): Statement[] {
  const realized: RenderContext = { ...ctx, desired: { ...ctx.desired, permissions: realizePermissions(ctx.desired.permissions) } };
  return changes.flatMap((c) => renderChange(c, realized));
}

function plain(sql: string, target: Statement['target'], extra: Partial<Pick<Statement, 'ownBatch'>> = {}): Statement {
  return { sql, params: [], display: sql, target, ...extra };
}

function isContained(ctx: RenderContext): boolean {
  return ctx.options.engine === 'azure-sql' && ctx.options.generatedLogins === 'contained';
}

/** Logins live on the server (SQL Server: any database of the instance; Azure SQL: the logical master). */
const SERVER: Statement['target'] = 'server';
const WAREHOUSE: Statement['target'] = 'warehouse';

/** One change -> its statements. Exhaustive over Change kinds. */
export function renderChange(change: Change, ctx: RenderContext): Statement[] {
  switch (change.kind) {
    case 'create-login':
      return renderCreateLogin(change.login, ctx);
    case 'rotate-password':
      return [renderSetPassword(change.login, ctx)];
    case 'drop-login':
      return renderDropLogin(change.login, ctx);
    case 'create-user':
      return renderCreateUser(change.user, ctx);
    case 'drop-user':
      return [...handOver(change.user, change.handTo), plain(`DROP USER ${quoteName(change.user)};`, WAREHOUSE)];
    case 'create-role':
      return [plain(createRoleSql(change.role.name), WAREHOUSE), markManaged(change.role.name)];
    case 'drop-role':
      return [...handOver(change.role, change.handTo), plain(`DROP ROLE ${quoteName(change.role)};`, WAREHOUSE)];
    case 'create-schema':
      // CREATE SCHEMA must be executed as a separate batch.
      return [plain(`CREATE SCHEMA ${quoteName(change.schema.name)} AUTHORIZATION ${quoteName(change.schema.owner)};`, WAREHOUSE, { ownBatch: true })];
    case 'alter-schema-owner':
      return renderAlterSchemaOwner(change.schema, change.to, ctx);
    case 'add-member':
      return [plain(`ALTER ROLE ${quoteName(change.membership.role)} ADD MEMBER ${quoteName(change.membership.member)};`, WAREHOUSE)];
    case 'drop-member':
      return [plain(`ALTER ROLE ${quoteName(change.membership.role)} DROP MEMBER ${quoteName(change.membership.member)};`, WAREHOUSE)];
    case 'grant':
      noExceptions(change);
      return realizePermission(change.permission).map((p) => plain(grantSql(p, ctx.desired), WAREHOUSE));
    case 'revoke':
      noExceptions(change);
      return (isReadFromCatalog(change.permission) ? [change.permission] : realizePermission(change.permission)).map((p) => plain(revokeSql(p, ctx.desired), WAREHOUSE));
    case 'mask-columns':
      return change.columns.flatMap((c) => renderColumnMask(change.schema, change.table, c.name, c.function, c.was !== undefined));
    case 'create-masking-key':
    case 'create-masked-view':
    case 'replace-masked-view':
    case 'drop-masked-view':
      // SQL Server masks the base columns (engines/sqlserver/masking.ts): realize leaves no companion schema to plan views in.
      throw new Error(`render: ${change.kind} is PostgreSQL's; SQL Server masks personal columns with Dynamic Data Masking`);
    default: {
      const never: never = change;
      throw new Error(`unknown change ${JSON.stringify(never)}`);
    }
  }
}

/**
 * SQL Server's inspect reports no unreachable objects (ActualState.unreachable): the schema's owner,
 * whom every grant names after AS, keeps CONTROL on the objects of its schema. A change that leaves
 * objects out is another engine's, and rendering it here would grant or revoke on them after all.
 */
function noExceptions(change: Extract<Change, { kind: 'grant' | 'revoke' }>): void {
  if (change.except && change.except.length > 0) throw new Error(`render: SQL Server cannot leave objects out of a ${change.kind} (${change.except.map((o) => o.name).join(', ')})`);
}

// ---------------------------------------------------------------------------------------------
// Logins and passwords: always dynamic SQL built server-side from bound parameters.
// ---------------------------------------------------------------------------------------------

/**
 * A statement whose text is assembled on the server: QUOTENAME of bound nvarchar parameters,
 * executed with sp_executesql. The password is only ever a parameter; if any QUOTENAME returns NULL
 * (input over 128 characters) the batch THROWs instead of running an empty statement.
 */
function dynamicStatement(parts: string, params: StatementParam[], display: string, target: Statement['target'], ownBatch: boolean): Statement {
  const sql = [
    `DECLARE @sql nvarchar(max) = ${parts};`,
    `IF @sql IS NULL THROW ${THROW_NAME_TOO_LONG}, N'pmgrants: a name or password is longer than QUOTENAME accepts (128 characters); nothing was run.', 1;`,
    'EXEC sys.sp_executesql @sql;',
  ].join('\n');
  return { sql, params, display, target, ...(ownBatch ? { ownBatch: true } : {}) };
}

function renderCreateLogin(login: Login, ctx: RenderContext): Statement[] {
  const name = login.name;
  assertSysname(name);
  const loginParams: StatementParam[] = [
    { name: 'login', value: name },
    { name: 'password', secretFor: name },
  ];
  if (isContained(ctx)) {
    // Azure SQL contained database user with password: the "login" lives in the warehouse itself.
    return [
      dynamicStatement(
        `N'CREATE USER ' + QUOTENAME(@login) + N' WITH PASSWORD = ' + QUOTENAME(@password, '''') + N';'`,
        loginParams,
        `CREATE USER ${quoteName(name)} WITH PASSWORD = '${MASKED_PASSWORD}';`,
        WAREHOUSE,
        false,
      ),
      markManaged(name),
    ];
  }
  // The SID names the warehouse that made the login (sid.ts): hexadecimal digits only, so it is spliced as a literal.
  const sid = generatedLoginSid(ctx.options.engine, ctx.desired.database, name);
  if (ctx.options.engine === 'azure-sql') {
    // Azure SQL Database: in master, PASSWORD [, SID] only; CREATE LOGIN must be the only statement in its batch.
    return [
      dynamicStatement(
        `N'CREATE LOGIN ' + QUOTENAME(@login) + N' WITH PASSWORD = ' + QUOTENAME(@password, '''') + N', SID = ${sid};'`,
        loginParams,
        `CREATE LOGIN ${quoteName(name)} WITH PASSWORD = '${MASKED_PASSWORD}', SID = ${sid};`,
        SERVER,
        true,
      ),
    ];
  }
  const database = ctx.desired.database;
  return [
    dynamicStatement(
      `N'CREATE LOGIN ' + QUOTENAME(@login) + N' WITH PASSWORD = ' + QUOTENAME(@password, '''') + N', SID = ${sid}, CHECK_POLICY = ON, DEFAULT_DATABASE = ' + QUOTENAME(@database) + N';'`,
      [...loginParams, { name: 'database', value: database }],
      `CREATE LOGIN ${quoteName(name)} WITH PASSWORD = '${MASKED_PASSWORD}', SID = ${sid}, CHECK_POLICY = ON, DEFAULT_DATABASE = ${quoteName(database)};`,
      SERVER,
      false,
    ),
  ];
}

function renderSetPassword(login: string, ctx: RenderContext): Statement {
  assertSysname(login);
  const params: StatementParam[] = [
    { name: 'login', value: login },
    { name: 'password', secretFor: login },
  ];
  if (isContained(ctx)) {
    return dynamicStatement(
      `N'ALTER USER ' + QUOTENAME(@login) + N' WITH PASSWORD = ' + QUOTENAME(@password, '''') + N';'`,
      params,
      `ALTER USER ${quoteName(login)} WITH PASSWORD = '${MASKED_PASSWORD}';`,
      WAREHOUSE,
      false,
    );
  }
  // SQL Server: pmgrants creates its logins WITH CHECK_POLICY = ON, so apps retrying an old password can
  // lock one out; UNLOCK ("a login that is locked out should be unlocked", ALTER LOGIN) comes with the new
  // password. Azure SQL Database's ALTER LOGIN takes PASSWORD [OLD_PASSWORD] only, and its CREATE LOGIN no
  // CHECK_POLICY: nothing to unlock there.
  const unlock = ctx.options.engine === 'sqlserver' ? ' UNLOCK' : '';
  return dynamicStatement(
    `N'ALTER LOGIN ' + QUOTENAME(@login) + N' WITH PASSWORD = ' + QUOTENAME(@password, '''') + N'${unlock};'`,
    params,
    `ALTER LOGIN ${quoteName(login)} WITH PASSWORD = '${MASKED_PASSWORD}'${unlock};`,
    SERVER,
    ctx.options.engine === 'azure-sql',
  );
}

function renderDropLogin(login: string, ctx: RenderContext): Statement[] {
  // Contained: the generated "login" is the database user, which drop-user removes.
  if (isContained(ctx)) return [];
  const drop = `DROP LOGIN ${quoteName(login)};`;
  if (ctx.options.engine === 'sqlserver' && ctx.options.guardActiveSessions) {
    const message = `pmgrants: login ${login} has active sessions, so it was not dropped and nothing was applied; disconnect them and apply again.`;
    const sql = [
      `IF EXISTS (SELECT 1 FROM sys.dm_exec_sessions WHERE login_name = ${quoteString(login)})`,
      `    THROW ${THROW_ACTIVE_SESSIONS}, ${quoteString(message.replace(/%/g, '%%'))}, 1;`,
      drop,
    ].join('\n');
    return [{ sql, params: [], display: sql, target: SERVER }];
  }
  return [plain(drop, SERVER, ctx.options.engine === 'azure-sql' ? { ownBatch: true } : {})];
}

/**
 * Before a database principal is dropped: hand what it owns to `heir` (the owner of the app schema it
 * worked in), since DROP USER and DROP ROLE refuse a principal that owns securables (DROP USER remarks).
 * Objects and types it owns explicitly (sys.objects / sys.types principal_id) go back to their schema's
 * owner (ALTER AUTHORIZATION ... TO SCHEMA OWNER), then the schemas and roles it owns go to the heir.
 * Objects a user creates in a schema someone else owns belong to that schema's owner already, so this
 * finds nothing in the usual case. Ownership transfer drops the permissions on what is transferred
 * (ALTER AUTHORIZATION remarks); pmgrants grants on schemas, never on single objects. The statement is
 * built server-side from the catalog (a cursor: SQL Server 2016 has no STRING_AGG); the names are literals.
 */
function handOver(principal: string, heir: string | undefined): Statement[] {
  if (heir === undefined) return [];
  assertSysname(principal);
  assertSysname(heir);
  const sql = [
    `DECLARE @principal int = DATABASE_PRINCIPAL_ID(${quoteString(principal)}), @heir sysname = ${quoteString(heir)}, @step int, @stmt nvarchar(max);`,
    'DECLARE pmgrants_handover CURSOR LOCAL STATIC READ_ONLY FOR',
    `  SELECT 1 AS step, N'ALTER AUTHORIZATION ON OBJECT::' + QUOTENAME(SCHEMA_NAME(o.schema_id)) + N'.' + QUOTENAME(o.name) + N' TO SCHEMA OWNER;' AS stmt FROM sys.objects o WHERE o.principal_id = @principal AND o.parent_object_id = 0`,
    `  UNION ALL SELECT 2, N'ALTER AUTHORIZATION ON TYPE::' + QUOTENAME(SCHEMA_NAME(t.schema_id)) + N'.' + QUOTENAME(t.name) + N' TO SCHEMA OWNER;' FROM sys.types t WHERE t.principal_id = @principal AND t.is_user_defined = 1`,
    `  UNION ALL SELECT 3, N'ALTER AUTHORIZATION ON SCHEMA::' + QUOTENAME(s.name) + N' TO ' + QUOTENAME(@heir) + N';' FROM sys.schemas s WHERE s.principal_id = @principal`,
    `  UNION ALL SELECT 4, N'ALTER AUTHORIZATION ON ROLE::' + QUOTENAME(r.name) + N' TO ' + QUOTENAME(@heir) + N';' FROM sys.database_principals r WHERE r.owning_principal_id = @principal AND r.type = 'R'`,
    '  ORDER BY step;',
    'OPEN pmgrants_handover;',
    'FETCH NEXT FROM pmgrants_handover INTO @step, @stmt;',
    'WHILE @@FETCH_STATUS = 0',
    'BEGIN',
    '    EXEC sys.sp_executesql @stmt;',
    '    FETCH NEXT FROM pmgrants_handover INTO @step, @stmt;',
    'END;',
    'CLOSE pmgrants_handover;',
    'DEALLOCATE pmgrants_handover;',
  ].join('\n');
  const display = `-- hand what ${quoteName(principal)} owns to ${quoteName(heir)}: its objects and types to their schema's owner, its schemas and roles to ${quoteName(heir)}`;
  // Its own batch: its DECLAREs and cursor name would clash with another hand-over's in the same batch.
  return [{ sql, params: [], display, target: WAREHOUSE, ownBatch: true }];
}

// ---------------------------------------------------------------------------------------------
// Users, roles, schemas.
// ---------------------------------------------------------------------------------------------

/** The marker that says "pmgrants created this principal" (sys.extended_properties, class 4). */
export function markManaged(principal: string): Statement {
  assertSysname(principal);
  return plain(
    `EXEC sys.sp_addextendedproperty @name = ${quoteString(MANAGED_MARKER.name)}, @value = ${quoteString(MANAGED_MARKER.value)}, @level0type = N'USER', @level0name = ${quoteString(principal)};`,
    WAREHOUSE,
  );
}

function renderCreateUser(user: User, ctx: RenderContext): Statement[] {
  const name = quoteName(user.name);
  const azure = ctx.options.engine === 'azure-sql';
  const source = user.source;
  switch (source.type) {
    case 'login':
    case 'sql-login': {
      // Contained mode: the generated login's CREATE USER ... WITH PASSWORD already made this user.
      if (source.type === 'login' && isContained(ctx) && ctx.desired.logins.some((l) => l.name === source.login)) return [];
      // Azure SQL documents FOR LOGIN as supported only when CREATE USER is the only statement of its batch.
      return [plain(`CREATE USER ${name} FOR LOGIN ${quoteName(source.login)};`, WAREHOUSE, azure ? { ownBatch: true } : {}), markManaged(user.name)];
    }
    case 'external': {
      // Azure SQL: WITH OBJECT_ID (documented for Azure SQL only, "not supported for SQL Server").
      const byId = azure && source.objectId ? ` WITH OBJECT_ID = ${quoteObjectId(source.objectId)}` : '';
      return [plain(`CREATE USER ${name} FROM EXTERNAL PROVIDER${byId};`, WAREHOUSE), markManaged(user.name)];
    }
    case 'windows': {
      if (azure) throw new PmgrantsError(`Windows principal "${user.name}" cannot exist on Azure SQL Database; use an Entra principal`);
      if (!user.name.includes('\\')) {
        throw new PmgrantsError(`Windows principal "${user.name}" must be named DOMAIN\\name (set its name in the policy)`);
      }
      return [plain(`CREATE USER ${name} FROM LOGIN ${name};`, WAREHOUSE), markManaged(user.name)];
    }
    case 'role':
      // A team's role: its members (Windows, Entra or SQL users) are added by a DBA outside pmgrants.
      return [plain(createRoleSql(user.name), WAREHOUSE), markManaged(user.name)];
    default: {
      const never: never = source;
      throw new Error(`unknown user source ${JSON.stringify(never)}`);
    }
  }
}

function renderAlterSchemaOwner(schema: string, to: string, ctx: RenderContext): Statement[] {
  // Transferring ownership of anything but a database drops every permission on it (ALTER AUTHORIZATION
  // remarks), so the permissions the policy wants on this schema are granted again right after.
  const regrants = ctx.desired.permissions
    .filter((p) => p.on.type === 'schema' && p.on.name === schema)
    .map((p) => plain(grantSql(p, ctx.desired), WAREHOUSE));
  return [plain(`ALTER AUTHORIZATION ON SCHEMA::${quoteName(schema)} TO ${quoteName(to)};`, WAREHOUSE), ...regrants];
}

// ---------------------------------------------------------------------------------------------
// GRANT / DENY / REVOKE.
// ---------------------------------------------------------------------------------------------

function onClause(on: Securable): string {
  switch (on.type) {
    case 'schema':
      return ` ON SCHEMA::${quoteName(on.name)}`;
    case 'database':
      return '';
    case 'role':
      return ` ON ROLE::${quoteName(on.name)}`;
    case 'engine': {
      if (on.kind.startsWith(OBJECT_KIND_PREFIX)) return ` ON OBJECT::${quoteName(on.name)}.${quoteName(on.kind.slice(OBJECT_KIND_PREFIX.length))}`;
      // A column: [ OBJECT :: ][ schema_name ]. object_name [ ( column [ ,...n ] ) ] (REVOKE Object
      // Permissions, Syntax; its example C revokes on one column of a view).
      const column = columnsOf(on);
      if (column) return ` ON OBJECT::${quoteName(column.schema)}.${quoteName(column.table)} (${column.columns.map(quoteName).join(', ')})`;
      throw new PmgrantsError(`SQL Server has no securable of kind "${on.kind}"`);
    }
    default: {
      const never: never = on;
      throw new Error(`unknown securable ${JSON.stringify(never)}`);
    }
  }
}

/**
 * A permission inspect read on an app schema, one of its objects or one of their columns, outside the
 * vocabulary (CONTROL, an object's SELECT, a column's UPDATE, ...): only ever revoked, its name checked
 * to be upper-case words.
 */
function isReadFromCatalog(p: Permission): boolean {
  if (!isCatalogPermissionName(p.privilege)) return false;
  const onObject = p.on.type === 'engine' && (p.on.kind.startsWith(OBJECT_KIND_PREFIX) || columnOf(p.on) !== undefined);
  return onObject || (p.on.type === 'schema' && !MANAGED_PERMISSIONS.schema.has(p.privilege));
}

/** Permission names are spliced in as keywords, so only the managed vocabulary is ever accepted (revokes: see isReadFromCatalog). */
function checkedPrivilege(p: Permission): string {
  const allowed = p.on.type === 'engine' ? (columnsOf(p.on) ? MANAGED_PERMISSIONS.column : undefined) : MANAGED_PERMISSIONS[p.on.type];
  if (!allowed || !allowed.has(p.privilege)) {
    throw new PmgrantsError(`refusing to render permission "${p.privilege}" on ${p.on.type}: not in the SQL Server vocabulary pmgrants manages`);
  }
  return p.privilege;
}

function createRoleSql(role: string): string {
  return `CREATE ROLE ${quoteName(role)} AUTHORIZATION ${quoteName(ROLE_OWNER)};`;
}

/**
 * The AS clause of a GRANT, DENY or REVOKE on `on` (see DATABASE_GRANTOR): the schema's owner in the
 * desired state, else dbo. On an object or a column, "if you use the AS clause, the specified principal
 * must own the object" (REVOKE Object Permissions, Permissions): its schema's owner, unless the object
 * has an owner of its own (sys.objects.principal_id, which inspect reads into the securable's owner).
 */
function grantorClause(on: Securable, desired: DesiredState): string {
  if (on.type === 'engine' && on.owner !== undefined) return ` AS ${quoteName(on.owner)}`;
  const schema = on.type === 'schema' || on.type === 'engine' ? desired.schemas.find((s) => s.name === on.name) : undefined;
  return ` AS ${quoteName(schema?.owner ?? DATABASE_GRANTOR)}`;
}

export function grantSql(p: Permission, desired: DesiredState): string {
  const privilege = checkedPrivilege(p);
  const verb = p.effect === 'DENY' ? 'DENY' : 'GRANT';
  const option = p.effect === 'GRANT' && p.withGrantOption ? ' WITH GRANT OPTION' : '';
  return `${verb} ${privilege}${onClause(p.on)} TO ${quoteName(p.grantee)}${option}${grantorClause(p.on, desired)};`;
}

/**
 * REVOKE removes a GRANT or a DENY. A permission held WITH GRANT OPTION needs CASCADE (error 4611
 * otherwise); when the policy keeps the permission but not the option, only the option is revoked.
 */
export function revokeSql(p: Permission, desired: DesiredState): string {
  const privilege = isReadFromCatalog(p) ? p.privilege : checkedPrivilege(p);
  const target = `${privilege}${onClause(p.on)} FROM ${quoteName(p.grantee)}`;
  const as = grantorClause(p.on, desired);
  if (p.effect === 'GRANT' && p.withGrantOption) {
    const want = desired.permissions.find((d) => permissionKey(d) === permissionKey(p));
    if (want && want.effect === 'GRANT' && !want.withGrantOption) return `REVOKE GRANT OPTION FOR ${target} CASCADE${as};`;
    return `REVOKE ${target} CASCADE${as};`;
  }
  return `REVOKE ${target}${as};`;
}

/**
 * The plan's lock lines. A drop with an heir first hands every object the principal owns to its schema's
 * owner (ALTER AUTHORIZATION), a change to each object's definition that waits for the sessions using
 * them (each statement waits at most the lock timeout, SET LOCK_TIMEOUT). Drops come last in the
 * transaction (CHANGE_ORDER).
 */
export function sqlServerLocks(changes: readonly Change[]): string[] {
  const out: string[] = [];
  for (const c of changes) {
    // "Adding a dynamic data mask is implemented as a schema change on the underlying table" (Dynamic Data Masking).
    if (c.kind === 'mask-columns') {
      out.push(`${c.schema}.${c.table}: adding a mask is a schema change on the table (Dynamic Data Masking), which waits for the sessions using it, at most the lock timeout`);
      continue;
    }
    const name = c.kind === 'drop-role' ? c.role : c.kind === 'drop-user' ? c.user : c.kind === 'drop-login' ? c.login : undefined;
    if (name === undefined || !('handTo' in c) || c.handTo === undefined) continue;
    out.push(`${name} is dropped: ALTER AUTHORIZATION hands every object it owns to its schema's owner (and its schemas and roles to ${c.handTo}), late in the transaction; a session using one of those objects can make it wait, at most the lock timeout`);
  }
  return out;
}
