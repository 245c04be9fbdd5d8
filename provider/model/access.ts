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
  | 'ownership' // the principal (or a role in `via`) owns the schema
  | 'database' // a database-wide permission (SQL Server: GRANT SELECT ON DATABASE, db_datareader, ...)
  | 'bypass' // superuser, predefined roles reading everything, sysadmin, dbo, db_owner
  | 'engine'; // the engine shows it to everyone (PostgreSQL: view and function definitions)

export interface AccessPath {
  kind: PathKind;
  /** Roles from the principal (excluded) to the role that holds the grant (included). */
  via: string[];
  /** One sentence a reviewer reads. */
  detail: string;
}

/** What one principal effectively holds on one schema for one right, as an engine's evaluator finds it. */
export interface HeldRight {
  principal: string;
  schema: string;
  right: Right;
  paths: AccessPath[];
  /** Held on part of the schema's objects only ("on 2 of 5 tables"): not the whole right. */
  partial?: string;
  /** Only through a bypass (superuser, sysadmin, dbo, db_owner, pg_read_all_data...). */
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
}

/** What an engine read from the catalog, evaluated: the input of the pure report. */
export interface AccessFacts {
  engine: EngineName;
  identity: { database: string; server: string; version: string; id?: string };
  principals: FactPrincipal[];
  /** Schema name -> owner. Only the schemas of the policy's apps that exist. */
  schemas: Record<string, string>;
  held: HeldRight[];
  /** Rights granted but cancelled by a DENY (SQL Server), with the DENY: why an expected cell is missing. */
  denials?: { principal: string; schema: string; right: Right; detail: string }[];
  /** The catalog rows the evaluation came from, canonical JSON: what the digest is computed over. */
  raw: unknown;
  /** Every role membership (role, member), for the protected roles' members. */
  memberships?: { role: string; member: string }[];
}
