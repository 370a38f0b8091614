// The prod stack, run the official way: config from Pulumi.prod.yaml, mocks set, then index.ts imported.
import { beforeAll, describe, expect, it } from 'vitest';
import { MOCK_ALIAS_VERSIONS, runProgram, type MockRun } from './mockEngine';
import { policyViolations, resourceNamed, resourcesOf } from './mockQueries';
import { buildPlan, formatPlan } from './planFormat';

let run: MockRun;
const input = (type: string, name: string) => resourceNamed(run, type, name).inputs as Record<string, any>;

beforeAll(async () => {
  run = await runProgram('prod');
});

describe('prod stack: storage and secrets', () => {
  it('uses zone-redundant storage with soft delete and long retention', () => {
    expect(input('azure-native:storage:StorageAccount', 'storage-account')).toMatchObject({ accountName: 'stremlprodp9m2', sku: { name: 'Standard_ZRS' }, tags: { environment: 'prod', criticality: 'high' } });
    const blobService = input('azure-native:storage:BlobServiceProperties', 'storage-blob-service');
    expect(blobService.deleteRetentionPolicy).toEqual({ enabled: true, days: 14 });
    expect(blobService.containerDeleteRetentionPolicy).toEqual({ enabled: true, days: 14 });
    const days = input('azure-native:storage:ManagementPolicy', 'storage-lifecycle').policy.rules.map((r: any) => r.definition.actions.baseBlob.delete.daysAfterModificationGreaterThan);
    expect(days).toEqual([365, 365, 730]);
    expect(input('azure-native:operationalinsights:Workspace', 'storage-analytics').retentionInDays).toBe(90);
  });

  it('protects the Key Vault against purge and keeps deleted secrets 90 days', () => {
    expect(input('azure-native:keyvault:Vault', 'secrets-vault').properties).toMatchObject({ enablePurgeProtection: true, softDeleteRetentionInDays: 90 });
    expect(resourcesOf(run, 'azure-native:authorization:RoleAssignment').filter((r) => r.name.startsWith('secrets-admin-'))).toHaveLength(2);
  });

  it('generates no endpoint API key and builds no serving image for Databricks serving', () => {
    expect(resourcesOf(run, 'random:index/randomPassword:RandomPassword')).toEqual([]);
    expect(resourcesOf(run, 'azure-native:keyvault:Secret').map((s) => s.inputs.secretName)).not.toContain('endpoint-api-keys');
    expect(resourcesOf(run, 'docker:index/image:Image').map((i) => i.name)).toEqual(['images-jobs']);
    expect(resourcesOf(run, 'azure-native:app:ContainerApp')).toEqual([]);
    expect(input('azure-native:containerregistry:Registry', 'images-registry').sku).toEqual({ name: 'Standard' });
  });
});

describe('prod stack: DatabricksEndpoint', () => {
  const endpoint = () => input('databricks:index/modelServing:ModelServing', 'serving-endpoint');

  it('resolves champion and challenger versions from the Unity Catalog aliases', () => {
    const lookups = run.mocks.calls.filter((c) => c.token === 'databricks:index/getRegisteredModel:getRegisteredModel');
    expect(lookups.map((c) => c.inputs)).toEqual([{ fullName: 'mlops_prod.renewable_energy.renewable_energy_predictor', includeAliases: true }]);
    expect(endpoint().config.servedEntities).toEqual([
      { name: 'champion', entityName: 'mlops_prod.renewable_energy.renewable_energy_predictor', entityVersion: String(MOCK_ALIAS_VERSIONS.champion), workloadSize: 'Medium', workloadType: 'CPU', scaleToZeroEnabled: false },
      { name: 'challenger', entityName: 'mlops_prod.renewable_energy.renewable_energy_predictor', entityVersion: String(MOCK_ALIAS_VERSIONS.challenger), workloadSize: 'Medium', workloadType: 'CPU', scaleToZeroEnabled: false },
    ]);
  });

  it('splits traffic 95/5 and sends scale-to-zero false explicitly', () => {
    expect(endpoint().config.trafficConfig).toEqual({ routes: [{ servedEntityName: 'champion', trafficPercentage: 95 }, { servedEntityName: 'challenger', trafficPercentage: 5 }] });
    for (const entity of endpoint().config.servedEntities) expect(entity).toHaveProperty('scaleToZeroEnabled', false);
  });

  it('captures an inference table, rate-limits and tags the endpoint', () => {
    expect(endpoint().name).toBe('reml-prod-renewable-energy-predictor');
    expect(endpoint().aiGateway).toEqual({
      inferenceTableConfig: { enabled: true, catalogName: 'mlops_prod', schemaName: 'renewable_energy', tableNamePrefix: 'reml_prod_renewable_energy_predictor' },
      rateLimits: [{ calls: 6000, key: 'endpoint', renewalPeriod: 'minute' }],
      usageTrackingConfig: { enabled: true },
    });
    const tags = Object.fromEntries(endpoint().tags.map((t: any) => [t.key, t.value]));
    expect(tags).toMatchObject({ environment: 'prod', model: 'mlops_prod.renewable_energy.renewable_energy_predictor', project: 'renewable-energy-mlops' });
    expect(tags).not.toHaveProperty('allow-scale-to-zero');
    expect(endpoint().emailNotifications).toEqual({ onUpdateFailures: ['ml-platform-oncall@contoso.com', 'ml-platform@contoso.com'] });
  });

  it('grants CAN_QUERY to the client group', () => {
    expect(input('databricks:index/permissions:Permissions', 'serving-permissions').accessControls).toEqual([
      { groupName: 'mlops-clients', permissionLevel: 'CAN_QUERY' },
      { groupName: 'mlops-admins', permissionLevel: 'CAN_MANAGE' },
    ]);
  });
});

describe('prod stack: jobs and outputs', () => {
  it('runs live schedules with the configured limits', () => {
    const retraining = input('databricks:index/job:Job', 'jobs-retraining');
    expect(retraining.schedule).toEqual({ quartzCronExpression: '0 0 2 ? * MON', timezoneId: 'Europe/Berlin', pauseStatus: 'UNPAUSED' });
    expect(retraining.health.rules[0].value).toBe(5400);
    expect(retraining.jobClusters[0].newCluster.nodeTypeId).toBe('Standard_D8ds_v5');
    expect(input('databricks:index/job:Job', 'jobs-batchScoring').tasks[0]).toMatchObject({ maxRetries: 2 });
  });

  it('exports Databricks endpoint URLs and no API-key secret name', () => {
    expect(run.outputs).toMatchObject({
      servingTarget: 'databricks',
      endpointUrl: 'https://adb-3141592653589793.2.azuredatabricks.net/serving-endpoints/reml-prod-renewable-energy-predictor',
      invocationsUrl: 'https://adb-3141592653589793.2.azuredatabricks.net/serving-endpoints/reml-prod-renewable-energy-predictor/invocations',
      canarySplit: { champion: 95, challenger: 5 },
      secretScope: 'reml-prod',
    });
    expect(run.outputs.apiKeySecretName).toBeUndefined();
    expect(Object.keys(run.outputs.images as object)).toEqual(['jobs']);
  });

  it('passes every policy', () => {
    expect(policyViolations(run)).toEqual([]);
  });

  it('matches the checked-in plan snapshot', async () => {
    const plan = buildPlan('prod', run.mocks.resources, run.outputs, run.secretOutputs, run.config.placeholders, { normalizeContent: true });
    await expect(formatPlan(plan)).toMatchFileSnapshot('__snapshots__/prod.plan.txt');
  });
});
