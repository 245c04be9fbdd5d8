/**
 * The Pulumi program (index.ts calls it; tests call it with mocks or as an inline program).
 *
 * Stack config (namespace pmgrants):
 *   policy        required  path of the policy file, relative to the project directory (Pulumi.yaml's)
 *   overlay                 overlay in stacks/ to merge (default: the stack name; "none" for no overlay)
 *   stacksDir               where overlays live (default: ./stacks, then next to the policy)
 *   databaseUrl   required  admin connection URL, a secret: pulumi config set --secret pmgrants:databaseUrl ...
 *                           (read by the providers, never by this program)
 *   rotationToken           change it to rotate every generated password now
 *   checkout                one token per app ({"<app>": "<token>"}, e.g. pulumi config set --path
 *                           'pmgrants:checkout.<app>' $RUN_ID): changing an app's token sets a fresh password
 *                           for that app's login alone (credentials per use; docs/pulumi.md)
 *   keyVaultId              Azure Key Vault resource id: store each app's password there too
 *   azureNativeVersion      azure-native plugin version for the Key Vault secrets
 *
 * Resources: one Warehouse, one App per app (depending on the warehouse), and with keyVaultId one Key
 * Vault secret per app. An invalid policy registers only the Warehouse, whose check then fails with
 * every diagnostic, so nothing is changed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { Diagnostic } from '../diagnostics/diagnostic';
import { compilePolicy } from '../model/compile';
import { EngineName, Policy } from '../model/types';
import { grantFactsByPart, personalDataDeclaration } from '../policy/guardrails';
import { loadPolicy } from '../policy/load';
import { appsOf, partitionDesired } from '../plan/slice';
import { DEFAULT_AZURE_NATIVE_VERSION, isValidSecretName, KeyVaultRef, KeyVaultSecret, keyVaultSecretName, parseKeyVaultId } from './azure';
import { AppGrants, WarehouseGrants } from './resources';
import { partInputs } from './wire';

export const CONFIG_NAMESPACE = 'pmgrants';

/** Connection facts of one app, as the stack exports them. `password` is a secret. */
export interface AppConnection {
  app: string;
  database: string;
  schema: string;
  login: string;
  password: pulumi.Output<string | undefined>;
  /**
   * With security.rotation.validFor (credentials per use): which password `password` is (not secret; a
   * taker compares it with the login's marker, docs/credentials.md), and when it stops being valid.
   */
  passwordGeneration?: pulumi.Output<string | undefined>;
  passwordValidUntil?: pulumi.Output<string | undefined>;
  server?: string;
  port?: number;
  /** Name of the Key Vault secret holding the password (with pmgrants:keyVaultId). */
  keyVaultSecret?: string;
}

export interface PmgrantsStack {
  warehouse: WarehouseGrants;
  apps: Record<string, AppGrants>;
  keyVaultSecrets: Record<string, KeyVaultSecret>;
  /** What the program exports. */
  outputs: {
    database?: string;
    engine?: EngineName;
    apps: Record<string, AppConnection>;
  };
}

/** One line per diagnostic: file:line:col severity rule message (hint). Never holds a secret: policies hold none. */
export function diagnosticLine(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  return `${where} ${d.severity} ${d.code} ${d.message}${d.path ? ` (at ${d.path})` : ''}${d.hint ? `; hint: ${d.hint}` : ''}`;
}

/**
 * The project directory (where Pulumi.yaml is), which relative paths in config are relative to. The
 * program itself runs in the directory of `main` (dist/), so process.cwd() is not it: ask the SDK
 * (recent language hosts tell it), else look upwards for Pulumi.yaml.
 */
export function projectDirectory(): string {
  const isProject = (dir: string) => fs.existsSync(path.join(dir, 'Pulumi.yaml')) || fs.existsSync(path.join(dir, 'Pulumi.yml'));
  // An older language host leaves the SDK's setting unset or garbled: trust it only when it is a project directory.
  const fromSdk = pulumi.getRootDirectory?.();
  if (fromSdk && path.isAbsolute(fromSdk) && isProject(fromSdk)) return fromSdk;
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (isProject(dir)) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

interface Settings {
  /** Project directory; diagnostics name files relative to it. */
  root: string;
  policyFile?: string;
  overlay?: string;
  stacksDir?: string;
  rotationToken?: string;
  /** pmgrants:checkout: a token per app, whose change takes a fresh password for that app's login. */
  checkoutTokens: Record<string, string>;
  keyVault?: KeyVaultRef;
  azureNativeVersion: string;
  problems: string[];
}

function readSettings(stack: string): Settings {
  const raw = new pulumi.Config(CONFIG_NAMESPACE);
  // Pulumi.yaml declares the optional keys with default "": empty means unset.
  const config = { get: (key: string): string | undefined => raw.get(key) || undefined };
  const problems: string[] = [];
  const root = projectDirectory();
  const absolute = (p: string | undefined) => (p === undefined ? undefined : path.resolve(root, p));
  const policyFile = absolute(config.get('policy'));
  if (!policyFile) problems.push(`no policy: set its path with "pulumi config set ${CONFIG_NAMESPACE}:policy <file>"`);
  const overlayName = config.get('overlay') ?? stack;
  const keyVaultId = config.get('keyVaultId');
  let keyVault: KeyVaultRef | undefined;
  if (keyVaultId) {
    const parsed = parseKeyVaultId(keyVaultId);
    if ('error' in parsed) problems.push(parsed.error);
    else keyVault = parsed;
  }
  // The program never reads the URL's value; it only checks that it is stored encrypted.
  const urlKey = `${CONFIG_NAMESPACE}:databaseUrl`;
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  if (pulumi.runtime.getConfig(urlKey) !== undefined && typeof isSecret === 'function' && !isSecret(urlKey)) {
    problems.push(`${urlKey} is stored in plain text in the stack's config; set it again with "pulumi config set --secret ${urlKey} <url>"`);
  }
  return {
    root,
    ...(policyFile ? { policyFile } : {}),
    ...(overlayName !== 'none' ? { overlay: overlayName } : {}),
    ...(config.get('stacksDir') ? { stacksDir: absolute(config.get('stacksDir')) } : {}),
    ...(config.get('rotationToken') ? { rotationToken: config.get('rotationToken') } : {}),
    checkoutTokens: checkoutTokensOf(config.get('checkout'), problems),
    ...(keyVault ? { keyVault } : {}),
    azureNativeVersion: config.get('azureNativeVersion') ?? DEFAULT_AZURE_NATIVE_VERSION,
    problems,
  };
}

/**
 * pmgrants:checkout as an object of app keys to tokens (strings or numbers: a run id). Set with
 * `pulumi config set --path 'pmgrants:checkout.<app>' <token>`, the config value is its JSON text.
 */
export function checkoutTokensOf(text: string | undefined, problems: string[]): Record<string, string> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${CONFIG_NAMESPACE}:checkout must be an object of app keys to tokens; set one with "pulumi config set --path '${CONFIG_NAMESPACE}:checkout.<app>' <token>"`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [app, token] of Object.entries(value as Record<string, unknown>)) {
    if (typeof token === 'string' || typeof token === 'number') out[app] = String(token);
    else problems.push(`${CONFIG_NAMESPACE}:checkout.${app} must be a string or a number, not ${token === null ? 'null' : typeof token}`);
  }
  return out;
}

/** The generation and validity of the password a resource delivers. */
function validityOf(resource: WarehouseGrants | AppGrants): Pick<AppConnection, 'passwordGeneration' | 'passwordValidUntil'> {
  return { passwordGeneration: resource.passwordGeneration, passwordValidUntil: resource.passwordValidUntil };
}

/** An invalid setup: only the warehouse, carrying the problems its check reports. */
function invalidStack(problems: string[], name: string): PmgrantsStack {
  const warehouse = new WarehouseGrants(name, {
    engine: 'postgres',
    database: '(invalid policy)',
    prefix: '(invalid policy)',
    mode: 'system_managed',
    enforcement: 'additive',
    prune: false,
    appLogins: {},
    logins: [],
    users: [],
    roles: [],
    schemas: [],
    memberships: [],
    permissions: [],
    diagnostics: problems,
  });
  return { warehouse, apps: {}, keyVaultSecrets: {}, outputs: { apps: {} } };
}

/**
 * Define the stack's resources from the policy in config. `name` is the warehouse resource's name
 * (default "warehouse"); app resources are named after their app keys.
 */
export function definePmgrantsStack(options: { warehouseName?: string } = {}): PmgrantsStack {
  const stack = pulumi.getStack();
  const settings = readSettings(stack);
  const warehouseName = options.warehouseName ?? 'warehouse';
  if (!settings.policyFile) return invalidStack(settings.problems, warehouseName);

  const loaded = loadPolicy(settings.policyFile, {
    ...(settings.overlay ? { stack: settings.overlay } : {}),
    ...(settings.stacksDir ? { stacksDir: settings.stacksDir } : {}),
  });
  // Files as the user names them: relative to the project directory.
  const shown = loaded.diagnostics.map((d) => (d.file.startsWith(settings.root + path.sep) ? { ...d, file: path.relative(settings.root, d.file) } : d));
  const errors = shown.filter((d) => d.severity === 'error');
  for (const d of shown.filter((x) => x.severity === 'warning')) void pulumi.log.warn(diagnosticLine(d));
  const policy: Policy | undefined = loaded.policy;
  const problems = [...errors.map(diagnosticLine), ...settings.problems];

  if (!policy || problems.length > 0) return invalidStack(problems, warehouseName);

  const engine = policy.warehouse.engine;
  // The clock is an input: a grant's expiry passing changes the compiled slices, so the next preview shows it.
  const desired = compilePolicy(policy, { now: new Date() });
  const parts = partitionDesired(desired);
  const secretNames = new Map<string, string>();
  if (settings.keyVault) {
    for (const app of appsOf(desired)) {
      const name = keyVaultSecretName(stack, app);
      if (!isValidSecretName(name)) problems.push(`the Key Vault secret name "${name}" for app "${app}" is longer than 127 characters`);
      const clash = [...secretNames.entries()].find(([, n]) => n === name);
      if (clash) problems.push(`apps "${clash[0]}" and "${app}" would share the Key Vault secret "${name}"`);
      secretNames.set(app, name);
    }
    if (problems.length > 0) return invalidStack(problems, warehouseName);
  }

  const rotationToken = settings.rotationToken;
  const unknownCheckouts = Object.keys(settings.checkoutTokens).filter((app) => !(app in desired.appLogins));
  if (unknownCheckouts.length > 0) return invalidStack([`${CONFIG_NAMESPACE}:checkout names ${unknownCheckouts.map((a) => `"${a}"`).join(', ')}, which the policy does not define as an app`], warehouseName);
  if (Object.keys(settings.checkoutTokens).length > 0 && policy.security.mode === 'single_account') {
    return invalidStack([`${CONFIG_NAMESPACE}:checkout takes a password per app, but in single_account mode every app shares one login; use rotationToken`], warehouseName);
  }
  const facts = grantFactsByPart(policy);
  const warehouse = new WarehouseGrants(warehouseName, partInputs(parts.get('warehouse')!, engine, { ...(rotationToken ? { rotationToken } : {}), grants: facts.warehouse }));
  const apps: Record<string, AppGrants> = {};
  const keyVaultSecrets: Record<string, KeyVaultSecret> = {};
  const connections: Record<string, AppConnection> = {};
  for (const app of appsOf(desired)) {
    const part = parts.get(`app:${app}`)!;
    const personalData = personalDataDeclaration(policy.apps[app]);
    const review = { grants: facts.apps[app] ?? [], ...(policy.apps[app]?.ownerTeam ? { ownerTeam: policy.apps[app].ownerTeam } : {}), ...(personalData ? { personalData } : {}) };
    const checkoutToken = settings.checkoutTokens[app];
    const resource = new AppGrants(app, partInputs(part, engine, { app, ...(rotationToken ? { rotationToken } : {}), ...(checkoutToken ? { checkoutToken } : {}), ...review }), {
      dependsOn: [warehouse],
    });
    apps[app] = resource;
    const login = desired.appLogins[app];
    // system_managed: the app's own login and password; single_account: the warehouse's shared ones.
    const password = pulumi.secret(policy.security.mode === 'system_managed' ? resource.password : warehouse.password);
    const schema = desired.schemas.find((s) => s.app === app)?.name ?? '';
    connections[app] = {
      app,
      database: desired.database,
      schema,
      login,
      password,
      // Credentials per use only (a lifetime): a preview cannot know them for an app it updates, and shows them changing.
      ...(desired.passwordValidFor !== undefined ? validityOf(policy.security.mode === 'system_managed' ? resource : warehouse) : {}),
      ...(policy.warehouse.server ? { server: policy.warehouse.server } : {}),
      ...(policy.warehouse.port ? { port: policy.warehouse.port } : {}),
    };
    if (settings.keyVault && login) {
      const secretName = secretNames.get(app)!;
      keyVaultSecrets[app] = new KeyVaultSecret(
        `${app}-credentials`,
        { vault: settings.keyVault, secretName, value: password.apply((p) => p ?? ''), tags: { app, login, database: desired.database, stack }, version: settings.azureNativeVersion },
        { parent: resource },
      );
      connections[app].keyVaultSecret = secretName;
    }
  }
  return { warehouse, apps, keyVaultSecrets, outputs: { database: desired.database, engine, apps: connections } };
}
