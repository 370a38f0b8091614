// The dev stack, run the official way: config from Pulumi.dev.yaml, mocks set, then index.ts imported.
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { isSecretMarker, MOCK_SUBSCRIPTION_ID, PLACEHOLDER_SECRETS, runProgram, type MockRun } from './mockEngine';
import { plainStrings, policyViolations, registeredUrns, resourceNamed, resourcesOf, secretStrings } from './mockQueries';
import { buildPlan, formatPlan } from './planFormat';

let run: MockRun & { exports: Record<string, unknown> };
const input = (type: string, name: string) => resourceNamed(run, type, name).inputs as Record<string, any>;
const roleId = (guid: string) => `/subscriptions/${MOCK_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;

beforeAll(async () => {
  run = await runProgram('dev');
});

describe('dev stack: LogStorage', () => {
  it('declares a secure ADLS Gen2 account with the four containers', () => {
    const account = input('azure-native:storage:StorageAccount', 'storage-account');
    expect(account).toMatchObject({
      accountName: 'stremldevd4k7',
      resourceGroupName: 'rg-reml-dev',
      kind: 'StorageV2',
      sku: { name: 'Standard_LRS' },
      isHnsEnabled: true,
      enableHttpsTrafficOnly: true,
      minimumTlsVersion: 'TLS1_2',
      allowBlobPublicAccess: false,
      allowSharedKeyAccess: false,
      tags: { environment: 'dev', project: 'renewable-energy-mlops', 'managed-by': 'pulumi', owner: 'ml-platform' },
    });
    const containers = resourcesOf(run, 'azure-native:storage:BlobContainer').map((c) => [c.inputs.containerName, c.inputs.publicAccess]);
    expect(containers.sort()).toEqual([['logs', 'None'], ['models', 'None'], ['reports', 'None'], ['scoring', 'None']]);
  });

  it('expires logs after the dev retention and keeps soft delete off', () => {
    const rules = input('azure-native:storage:ManagementPolicy', 'storage-lifecycle').policy.rules;
    expect(rules.map((r: any) => [r.name, r.definition.filters.prefixMatch, r.definition.actions.baseBlob.delete.daysAfterModificationGreaterThan])).toEqual([
      ['expire-prediction-logs', ['logs/'], 30],
      ['expire-scoring-data', ['scoring/input/', 'scoring/output/'], 30],
      ['expire-reports', ['reports/'], 90],
    ]);
    expect(input('azure-native:storage:BlobServiceProperties', 'storage-blob-service').deleteRetentionPolicy).toEqual({ enabled: false });
    expect(input('azure-native:operationalinsights:Workspace', 'storage-analytics')).toMatchObject({ retentionInDays: 30, sku: { name: 'PerGB2018' } });
    expect(input('azure-native:monitor:DiagnosticSetting', 'storage-blob-diagnostics').resourceUri).toMatch(/storageAccounts\/stremldevd4k7\/blobServices\/default$/);
  });
});

describe('dev stack: Secrets', () => {
  it('uses an RBAC Key Vault without purge protection in dev', () => {
    const vault = input('azure-native:keyvault:Vault', 'secrets-vault');
    expect(vault.vaultName).toBe('kvremldevd4k7');
    expect(vault.properties).toMatchObject({ enableRbacAuthorization: true, softDeleteRetentionInDays: 7, sku: { family: 'A', name: 'standard' } });
    expect(vault.properties.enablePurgeProtection).toBeUndefined();
  });

  it('stores every runtime secret in the vault, values marked secret', () => {
    const secrets = resourcesOf(run, 'azure-native:keyvault:Secret');
    expect(secrets.map((s) => s.inputs.secretName).sort()).toEqual(['alert-webhook-url', 'azure-client-id', 'azure-client-secret', 'azure-tenant-id', 'endpoint-api-keys']);
    // The engine marks the whole top-level property secret when any nested value is.
    for (const secret of secrets) expect(isSecretMarker(secret.inputs.properties)).toBe(true);
    expect(input('random:index/randomPassword:RandomPassword', 'secrets-api-key')).toMatchObject({ length: 48, special: false });
  });

  it('creates a Key Vault-backed scope with READ for the jobs principal and MANAGE for admins', () => {
    const scope = input('databricks:index/secretScope:SecretScope', 'secrets-scope');
    expect(scope.name).toBe('reml-dev');
    expect(scope.keyvaultMetadata).toEqual({
      resourceId: `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/rg-reml-dev/providers/Microsoft.KeyVault/vaults/kvremldevd4k7`,
      dnsName: 'https://kvremldevd4k7.vault.azure.net/',
    });
    const acls = resourcesOf(run, 'databricks:index/secretAcl:SecretAcl').map((a) => [a.inputs.principal, a.inputs.permission]);
    expect(acls.sort()).toEqual([['6b1f0c2e-7d4a-4f3b-9a5e-2c8d1e0f3a41', 'READ'], ['mlops-admins', 'MANAGE']]);
    expect(input('azure-native:authorization:RoleAssignment', 'secrets-databricks-reads-vault')).toMatchObject({
      principalId: '4c3b2a19-0f8e-4d7c-b6a5-948372615083',
      roleDefinitionId: roleId('4633458b-17de-408a-b874-0445c86b69e6'),
    });
  });
});

describe('dev stack: Images', () => {
  it('pushes both images to a registry without an admin user, tagged by content', () => {
    expect(input('azure-native:containerregistry:Registry', 'images-registry')).toMatchObject({ registryName: 'acrremldevd4k7', sku: { name: 'Basic' }, adminUserEnabled: false, anonymousPullEnabled: false });
    for (const image of ['serving', 'jobs']) {
      const args = input('docker:index/image:Image', `images-${image}`);
      expect(args.imageName).toMatch(new RegExp(`^acrremldevd4k7\\.azurecr\\.io/renewable-energy-${image}:src-[0-9a-f]{12}$`));
      expect(args.build).toEqual({ context: '.', dockerfile: `${image}/Dockerfile`, platform: 'linux/amd64' });
      expect(isSecretMarker(args.registry)).toBe(true);
      expect(args.registry.value).toEqual({
        server: 'acrremldevd4k7.azurecr.io',
        username: '2a7c4e91-3b5d-4f6a-8e0c-9d1b2f3a4c52',
        password: PLACEHOLDER_SECRETS.imagePushClientSecret,
      });
    }
    expect(input('azure-native:authorization:RoleAssignment', 'images-push').roleDefinitionId).toBe(roleId('8311e382-0749-4cb8-b61a-304f252e45ec'));
  });
});

describe('dev stack: ContainerEndpoint', () => {
  const app = () => input('azure-native:app:ContainerApp', 'serving-app');

  it('exposes HTTPS ingress on 8080 with one revision taking all traffic', () => {
    expect(app().configuration).toMatchObject({
      activeRevisionsMode: 'Single',
      ingress: { external: true, targetPort: 8080, transport: 'http', allowInsecure: false, traffic: [{ latestRevision: true, weight: 100 }] },
    });
  });

  it('scales to zero in dev with an HTTP concurrency rule', () => {
    expect(app().template.scale).toEqual({
      minReplicas: 0,
      maxReplicas: 2,
      rules: [{ name: 'http-concurrency', http: { metadata: { concurrentRequests: '50' } } }],
    });
    expect(app().template.terminationGracePeriodSeconds).toBe(30);
    expect(app().template.containers[0].resources).toEqual({ cpu: 0.5, memory: '1Gi' });
  });

  it('probes /ping for startup and liveness and /health for readiness', () => {
    const probes = app().template.containers[0].probes.map((p: any) => [p.type, p.httpGet.path, p.httpGet.port]);
    expect(probes).toEqual([['Startup', '/ping', 8080], ['Readiness', '/health', 8080], ['Liveness', '/ping', 8080]]);
  });

  it('passes routes, storage URIs and settings as env and the API keys as a Key Vault reference', () => {
    const env = Object.fromEntries(app().template.containers[0].env.map((e: any) => [e.name, e.value ?? `secretRef:${e.secretRef}`]));
    expect(env).toEqual({
      MLOPS_REGISTRY: 'https://stremldevd4k7.blob.core.windows.net/models',
      MLOPS_MODEL: 'renewable_energy_predictor',
      MLOPS_PORT: '8080',
      MLOPS_ROUTES: 'champion=90,challenger=10',
      MLOPS_LOGS: 'https://stremldevd4k7.blob.core.windows.net/logs',
      MLOPS_API_KEYS: 'secretRef:api-keys',
      MLOPS_RELOAD_INTERVAL_SECONDS: '30',
      MLOPS_RATE_LIMIT_RPS: '20',
      MLOPS_RATE_LIMIT_BURST: '40',
      MLOPS_MAX_ROWS: '10000',
      MLOPS_LOG_LEVEL: 'debug',
    });
    const pullIdentityId = `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/rg-reml-dev/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-reml-dev-serving-pull`;
    expect(app().configuration.secrets).toEqual([{ name: 'api-keys', keyVaultUrl: 'https://kvremldevd4k7.vault.azure.net/secrets/endpoint-api-keys', identity: pullIdentityId }]);
    expect(app().configuration.registries).toEqual([{ server: 'acrremldevd4k7.azurecr.io', identity: pullIdentityId }]);
    expect(app().identity).toEqual({ type: 'SystemAssigned,UserAssigned', userAssignedIdentities: [pullIdentityId] });
    expect(app().template.containers[0].image).toBe(input('docker:index/image:Image', 'images-serving').imageName);
  });

  it('grants least-privilege roles at the narrowest scopes', () => {
    const grant = (name: string) => {
      const { principalId, roleDefinitionId, scope } = input('azure-native:authorization:RoleAssignment', name);
      return { principalId, role: String(roleDefinitionId).split('/').pop(), scope: String(scope).replace(/^.*\/providers\//, '') };
    };
    const systemPrincipal = run.mocks.states.find((s) => s.name === 'serving-app')?.state as any;
    expect(grant('serving-read-models')).toEqual({ principalId: systemPrincipal.identity.principalId, role: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1', scope: 'Microsoft.Storage/storageAccounts/stremldevd4k7/blobServices/default/containers/models' });
    expect(grant('serving-write-logs')).toEqual({ principalId: systemPrincipal.identity.principalId, role: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe', scope: 'Microsoft.Storage/storageAccounts/stremldevd4k7/blobServices/default/containers/logs' });
    expect(grant('serving-acr-pull')).toMatchObject({ role: '7f951dda-4ed3-4680-a7ca-43fe172d538d', scope: 'Microsoft.ContainerRegistry/registries/acrremldevd4k7' });
    expect(grant('serving-read-api-keys')).toMatchObject({ role: '4633458b-17de-408a-b874-0445c86b69e6', scope: 'Microsoft.KeyVault/vaults/kvremldevd4k7/secrets/endpoint-api-keys' });
    expect(input('azure-native:app:ManagedEnvironment', 'serving-environment').appLogsConfiguration).toEqual({ destination: 'azure-monitor' });
  });
});

describe('dev stack: Jobs', () => {
  const job = (key: string) => input('databricks:index/job:Job', `jobs-${key}`);

  it('declares three scheduled, bounded jobs, paused in dev', () => {
    for (const [key, cron, timeout] of [['batchScoring', '0 0 3 * * ?', 1800], ['monitoring', '0 30 4 * * ?', 1800], ['retraining', '0 0 2 ? * MON', 3600]] as const) {
      expect(job(key)).toMatchObject({
        schedule: { quartzCronExpression: cron, timezoneId: 'Europe/Berlin', pauseStatus: 'PAUSED' },
        maxConcurrentRuns: 1,
        timeoutSeconds: timeout,
        health: { rules: [{ metric: 'RUN_DURATION_SECONDS', op: 'GREATER_THAN', value: timeout * 0.75 }] },
        emailNotifications: { onFailures: ['ml-platform-dev@contoso.com'], onDurationWarningThresholdExceededs: ['ml-platform-dev@contoso.com'] },
        runAs: { servicePrincipalName: '6b1f0c2e-7d4a-4f3b-9a5e-2c8d1e0f3a41' },
      });
      const webhookId = run.mocks.states.find((s) => s.name === 'jobs-alert-webhook');
      expect(webhookId).toBeDefined();
      expect(job(key).webhookNotifications.onFailures).toHaveLength(1);
    }
  });

  it('wires the retraining DAG in taskKey order with a condition task on the drift task value', () => {
    const tasks = job('retraining').tasks;
    expect(tasks.map((t: any) => t.taskKey)).toEqual(['drift_detection', 'retrain_model', 'should_retrain', 'validate_and_promote']);
    const byKey = Object.fromEntries(tasks.map((t: any) => [t.taskKey, t]));
    expect(byKey.should_retrain).toEqual({
      taskKey: 'should_retrain',
      dependsOns: [{ taskKey: 'drift_detection' }],
      conditionTask: { op: 'EQUAL_TO', left: '{{tasks.drift_detection.values.should_retrain}}', right: 'true' },
    });
    expect(byKey.retrain_model.dependsOns).toEqual([{ taskKey: 'should_retrain', outcome: 'true' }]);
    expect(byKey.validate_and_promote.dependsOns).toEqual([{ taskKey: 'retrain_model' }]);
    const models = 'https://stremldevd4k7.blob.core.windows.net/models';
    expect(byKey.drift_detection.sparkPythonTask).toEqual({
      pythonFile: '/Shared/renewable-energy-mlops/dev/launcher.py',
      source: 'WORKSPACE',
      parameters: ['monitor', '--registry', models, '--logs', 'https://stremldevd4k7.blob.core.windows.net/logs', '--alias', 'champion', '--lookback-days', '7', '--threshold', '0.05', '--report', 'https://stremldevd4k7.blob.core.windows.net/reports/retraining'],
    });
    expect(byKey.retrain_model.sparkPythonTask.parameters).toEqual(['retrain', '--data', 'https://stremldevd4k7.blob.core.windows.net/scoring/training', '--registry', models, '--decision', 'https://stremldevd4k7.blob.core.windows.net/reports/retraining']);
    expect(byKey.validate_and_promote.sparkPythonTask.parameters).toEqual(['promote', '--registry', models, '--candidate', '{{tasks.retrain_model.values.candidate_version}}', '--stage', 'challenger']);
    expect(byKey.retrain_model).toMatchObject({ jobClusterKey: 'single_node', maxRetries: 0, minRetryIntervalMillis: 300_000 });
  });

  it('scores and monitors with the champion alias', () => {
    expect(job('batchScoring').tasks[0].sparkPythonTask.parameters).toEqual([
      'score', '--registry', 'https://stremldevd4k7.blob.core.windows.net/models', '--alias', 'champion',
      '--input', 'https://stremldevd4k7.blob.core.windows.net/scoring/input', '--output', 'https://stremldevd4k7.blob.core.windows.net/scoring/output',
      '--date', '{{job.start_time.iso_date}}',
    ]);
    expect(job('monitoring').tasks[0].sparkPythonTask.parameters.at(-1)).toBe('https://stremldevd4k7.blob.core.windows.net/reports/monitoring');
  });

  it('runs tasks from the jobs image on a single-node Container Services cluster with secret references', () => {
    const cluster = job('retraining').jobClusters[0];
    expect(cluster.newCluster).toMatchObject({
      numWorkers: 0,
      sparkVersion: '15.4.x-scala2.12',
      nodeTypeId: 'Standard_D4ds_v5',
      dataSecurityMode: 'SINGLE_USER',
      sparkConf: { 'spark.databricks.cluster.profile': 'singleNode', 'spark.master': 'local[*]' },
      customTags: { ResourceClass: 'SingleNode' },
      dockerImage: {
        url: input('docker:index/image:Image', 'images-jobs').imageName,
        basicAuth: { username: '{{secrets/reml-dev/azure-client-id}}', password: '{{secrets/reml-dev/azure-client-secret}}' },
      },
      sparkEnvVars: {
        AZURE_TENANT_ID: '{{secrets/reml-dev/azure-tenant-id}}',
        AZURE_CLIENT_ID: '{{secrets/reml-dev/azure-client-id}}',
        AZURE_CLIENT_SECRET: '{{secrets/reml-dev/azure-client-secret}}',
        MLOPS_ALERT_WEBHOOK_URL: '{{secrets/reml-dev/alert-webhook-url}}',
      },
    });
    expect(input('databricks:index/workspaceConf:WorkspaceConf', 'jobs-container-services').customConfig).toEqual({ enableDcs: 'true' });
    expect(input('databricks:index/workspaceFile:WorkspaceFile', 'jobs-launcher')).toMatchObject({ path: '/Shared/renewable-energy-mlops/dev/launcher.py', source: 'jobs/databricks/launcher.py' });
  });

  it('lets operators run jobs and grants the jobs principal scoped storage roles', () => {
    for (const key of ['batchScoring', 'monitoring', 'retraining']) {
      expect(input('databricks:index/permissions:Permissions', `jobs-${key}-permissions`).accessControls).toEqual([
        { groupName: 'mlops-operators', permissionLevel: 'CAN_MANAGE_RUN' },
        { groupName: 'mlops-admins', permissionLevel: 'CAN_MANAGE' },
      ]);
    }
    const roles = Object.fromEntries(['models', 'logs', 'scoring', 'reports'].map((c) => [c, String(input('azure-native:authorization:RoleAssignment', `jobs-storage-${c}`).roleDefinitionId).split('/').pop()]));
    expect(roles).toEqual({
      models: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
      logs: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
      scoring: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
      reports: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
    });
  });

  it('gives the webhook destination only a secret URL', () => {
    const destination = input('databricks:index/notificationDestination:NotificationDestination', 'jobs-alert-webhook');
    expect(secretStrings(destination.config)).toEqual([PLACEHOLDER_SECRETS.alertWebhookUrl]);
  });
});

describe('dev stack: composition', () => {
  it('uses an explicit Databricks provider for every Databricks resource', () => {
    expect(input('pulumi:providers:databricks', 'databricks')).toEqual({
      host: 'https://adb-2718281828459045.5.azuredatabricks.net',
      azureWorkspaceResourceId: '/subscriptions/5d3c2b1a-0f9e-4d8c-a7b6-5a4b3c2d1e0f/resourceGroups/rg-databricks-dev/providers/Microsoft.Databricks/workspaces/dbw-mlops-dev',
      authType: 'azure-cli',
    });
    const databricksResources = run.mocks.resources.filter((r) => r.type.startsWith('databricks:'));
    expect(databricksResources.length).toBeGreaterThan(0);
    for (const resource of databricksResources) expect(resource.provider).toMatch(/::databricks::databricks-provider-id$/);
  });

  it('parents every resource under an mlops component', () => {
    const urns = registeredUrns().filter((urn) => !urn.includes('::pulumi:providers:'));
    const components = urns.filter((urn) => /::mlops:[a-z]+:[A-Za-z]+::/.test(urn) && !urn.includes('$'));
    expect(components.map((urn) => urn.split('::')[2]).sort()).toEqual(['mlops:images:Images', 'mlops:jobs:Jobs', 'mlops:secrets:Secrets', 'mlops:serving:ContainerEndpoint', 'mlops:storage:LogStorage']);
    for (const urn of urns.filter((u) => !components.includes(u))) expect(urn.split('::')[2]).toMatch(/^mlops:[a-z]+:[A-Za-z]+\$/);
  });

  it('exports the documented outputs and nothing secret', () => {
    expect(Object.keys(run.outputs).sort()).toEqual(['apiKeySecretName', 'canarySplit', 'endpointUrl', 'images', 'invocationsUrl', 'jobIds', 'jobUrls', 'keyVaultUri', 'secretScope', 'servingTarget', 'storageAccountName', 'storageContainerUrls']);
    expect(run.outputs).toMatchObject({
      servingTarget: 'container',
      canarySplit: { champion: 90, challenger: 10 },
      apiKeySecretName: 'endpoint-api-keys',
      keyVaultUri: 'https://kvremldevd4k7.vault.azure.net/',
      secretScope: 'reml-dev',
      storageAccountName: 'stremldevd4k7',
      storageContainerUrls: { models: 'https://stremldevd4k7.blob.core.windows.net/models' },
    });
    expect(run.outputs.endpointUrl).toMatch(/^https:\/\/ca-reml-dev-serving\.[0-9a-f]+\.westeurope\.azurecontainerapps\.io$/);
    expect(run.outputs.invocationsUrl).toBe(`${String(run.outputs.endpointUrl)}/invocations`);
    expect(Object.keys(run.outputs.jobIds as object).sort()).toEqual(['batchScoring', 'monitoring', 'retraining']);
    expect(run.secretOutputs).toEqual([]);
  });
});

describe('dev stack: secrets stay secret', () => {
  it('never exposes the generated API key, webhook URL or client secrets in plain text', async () => {
    const apiKey = (run.mocks.states.find((s) => s.type === 'random:index/randomPassword:RandomPassword')?.state.result) as string;
    expect(apiKey).toMatch(/^Mk[0-9a-f]{46}$/);
    const secretValues = [apiKey, PLACEHOLDER_SECRETS.alertWebhookUrl, PLACEHOLDER_SECRETS.jobsPrincipalClientSecret, PLACEHOLDER_SECRETS.imagePushClientSecret];

    const leaks: string[] = [];
    for (const resource of run.mocks.resources) {
      for (const { path, value } of plainStrings(resource.inputs)) {
        if (secretValues.some((secret) => value.includes(secret))) leaks.push(`${resource.type} ${resource.name} ${path}`);
      }
    }
    for (const { path, value } of plainStrings(run.outputs)) {
      if (secretValues.some((secret) => value.includes(secret))) leaks.push(`output ${path}`);
    }
    expect(leaks).toEqual([]);

    // Not vacuous: each value does reach the resources that need it, wrapped as a secret.
    const wrapped = run.mocks.resources.flatMap((resource) => secretStrings(resource.inputs));
    for (const secret of secretValues) expect(wrapped).toContain(secret);
    for (const value of Object.values(run.exports)) {
      if (pulumi.Output.isInstance(value)) expect(await pulumi.isSecret(value)).toBe(false);
    }
  });
});

describe('dev stack: policies and plan', () => {
  it('passes every policy', () => {
    expect(policyViolations(run)).toEqual([]);
  });

  it('matches the checked-in plan snapshot', async () => {
    const plan = buildPlan('dev', run.mocks.resources, run.outputs, run.secretOutputs, run.config.placeholders, { normalizeContent: true });
    await expect(formatPlan(plan)).toMatchFileSnapshot('__snapshots__/dev.plan.txt');
  });
});
