import { AccessFacts, AccessPath, ColumnAccess, FactPrincipal } from '../model/access';
import { EngineName, Right } from '../model/types';

/**
 * The access report: who can effectively do what on every app schema, read from the live catalog, and
 * how that compares with the policy. Plain data; engines produce facts, report/ computes the rest.
 */

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
  /**
   * Held on these objects only (tables and views by name, functions as name(arguments)); absent when
   * held on every object of the schema, or not held. [] with `columns`: on some columns only.
   */
  objects?: string[];
  /** Columns the right is held on, of objects it is not held on as a whole (column grants). */
  columns?: ColumnAccess[];
  /** Held on every object of the schema but these (SQL Server: an object DENY); then `objects` is absent. */
  except?: string[];
  /** The policy principal a member of a group is expected through (the group's membership is managed outside the policy). */
  through?: string;
  /** The policy's grant behind an expected cell ends then (grants[].expires, as written): "until <date>". */
  expires?: string;
  /** A grant that gave this access expired then, and the database still has it: "expired on <date>". */
  expired?: string;
  /**
   * Personal data: how the right reads the app's personal columns, masked or left out. `schema` is where
   * it is held: PostgreSQL the app's companion schema of views (model/masking.ts); SQL Server and Azure
   * SQL the app schema itself, through column grants, its columns masked by Dynamic Data Masking.
   */
  personalData?: { visibility: 'masked' | 'hidden'; schema: string; columns: string[] };
}

/**
 * policy: principals.<key>; member: a member of a policy principal (group), added outside the policy;
 * generated-login; adopted: a role or login the policy adopted (apps.<app>.roles); administrator: a
 * CREATEROLE role, such as the provisioning login; superuser; unmanaged; managed (another pmgrants
 * principal); public.
 */
export type PrincipalOrigin = 'policy' | 'member' | 'generated-login' | 'adopted' | 'administrator' | 'public' | 'superuser' | 'unmanaged' | 'managed';

export interface ReportPrincipal {
  name: string;
  kind: FactPrincipal['kind'];
  origin: PrincipalOrigin;
  /** The policy's key for it (principals.<key>), when the policy names it. */
  policyKey?: string;
  /** The policy principals (groups) it is a member of, through memberships made outside the policy. */
  memberOf?: string[];
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
  /** Grants that end within the warning window (not yet ended), soonest first. */
  expiringGrants: ExpiringGrant[];
  /** Generated logins whose password has expired. */
  expiredLogins?: string[];
  /** "role: member" of the protected roles' members the policy does not name. */
  unnamedProtectedMembers?: string[];
}

/** A grant of the policy that ends soon: one per grant and principal. */
export interface ExpiringGrant {
  /** The principal's name in the database. */
  principal: string;
  persona: string;
  /** App keys. */
  apps: string[];
  /** grants[].expires as written. */
  expires: string;
  /** Whole days left, rounded up. */
  daysLeft: number;
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
