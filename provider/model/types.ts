/**
 * Plain data only. The policy as the user wrote it (after overlay and validation), and the
 * security state that both compile (desired) and an engine's inspect (actual) produce.
 */
import type { ColumnVisibility, LiveMasking, MaskingState, PersonalDataSpec } from './masking';

export type EngineName = 'sqlserver' | 'azure-sql' | 'postgres';
export type SecurityMode = 'system_managed' | 'single_account';
export type PrincipalKind =
  | 'sql-login'
  | 'entra-user'
  | 'entra-group'
  | 'entra-app'
  | 'windows-user'
  | 'windows-group'
  | 'database-role';
export type SourceVisibility = 'open' | 'closed';

/** Rights a persona can carry, on an app's schema. The fixed vocabulary of custom personas. */
export const RIGHTS = [
  'select',
  'insert',
  'update',
  'delete',
  'execute',
  'references',
  'view-definition',
  'alter',
  'create-objects',
] as const;
export type Right = (typeof RIGHTS)[number];

export interface PrincipalSpec {
  kind: PrincipalKind;
  /** Name in the database; defaults to the principal's key. */
  name?: string;
  /** Entra object id (required for entra-* kinds). */
  objectId?: string;
  description?: string;
}

export interface AppSpec {
  schema: string;
  source: SourceVisibility;
  ownerTeam?: string;
  description?: string;
  /** App personas this app has (default: every app persona of the catalogue). */
  personas?: string[];
  /**
   * Existing roles adopted instead of generated names: `owner` (the schema owner), `app` (the login the
   * app's transformations run as, system_managed only) and persona keys. Adopted roles need not carry
   * the prefix and, carrying no marker, are never dropped or stripped by pmgrants.
   */
  roles?: Record<string, string>;
  /** Which columns hold personal data and how each is masked (model/masking.ts); `none: true` says there are none. */
  personalData?: PersonalDataSpec;
}

export interface PersonaSpec {
  description?: string;
  /** 'app': one role per app; 'warehouse': one role with the rights on every app. */
  scope: 'app' | 'warehouse';
  rights: Right[];
  /** Extra rights on apps whose source is open (seed 003: general users may read the code). */
  openSourceRights?: Right[];
  /** Personas whose membership this persona may manage (on the same app, or on every app). */
  manages?: string[];
  /** How its members see personal columns: clear, masked or hidden (built-in defaults: model/masking.ts). */
  personalData?: ColumnVisibility;
}

export interface GrantSpec {
  persona: string;
  to: string[];
  /** App keys, or ["*"] for every app. Absent for warehouse-scoped personas. */
  apps?: string[];
  /**
   * When the grant stops holding (model/expiry.ts): a date (through the end of that day, UTC) or a
   * date-time with a zone. From then on compile leaves it out and the next plan revokes it.
   */
  expires?: string;
}

export interface Guardrails {
  forbidModes?: SecurityMode[];
  groupsOnly?: boolean;
  forbidWildcardFor?: string[];
  requireOwnerTeam?: boolean;
  /** Grants of these personas (all personas when absent) must expire, at most `days` days from now. */
  maxGrantDays?: { days: number; personas?: string[] };
  /** Every app declares its personal columns, or says it has none (personalData.none). */
  requirePersonalData?: boolean;
}

export interface PolicyOptions {
  /** Prefix of every name pmgrants creates; also how it recognises what it owns. */
  prefix: string;
  /** authoritative: revoke what the policy no longer says (within the managed scope). additive: never revoke. */
  enforcement: 'authoritative' | 'additive';
  /** Drop owned principals that the policy no longer names. */
  prune: boolean;
  /** false: only the policy's own personas exist (no app_admin, process_admin, data_consumer roles). */
  builtinPersonas: boolean;
  /**
   * Grantees outside the policy whose privileges on the app schemas (and their objects) are left alone.
   * Every other privilege there held by PUBLIC or by a principal the policy does not name is drift.
   */
  tolerateGrantees?: string[];
}

/**
 * A protected role (policy `protected`, model/protected.ts): a role or user the platform keeps for
 * itself. No grant or membership of the policy may reach it; plan and apply never change it.
 */
export interface ProtectedSpec {
  /** The role's name as the database spells it, or a pattern: `*` any run of characters, `?` one. */
  role: string;
  /** Its members the policy expects (names or patterns); any other member is a finding of plan and report. */
  members?: string[];
  description?: string;
}

/** Password rotation of generated logins. */
export interface RotationSpec {
  /** Rotate a password older than this many days (the next apply does). */
  maxAgeDays?: number;
  /**
   * How long a generated password is valid: `30m`, `8h`, `7d` (model/duration.ts). PostgreSQL refuses
   * it after that (VALID UNTIL); the next plan treats an expired password as due for rotation.
   */
  validFor?: string;
}

export interface Policy {
  apiVersion: 'pmgrants/v1';
  warehouse: { engine: EngineName; database: string; server?: string; port?: number };
  security: { mode: SecurityMode; rotation?: RotationSpec };
  principals: Record<string, PrincipalSpec>;
  apps: Record<string, AppSpec>;
  personas?: Record<string, PersonaSpec>;
  grants: GrantSpec[];
  options?: Partial<PolicyOptions>;
  guardrails?: Guardrails;
  /** Roles the platform keeps for itself: names, patterns, or entries with their expected members. */
  protected?: (string | ProtectedSpec)[];
}

// ---------------------------------------------------------------------------------------------
// Security state: what compile wants and inspect finds, keyed the same way.
// ---------------------------------------------------------------------------------------------

/** Why a principal exists; drives naming, comments and safety checks. */
export type PrincipalPurpose =
  | 'app-login' // system_managed: one login per app, generated password
  | 'shared-login' // single_account: one login for every app, generated password
  | 'schema-owner' // owns one app schema, never logs in
  | 'persona' // one role per (persona, app) or per warehouse persona
  | 'principal'; // a person, group or application from the policy's principals

export interface Login {
  name: string;
  purpose: 'app-login' | 'shared-login';
  app?: string;
  /** An existing login the policy adopted (apps.<app>.roles.app): not created or altered beyond its grants. */
  adopted?: boolean;
  /** Generated logins always get a CSPRNG password delivered as a secret, never a literal. */
  password: 'generated';
}

export type UserSource =
  | { type: 'login'; login: string }
  | { type: 'external'; objectId?: string; kind: PrincipalKind }
  | { type: 'windows'; kind: PrincipalKind }
  /** A database role that stands for a team; its members are managed outside pmgrants (e.g. by a DBA). */
  | { type: 'role' }
  | { type: 'sql-login'; login: string };

export interface User {
  name: string;
  purpose: PrincipalPurpose;
  source: UserSource;
  app?: string;
}

export interface Role {
  name: string;
  purpose: 'schema-owner' | 'persona';
  app?: string;
  persona?: string;
  /** An existing role the policy adopted (apps.<app>.roles): pmgrants grants to it but does not own it. */
  adopted?: boolean;
}

export interface Schema {
  name: string;
  owner: string;
  app: string;
  /** A companion schema of an app's masked views (model/masking.ts), not the app's own schema. */
  purpose?: 'masked-views';
}

export interface Membership {
  role: string;
  member: string;
  /** PostgreSQL's WITH ADMIN OPTION (member may manage the role's membership). */
  admin?: boolean;
  /**
   * Desired memberships only: the grant's `expires` as the policy wrote it, when every grant giving this
   * membership expires (the latest of them). Inspect never sets it; the diff does not compare it.
   */
  expires?: string;
}

/** A membership an expired grant gave, which the next plan revokes (and says so). */
export interface ExpiredMembership {
  role: string;
  member: string;
  /** The grant's `expires` as written (the latest, when several expired grants gave it). */
  expires: string;
}

export type Securable =
  | { type: 'database' }
  | { type: 'schema'; name: string }
  | { type: 'role'; name: string }
  /**
   * Engine-specific securables (e.g. PostgreSQL's "all tables in schema"), keyed by kind and name.
   * owner: an object's (or its column's) own owner, when it is not its schema's (SQL Server's
   * sys.objects.principal_id), read by inspect so a revoke can name the principal that owns it; not
   * part of the key.
   */
  | { type: 'engine'; kind: string; name: string; forRole?: string; owner?: string };

export interface Permission {
  grantee: string;
  on: Securable;
  /** Neutral right (compile) or engine privilege name (after an engine realises it). */
  privilege: string;
  effect: 'GRANT' | 'DENY';
  withGrantOption: boolean;
}

export interface SecurityState {
  engine: EngineName | 'neutral';
  database: string;
  logins: Login[];
  users: User[];
  roles: Role[];
  schemas: Schema[];
  memberships: Membership[];
  permissions: Permission[];
}

/** What compile produces: the wanted state plus what the diff needs to know about scope. */
export interface DesiredState extends SecurityState {
  prefix: string;
  mode: SecurityMode;
  enforcement: 'authoritative' | 'additive';
  prune: boolean;
  rotationMaxAgeDays?: number;
  /** security.rotation.validFor as written (`8h`): how long a password pmgrants sets stays valid. */
  passwordValidFor?: string;
  /** The policy's protected roles (model/protected.ts): never granted, altered, revoked from or dropped. */
  protected?: ProtectedRole[];
  /** App key -> the login its transformations connect with (system_managed: its own; single_account: the shared one). */
  appLogins: Record<string, string>;
  /**
   * Memberships of grants that expired (and that no grant still in force gives): revoked wherever the
   * database holds them, even under additive enforcement. Sorted by role, then member.
   */
  expired?: ExpiredMembership[];
  /** options.tolerateGrantees, sorted: grantees outside the policy left alone on the app schemas. */
  tolerateGrantees?: string[];
  /** Personal data: the masked views the app schemas' tables need (model/masking.ts). Absent: none declared. */
  masking?: MaskingState;
}

/**
 * An object of an app schema that the principal pmgrants connects as may not grant or revoke on: its
 * owner is a role it cannot act as (PostgreSQL: a DBA's table, another team's function). Inspect leaves
 * the object's privileges out of the state it reports (they are not the plan's to change, and a grant
 * the policy wants there could never be made), the grants and revokes of securables that cover it leave
 * it out (Change except), and the plan names it, with how to hand it over.
 */
export interface UnreachableObject {
  schema: string;
  /** As a plan names it: schema.table, schema.function(argument types). */
  name: string;
  owner: string;
  /** The engine securable kinds in its schema whose grants and revokes would cover it ('tables', 'some-tables', ...). */
  coveredBy: string[];
  /** The engine's statement that hands it to its schema's owner, when there is one to suggest. */
  handOver?: string;
}

/** A compiled protected entry: its name or pattern, and the members the policy names (sorted). */
export interface ProtectedRole {
  role: string;
  members?: string[];
}

/** What the live database holds, as an engine's inspect reports it. */
export interface ActualState extends SecurityState {
  /** Names of principals pmgrants created (prefix + marker); only these are ever dropped. */
  managed: string[];
  /** Password age of generated logins, ISO timestamps by login name (when the engine can tell). */
  passwordSetAt?: Record<string, string>;
  /** Generated logins created without their password yet (an apply stopped before setting it): set it now. */
  passwordMissing?: string[];
  /**
   * Principals on the same server that another warehouse owns (roles and logins are server-wide), by
   * name -> that warehouse. Inspect leaves them, their memberships and privileges out; the policy naming
   * one is an error (see ownedElsewhere).
   */
  foreign?: Record<string, string>;
  /** What inspect noticed and the plan should say (e.g. a principal several warehouses share). */
  warnings?: string[];
  /** Which generated password each login holds, by login name: the generation its marker records (when the engine records one). */
  passwordGeneration?: Record<string, string>;
  /** Objects of the inspected schemas that the connecting principal may not grant or revoke on (absent: none). */
  unreachable?: UnreachableObject[];
  /**
   * When each generated login's password stops being valid, ISO timestamps by login name, as the
   * server enforces it (PostgreSQL VALID UNTIL). Engines without an expiry time leave it out: the
   * diff then counts security.rotation.validFor from passwordSetAt.
   */
  passwordValidUntil?: Record<string, string>;
  /**
   * Logins whose current password a checkout delivered (pmgrants checkout: one use, its own
   * destination): while it is valid it is not "undelivered" to another secrets file.
   */
  checkedOut?: string[];
  /** The relations of the schemas masking concerns (app schemas with personal data, their companions, the key schema); absent: not read. */
  masking?: LiveMasking;
}

export const DEFAULT_OPTIONS: PolicyOptions = { prefix: 'pmg_', enforcement: 'authoritative', prune: true, builtinPersonas: true };

/** The database `pmgrants demo` creates on its private server, the one place the default prefix is always alone. */
export const DEMO_DATABASE = 'pmgrants_demo';
