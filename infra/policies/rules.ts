// Pure policy rules over a resource's type and properties. The policy pack (index.ts) wires them into
// @pulumi/policy; tests call them directly with hand-built properties and a collecting reporter.
export interface CheckedResource {
  readonly type: string;
  readonly props: Record<string, unknown>;
}

export type Report = (message: string) => void;
export type Rule = (resource: CheckedResource, report: Report) => void;

export const TYPES = {
  storageAccount: 'azure-native:storage:StorageAccount',
  blobContainer: 'azure-native:storage:BlobContainer',
  containerApp: 'azure-native:app:ContainerApp',
  keyVault: 'azure-native:keyvault:Vault',
  modelServing: 'databricks:index/modelServing:ModelServing',
  job: 'databricks:index/job:Job',
  stack: 'pulumi:pulumi:Stack',
} as const;

/** Tag that lets a production endpoint scale to zero on purpose. */
export const SCALE_TO_ZERO_OVERRIDE_TAG = 'allow-scale-to-zero';

/** Environment variable / output names that carry credentials. */
const SECRET_NAME = /(secret|password|passwd|token|api[_-]?keys?|webhook|credential|connection[_-]?string)/i;
/** Names that only point at a secret (its name, URI or reference), never hold it. URLs are not pointers: webhook URLs are credentials. */
const SECRET_POINTER_NAME = /(name|uri|id|ref|reference|scope)$/i;
const DATABRICKS_SECRET_REFERENCE = /^\{\{secrets\/[^/{}]+\/[^/{}]+\}\}$/;

type Props = Record<string, unknown>;

const record = (value: unknown): Props => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Props) : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Tags as a map, whether given as an Azure tag map or Databricks `[{key, value}]`. */
function tagsOf(props: Props): Record<string, string> {
  if (Array.isArray(props.tags)) {
    return Object.fromEntries(props.tags.map((tag) => [String(record(tag).key), String(record(tag).value ?? '')]));
  }
  return Object.fromEntries(Object.entries(record(props.tags)).map(([k, v]) => [k, String(v)]));
}

function sumCheck(label: string, weights: { name: string; weight: unknown }[], report: Report): void {
  const invalid = weights.filter(({ weight }) => typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > 100);
  for (const { name, weight } of invalid) report(`${label}: weight of "${name}" must be an integer 0-100, got ${JSON.stringify(weight)}`);
  const total = weights.reduce((sum, { weight }) => sum + (typeof weight === 'number' ? weight : 0), 0);
  if (weights.length > 0 && total !== 100) {
    report(`${label}: weights must sum to 100, got ${total} (${weights.map(({ name, weight }) => `${name}=${String(weight)}`).join(', ')})`);
  }
}

/** Parses `champion=90,challenger=10`. */
export function parseRoutes(value: string): { name: string; weight: unknown }[] {
  return value.split(',').filter(Boolean).map((pair) => {
    const [name = '', weight = ''] = pair.split('=');
    return { name: name.trim(), weight: /^\s*\d+\s*$/.test(weight) ? Number(weight) : weight };
  });
}

export const routesSumTo100: Rule = ({ type, props }, report) => {
  if (type === TYPES.modelServing) {
    const config = record(props.config);
    const routes = list(record(config.trafficConfig).routes).map(record);
    const entities = list(config.servedEntities).map((entity) => String(record(entity).name));
    if (entities.length > 0 && routes.length === 0) report('trafficConfig.routes: missing; every served entity needs a route');
    sumCheck('trafficConfig.routes', routes.map((route) => ({ name: String(route.servedEntityName ?? route.servedModelName), weight: route.trafficPercentage })), report);
    const routed = new Set(routes.map((route) => String(route.servedEntityName ?? route.servedModelName)));
    for (const entity of entities) if (!routed.has(entity)) report(`trafficConfig.routes: served entity "${entity}" has no route`);
    for (const name of routed) if (!entities.includes(name)) report(`trafficConfig.routes: route to unknown served entity "${name}"`);
  }
  if (type === TYPES.containerApp) {
    const traffic = list(record(record(props.configuration).ingress).traffic).map(record);
    sumCheck('configuration.ingress.traffic', traffic.map((t, i) => ({ name: String(t.revisionName ?? t.label ?? (t.latestRevision ? 'latest' : `#${i}`)), weight: t.weight })), report);
    for (const container of list(record(props.template).containers).map(record)) {
      const routes = list(container.env).map(record).find((env) => env.name === 'MLOPS_ROUTES');
      if (routes === undefined) continue;
      if (typeof routes.value !== 'string') {
        report(`container "${String(container.name)}": MLOPS_ROUTES must be a plain value like champion=90,challenger=10`);
        continue;
      }
      sumCheck(`container "${String(container.name)}" MLOPS_ROUTES`, parseRoutes(routes.value), report);
    }
  }
};

export const storageIsSecure: Rule = ({ type, props }, report) => {
  if (type === TYPES.storageAccount) {
    if (props.enableHttpsTrafficOnly !== true) report(`enableHttpsTrafficOnly must be true, got ${JSON.stringify(props.enableHttpsTrafficOnly)}`);
    if (props.minimumTlsVersion !== 'TLS1_2' && props.minimumTlsVersion !== 'TLS1_3') {
      report(`minimumTlsVersion must be TLS1_2 or newer, got ${JSON.stringify(props.minimumTlsVersion)}`);
    }
    if (props.allowBlobPublicAccess !== false) report(`allowBlobPublicAccess must be false, got ${JSON.stringify(props.allowBlobPublicAccess)}`);
    if (props.allowSharedKeyAccess !== false) report(`allowSharedKeyAccess must be false (Entra ID only), got ${JSON.stringify(props.allowSharedKeyAccess)}`);
  }
  if (type === TYPES.blobContainer && props.publicAccess !== undefined && props.publicAccess !== 'None') {
    report(`publicAccess must be None, got ${JSON.stringify(props.publicAccess)}`);
  }
  if (type === TYPES.keyVault && record(props.properties).enableRbacAuthorization !== true) {
    report('properties.enableRbacAuthorization must be true (no access policies)');
  }
};

function plainSecret(name: string): boolean {
  return SECRET_NAME.test(name) && !SECRET_POINTER_NAME.test(name);
}

function checkDatabricksEnv(label: string, env: Props, report: Report): void {
  for (const [name, value] of Object.entries(env)) {
    if (plainSecret(name) && !(typeof value === 'string' && DATABRICKS_SECRET_REFERENCE.test(value))) {
      report(`${label}.${name}: must be a {{secrets/<scope>/<key>}} reference, not a plaintext value`);
    }
  }
}

export const noPlaintextSecrets: Rule = ({ type, props }, report) => {
  if (type === TYPES.containerApp) {
    for (const secret of list(record(props.configuration).secrets).map(record)) {
      if (secret.value !== undefined || typeof secret.keyVaultUrl !== 'string') {
        report(`configuration.secrets "${String(secret.name)}": must be a Key Vault reference (keyVaultUrl + identity), not an inline value`);
      }
    }
    for (const container of list(record(props.template).containers).map(record)) {
      for (const env of list(container.env).map(record)) {
        const name = String(env.name);
        if (plainSecret(name) && (env.value !== undefined || typeof env.secretRef !== 'string')) {
          report(`container "${String(container.name)}" env ${name}: must use secretRef, not a plaintext value`);
        }
      }
    }
  }
  if (type === TYPES.job) {
    for (const cluster of list(props.jobClusters).map(record)) {
      const newCluster = record(cluster.newCluster);
      const key = String(cluster.jobClusterKey);
      checkDatabricksEnv(`jobClusters["${key}"].sparkEnvVars`, record(newCluster.sparkEnvVars), report);
      const basicAuth = record(record(newCluster.dockerImage).basicAuth);
      if (basicAuth.password !== undefined && !(typeof basicAuth.password === 'string' && DATABRICKS_SECRET_REFERENCE.test(basicAuth.password))) {
        report(`jobClusters["${key}"].dockerImage.basicAuth.password: must be a {{secrets/<scope>/<key>}} reference`);
      }
    }
  }
  if (type === TYPES.modelServing) {
    for (const entity of list(record(props.config).servedEntities).map(record)) {
      checkDatabricksEnv(`servedEntities["${String(entity.name)}"].environmentVars`, record(entity.environmentVars), report);
    }
  }
};

/** Stack outputs: credential-looking names may only carry pointers (names, URIs), never values. */
export function noSecretOutputs(outputs: Record<string, unknown>, report: Report, isSecret: (name: string) => boolean = () => false): void {
  for (const name of Object.keys(outputs)) {
    if (plainSecret(name) && !isSecret(name)) report(`stack output ${name}: looks like a credential; export its secret name or URI instead`);
  }
}

export const jobsAreBounded: Rule = ({ type, props }, report) => {
  if (type !== TYPES.job) return;
  const name = JSON.stringify(props.name ?? '');
  if (typeof props.timeoutSeconds !== 'number' || props.timeoutSeconds <= 0) {
    report(`job ${name}: timeoutSeconds must be set (> 0), got ${JSON.stringify(props.timeoutSeconds)}`);
  }
  if (props.maxConcurrentRuns !== 1) report(`job ${name}: maxConcurrentRuns must be 1, got ${JSON.stringify(props.maxConcurrentRuns)}`);
  const keys = list(props.tasks).map((task) => String(record(task).taskKey));
  const sorted = [...keys].sort();
  if (keys.join(',') !== sorted.join(',')) report(`job ${name}: tasks must be declared in alphabetical taskKey order (${sorted.join(', ')}) to avoid diffs`);
};

export const productionKeepsCapacity: Rule = ({ type, props }, report) => {
  const tags = tagsOf(props);
  if (tags.environment !== 'prod' || tags[SCALE_TO_ZERO_OVERRIDE_TAG] === 'true') return;
  const hint = `tag the resource ${SCALE_TO_ZERO_OVERRIDE_TAG}=true (serving.allowScaleToZeroInProduction) to accept cold starts`;
  if (type === TYPES.containerApp) {
    const minReplicas = record(record(props.template).scale).minReplicas;
    if (typeof minReplicas !== 'number' || minReplicas < 1) {
      report(`production container app scales to zero (minReplicas ${JSON.stringify(minReplicas ?? 0)}); ${hint}`);
    }
  }
  if (type === TYPES.modelServing) {
    for (const entity of list(record(props.config).servedEntities).map(record)) {
      // The provider defaults scaleToZeroEnabled to true, so only an explicit false is safe.
      if (entity.scaleToZeroEnabled !== false) {
        report(`production served entity "${String(entity.name)}" scales to zero (scaleToZeroEnabled ${JSON.stringify(entity.scaleToZeroEnabled ?? 'default true')}); ${hint}`);
      }
    }
  }
};

export const RESOURCE_RULES: Readonly<Record<string, { description: string; rule: Rule }>> = {
  'serving-routes-sum-to-100': { description: 'Traffic routes between model aliases sum to 100 and cover every served entity.', rule: routesSumTo100 },
  'storage-secure-settings': { description: 'Storage is HTTPS-only, TLS 1.2+, private, Entra ID only; Key Vault uses RBAC.', rule: storageIsSecure },
  'no-plaintext-secrets': { description: 'Secrets reach containers and clusters only as Key Vault or secret-scope references.', rule: noPlaintextSecrets },
  'jobs-bounded': { description: 'Every job has a timeout, maxConcurrentRuns 1 and tasks in taskKey order.', rule: jobsAreBounded },
  'production-keeps-capacity': { description: 'Production endpoints do not scale to zero without an explicit override.', rule: productionKeepsCapacity },
};
