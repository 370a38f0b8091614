// Resource group, the ADLS Gen2 account that holds the model registry, prediction logs, batch scoring
// data and monitoring reports, its lifecycle rules, and the Log Analytics workspace for diagnostics.
import * as pulumi from '@pulumi/pulumi';
import * as monitor from '@pulumi/azure-native/monitor';
import * as operationalinsights from '@pulumi/azure-native/operationalinsights';
import * as resources from '@pulumi/azure-native/resources';
import * as storage from '@pulumi/azure-native/storage';

export const STORAGE_CONTAINERS = ['models', 'logs', 'scoring', 'reports'] as const;
export type StorageContainerName = (typeof STORAGE_CONTAINERS)[number];

export interface LogStorageArgs {
  readonly location: string;
  readonly resourceGroupName: string;
  readonly accountName: string;
  readonly logAnalyticsName: string;
  readonly replication: string;
  readonly logRetentionDays: number;
  readonly reportRetentionDays: number;
  /** 0 disables blob and container soft delete. */
  readonly softDeleteDays: number;
  readonly analyticsRetentionDays: number;
  /** Production data must survive an accidental `pulumi destroy`. */
  readonly protect: boolean;
  readonly tags: Record<string, string>;
}

export class LogStorage extends pulumi.ComponentResource {
  readonly resourceGroup: resources.ResourceGroup;
  readonly account: storage.StorageAccount;
  readonly containers: Readonly<Record<StorageContainerName, storage.BlobContainer>>;
  readonly containerUrls: Readonly<Record<StorageContainerName, pulumi.Output<string>>>;
  readonly workspace: operationalinsights.Workspace;

  constructor(name: string, args: LogStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:storage:LogStorage', name, {}, opts);
    const child = { parent: this };

    this.resourceGroup = new resources.ResourceGroup(`${name}-rg`, {
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      tags: args.tags,
    }, child);
    const resourceGroupName = this.resourceGroup.name;

    this.workspace = new operationalinsights.Workspace(`${name}-analytics`, {
      workspaceName: args.logAnalyticsName,
      resourceGroupName,
      location: args.location,
      sku: { name: 'PerGB2018' },
      retentionInDays: args.analyticsRetentionDays,
      tags: args.tags,
    }, child);

    this.account = new storage.StorageAccount(`${name}-account`, {
      accountName: args.accountName,
      resourceGroupName,
      location: args.location,
      kind: 'StorageV2',
      sku: { name: `Standard_${args.replication}` },
      isHnsEnabled: true,
      enableHttpsTrafficOnly: true,
      minimumTlsVersion: 'TLS1_2',
      allowBlobPublicAccess: false,
      // Every reader and writer (serving identity, job principal) uses Entra ID, so account keys stay off.
      allowSharedKeyAccess: false,
      defaultToOAuthAuthentication: true,
      allowCrossTenantReplication: false,
      tags: args.tags,
    }, { ...child, protect: args.protect });

    const softDelete = args.softDeleteDays > 0
      ? { enabled: true, days: args.softDeleteDays }
      : { enabled: false };
    const blobService = new storage.BlobServiceProperties(`${name}-blob-service`, {
      accountName: this.account.name,
      resourceGroupName,
      blobServicesName: 'default',
      deleteRetentionPolicy: softDelete,
      containerDeleteRetentionPolicy: softDelete,
    }, child);

    const containers: Partial<Record<StorageContainerName, storage.BlobContainer>> = {};
    const urls: Partial<Record<StorageContainerName, pulumi.Output<string>>> = {};
    for (const containerName of STORAGE_CONTAINERS) {
      containers[containerName] = new storage.BlobContainer(`${name}-${containerName}`, {
        accountName: this.account.name,
        resourceGroupName,
        containerName,
        publicAccess: 'None',
      }, { ...child, dependsOn: [blobService] });
      urls[containerName] = pulumi.interpolate`https://${this.account.name}.blob.core.windows.net/${containerName}`;
    }
    this.containers = containers as Record<StorageContainerName, storage.BlobContainer>;
    this.containerUrls = urls as Record<StorageContainerName, pulumi.Output<string>>;

    const deleteAfter = (ruleName: string, prefixes: string[], days: number) => ({
      name: ruleName,
      enabled: true,
      type: 'Lifecycle',
      definition: {
        filters: { blobTypes: ['blockBlob'], prefixMatch: prefixes },
        actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: days } } },
      },
    });
    new storage.ManagementPolicy(`${name}-lifecycle`, {
      accountName: this.account.name,
      resourceGroupName,
      managementPolicyName: 'default',
      policy: {
        rules: [
          deleteAfter('expire-prediction-logs', ['logs/'], args.logRetentionDays),
          // Training data under scoring/training/ is kept.
          deleteAfter('expire-scoring-data', ['scoring/input/', 'scoring/output/'], args.logRetentionDays),
          deleteAfter('expire-reports', ['reports/'], args.reportRetentionDays),
        ],
      },
    }, { ...child, dependsOn: Object.values(containers) });

    new monitor.DiagnosticSetting(`${name}-blob-diagnostics`, {
      name: 'to-log-analytics',
      resourceUri: pulumi.interpolate`${this.account.id}/blobServices/default`,
      workspaceId: this.workspace.id,
      logs: [
        { category: 'StorageRead', enabled: true },
        { category: 'StorageWrite', enabled: true },
        { category: 'StorageDelete', enabled: true },
      ],
      metrics: [{ category: 'Transaction', enabled: true }],
    }, { ...child, dependsOn: [blobService] });

    this.registerOutputs({
      accountName: this.account.name,
      containerUrls: this.containerUrls,
      workspaceId: this.workspace.id,
    });
  }
}
