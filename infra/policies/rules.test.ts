import { describe, expect, it } from 'vitest';
import { jobsAreBounded, noPlaintextSecrets, noSecretOutputs, parseRoutes, productionKeepsCapacity, routesSumTo100, storageIsSecure, TYPES, type Rule } from './rules';

function violations(rule: Rule, type: string, props: Record<string, unknown>): string[] {
  const found: string[] = [];
  rule({ type, props }, (message) => found.push(message));
  return found;
}

const servingEntities = (scaleToZeroEnabled?: boolean) => [
  { name: 'champion', entityName: 'c.s.m', entityVersion: '3', workloadSize: 'Small', ...(scaleToZeroEnabled === undefined ? {} : { scaleToZeroEnabled }) },
  { name: 'challenger', entityName: 'c.s.m', entityVersion: '4', workloadSize: 'Small', ...(scaleToZeroEnabled === undefined ? {} : { scaleToZeroEnabled }) },
];
const modelServing = (routes: { servedEntityName: string; trafficPercentage: unknown }[], tags = [{ key: 'environment', value: 'dev' }], scaleToZeroEnabled?: boolean) => ({
  name: 'endpoint',
  config: { servedEntities: servingEntities(scaleToZeroEnabled), trafficConfig: { routes } },
  tags,
});
const containerApp = (overrides: { routes?: string; minReplicas?: number; tags?: Record<string, string>; env?: object[]; secrets?: object[] } = {}) => ({
  configuration: {
    ingress: { traffic: [{ latestRevision: true, weight: 100 }] },
    secrets: overrides.secrets ?? [{ name: 'api-keys', keyVaultUrl: 'https://kv.vault.azure.net/secrets/endpoint-api-keys', identity: 'id' }],
  },
  template: {
    containers: [{ name: 'serving', env: overrides.env ?? [{ name: 'MLOPS_ROUTES', value: overrides.routes ?? 'champion=90,challenger=10' }, { name: 'MLOPS_API_KEYS', secretRef: 'api-keys' }] }],
    scale: { minReplicas: overrides.minReplicas ?? 0, maxReplicas: 3 },
  },
  tags: overrides.tags ?? { environment: 'dev' },
});

describe('routesSumTo100', () => {
  it('accepts a 90/10 split on both targets', () => {
    expect(violations(routesSumTo100, TYPES.modelServing, modelServing([{ servedEntityName: 'champion', trafficPercentage: 90 }, { servedEntityName: 'challenger', trafficPercentage: 10 }]))).toEqual([]);
    expect(violations(routesSumTo100, TYPES.containerApp, containerApp())).toEqual([]);
  });

  it('rejects splits that do not sum to 100', () => {
    expect(violations(routesSumTo100, TYPES.modelServing, modelServing([{ servedEntityName: 'champion', trafficPercentage: 90 }, { servedEntityName: 'challenger', trafficPercentage: 5 }])))
      .toEqual(['trafficConfig.routes: weights must sum to 100, got 95 (champion=90, challenger=5)']);
    expect(violations(routesSumTo100, TYPES.containerApp, containerApp({ routes: 'champion=80,challenger=10' })))
      .toEqual(['container "serving" MLOPS_ROUTES: weights must sum to 100, got 90 (champion=80, challenger=10)']);
  });

  it('rejects unrouted entities, unknown routes and non-integer weights', () => {
    expect(violations(routesSumTo100, TYPES.modelServing, modelServing([{ servedEntityName: 'champion', trafficPercentage: 100 }])))
      .toEqual(['trafficConfig.routes: served entity "challenger" has no route']);
    expect(violations(routesSumTo100, TYPES.modelServing, modelServing([{ servedEntityName: 'champion', trafficPercentage: 50 }, { servedEntityName: 'challenger', trafficPercentage: 25 }, { servedEntityName: 'ghost', trafficPercentage: 25 }])))
      .toEqual(['trafficConfig.routes: route to unknown served entity "ghost"']);
    expect(violations(routesSumTo100, TYPES.containerApp, containerApp({ routes: 'champion=ninety,challenger=100' })))
      .toEqual(['container "serving" MLOPS_ROUTES: weight of "champion" must be an integer 0-100, got "ninety"']);
    expect(violations(routesSumTo100, TYPES.modelServing, { config: { servedEntities: servingEntities() } }))
      .toEqual(['trafficConfig.routes: missing; every served entity needs a route', 'trafficConfig.routes: served entity "champion" has no route', 'trafficConfig.routes: served entity "challenger" has no route']);
  });

  it('parses MLOPS_ROUTES', () => {
    expect(parseRoutes('champion=90,challenger=10')).toEqual([{ name: 'champion', weight: 90 }, { name: 'challenger', weight: 10 }]);
  });
});

describe('storageIsSecure', () => {
  const secure = { enableHttpsTrafficOnly: true, minimumTlsVersion: 'TLS1_2', allowBlobPublicAccess: false, allowSharedKeyAccess: false };

  it('accepts the secure settings', () => {
    expect(violations(storageIsSecure, TYPES.storageAccount, secure)).toEqual([]);
    expect(violations(storageIsSecure, TYPES.blobContainer, { publicAccess: 'None' })).toEqual([]);
  });

  it('reports each insecure setting', () => {
    expect(violations(storageIsSecure, TYPES.storageAccount, { minimumTlsVersion: 'TLS1_0', allowBlobPublicAccess: true })).toEqual([
      'enableHttpsTrafficOnly must be true, got undefined',
      'minimumTlsVersion must be TLS1_2 or newer, got "TLS1_0"',
      'allowBlobPublicAccess must be false, got true',
      'allowSharedKeyAccess must be false (Entra ID only), got undefined',
    ]);
    expect(violations(storageIsSecure, TYPES.blobContainer, { publicAccess: 'Blob' })).toEqual(['publicAccess must be None, got "Blob"']);
    expect(violations(storageIsSecure, TYPES.keyVault, { properties: { enableRbacAuthorization: false } })).toEqual(['properties.enableRbacAuthorization must be true (no access policies)']);
  });
});

describe('noPlaintextSecrets', () => {
  it('accepts Key Vault references and secret-scope references', () => {
    expect(violations(noPlaintextSecrets, TYPES.containerApp, containerApp())).toEqual([]);
    expect(violations(noPlaintextSecrets, TYPES.job, {
      jobClusters: [{ jobClusterKey: 'single_node', newCluster: { sparkEnvVars: { AZURE_CLIENT_SECRET: '{{secrets/s/azure-client-secret}}', MLOPS_ALERT_WEBHOOK_URL: '{{secrets/s/alert-webhook-url}}', MLOPS_MODEL: 'm' }, dockerImage: { url: 'x', basicAuth: { username: 'u', password: '{{secrets/s/p}}' } } } }],
    })).toEqual([]);
  });

  it('rejects plaintext values in env vars, inline secrets and cluster settings', () => {
    expect(violations(noPlaintextSecrets, TYPES.containerApp, containerApp({
      env: [{ name: 'MLOPS_API_KEYS', value: 'k1,k2' }],
      secrets: [{ name: 'api-keys', value: 'k1,k2' }],
    }))).toEqual([
      'configuration.secrets "api-keys": must be a Key Vault reference (keyVaultUrl + identity), not an inline value',
      'container "serving" env MLOPS_API_KEYS: must use secretRef, not a plaintext value',
    ]);
    expect(violations(noPlaintextSecrets, TYPES.job, {
      jobClusters: [{ jobClusterKey: 'single_node', newCluster: { sparkEnvVars: { MLOPS_ALERT_WEBHOOK_URL: 'https://hooks.example/abc' }, dockerImage: { url: 'x', basicAuth: { username: 'u', password: 'hunter2' } } } }],
    })).toEqual([
      'jobClusters["single_node"].sparkEnvVars.MLOPS_ALERT_WEBHOOK_URL: must be a {{secrets/<scope>/<key>}} reference, not a plaintext value',
      'jobClusters["single_node"].dockerImage.basicAuth.password: must be a {{secrets/<scope>/<key>}} reference',
    ]);
    expect(violations(noPlaintextSecrets, TYPES.modelServing, { config: { servedEntities: [{ name: 'champion', environmentVars: { API_TOKEN: 'abc' } }] } }))
      .toEqual(['servedEntities["champion"].environmentVars.API_TOKEN: must be a {{secrets/<scope>/<key>}} reference, not a plaintext value']);
  });

  it('flags credential-looking stack outputs unless they are secret', () => {
    const found: string[] = [];
    noSecretOutputs({ apiKeySecretName: 'endpoint-api-keys', keyVaultUri: 'https://kv', apiKey: 'abc', webhookUrl: 'https://x', clientSecret: 's' }, (m) => found.push(m), (name) => name === 'clientSecret');
    expect(found).toEqual([
      'stack output apiKey: looks like a credential; export its secret name or URI instead',
      'stack output webhookUrl: looks like a credential; export its secret name or URI instead',
    ]);
  });
});

describe('jobsAreBounded', () => {
  const job = { name: 'j', timeoutSeconds: 3600, maxConcurrentRuns: 1, tasks: [{ taskKey: 'a' }, { taskKey: 'b' }] };

  it('accepts a bounded job', () => {
    expect(violations(jobsAreBounded, TYPES.job, job)).toEqual([]);
  });

  it('requires a timeout, one concurrent run and ordered tasks', () => {
    expect(violations(jobsAreBounded, TYPES.job, { ...job, timeoutSeconds: undefined, maxConcurrentRuns: 3, tasks: [{ taskKey: 'b' }, { taskKey: 'a' }] })).toEqual([
      'job "j": timeoutSeconds must be set (> 0), got undefined',
      'job "j": maxConcurrentRuns must be 1, got 3',
      'job "j": tasks must be declared in alphabetical taskKey order (a, b) to avoid diffs',
    ]);
    expect(violations(jobsAreBounded, TYPES.job, { ...job, timeoutSeconds: 0 })).toEqual(['job "j": timeoutSeconds must be set (> 0), got 0']);
  });
});

describe('productionKeepsCapacity', () => {
  const routes = [{ servedEntityName: 'champion', trafficPercentage: 90 }, { servedEntityName: 'challenger', trafficPercentage: 10 }];

  it('lets dev scale to zero', () => {
    expect(violations(productionKeepsCapacity, TYPES.containerApp, containerApp())).toEqual([]);
    expect(violations(productionKeepsCapacity, TYPES.modelServing, modelServing(routes, [{ key: 'environment', value: 'dev' }], true))).toEqual([]);
  });

  it('rejects production endpoints that scale to zero, including the provider default', () => {
    expect(violations(productionKeepsCapacity, TYPES.containerApp, containerApp({ tags: { environment: 'prod' } })))
      .toEqual(['production container app scales to zero (minReplicas 0); tag the resource allow-scale-to-zero=true (serving.allowScaleToZeroInProduction) to accept cold starts']);
    expect(violations(productionKeepsCapacity, TYPES.modelServing, modelServing(routes, [{ key: 'environment', value: 'prod' }]))).toEqual([
      'production served entity "champion" scales to zero (scaleToZeroEnabled "default true"); tag the resource allow-scale-to-zero=true (serving.allowScaleToZeroInProduction) to accept cold starts',
      'production served entity "challenger" scales to zero (scaleToZeroEnabled "default true"); tag the resource allow-scale-to-zero=true (serving.allowScaleToZeroInProduction) to accept cold starts',
    ]);
  });

  it('accepts warm production endpoints and explicit overrides', () => {
    expect(violations(productionKeepsCapacity, TYPES.containerApp, containerApp({ tags: { environment: 'prod' }, minReplicas: 1 }))).toEqual([]);
    expect(violations(productionKeepsCapacity, TYPES.modelServing, modelServing(routes, [{ key: 'environment', value: 'prod' }], false))).toEqual([]);
    expect(violations(productionKeepsCapacity, TYPES.containerApp, containerApp({ tags: { environment: 'prod', 'allow-scale-to-zero': 'true' } }))).toEqual([]);
    expect(violations(productionKeepsCapacity, TYPES.modelServing, modelServing(routes, [{ key: 'environment', value: 'prod' }, { key: 'allow-scale-to-zero', value: 'true' }], true))).toEqual([]);
  });
});
