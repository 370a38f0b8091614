// Serving on Azure Container Apps (`serving.target: container`). The champion/challenger split happens
// inside the image between registry aliases, so the app runs one revision with all ingress traffic.
//
// Two identities: a user-assigned one exists before the app, so its AcrPull and Key Vault grants are
// in place when the first revision pulls the image and resolves the API-key reference; the
// system-assigned one is what the server's DefaultAzureCredential uses for blob storage.
import * as pulumi from '@pulumi/pulumi';
import * as app from '@pulumi/azure-native/app';
import * as authorization from '@pulumi/azure-native/authorization';
import * as managedidentity from '@pulumi/azure-native/managedidentity';
import * as monitor from '@pulumi/azure-native/monitor';
import { roleDefinitionId } from './roles';

export const SERVING_PORT = 8080;
/** The server flushes buffered prediction logs on SIGTERM within 30 s. */
export const TERMINATION_GRACE_SECONDS = 30;
const API_KEYS_SECRET_REF = 'api-keys';

export interface ServingRuntimeSettings {
  readonly model: string;
  readonly routes: Readonly<Record<string, number>>;
  readonly shadow?: string;
  readonly reloadIntervalSeconds: number;
  readonly rateLimitRps: number;
  readonly rateLimitBurst: number;
  readonly maxRows: number;
  readonly logLevel: string;
}

export interface ContainerEndpointArgs {
  readonly location: string;
  readonly resourceGroupName: pulumi.Input<string>;
  readonly environmentName: string;
  readonly appName: string;
  readonly pullIdentityName: string;
  readonly subscriptionId: pulumi.Input<string>;
  readonly logAnalyticsWorkspaceId: pulumi.Input<string>;
  readonly image: pulumi.Input<string>;
  readonly registryServer: pulumi.Input<string>;
  readonly registryId: pulumi.Input<string>;
  readonly modelsContainerId: pulumi.Input<string>;
  readonly logsContainerId: pulumi.Input<string>;
  readonly registryUrl: pulumi.Input<string>;
  readonly logsUrl: pulumi.Input<string>;
  readonly apiKeySecretUri: pulumi.Input<string>;
  readonly apiKeySecretResourceId: pulumi.Input<string>;
  readonly cpu: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly concurrentRequests: number;
  /** Set when a production stack explicitly accepts scale-to-zero; policies look for it. */
  readonly scaleToZeroOverride: boolean;
  readonly runtime: ServingRuntimeSettings;
  readonly tags: Record<string, string>;
}

/** `champion=90,challenger=10`, in the order given by config. */
export function formatRoutes(routes: Readonly<Record<string, number>>): string {
  return Object.entries(routes).map(([alias, weight]) => `${alias}=${weight}`).join(',');
}

export class ContainerEndpoint extends pulumi.ComponentResource {
  readonly app: app.ContainerApp;
  readonly endpointUrl: pulumi.Output<string>;
  readonly invocationsUrl: pulumi.Output<string>;
  readonly principalId: pulumi.Output<string>;

  constructor(name: string, args: ContainerEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:serving:ContainerEndpoint', name, {}, opts);
    const child = { parent: this };
    const role = (role: Parameters<typeof roleDefinitionId>[1]) => roleDefinitionId(args.subscriptionId, role);

    const environment = new app.ManagedEnvironment(`${name}-environment`, {
      environmentName: args.environmentName,
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      // Logs go through a diagnostic setting, so no workspace shared key is handed to the environment.
      appLogsConfiguration: { destination: 'azure-monitor' },
      workloadProfiles: [{ name: 'Consumption', workloadProfileType: 'Consumption' }],
      tags: args.tags,
    }, child);
    new monitor.DiagnosticSetting(`${name}-environment-diagnostics`, {
      name: 'to-log-analytics',
      resourceUri: environment.id,
      workspaceId: args.logAnalyticsWorkspaceId,
      logs: [{ categoryGroup: 'allLogs', enabled: true }],
      metrics: [{ category: 'AllMetrics', enabled: true }],
    }, child);

    const pullIdentity = new managedidentity.UserAssignedIdentity(`${name}-pull-identity`, {
      resourceName: args.pullIdentityName,
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      tags: args.tags,
    }, child);
    const acrPull = new authorization.RoleAssignment(`${name}-acr-pull`, {
      principalId: pullIdentity.principalId,
      principalType: 'ServicePrincipal',
      roleDefinitionId: role('acrPull'),
      scope: args.registryId,
      description: 'Serving app pulls its image',
    }, child);
    const readApiKeys = new authorization.RoleAssignment(`${name}-read-api-keys`, {
      principalId: pullIdentity.principalId,
      principalType: 'ServicePrincipal',
      roleDefinitionId: role('keyVaultSecretsUser'),
      // Scoped to the one secret, not the vault.
      scope: args.apiKeySecretResourceId,
      description: 'Serving app resolves its API-key Key Vault reference',
    }, child);

    const { runtime } = args;
    const environmentVariables: { name: string; value?: pulumi.Input<string>; secretRef?: string }[] = [
      { name: 'MLOPS_REGISTRY', value: args.registryUrl },
      { name: 'MLOPS_MODEL', value: runtime.model },
      { name: 'MLOPS_PORT', value: String(SERVING_PORT) },
      { name: 'MLOPS_ROUTES', value: formatRoutes(runtime.routes) },
      ...(runtime.shadow !== undefined ? [{ name: 'MLOPS_SHADOW', value: runtime.shadow }] : []),
      { name: 'MLOPS_LOGS', value: args.logsUrl },
      { name: 'MLOPS_API_KEYS', secretRef: API_KEYS_SECRET_REF },
      { name: 'MLOPS_RELOAD_INTERVAL_SECONDS', value: String(runtime.reloadIntervalSeconds) },
      { name: 'MLOPS_RATE_LIMIT_RPS', value: String(runtime.rateLimitRps) },
      { name: 'MLOPS_RATE_LIMIT_BURST', value: String(runtime.rateLimitBurst) },
      { name: 'MLOPS_MAX_ROWS', value: String(runtime.maxRows) },
      { name: 'MLOPS_LOG_LEVEL', value: runtime.logLevel },
    ];

    this.app = new app.ContainerApp(`${name}-app`, {
      containerAppName: args.appName,
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      managedEnvironmentId: environment.id,
      workloadProfileName: 'Consumption',
      identity: {
        type: 'SystemAssigned,UserAssigned',
        userAssignedIdentities: [pullIdentity.id],
      },
      configuration: {
        activeRevisionsMode: 'Single',
        ingress: {
          external: true,
          targetPort: SERVING_PORT,
          transport: 'http',
          allowInsecure: false,
          traffic: [{ latestRevision: true, weight: 100 }],
        },
        registries: [{ server: args.registryServer, identity: pullIdentity.id }],
        secrets: [{ name: API_KEYS_SECRET_REF, keyVaultUrl: args.apiKeySecretUri, identity: pullIdentity.id }],
      },
      template: {
        terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
        containers: [{
          name: 'serving',
          image: args.image,
          resources: { cpu: args.cpu, memory: `${args.cpu * 2}Gi` },
          env: environmentVariables,
          probes: [
            // Startup allows for a cold start from zero (image pull plus model download).
            { type: 'Startup', httpGet: { path: '/ping', port: SERVING_PORT }, initialDelaySeconds: 2, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 10 },
            // Ready only once the routed models are loaded (/health answers 503 until then).
            { type: 'Readiness', httpGet: { path: '/health', port: SERVING_PORT }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
            { type: 'Liveness', httpGet: { path: '/ping', port: SERVING_PORT }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
          ],
        }],
        scale: {
          minReplicas: args.minReplicas,
          maxReplicas: args.maxReplicas,
          rules: [{ name: 'http-concurrency', http: { metadata: { concurrentRequests: String(args.concurrentRequests) } } }],
        },
      },
      tags: args.scaleToZeroOverride ? { ...args.tags, 'allow-scale-to-zero': 'true' } : args.tags,
    }, { ...child, dependsOn: [acrPull, readApiKeys] });

    const systemPrincipalId = this.app.identity.apply((identity) => {
      if (identity?.principalId === undefined) throw new Error('container app has no system-assigned identity');
      return identity.principalId;
    });
    this.principalId = systemPrincipalId;
    new authorization.RoleAssignment(`${name}-read-models`, {
      principalId: systemPrincipalId,
      principalType: 'ServicePrincipal',
      roleDefinitionId: role('storageBlobDataReader'),
      scope: args.modelsContainerId,
      description: 'Serving reads model versions and aliases',
    }, child);
    new authorization.RoleAssignment(`${name}-write-logs`, {
      principalId: systemPrincipalId,
      principalType: 'ServicePrincipal',
      roleDefinitionId: role('storageBlobDataContributor'),
      scope: args.logsContainerId,
      description: 'Serving appends prediction logs',
    }, child);

    const fqdn = this.app.configuration.apply((configuration) => {
      const value = configuration?.ingress?.fqdn;
      if (value === undefined || value === '') throw new Error('container app has no ingress FQDN');
      return value;
    });
    this.endpointUrl = pulumi.interpolate`https://${fqdn}`;
    this.invocationsUrl = pulumi.interpolate`${this.endpointUrl}/invocations`;

    this.registerOutputs({ endpointUrl: this.endpointUrl, invocationsUrl: this.invocationsUrl });
  }
}
