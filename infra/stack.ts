// Composes the components for one stack. Kept apart from index.ts so tests and the offline plan can
// run it with crafted settings; index.ts only loads the real stack config and exports the outputs.
import * as pulumi from '@pulumi/pulumi';
import * as authorization from '@pulumi/azure-native/authorization';
import * as databricks from '@pulumi/databricks';
import type { MlopsConfig } from './config';
import { ContainerEndpoint } from './containerEndpoint';
import { DatabricksEndpoint } from './databricksEndpoint';
import { Images } from './images';
import { Jobs, type JobKey } from './jobs';
import { LogStorage, type StorageContainerName } from './logStorage';
import { namesFor, tagsFor } from './naming';
import { Secrets } from './secrets';

export interface StackOutputs {
  readonly servingTarget: string;
  readonly endpointUrl: pulumi.Output<string>;
  readonly invocationsUrl: pulumi.Output<string>;
  readonly canarySplit: Readonly<Record<string, number>>;
  readonly apiKeySecretName: string | undefined;
  readonly keyVaultUri: pulumi.Output<string>;
  readonly secretScope: string;
  readonly jobIds: pulumi.Output<Record<JobKey, string>>;
  readonly jobUrls: pulumi.Output<Record<JobKey, string>>;
  readonly storageAccountName: pulumi.Output<string>;
  readonly storageContainerUrls: pulumi.Output<Record<StorageContainerName, string>>;
  readonly images: pulumi.Output<Record<string, string>>;
}

/**
 * `componentOptions` go to every top-level component (and so reach their children through inheritance),
 * e.g. transformations that tests use to inspect resource options.
 */
export function deployStack(cfg: MlopsConfig, componentOptions: pulumi.ComponentResourceOptions = {}): StackOutputs {
  const names = namesFor(cfg);
  const tags = tagsFor(cfg);
  const production = cfg.environment === 'prod';
  const client = authorization.getClientConfigOutput();
  const subscriptionId = client.subscriptionId;

  const databricksProvider = new databricks.Provider('databricks', {
    host: cfg.databricks.host,
    azureWorkspaceResourceId: cfg.databricks.workspaceResourceId,
    authType: cfg.databricks.authType,
  });

  const storage = new LogStorage('storage', {
    location: cfg.location,
    resourceGroupName: names.resourceGroup,
    accountName: names.storageAccount,
    logAnalyticsName: names.logAnalytics,
    replication: cfg.storage.replication,
    logRetentionDays: cfg.storage.logRetentionDays,
    reportRetentionDays: cfg.storage.reportRetentionDays,
    softDeleteDays: cfg.storage.softDeleteDays,
    analyticsRetentionDays: cfg.storage.analyticsRetentionDays,
    protect: production,
    tags,
  }, componentOptions);
  const resourceGroupName = storage.resourceGroup.name;

  const secrets = new Secrets('secrets', {
    location: cfg.location,
    resourceGroupName,
    vaultName: names.keyVault,
    tenantId: client.tenantId,
    subscriptionId,
    purgeProtection: cfg.keyVault.purgeProtection,
    softDeleteRetentionDays: cfg.keyVault.softDeleteRetentionDays,
    alertWebhookUrl: cfg.secrets.alertWebhookUrl,
    jobsPrincipalClientId: cfg.azure.jobsPrincipal.clientId,
    jobsPrincipalClientSecret: cfg.secrets.jobsPrincipalClientSecret,
    databricksAppObjectId: cfg.azure.databricksAppObjectId,
    adminObjectIds: cfg.azure.adminObjectIds,
    secretScopeName: names.secretScope,
    createApiKey: cfg.serving.target === 'container',
    databricksAdminGroup: cfg.databricks.adminGroup,
    databricksProvider,
    tags,
  }, componentOptions);

  const images = new Images('images', {
    location: cfg.location,
    resourceGroupName,
    registryName: names.registry,
    sku: cfg.images.registrySku,
    subscriptionId,
    pushPrincipal: cfg.azure.imagePushPrincipal,
    pushClientSecret: cfg.secrets.imagePushClientSecret,
    tag: cfg.images.tag,
    platform: cfg.images.platform,
    buildServing: cfg.serving.target === 'container',
    tags,
  }, componentOptions);

  const containerIds = Object.fromEntries(
    Object.entries(storage.containers).map(([key, container]) => [key, container.id]),
  ) as Record<StorageContainerName, pulumi.Output<string>>;

  const scaleToZeroOverride = production && cfg.serving.allowScaleToZeroInProduction;
  let endpoint: { endpointUrl: pulumi.Output<string>; invocationsUrl: pulumi.Output<string> };
  if (cfg.serving.target === 'container') {
    if (images.refs.serving === undefined || secrets.apiKey === undefined) {
      throw new Error('container serving needs the serving image and the endpoint API key');
    }
    endpoint = new ContainerEndpoint('serving', {
      location: cfg.location,
      resourceGroupName,
      environmentName: names.containerEnvironment,
      appName: names.containerApp,
      pullIdentityName: names.pullIdentity,
      subscriptionId,
      logAnalyticsWorkspaceId: storage.workspace.id,
      image: images.refs.serving,
      registryServer: images.loginServer,
      registryId: images.registry.id,
      modelsContainerId: containerIds.models,
      logsContainerId: containerIds.logs,
      registryUrl: storage.containerUrls.models,
      logsUrl: storage.containerUrls.logs,
      apiKeySecretUri: secrets.apiKey.secretUri,
      apiKeySecretResourceId: secrets.apiKey.secretResourceId,
      cpu: cfg.serving.container.cpu,
      minReplicas: cfg.serving.container.minReplicas,
      maxReplicas: cfg.serving.container.maxReplicas,
      concurrentRequests: cfg.serving.container.concurrentRequests,
      scaleToZeroOverride,
      runtime: {
        model: cfg.serving.model,
        routes: cfg.serving.routes,
        shadow: cfg.serving.shadow,
        reloadIntervalSeconds: cfg.serving.reloadIntervalSeconds,
        rateLimitRps: cfg.serving.rateLimitRps,
        rateLimitBurst: cfg.serving.rateLimitBurst,
        maxRows: cfg.serving.maxRows,
        logLevel: cfg.serving.logLevel,
      },
      tags,
    }, componentOptions);
  } else {
    endpoint = new DatabricksEndpoint('serving', {
      endpointName: names.servingEndpoint,
      host: cfg.databricks.host,
      catalog: cfg.databricks.catalog,
      schema: cfg.databricks.schema,
      model: cfg.serving.model,
      routes: cfg.serving.routes,
      workloadSize: cfg.serving.databricks.workloadSize,
      workloadType: cfg.serving.databricks.workloadType,
      scaleToZero: cfg.serving.databricks.scaleToZero,
      scaleToZeroOverride,
      rateLimitCallsPerMinute: cfg.serving.databricks.rateLimitCallsPerMinute,
      inferenceTables: cfg.serving.databricks.inferenceTables,
      clientGroup: cfg.databricks.clientGroup,
      adminGroup: cfg.databricks.adminGroup,
      notificationEmails: cfg.jobs.notificationEmails,
      environment: cfg.environment,
      tags,
      provider: databricksProvider,
    }, componentOptions);
  }

  const jobs = new Jobs('jobs', {
    environment: cfg.environment,
    jobPrefix: names.jobPrefix,
    workspaceDir: names.workspaceDir,
    model: cfg.serving.model,
    jobsImage: images.jobs.imageName,
    registryId: images.registry.id,
    subscriptionId,
    containerUrls: storage.containerUrls,
    containerIds,
    jobsPrincipal: cfg.azure.jobsPrincipal,
    secretReference: (secretName) => secrets.reference(secretName),
    alertWebhookUrl: cfg.secrets.alertWebhookUrl,
    notificationEmails: cfg.jobs.notificationEmails,
    timezone: cfg.jobs.timezone,
    paused: cfg.jobs.paused,
    sparkVersion: cfg.databricks.sparkVersion,
    nodeTypeId: cfg.databricks.nodeTypeId,
    operatorGroup: cfg.databricks.operatorGroup,
    adminGroup: cfg.databricks.adminGroup,
    logLevel: cfg.serving.logLevel,
    scoring: cfg.jobs.scoring,
    monitoring: cfg.jobs.monitoring,
    retrain: cfg.jobs.retrain,
    tags,
    provider: databricksProvider,
    dependsOn: [secrets],
  }, componentOptions);

  return {
    servingTarget: cfg.serving.target,
    endpointUrl: endpoint.endpointUrl,
    invocationsUrl: endpoint.invocationsUrl,
    canarySplit: cfg.serving.routes,
    apiKeySecretName: secrets.apiKey?.secretName,
    keyVaultUri: secrets.vaultUri,
    secretScope: secrets.secretScopeName,
    jobIds: jobs.jobIds,
    jobUrls: jobs.jobUrls,
    storageAccountName: storage.account.name,
    storageContainerUrls: pulumi.output(storage.containerUrls),
    images: pulumi.output(images.refs as Record<string, pulumi.Output<string>>),
  };
}
