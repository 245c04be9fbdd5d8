import { EngineName, Right } from './types';

/**
 * Access facts: who can effectively do what on every app schema, as an engine read and evaluated it
 * from the live catalog. Engines produce them (engines/<engine>/access.ts); report/ compares them with
 * the policy. Plain data.
 */

/** How a principal reaches a right. `via` is the chain of roles from the principal to the holder. */
export type PathKind =
  | 'direct' // granted to the principal itself
  | 'public' // granted to PUBLIC (PostgreSQL) or the public role (SQL Server)
  | 'membership' // granted to a role the principal inherits from, through `via`
  | 'set-role' // granted to a role the principal can SET ROLE to, but does not inherit (PostgreSQL NOINHERIT)
  | 'ownership' // the principal (or a role in `via`) owns the objects (or, on an empty schema, the schema)
  | 'database' // a database-wide permission (SQL Server: GRANT SELECT ON DATABASE, db_datareader, ...)
  | 'bypass' // superuser, predefined roles reading everything, sysadmin, dbo, db_owner
  | 'engine' // the engine gives it to everyone (PostgreSQL: view and function definitions, EXECUTE on new functions)
  | 'admin'; // the provisioning (administrator) role's membership in a role of the policy: how pmgrants provisions

/** How a principal sees a column's values (personal data: model/masking.ts). */
export type { ColumnVisibility } from './masking';
import type { ColumnVisibility } from './masking';

/** One column a right is held on (column grants), with how its values are seen (rights that read only). */
export interface ColumnAccess {
  /** The table or view. */
  object: string;
  column: string;
  visibility?: ColumnVisibility;
}

export interface AccessPath {
  kind: PathKind;
  /** Roles from the principal (excluded) to the role that holds the grant (included). */
  via: string[];
  /** One sentence a reviewer reads. */
  detail: string;
  /**
   * Held through this path on these objects only (tables and views by name, functions as
   * name(arguments)); absent: on every object of the schema the right applies to. [] with `columns`:
   * on some columns only.
   */
  objects?: string[];
  /** Columns held through this path, of objects it does not hold the right on as a whole. */
  columns?: ColumnAccess[];
}

/** What one principal effectively holds on one schema for one right, as an engine's evaluator finds it. */
export interface HeldRight {
  principal: string;
  schema: string;
  right: Right;
  paths: AccessPath[];
  /** Held on part of the schema's objects only ("on cases, vendors (2 of 5 tables)"): not the whole right. */
  partial?: string;
  /** With `partial`: the objects held as a whole (union of the paths'). */
  objects?: string[];
  /** With `partial`: the columns held, of the other objects. */
  columns?: ColumnAccess[];
  /** With `partial`: held on every object of the schema but these (SQL Server: a DENY on the object). */
  except?: string[];
  /**
   * Nothing beyond a bypass (superuser, sysadmin, dbo, db_owner, pg_read_all_data...) or the provisioning
   * role's administration: what other paths give, those already cover.
   */
  bypass?: boolean;
  /** Only because the engine shows it to every role (PostgreSQL definitions). */
  inherent?: boolean;
}

export interface FactPrincipal {
  name: string;
  kind: 'login' | 'role' | 'user' | 'group' | 'public';
  canLogin: boolean;
  /** PostgreSQL superuser, or SQL Server sysadmin / dbo. */
  superuser: boolean;
  /** Things a reviewer should know: NOINHERIT, BYPASSRLS, cannot connect, ... */
  notes: string[];
  /** The pmgrants marker, when the principal carries one. */
  marker?: { purpose?: string; app?: string; persona?: string; passwordSetAt?: string };
  /** When the server stops accepting its password (PostgreSQL VALID UNTIL), ISO time; absent when it has no end. */
  validUntil?: string;
  /** Engine-internal principals (pg_* predefined roles, fixed database roles): shown in paths, not as rows. */
  internal?: boolean;
  /** An administrator below superuser (PostgreSQL CREATEROLE): how the provisioning login is recognised. */
  administrator?: boolean;
}

/**
 * A membership: through it a member uses a role's privileges (inherited or by SET ROLE), unless it is
 * `inert`. Every one counts as a member of a protected role (report/protected.ts), as in plan.
 */
export interface FactMembership {
  role: string;
  member: string;
  /** The provisioning (administrator) role's membership in a role of the policy. */
  admin?: boolean;
  /**
   * Passes nothing: neither inherited nor usable by SET ROLE (PostgreSQL 16: WITH INHERIT FALSE, SET
   * FALSE, such as the ADMIN-only membership a CREATEROLE role gets in the roles it creates).
   */
  inert?: boolean;
}

/** What an engine read from the catalog, evaluated: the input of the pure report. */
export interface AccessFacts {
  engine: EngineName;
  identity: { database: string; server: string; version: string; id?: string };
  principals: FactPrincipal[];
  /** Schema name -> owner. Only the schemas of the policy's apps that exist. */
  schemas: Record<string, string>;
  held: HeldRight[];
  /**
   * Memberships between principals: who is a member of a policy principal (a team) outside the policy,
   * and of a protected role.
   */
  memberships?: FactMembership[];
  /** Rights granted but cancelled by a DENY (SQL Server), with the DENY: why an expected cell is missing. */
  denials?: { principal: string; schema: string; right: Right; detail: string }[];
  /** The catalog rows the evaluation came from, canonical JSON: what the digest is computed over. */
  raw: unknown;
}
