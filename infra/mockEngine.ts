// Runs the Pulumi program on Pulumi's own mock engine (`pulumi.runtime.setMocks`) with a stack's real
// configuration, recording every resource the program registers. Shared by the tests and the offline
// plan; no cloud, CLI or credentials involved. Provider-computed outputs are given realistic,
// deterministic values so the plan is stable from run to run.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { parse as parseYaml } from 'yaml';
import { parseSettings, PROJECT, SECRET_KEYS, type MlopsConfig } from './config';
import { PROJECT_ROOT } from './images';
import { deployStack } from './stack';

export const MOCK_SUBSCRIPTION_ID = '11111111-2222-4333-8444-555555555555';
export const MOCK_TENANT_ID = '99999999-8888-4777-8666-555555555555';
/** Versions the mocked Unity Catalog aliases point at. */
export const MOCK_ALIAS_VERSIONS: Readonly<Record<string, number>> = { champion: 3, challenger: 4 };

/** Stand-ins for `pulumi config set --secret` values, which the checked-in stack files never contain. */
export const PLACEHOLDER_SECRETS: Readonly<Record<(typeof SECRET_KEYS)[number], string>> = {
  alertWebhookUrl: 'https://hooks.example.invalid/services/placeholder-alert-webhook',
  jobsPrincipalClientSecret: 'placeholder-jobs-principal-client-secret',
  imagePushClientSecret: 'placeholder-image-push-client-secret',
};

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly provider?: string;
}

export interface RecordedCall {
  readonly token: string;
  readonly inputs: Record<string, unknown>;
}

export interface StackConfig {
  /** Fully qualified keys (`project:key`) to the string form Pulumi hands to programs. */
  readonly values: Record<string, string>;
  readonly secretKeys: string[];
  /** Secret keys filled with placeholders because the stack file does not carry them. */
  readonly placeholders: string[];
}

const SECRET_SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

/** True for the wrapper the mock monitor uses for secret values in recorded inputs. */
export function isSecretMarker(value: unknown): value is { value: unknown } {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Wraps a value the way the mock monitor marks secrets. */
export function markSecret(value: unknown): { value: unknown } {
  return { [SECRET_SIG_KEY]: SECRET_SIG, value } as { value: unknown };
}

export function readStackConfig(stack: string, root: string = PROJECT_ROOT): StackConfig {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  const document = parseYaml(readFileSync(file, 'utf8')) as { config?: Record<string, unknown> } | null;
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(document?.config ?? {})) {
    const qualified = key.includes(':') ? key : `${PROJECT}:${key}`;
    if (typeof value === 'object' && value !== null && 'secure' in value) {
      // Ciphertext needs the stack's secrets provider; stand in a placeholder and keep it secret.
      secretKeys.push(qualified);
      const bare = qualified.slice(PROJECT.length + 1) as keyof typeof PLACEHOLDER_SECRETS;
      values[qualified] = PLACEHOLDER_SECRETS[bare] ?? 'placeholder-secret';
      continue;
    }
    values[qualified] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  const placeholders: string[] = [];
  for (const key of SECRET_KEYS) {
    const qualified = `${PROJECT}:${key}`;
    if (values[qualified] === undefined || secretKeys.includes(qualified)) {
      values[qualified] = PLACEHOLDER_SECRETS[key];
      if (!secretKeys.includes(qualified)) secretKeys.push(qualified);
      placeholders.push(key);
    }
  }
  return { values, secretKeys, placeholders };
}

const digest = (text: string, length = 32): string => createHash('sha256').update(text).digest('hex').slice(0, length);

/** A GUID derived from `seed`, so mock ids never change between runs. */
export function stableGuid(seed: string): string {
  const h = digest(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

type State = Record<string, unknown>;

function unwrap(value: unknown): unknown {
  return isSecretMarker(value) ? value.value : value;
}

function str(inputs: State, key: string, fallback: string): string {
  const value = unwrap(inputs[key]);
  return typeof value === 'string' && value !== '' ? value : fallback;
}

function armId(inputs: State, provider: string, kind: string, name: string): string {
  const group = str(inputs, 'resourceGroupName', 'rg');
  return `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${group}/providers/${provider}/${kind}/${name}`;
}

export class RecordingMocks implements pulumi.runtime.Mocks {
  readonly resources: RecordedResource[] = [];
  /** Provider-side state handed back for each resource, in registration order. */
  readonly states: { readonly type: string; readonly name: string; readonly state: State }[] = [];
  readonly calls: RecordedCall[] = [];
  private readonly databricksHosts = new Map<string, string>();

  constructor(private readonly aliasVersions: Readonly<Record<string, number>> = MOCK_ALIAS_VERSIONS) {}

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: State } {
    const inputs = args.inputs as State;
    this.resources.push({ type: args.type, name: args.name, inputs, ...(args.provider ? { provider: args.provider } : {}) });
    const { id, state } = this.compute(args.type, args.name, inputs, args.provider);
    const full = { ...inputs, ...state };
    this.states.push({ type: args.type, name: args.name, state: full });
    return { id, state: full };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    const inputs = args.inputs as State;
    this.calls.push({ token: args.token, inputs });
    switch (args.token) {
      case 'azure-native:authorization:getClientConfig':
        return {
          clientId: stableGuid('deploy-client'),
          objectId: stableGuid('deploy-object'),
          subscriptionId: MOCK_SUBSCRIPTION_ID,
          tenantId: MOCK_TENANT_ID,
        };
      case 'databricks:index/getRegisteredModel:getRegisteredModel': {
        const fullName = str(inputs, 'fullName', 'main.default.model');
        const [catalogName, schemaName, name] = fullName.split('.');
        return {
          fullName,
          includeAliases: inputs.includeAliases,
          modelInfos: [{
            browseOnly: false,
            catalogName,
            schemaName,
            name,
            fullName,
            owner: 'mlops-admins',
            storageLocation: `abfss://unity@stmetastore.dfs.core.windows.net/models/${stableGuid(fullName)}`,
            aliases: Object.entries(this.aliasVersions).map(([aliasName, versionNum]) => ({
              aliasName, versionNum, catalogName, schemaName, modelName: name, id: `${fullName}@${aliasName}`,
            })),
          }],
        };
      }
      default:
        throw new Error(`mock engine: no answer for invoke ${args.token}`);
    }
  }

  private compute(type: string, name: string, inputs: State, provider?: string): { id: string; state: State } {
    switch (type) {
      case 'pulumi:providers:databricks': {
        const id = `${name}-provider-id`;
        this.databricksHosts.set(id, str(inputs, 'host', 'https://adb-0.0.azuredatabricks.net'));
        return { id, state: {} };
      }
      case 'azure-native:resources:ResourceGroup': {
        const group = str(inputs, 'resourceGroupName', name);
        return { id: `/subscriptions/${MOCK_SUBSCRIPTION_ID}/resourceGroups/${group}`, state: { name: group } };
      }
      case 'azure-native:storage:StorageAccount': {
        const account = str(inputs, 'accountName', name);
        return {
          id: armId(inputs, 'Microsoft.Storage', 'storageAccounts', account),
          state: {
            name: account,
            primaryEndpoints: { blob: `https://${account}.blob.core.windows.net/`, dfs: `https://${account}.dfs.core.windows.net/` },
          },
        };
      }
      case 'azure-native:storage:BlobServiceProperties':
      case 'azure-native:storage:ManagementPolicy':
      case 'azure-native:storage:BlobContainer': {
        const account = str(inputs, 'accountName', 'account');
        const accountId = armId(inputs, 'Microsoft.Storage', 'storageAccounts', account);
        const child = type.endsWith('BlobContainer')
          ? `blobServices/default/containers/${str(inputs, 'containerName', name)}`
          : type.endsWith('ManagementPolicy') ? 'managementPolicies/default' : 'blobServices/default';
        return { id: `${accountId}/${child}`, state: { name: child.split('/').pop() } };
      }
      case 'azure-native:operationalinsights:Workspace': {
        const workspace = str(inputs, 'workspaceName', name);
        return { id: armId(inputs, 'Microsoft.OperationalInsights', 'workspaces', workspace), state: { name: workspace, customerId: stableGuid(workspace) } };
      }
      case 'azure-native:monitor:DiagnosticSetting':
        return { id: `${str(inputs, 'resourceUri', name)}/providers/Microsoft.Insights/diagnosticSettings/${str(inputs, 'name', name)}`, state: {} };
      case 'azure-native:keyvault:Vault': {
        const vault = str(inputs, 'vaultName', name);
        const properties = (unwrap(inputs.properties) ?? {}) as State;
        return {
          id: armId(inputs, 'Microsoft.KeyVault', 'vaults', vault),
          state: { name: vault, properties: { ...properties, vaultUri: `https://${vault}.vault.azure.net/` } },
        };
      }
      case 'azure-native:keyvault:Secret': {
        const vault = str(inputs, 'vaultName', 'vault');
        const secret = str(inputs, 'secretName', name);
        return {
          id: `${armId(inputs, 'Microsoft.KeyVault', 'vaults', vault)}/secrets/${secret}`,
          state: { name: secret, properties: { secretUri: `https://${vault}.vault.azure.net/secrets/${secret}` } },
        };
      }
      case 'azure-native:authorization:RoleAssignment':
        return { id: `${str(inputs, 'scope', '')}/providers/Microsoft.Authorization/roleAssignments/${stableGuid(name)}`, state: { name: stableGuid(name) } };
      case 'azure-native:containerregistry:Registry': {
        const registry = str(inputs, 'registryName', name);
        return { id: armId(inputs, 'Microsoft.ContainerRegistry', 'registries', registry), state: { name: registry, loginServer: `${registry}.azurecr.io` } };
      }
      case 'azure-native:managedidentity:UserAssignedIdentity': {
        const identity = str(inputs, 'resourceName', name);
        return {
          id: armId(inputs, 'Microsoft.ManagedIdentity', 'userAssignedIdentities', identity),
          state: { name: identity, principalId: stableGuid(`${identity}/principal`), clientId: stableGuid(`${identity}/client`), tenantId: MOCK_TENANT_ID },
        };
      }
      case 'azure-native:app:ManagedEnvironment': {
        const environment = str(inputs, 'environmentName', name);
        const location = str(inputs, 'location', 'westeurope');
        return {
          id: armId(inputs, 'Microsoft.App', 'managedEnvironments', environment),
          state: { name: environment, defaultDomain: `${digest(environment, 10)}.${location}.azurecontainerapps.io` },
        };
      }
      case 'azure-native:app:ContainerApp': {
        const appName = str(inputs, 'containerAppName', name);
        const location = str(inputs, 'location', 'westeurope');
        const fqdn = `${appName}.${digest(str(inputs, 'managedEnvironmentId', ''), 10)}.${location}.azurecontainerapps.io`;
        const configuration = (inputs.configuration ?? {}) as State;
        const ingress = (configuration.ingress ?? {}) as State;
        return {
          id: armId(inputs, 'Microsoft.App', 'containerApps', appName),
          state: {
            name: appName,
            identity: { ...((inputs.identity ?? {}) as State), principalId: stableGuid(`${appName}/system`), tenantId: MOCK_TENANT_ID },
            configuration: { ...configuration, ingress: { ...ingress, fqdn } },
            latestRevisionFqdn: `${appName}--0000001.${fqdn.slice(appName.length + 1)}`,
          },
        };
      }
      case 'docker:index/image:Image': {
        const imageName = str(inputs, 'imageName', name);
        return {
          id: `${imageName}-id`,
          state: { imageName, registryServer: imageName.split('/')[0], repoDigest: `${imageName.split(':')[0]}@sha256:${digest(imageName, 64)}` },
        };
      }
      case 'random:index/randomPassword:RandomPassword':
        return { id: 'none', state: { result: `Mk${digest(`password/${name}`, 46)}` } };
      case 'databricks:index/modelServing:ModelServing': {
        const endpoint = str(inputs, 'name', name);
        const host = this.hostFor(provider);
        return { id: endpoint, state: { servingEndpointId: digest(endpoint, 32), endpointUrl: `${host}/serving-endpoints/${endpoint}` } };
      }
      case 'databricks:index/job:Job': {
        const jobId = String(100_000_000_000 + (parseInt(digest(name, 10), 16) % 900_000_000_000));
        return { id: jobId, state: { url: `${this.hostFor(provider)}/#job/${jobId}` } };
      }
      case 'databricks:index/workspaceFile:WorkspaceFile': {
        const filePath = str(inputs, 'path', name);
        return { id: filePath, state: { workspacePath: `/Workspace${filePath}`, objectId: parseInt(digest(filePath, 8), 16), url: `${this.hostFor(provider)}/#workspace${filePath}` } };
      }
      case 'databricks:index/secretScope:SecretScope':
        return { id: str(inputs, 'name', name), state: { backendType: 'AZURE_KEYVAULT' } };
      case 'databricks:index/secretAcl:SecretAcl':
        return { id: `${str(inputs, 'scope', '')}|||${str(inputs, 'principal', '')}`, state: {} };
      case 'databricks:index/notificationDestination:NotificationDestination':
        return { id: stableGuid(name), state: { destinationType: 'WEBHOOK' } };
      default:
        return { id: `${name}-id`, state: {} };
    }
  }

  private hostFor(provider: string | undefined): string {
    const id = provider?.split('::').pop() ?? '';
    return this.databricksHosts.get(id) ?? 'https://adb-0.0.azuredatabricks.net';
  }
}

/** Resolves an Output's value, rejecting when the program fails inside it (tests and the plan only). */
export function valueOf<T>(input: pulumi.Input<T>): Promise<T> {
  // `promise()` is the SDK's own (internal) accessor; unlike `apply` it surfaces failures.
  const output = pulumi.output(input) as unknown as { promise(): Promise<T> };
  return output.promise();
}

/** Waits until every resource registration and invoke the program started has been answered. */
export async function settle(): Promise<void> {
  // `waitForRPCs` is the runtime's own drain (not in the public typings); it follows chained registrations.
  const settings = require('@pulumi/pulumi/runtime/settings') as { waitForRPCs?: () => Promise<void> };
  if (typeof settings.waitForRPCs === 'function') {
    await settings.waitForRPCs();
    return;
  }
  let seen = -1;
  const monitor = pulumi.runtime.getMonitor() as unknown as { resources?: Map<string, unknown> } | undefined;
  while (monitor?.resources && monitor.resources.size !== seen) {
    seen = monitor.resources.size;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves a program's exports (module keys of an ES module interop skipped) and names the secret ones. */
async function resolveOutputs(exported: Record<string, unknown>): Promise<{ outputs: Record<string, unknown>; secretOutputs: string[] }> {
  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  for (const [key, value] of Object.entries(exported)) {
    if (key === 'default' || key === '__esModule') continue;
    if (pulumi.Output.isInstance(value)) {
      outputs[key] = await valueOf(value);
      if (await pulumi.isSecret(value)) secretOutputs.push(key);
    } else {
      outputs[key] = value;
    }
  }
  return { outputs, secretOutputs };
}

export interface MockRun {
  readonly mocks: RecordingMocks;
  readonly config: StackConfig;
  readonly outputs: Record<string, unknown>;
  /** Names of stack outputs that are secret Outputs. */
  readonly secretOutputs: string[];
}

/** Sets the mocks and the stack's config, then evaluates the program module (index.ts). */
export async function runProgram(stack: string, options: { preview?: boolean; overrides?: Record<string, unknown> } = {}): Promise<MockRun & { exports: Record<string, unknown> }> {
  const config = readStackConfig(stack);
  const values = { ...config.values };
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    values[`${PROJECT}:${key}`] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  const mocks = new RecordingMocks();
  await pulumi.runtime.setMocks(mocks, PROJECT, stack, options.preview ?? false);
  pulumi.runtime.setAllConfig(values, config.secretKeys);
  // A non-literal specifier keeps the import relative and extensionless in both tsx and vitest.
  const programModule = './index';
  const program = (await import(programModule)) as Record<string, unknown>;
  const { outputs, secretOutputs } = await resolveOutputs(program);
  await settle();
  return { mocks, config, outputs, secretOutputs, exports: program };
}

/** The raw settings object `loadConfig` would validate, read from a stack file's values. */
export function rawSettings(config: StackConfig): Record<string, unknown> {
  const raw: Record<string, unknown> = { location: config.values['azure-native:location'] };
  for (const [key, value] of Object.entries(config.values)) {
    if (!key.startsWith(`${PROJECT}:`)) continue;
    const bare = key.slice(PROJECT.length + 1);
    if ((SECRET_KEYS as readonly string[]).includes(bare)) continue;
    raw[bare] = value.startsWith('{') || value.startsWith('[') ? JSON.parse(value) : value;
  }
  return raw;
}

/** Validated config for a stack file, with placeholder secrets, optionally adjusted by `adjust`. */
export function configForStack(stack: string, adjust: (raw: Record<string, any>) => void = () => undefined): MlopsConfig {
  const raw = rawSettings(readStackConfig(stack));
  adjust(raw);
  const secrets = Object.fromEntries(SECRET_KEYS.map((key) => [key, pulumi.secret(PLACEHOLDER_SECRETS[key])])) as MlopsConfig['secrets'];
  return { ...parseSettings(raw), stack, secrets };
}

/** Runs `deployStack` (not index.ts) on fresh mocks; usable many times in one process. */
export async function runDeployment(
  cfg: MlopsConfig,
  aliasVersions?: Readonly<Record<string, number>>,
  componentOptions?: pulumi.ComponentResourceOptions,
): Promise<MockRun> {
  const mocks = new RecordingMocks(aliasVersions);
  await pulumi.runtime.setMocks(mocks, PROJECT, cfg.stack, false);
  pulumi.runtime.setAllConfig({});
  const stackOutputs = deployStack(cfg, componentOptions) as unknown as Record<string, unknown>;
  const { outputs, secretOutputs } = await resolveOutputs(stackOutputs);
  await settle();
  return { mocks, config: readStackConfig(cfg.stack), outputs, secretOutputs };
}
