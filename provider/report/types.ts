import { EngineName, Right } from '../model/types';

/**
 * The access report: who can effectively do what on every app schema, read from the live catalog, and
 * how that compares with the policy. Plain data; engines produce facts, report/ computes the rest.
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

/** A protected role the database has (policy `protected`), with its members: named by the policy or not. */
export interface ProtectedRoleReport {
  role: string;
  /** Position of the entry in `protected` that protects it. */
  entry: number;
  members: { name: string; named: boolean }[];
}

export type CellStatus = 'expected' | 'drift' | 'missing' | 'privileged' | 'inherent';
export const CELL_STATUSES: readonly CellStatus[] = ['expected', 'drift', 'missing', 'privileged', 'inherent'];

export interface ReportCell {
  principal: string;
  app: string;
  schema: string;
  right: Right;
  status: CellStatus;
  paths: AccessPath[];
  /** Why a cell is missing, or what part of the right is held. */
  detail?: string;
}

export type PrincipalOrigin = 'policy' | 'generated-login' | 'public' | 'superuser' | 'unmanaged' | 'managed';

export interface ReportPrincipal {
  name: string;
  kind: FactPrincipal['kind'];
  origin: PrincipalOrigin;
  /** The policy's key for it (principals.<key>), when the policy names it. */
  policyKey?: string;
  canLogin: boolean;
  superuser: boolean;
  notes: string[];
}

export interface LoginAge {
  login: string;
  app?: string;
  passwordSetAt: string | null;
  ageDays: number | null;
  maxAgeDays: number | null;
  /** null when there is no rotation policy or no recorded time. */
  overdue: boolean | null;
  /**
   * When the password stops being valid (PostgreSQL VALID UNTIL, or security.rotation.validFor from
   * when it was set); null when it has no end or is unknown.
   */
  validUntil: string | null;
  /** Past validUntil; null when unknown (the login is missing). */
  expired: boolean | null;
}

export interface ReportSummary {
  principals: number;
  apps: number;
  cells: Record<CellStatus, number>;
  principalsWithDrift: string[];
  overdueLogins: string[];
  /** Generated logins whose password has expired. */
  expiredLogins?: string[];
  /** "role: member" of the protected roles' members the policy does not name. */
  unnamedProtectedMembers?: string[];
}

export interface AccessReport {
  reportVersion: 1;
  asOf: string | null;
  generatedAt: string;
  engine: EngineName;
  database: AccessFacts['identity'];
  /** sha256:<hex> of the catalog rows read. */
  catalogDigest: string;
  policy: { file: string | null; prefix: string; mode: string; rotationMaxAgeDays: number | null };
  rights: Right[];
  apps: { key: string; schema: string; source: string; present: boolean }[];
  principals: ReportPrincipal[];
  cells: ReportCell[];
  logins: LoginAge[];
  /** The protected roles the database has (only when the policy lists some). */
  protected?: ProtectedRoleReport[];
  summary: ReportSummary;
}
