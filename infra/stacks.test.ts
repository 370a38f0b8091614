// Variations of the real stack settings run through deployStack on fresh mocks in one process:
// both serving targets on both stacks, the production override, and how dev and prod differ.
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { resolveAliasVersions } from './databricksEndpoint';
import { configForStack, runDeployment } from './mockEngine';
import { policyViolations, resourceNamed, resourcesOf } from './mockQueries';
import { buildPlan, diffPlans } from './planFormat';

describe('serving target switch', () => {
  it('dev with serving.target databricks scales to zero with the 90/10 canary', async () => {
    const run = await runDeployment(configForStack('dev', (raw) => { raw.serving.target = 'databricks'; }));
    const endpoint = resourceNamed(run, 'databricks:index/modelServing:ModelServing', 'serving-endpoint').inputs as any;
    expect(endpoint.config.servedEntities.map((e: any) => [e.name, e.entityVersion, e.workloadSize, e.scaleToZeroEnabled])).toEqual([
      ['champion', '3', 'Small', true],
      ['challenger', '4', 'Small', true],
    ]);
    expect(endpoint.config.trafficConfig.routes.map((r: any) => r.trafficPercentage)).toEqual([90, 10]);
    expect(resourcesOf(run, 'azure-native:app:ContainerApp')).toEqual([]);
    expect(policyViolations(run)).toEqual([]);
  });

  it('prod with serving.target container keeps replicas warm', async () => {
    const run = await runDeployment(configForStack('prod', (raw) => {
      raw.serving.target = 'container';
      raw.serving.container = { cpu: 1, minReplicas: 2, maxReplicas: 10, concurrentRequests: 80 };
    }));
    const app = resourceNamed(run, 'azure-native:app:ContainerApp', 'serving-app').inputs as any;
    expect(app.template.scale).toMatchObject({ minReplicas: 2, maxReplicas: 10 });
    expect(app.template.containers[0].resources).toEqual({ cpu: 1, memory: '2Gi' });
    expect(app.tags).not.toHaveProperty('allow-scale-to-zero');
    expect(run.outputs.apiKeySecretName).toBe('endpoint-api-keys');
    expect(policyViolations(run)).toEqual([]);
  });

  it('an explicit production override tags the endpoint so the policy lets it scale to zero', async () => {
    const run = await runDeployment(configForStack('prod', (raw) => {
      raw.serving.databricks.scaleToZero = true;
      raw.serving.allowScaleToZeroInProduction = true;
    }));
    const endpoint = resourceNamed(run, 'databricks:index/modelServing:ModelServing', 'serving-endpoint').inputs as any;
    expect(endpoint.tags).toContainEqual({ key: 'allow-scale-to-zero', value: 'true' });
    expect(policyViolations(run)).toEqual([]);
  });

  it('passes the shadow alias to the container', async () => {
    const run = await runDeployment(configForStack('dev', (raw) => { raw.serving.shadow = 'candidate'; }));
    const env = (resourceNamed(run, 'azure-native:app:ContainerApp', 'serving-app').inputs as any).template.containers[0].env;
    expect(env).toContainEqual({ name: 'MLOPS_SHADOW', value: 'candidate' });
  });

  it('fails with a readable message when a routed alias is not set in Unity Catalog', () => {
    const modelInfos = [{ aliases: [{ aliasName: 'champion', versionNum: 7 }] }];
    expect(() => resolveAliasVersions('mlops_prod.renewable_energy.renewable_energy_predictor', ['champion', 'challenger'], modelInfos)).toThrow(
      'serving.routes: alias "challenger" not set on mlops_prod.renewable_energy.renewable_energy_predictor (aliases: champion=7); register and alias a version first',
    );
    expect(resolveAliasVersions('c.s.m', ['champion'], modelInfos)).toEqual({ champion: '7' });
  });

  it('follows the aliases to whatever versions Unity Catalog reports', async () => {
    const run = await runDeployment(configForStack('prod'), { champion: 12, challenger: 15 });
    const entities = (resourceNamed(run, 'databricks:index/modelServing:ModelServing', 'serving-endpoint').inputs as any).config.servedEntities;
    expect(entities.map((e: any) => [e.name, e.entityVersion])).toEqual([['champion', '12'], ['challenger', '15']]);
  });
});

describe('resource options that guard provider quirks and production data', () => {
  it('replaces endpoints delete-first with long timeouts and protects prod data', async () => {
    const options = new Map<string, pulumi.CustomResourceOptions>();
    const record: pulumi.ResourceTransformation = (args) => {
      options.set(`${args.type} ${args.name}`, args.opts);
      return undefined;
    };
    await runDeployment(configForStack('prod'), undefined, { transformations: [record] });
    expect(options.get('databricks:index/modelServing:ModelServing serving-endpoint')).toMatchObject({
      deleteBeforeReplace: true,
      customTimeouts: { create: '60m', update: '60m', delete: '20m' },
    });
    expect(options.get('databricks:index/secretScope:SecretScope secrets-scope')).toMatchObject({ deleteBeforeReplace: true });
    expect(options.get('azure-native:storage:StorageAccount storage-account')).toMatchObject({ protect: true });
    expect(options.get('azure-native:keyvault:Vault secrets-vault')).toMatchObject({ protect: true });
    for (const job of ['batchScoring', 'monitoring', 'retraining']) {
      expect(options.get(`databricks:index/job:Job jobs-${job}`)?.provider).toBeDefined();
    }

    options.clear();
    await runDeployment(configForStack('dev'), undefined, { transformations: [record] });
    expect(options.get('azure-native:storage:StorageAccount storage-account')).toMatchObject({ protect: false });
    const app = options.get('azure-native:app:ContainerApp serving-app');
    expect((app?.dependsOn as pulumi.Resource[] | undefined)?.length).toBe(2);
  });
});

describe('dev and prod differ as intended', () => {
  it('shows the intended differences in a plan diff', async () => {
    const dev = await runDeployment(configForStack('dev'));
    const devPlan = buildPlan('dev', dev.mocks.resources, dev.outputs, dev.secretOutputs, []);
    const prod = await runDeployment(configForStack('prod'));
    const prodPlan = buildPlan('prod', prod.mocks.resources, prod.outputs, prod.secretOutputs, []);
    const diff = diffPlans(devPlan, prodPlan);

    expect(diff.added.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
      'azure-native:authorization:RoleAssignment secrets-admin-1',
      'databricks:index/modelServing:ModelServing serving-endpoint',
      'databricks:index/permissions:Permissions serving-permissions',
      'mlops:serving:DatabricksEndpoint serving',
    ]);
    expect(diff.removed.map((r) => r.type)).toContain('azure-native:app:ContainerApp');
    expect(diff.removed.map((r) => r.type)).toContain('random:index/randomPassword:RandomPassword');
    const change = (type: string, name: string, key: string) =>
      diff.changed.find((c) => c.type === type && c.name === name)?.changes.find((c) => c.key === key);
    expect(change('azure-native:storage:StorageAccount', 'storage-account', 'sku.name')).toEqual({ key: 'sku.name', before: '"Standard_LRS"', after: '"Standard_ZRS"' });
    expect(change('azure-native:keyvault:Vault', 'secrets-vault', 'properties.enablePurgeProtection')).toEqual({ key: 'properties.enablePurgeProtection', after: 'true' });
    expect(change('databricks:index/job:Job', 'jobs-retraining', 'schedule.pauseStatus')).toEqual({ key: 'schedule.pauseStatus', before: '"PAUSED"', after: '"UNPAUSED"' });
    expect(change('azure-native:storage:ManagementPolicy', 'storage-lifecycle', 'policy.rules[0].definition.actions.baseBlob.delete.daysAfterModificationGreaterThan'))
      .toMatchObject({ before: '30', after: '365' });
  });
});
