// Key Vault (RBAC) holding every secret the runtime needs, and a Key Vault-backed Databricks secret
// scope so jobs read the same values as `{{secrets/<scope>/<key>}}` without copies in Databricks.
import * as pulumi from '@pulumi/pulumi';
import * as authorization from '@pulumi/azure-native/authorization';
import * as keyvault from '@pulumi/azure-native/keyvault';
import * as databricks from '@pulumi/databricks';
import * as random from '@pulumi/random';
import { roleDefinitionId } from './roles';

/** Key Vault secret names; the Databricks scope exposes them under the same keys. */
export const SECRET_NAMES = {
  apiKeys: 'endpoint-api-keys',
  alertWebhookUrl: 'alert-webhook-url',
  azureTenantId: 'azure-tenant-id',
  azureClientId: 'azure-client-id',
  azureClientSecret: 'azure-client-secret',
} as const;
export type SecretName = (typeof SECRET_NAMES)[keyof typeof SECRET_NAMES];

export interface SecretsArgs {
  readonly location: string;
  readonly resourceGroupName: pulumi.Input<string>;
  readonly vaultName: string;
  readonly tenantId: pulumi.Input<string>;
  readonly subscriptionId: pulumi.Input<string>;
  readonly purgeProtection: boolean;
  readonly softDeleteRetentionDays: number;
  readonly alertWebhookUrl: pulumi.Output<string>;
  readonly jobsPrincipalClientId: string;
  readonly jobsPrincipalClientSecret: pulumi.Output<string>;
  /** Object id of the AzureDatabricks first-party application, which reads the vault for the scope. */
  readonly databricksAppObjectId: string;
  readonly adminObjectIds: readonly string[];
  readonly secretScopeName: string;
  /** Generate the bearer key the container endpoint checks; Databricks endpoints use Databricks tokens. */
  readonly createApiKey: boolean;
  readonly databricksAdminGroup: string;
  readonly databricksProvider: databricks.Provider;
  readonly tags: Record<string, string>;
}

export class Secrets extends pulumi.ComponentResource {
  readonly vault: keyvault.Vault;
  readonly vaultUri: pulumi.Output<string>;
  readonly vaultId: pulumi.Output<string>;
  /** Present when an endpoint API key was generated (container target). */
  readonly apiKey?: {
    readonly secretName: string;
    /** Versionless URI, so Container Apps follows rotations. */
    readonly secretUri: pulumi.Output<string>;
    readonly secretResourceId: pulumi.Output<string>;
  };
  readonly secretScope: databricks.SecretScope;
  readonly secretScopeName: string;

  constructor(name: string, args: SecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:secrets:Secrets', name, {}, opts);
    const child = { parent: this };
    const databricksChild = { parent: this, provider: args.databricksProvider };

    this.vault = new keyvault.Vault(`${name}-vault`, {
      vaultName: args.vaultName,
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      properties: {
        tenantId: args.tenantId,
        sku: { family: 'A', name: 'standard' },
        enableRbacAuthorization: true,
        enableSoftDelete: true,
        softDeleteRetentionInDays: args.softDeleteRetentionDays,
        // Azure rejects an explicit `false` once set, so the flag is only ever sent as true.
        enablePurgeProtection: args.purgeProtection ? true : undefined,
        enabledForDeployment: false,
        enabledForDiskEncryption: false,
        enabledForTemplateDeployment: false,
        // The Databricks control plane reads the vault for the secret scope, so it stays reachable.
        publicNetworkAccess: 'Enabled',
      },
      tags: args.tags,
    }, { ...child, protect: args.purgeProtection });
    this.vaultId = this.vault.id;
    this.vaultUri = pulumi.interpolate`https://${this.vault.name}.vault.azure.net/`;

    const secretValues: Partial<Record<SecretName, pulumi.Input<string>>> = {
      [SECRET_NAMES.alertWebhookUrl]: args.alertWebhookUrl,
      [SECRET_NAMES.azureTenantId]: args.tenantId,
      [SECRET_NAMES.azureClientId]: args.jobsPrincipalClientId,
      [SECRET_NAMES.azureClientSecret]: args.jobsPrincipalClientSecret,
    };
    if (args.createApiKey) {
      // Bearer-token friendly alphabet; the value exists only in state (encrypted) and in the vault.
      const apiKey = new random.RandomPassword(`${name}-api-key`, { length: 48, special: false }, child);
      secretValues[SECRET_NAMES.apiKeys] = apiKey.result;
    }
    const stored: Partial<Record<SecretName, keyvault.Secret>> = {};
    for (const [secretName, value] of Object.entries(secretValues) as [SecretName, pulumi.Input<string>][]) {
      stored[secretName] = new keyvault.Secret(`${name}-${secretName}`, {
        vaultName: this.vault.name,
        resourceGroupName: args.resourceGroupName,
        secretName,
        properties: { value: pulumi.secret(value), contentType: 'text/plain' },
        tags: args.tags,
      }, child);
    }
    const apiKeySecret = stored[SECRET_NAMES.apiKeys];
    if (apiKeySecret !== undefined) {
      this.apiKey = {
        secretName: SECRET_NAMES.apiKeys,
        secretUri: pulumi.interpolate`${this.vaultUri}secrets/${SECRET_NAMES.apiKeys}`,
        secretResourceId: apiKeySecret.id,
      };
    }

    const databricksReadsVault = new authorization.RoleAssignment(`${name}-databricks-reads-vault`, {
      principalId: args.databricksAppObjectId,
      principalType: 'ServicePrincipal',
      roleDefinitionId: roleDefinitionId(args.subscriptionId, 'keyVaultSecretsUser'),
      scope: this.vault.id,
      description: 'AzureDatabricks reads this vault for the Key Vault-backed secret scope',
    }, child);
    args.adminObjectIds.forEach((objectId, index) => {
      new authorization.RoleAssignment(`${name}-admin-${index}`, {
        principalId: objectId,
        roleDefinitionId: roleDefinitionId(args.subscriptionId, 'keyVaultSecretsOfficer'),
        scope: this.vault.id,
        description: 'MLOps administrators rotate secrets',
      }, child);
    });

    this.secretScopeName = args.secretScopeName;
    this.secretScope = new databricks.SecretScope(`${name}-scope`, {
      name: args.secretScopeName,
      keyvaultMetadata: { resourceId: this.vault.id, dnsName: this.vaultUri },
    }, { ...databricksChild, dependsOn: [databricksReadsVault], deleteBeforeReplace: true });

    new databricks.SecretAcl(`${name}-scope-jobs-read`, {
      scope: this.secretScope.name,
      principal: args.jobsPrincipalClientId,
      permission: 'READ',
    }, databricksChild);
    new databricks.SecretAcl(`${name}-scope-admins-manage`, {
      scope: this.secretScope.name,
      principal: args.databricksAdminGroup,
      permission: 'MANAGE',
    }, databricksChild);

    this.registerOutputs({
      vaultUri: this.vaultUri,
      apiKeySecretName: this.apiKey?.secretName,
      secretScope: this.secretScopeName,
    });
  }

  /** `{{secrets/<scope>/<key>}}` reference resolved by Databricks at cluster start. */
  reference(secretName: SecretName): string {
    return `{{secrets/${this.secretScopeName}/${secretName}}}`;
  }
}
