/**
 * Optional Azure piece: each app's generated credentials as an Azure Key Vault secret, switched on by
 * stack config pmgrants:keyVaultId only.
 *
 * The secret is declared through the SDK's generic CustomResource with azure-native's type token
 * (azure-native:keyvault:Secret) rather than through the @pulumi/azure-native package: that package
 * is 136 MB unpacked (16,700 files) for the one resource used here, and having it in node_modules
 * makes the Node.js language host report the azure-native plugin as required by every program. This
 * way a stack without pmgrants:keyVaultId needs neither the package nor the plugin; a stack with it
 * needs only the azure-native plugin (`pulumi plugin install resource azure-native <version>`), the
 * version given by pmgrants:azureNativeVersion.
 */
import * as pulumi from '@pulumi/pulumi';

export const KEY_VAULT_SECRET_TYPE = 'azure-native:keyvault:Secret';
/** azure-native release whose keyvault:Secret schema this code was written against. */
export const DEFAULT_AZURE_NATIVE_VERSION = '3.28.0';

export interface KeyVaultRef {
  subscriptionId: string;
  resourceGroupName: string;
  vaultName: string;
}

const VAULT_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.KeyVault\/vaults\/([A-Za-z0-9-]{3,24})\/?$/i;

/** ARM resource id of a vault -> its parts, or one sentence saying what is wrong. */
export function parseKeyVaultId(id: string): KeyVaultRef | { error: string } {
  const m = VAULT_ID.exec(id.trim());
  if (!m) {
    return {
      error: `pmgrants:keyVaultId must be a Key Vault resource id like /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.KeyVault/vaults/<name>, not "${id}"`,
    };
  }
  return { subscriptionId: m[1], resourceGroupName: m[2], vaultName: m[3] };
}

/** Key Vault secret names allow letters, digits and '-', up to 127 characters. */
export function keyVaultSecretName(stack: string, app: string): string {
  return `pmgrants-${stack}-${app}`.replace(/[^0-9A-Za-z-]/g, '-').replace(/-+/g, '-');
}

export function isValidSecretName(name: string): boolean {
  return /^[0-9A-Za-z-]{1,127}$/.test(name);
}

export interface KeyVaultSecretArgs {
  vault: KeyVaultRef;
  secretName: string;
  /** The secret value (an Output marked secret). */
  value: pulumi.Input<string>;
  /** Non-secret facts for whoever reads the secret (login, database, app). */
  tags: Record<string, string>;
  version: string;
}

/** An azure-native:keyvault:Secret holding one app's password. */
export class KeyVaultSecret extends pulumi.CustomResource {
  declare public readonly name: pulumi.Output<string>;

  constructor(name: string, args: KeyVaultSecretArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      KEY_VAULT_SECRET_TYPE,
      name,
      {
        resourceGroupName: args.vault.resourceGroupName,
        vaultName: args.vault.vaultName,
        secretName: args.secretName,
        properties: { value: pulumi.secret(args.value), contentType: 'text/plain; pmgrants generated password' },
        tags: args.tags,
        name: undefined,
      },
      { ...opts, version: opts.version ?? args.version },
    );
  }
}
