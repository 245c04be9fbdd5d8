import { columnsOf, securableKey } from '../../model/state';
import { DesiredState, Permission } from '../../model/types';
import { PmgrantsError } from '../../model/errors';

/**
 * The SQL Server vocabulary pmgrants manages. Names are exactly sys.database_permissions.permission_name,
 * so what realize() produces is what inspect reports and plans converge.
 */
export const SCHEMA_PERMISSION_OF: Readonly<Record<string, string>> = {
  select: 'SELECT',
  insert: 'INSERT',
  update: 'UPDATE',
  delete: 'DELETE',
  execute: 'EXECUTE',
  references: 'REFERENCES',
  'view-definition': 'VIEW DEFINITION',
  alter: 'ALTER',
};

/** 'create-objects': database-level CREATE permissions; creating in a schema also needs ALTER on it. */
export const CREATE_OBJECT_PERMISSIONS: readonly string[] = ['CREATE FUNCTION', 'CREATE PROCEDURE', 'CREATE TABLE', 'CREATE VIEW'];

/** Permission names per securable class that pmgrants reads, renders and revokes. Nothing else is touched. */
export const MANAGED_PERMISSIONS = {
  /** UNMASK: personal data's clear readers (engines/sqlserver/masking.ts); not a neutral right. */
  schema: new Set([...Object.values(SCHEMA_PERMISSION_OF), 'UNMASK']),
  database: new Set(CREATE_OBJECT_PERMISSIONS),
  role: new Set(['ALTER']),
  /** SELECT on columns of a table: personal data's masked and hidden readers (plan/masking.ts). */
  column: new Set(['SELECT']),
} as const;

/**
 * Securable kind of one object in a schema (a table, view, procedure, function): 'object:<name>', the
 * securable's name being the schema. pmgrants never grants on single objects; inspect reports what
 * others granted on an app schema's objects so the diff can revoke it.
 */
export const OBJECT_KIND_PREFIX = 'object:';

/** A permission name as sys.database_permissions spells it (upper-case words): safe to splice as a keyword. */
export function isCatalogPermissionName(name: string): boolean {
  return /^[A-Z]+( [A-Z]+)*$/.test(name) && name.length <= 128;
}

export function isManagedPermission(p: Pick<Permission, 'on' | 'privilege'>): boolean {
  switch (p.on.type) {
    case 'schema':
      return MANAGED_PERMISSIONS.schema.has(p.privilege);
    case 'database':
      return MANAGED_PERMISSIONS.database.has(p.privilege);
    case 'role':
      return MANAGED_PERMISSIONS.role.has(p.privilege);
    case 'engine':
      return columnsOf(p.on) !== undefined && MANAGED_PERMISSIONS.column.has(p.privilege);
    default:
      return false;
  }
}

/**
 * One neutral (or already realized) permission -> the SQL Server permissions that express it.
 * Idempotent: a permission already named in the SQL Server vocabulary is returned unchanged.
 */
export function realizePermission(p: Permission): Permission[] {
  if (isManagedPermission(p)) return [p];
  if (p.on.type === 'schema') {
    const mapped = SCHEMA_PERMISSION_OF[p.privilege];
    if (mapped) return [{ ...p, privilege: mapped }];
    if (p.privilege === 'create-objects') {
      return CREATE_OBJECT_PERMISSIONS.map((privilege) => ({ ...p, on: { type: 'database' as const }, privilege }));
    }
  }
  if (p.on.type === 'role' && p.privilege === 'manage-membership') return [{ ...p, privilege: 'ALTER' }];
  throw new PmgrantsError(`SQL Server cannot express "${p.privilege}" on ${securableKey(p.on)} (pmgrants maps only the built-in rights)`);
}

export function realizePermissions(permissions: readonly Permission[]): Permission[] {
  return permissions.flatMap(realizePermission);
}

/** Whether a state already uses SQL Server permission names throughout. */
export function isRealized(desired: DesiredState): boolean {
  return desired.permissions.every(isManagedPermission);
}
