/**
 * The shape of pmgrants' Pulumi resources: their inputs and outputs (the wire types, all plain JSON),
 * their docs, and the thin serialized providers. Behaviour lives in providers.ts.
 *
 * Two resource types, so the resource count grows with apps, never with grants:
 * - `pulumi-nodejs:dynamic/pmgrants:Warehouse`, one per stack: the shared login (single_account), the
 *   warehouse-wide persona roles (pmg_app_admin, ...), the users of the policy's principals, and the
 *   memberships into and the permissions on those roles.
 * - `pulumi-nodejs:dynamic/pmgrants:App`, one per app (depends on the warehouse): its schema and owner
 *   role, its persona roles, the memberships into them, every permission on its schema and roles
 *   (including those of warehouse-wide roles), and in system_managed mode its login.
 * What each resource owns is decided by provider/plan/slice.ts; its inputs are its slice of the
 * compiled, engine-neutral desired state.
 *
 * Serialized providers: Pulumi stores each dynamic resource's provider as JavaScript text in the state,
 * twice per resource (inputs and outputs). Ours is the resource kind and one `configure` method that
 * loads the compiled behaviour module (providers.js) in the dynamic-provider process, found in the
 * Pulumi project (see `makeProvider`), which installs the operations. No credentials, no connection,
 * no driver, no core code.
 */
import * as pulumi from '@pulumi/pulumi';
import type { MaskingState } from '../model/masking';
import type { EngineName, ExpiredMembership, Login, Membership, Permission, ProtectedRole, Role, Schema, SecurityMode, User } from '../model/types';
import type { GrantFact } from '../policy/guardrails';

export type ResourceKind = 'warehouse' | 'app';

/** Type tokens: pulumi-nodejs:dynamic/<module>:<type>. */
export const RESOURCE_MODULE = 'pmgrants';
export const RESOURCE_TYPES: Record<ResourceKind, string> = { warehouse: 'Warehouse', app: 'App' };

/**
 * Inputs of both resources: one part of the compiled desired state (engine-neutral), plus the options
 * the diff needs. Plain data, as Pulumi stores it.
 */
export interface GrantsInputs {
  /** The app this resource manages; absent for the warehouse resource. */
  app?: string;
  engine: EngineName;
  /** Warehouse database (the connection from pmgrants:databaseUrl must point at it). */
  database: string;
  /** Naming prefix of everything pmgrants creates. Changing it renames every object: a replacement. */
  prefix: string;
  mode: SecurityMode;
  enforcement: 'authoritative' | 'additive';
  prune: boolean;
  rotationMaxAgeDays?: number;
  /** Any string; changing it rotates the generated password now (config pmgrants:rotationToken). */
  rotationToken?: string;
  /**
   * Credentials per use, for pipelines (config pmgrants:checkout, one token per app): any string;
   * changing it sets a fresh password for this app's login alone, valid for passwordValidFor.
   */
  checkoutToken?: string;
  /** security.rotation.validFor: how long every password this resource sets stays valid. */
  passwordValidFor?: string;
  /** The policy's protected roles: never granted, altered, revoked from or dropped (plan/protected.ts). */
  protected?: ProtectedRole[];
  /** options.tolerateGrantees: grantees outside the policy left alone on the app schemas. */
  tolerateGrantees?: string[];
  /** App key -> the login its transformations connect with (app resources only). */
  appLogins: Record<string, string>;
  logins: Login[];
  users: User[];
  roles: Role[];
  schemas: Schema[];
  memberships: Membership[];
  permissions: Permission[];
  /** Memberships of the policy's expired grants in this part (grants[].expires): revoked, whatever the enforcement. */
  expired?: ExpiredMembership[];
  /**
   * The policy's grants that reach this part (Warehouse: warehouse-wide personas; App: the grants on
   * this app): persona, principals with their kinds, and whether the grant said apps: ["*"]. For
   * reviewers and the policy pack (policy-pack/); the database work uses the compiled state above.
   */
  grants?: GrantFact[];
  /** The app's owner team (App only), for reviewers and the policy pack. */
  ownerTeam?: string;
  /** Whether the app declares its personal columns or says it has none (App only), for reviewers and the policy pack. */
  personalData?: 'columns' | 'none';
  /** Personal data of this part (model/masking.ts): the warehouse's masking owner and key, an App's own masked app. */
  masking?: MaskingState;
  /** Policy diagnostics (errors) that make `check` fail; warehouse resource only. Never holds a secret. */
  diagnostics?: string[];
  /** Set by `pulumi refresh` when the database differs from this resource's state: what `up` will correct. */
  drift?: string[];
}

export interface GrantsOutputs extends GrantsInputs {
  /** The login whose credentials this resource delivers (app login, or the warehouse's shared login). */
  login?: string;
  /** Generated password of `login`: a secret output, encrypted in the state; never in plain text. */
  password?: string;
  /** When the password was set (ISO time), for rotation by age. */
  passwordSetAt?: string;
  /**
   * Which password the state holds: the random id the login's marker records with it (not secret, not
   * derived from it). A marker naming another one means the server took a password this state never
   * received (an operation interrupted after setting it): the next update sets a new one.
   */
  passwordGeneration?: string;
  /** When the password stops being valid (ISO time; absent: no end). PostgreSQL refuses it after (VALID UNTIL). */
  passwordValidUntil?: string;
  /** The identity of the database the part was set up in (EngineConnection.databaseIdentity): a refresh that finds another reports it as drift. */
  databaseId?: string;
  /** What the last operation chose not to do (e.g. a schema kept because it holds data). */
  warnings?: string[];
}

/** Outputs that hold secrets. */
export const SECRET_OUTPUTS = ['password'] as const;

type Args = { [K in keyof GrantsInputs]: pulumi.Input<GrantsInputs[K]> };

// ---------------------------------------------------------------------------------------------
// The serialized providers. Everything below `providerFor` is turned into text by Pulumi's closure
// serializer: keep it free of imports, module values and anything secret.
// ---------------------------------------------------------------------------------------------

/** A serialized provider: the resource kind, and the one method Pulumi turns into text. */
export interface SerializedProvider {
  kind: ResourceKind;
  configure(this: SerializedProvider, r: pulumi.dynamic.ConfigureRequest): Promise<void>;
}

/**
 * Pulumi stores each resource's provider as text twice, and its closure serializer wraps every method
 * in about 190 bytes whatever its body: so ours has one method. The dynamic-provider host calls
 * `configure` first, once per provider text and process, before any other operation; it loads the
 * compiled behaviour module (providers.js) there, whose `install` gives this object its operations.
 * The engine starts that process in the program's directory (for `main: dist/index.js`, the dist
 * directory), so the module is looked for there and in every directory above it, as Node looks for
 * node_modules: <dir>/node_modules/pmgrants/dist/... (pmgrants installed as a package) or <dir>/dist/...
 * (this repository is the Pulumi project); $PMGRANTS_PULUMI_PROVIDERS names the file outright. When
 * it is nowhere or does not load, configure and then every operation fail with one sentence (the host
 * shows `${error}: ${error.stack}`, and keeps the object: no operation may then pass, nor check be skipped).
 */
function makeProvider(kind: ResourceKind): SerializedProvider {
  return {
    kind,
    async configure(r) {
      const p = require('path') as typeof import('path');
      try {
        let file = process.env.PMGRANTS_PULUMI_PROVIDERS;
        for (let d = process.cwd(); !file; d = p.dirname(d)) {
          file = ['node_modules/pmgrants/dist', 'dist'].map((x) => p.join(d, x, 'provider/pulumi/providers.js')).find(require('fs').existsSync);
          if (!file && d === p.dirname(d)) throw new Error(`no dist/provider/pulumi/providers.js in ${process.cwd()} or above: run "npm run build" there`);
        }
        require(p.resolve(file)).install(this, this.kind, r.config);
      } catch (x) {
        const e = new Error(String((x as Error)?.message ?? x).split('\n')[0]);
        Object.defineProperty(e, 'stack', { value: e.message });
        e.toString = () => 'pmgrants';
        const f = () => Promise.reject(e);
        Object.assign(this, { check: f, diff: f, create: f, read: f, update: f, delete: f });
        throw e;
      }
    },
  };
}

/** One provider object per kind, so Pulumi serializes each once. */
const PROVIDERS: Record<ResourceKind, SerializedProvider> = {
  warehouse: makeProvider('warehouse'),
  app: makeProvider('app'),
};

export function providerFor(kind: ResourceKind): SerializedProvider {
  return PROVIDERS[kind];
}

// ---------------------------------------------------------------------------------------------
// The resources.
// ---------------------------------------------------------------------------------------------

abstract class GrantsResource extends pulumi.dynamic.Resource {
  /** The login whose credentials this resource delivers, if any. */
  declare public readonly login: pulumi.Output<string | undefined>;
  /** Its generated password (secret). */
  declare public readonly password: pulumi.Output<string | undefined>;
  declare public readonly passwordSetAt: pulumi.Output<string | undefined>;
  declare public readonly passwordGeneration: pulumi.Output<string | undefined>;
  declare public readonly passwordValidUntil: pulumi.Output<string | undefined>;
  /** Differences `pulumi refresh` found, which the next `up` corrects. */
  declare public readonly drift: pulumi.Output<string[] | undefined>;
  declare public readonly warnings: pulumi.Output<string[] | undefined>;
  declare public readonly database: pulumi.Output<string>;
  declare public readonly engine: pulumi.Output<EngineName>;

  protected constructor(kind: ResourceKind, name: string, args: Args, opts: pulumi.CustomResourceOptions = {}) {
    super(
      // Its operations (create included) are installed by its configure hook in the provider process.
      providerFor(kind) as pulumi.dynamic.ResourceProvider<GrantsInputs, GrantsOutputs> & SerializedProvider,
      name,
      { ...args, login: undefined, password: undefined, passwordSetAt: undefined, passwordGeneration: undefined, passwordValidUntil: undefined, databaseId: undefined, drift: undefined, warnings: undefined },
      { ...opts, additionalSecretOutputs: [...new Set([...(opts.additionalSecretOutputs ?? []), ...SECRET_OUTPUTS])] },
      RESOURCE_MODULE,
      RESOURCE_TYPES[kind],
    );
  }
}

/** The warehouse-wide part of a policy: one per stack. */
export class WarehouseGrants extends GrantsResource {
  constructor(name: string, args: Args, opts?: pulumi.CustomResourceOptions) {
    super('warehouse', name, args, opts);
  }
}

/** One app's part of a policy. Give it `dependsOn: [warehouse]`. */
export class AppGrants extends GrantsResource {
  declare public readonly app: pulumi.Output<string>;
  declare public readonly schemas: pulumi.Output<Schema[]>;

  constructor(name: string, args: Args, opts?: pulumi.CustomResourceOptions) {
    super('app', name, args, opts);
  }
}
