// One typed, validated view of a stack's configuration (pure: no Pulumi import, so the runtime — `npm start`,
// `mlops cost` — reads the same stack files through the same schema). `requireObject` does not validate, so every
// key goes through the zod schema below and every problem becomes one line naming the key, the value
// and what is allowed. `parseConfig` is pure so tests can exercise it without the Pulumi engine.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { quartzCronProblem } from './cron';

export const PROJECT = 'renewable-energy-mlops';
export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
export const SERVING_TARGETS = ['container', 'databricks'] as const;
export const STORAGE_REPLICATION = ['LRS', 'ZRS', 'GRS', 'GZRS', 'RAGRS', 'RAGZRS'] as const;
export const REGISTRY_SKUS = ['Basic', 'Standard', 'Premium'] as const;
export const WORKLOAD_SIZES = ['Small', 'Medium', 'Large'] as const;
export const WORKLOAD_TYPES = ['CPU', 'GPU_SMALL', 'GPU_MEDIUM', 'GPU_LARGE', 'MULTIGPU_MEDIUM'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export const DATABRICKS_AUTH_TYPES = ['azure-cli', 'azure-client-secret', 'azure-msi', 'github-oidc-azure'] as const;
/** Keys set with `pulumi config set --secret`; never part of the validated plain object. */
export const SECRET_KEYS = ['alertWebhookUrl', 'jobsPrincipalClientSecret', 'imagePushClientSecret'] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ALIAS = /^[a-z][a-z0-9_-]{0,31}$/;
const UC_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
const GROUP_NAME = /^[^\s].{0,254}$/;

const show = (value: unknown): string => (typeof value === 'string' ? `"${value}"` : JSON.stringify(value));

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: (issue) => `got ${show(issue.input)}; allowed: ${values.join(', ')}` });

const int = (min: number, max: number) =>
  z
    .number({ error: (issue) => `expected a number, got ${show(issue.input)}` })
    .int({ error: (issue) => `expected an integer, got ${show(issue.input)}` })
    .min(min, { error: (issue) => `must be ≥ ${min}, got ${show(issue.input)}` })
    .max(max, { error: (issue) => `must be ≤ ${max}, got ${show(issue.input)}` });

const text = (pattern: RegExp, allowed: string) =>
  z
    .string({ error: (issue) => `expected a string, got ${show(issue.input)}` })
    .regex(pattern, { error: (issue) => `got ${show(issue.input)}; expected ${allowed}` });

const guid = text(GUID, 'a GUID like 00000000-0000-0000-0000-000000000000');
const alias = text(ALIAS, 'a lowercase registry alias ([a-z][a-z0-9_-]*, ≤ 32 characters)');
const ucName = text(UC_NAME, 'a Unity Catalog identifier (letters, digits, underscore)');
const groupName = text(GROUP_NAME, 'a Databricks group name');
const bool = z.boolean({ error: (issue) => `expected true or false, got ${show(issue.input)}` });
const email = z.email({ error: (issue) => `got ${show(issue.input)}; expected an e-mail address` });

const quartzCron = z.string({ error: (issue) => `expected a string, got ${show(issue.input)}` }).check((ctx) => {
  const problem = quartzCronProblem(ctx.value);
  if (problem !== undefined) {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: `invalid Quartz cron ${show(ctx.value)}: ${problem}` });
  }
});

const timeZone = z.string({ error: (issue) => `expected a string, got ${show(issue.input)}` }).check((ctx) => {
  let known = true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: ctx.value });
  } catch {
    known = false;
  }
  if (!known || ctx.value.trim() === '') {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: `unknown time zone ${show(ctx.value)}; expected an IANA id such as UTC or Europe/Berlin` });
  }
});

const principal = z.strictObject({ clientId: guid, objectId: guid });

const routes = z
  .record(alias, int(0, 100))
  .check((ctx) => {
    const entries = Object.entries(ctx.value);
    const listed = entries.map(([name, weight]) => `${name}=${weight}`).join(', ');
    if (entries.length === 0) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: 'at least one route is required, got none' });
      return;
    }
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    if (total !== 100) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: `weights must sum to 100, got ${total} (${listed})` });
    }
  });

const jobSettings = (defaults: { schedule: string; timeoutSeconds: number; maxRetries: number }) => ({
  schedule: quartzCron.default(defaults.schedule),
  timeoutSeconds: int(60, 172_800).default(defaults.timeoutSeconds),
  /** Run-duration health rule; defaults to 75 % of the timeout. */
  warnAfterSeconds: int(30, 172_800).optional(),
  maxRetries: int(0, 5).default(defaults.maxRetries),
  minRetryIntervalSeconds: int(0, 3600).default(300),
});

const configSchema = z
  .strictObject({
    location: text(/^[a-z0-9]+$/, 'an Azure region name such as westeurope'),
    environment: oneOf(ENVIRONMENTS),
    naming: z.strictObject({
      prefix: text(/^[a-z][a-z0-9]{1,7}$/, '2-8 lowercase letters or digits, starting with a letter'),
      suffix: text(/^[a-z0-9]{0,6}$/, 'up to 6 lowercase letters or digits (makes global names unique)').default(''),
    }),
    tags: z.record(z.string(), z.string({ error: (issue) => `tag values must be strings, got ${show(issue.input)}` })).default({}),
    azure: z.strictObject({
      jobsPrincipal: principal,
      imagePushPrincipal: principal,
      databricksAppObjectId: guid,
      adminObjectIds: z.array(guid).default([]),
    }),
    storage: z
      .strictObject({
        replication: oneOf(STORAGE_REPLICATION).default('LRS'),
        logRetentionDays: int(1, 3650).default(30),
        reportRetentionDays: int(1, 3650).default(180),
        softDeleteDays: int(0, 365).default(0),
        analyticsRetentionDays: int(30, 730).default(30),
      }).prefault({}),
    keyVault: z
      .strictObject({
        purgeProtection: bool.default(false),
        softDeleteRetentionDays: int(7, 90).default(7),
      }).prefault({}),
    images: z
      .strictObject({
        tag: text(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'a Docker tag').optional(),
        platform: oneOf(['linux/amd64', 'linux/arm64']).default('linux/amd64'),
        registrySku: oneOf(REGISTRY_SKUS).default('Basic'),
      }).prefault({}),
    serving: z.strictObject({
      target: oneOf(SERVING_TARGETS),
      model: text(/^[a-z][a-z0-9_]{0,63}$/, 'a model name (lowercase, digits, underscore)').default('renewable_energy_predictor'),
      routes: routes.default({ champion: 100 }),
      shadow: alias.optional(),
      allowScaleToZeroInProduction: bool.default(false),
      reloadIntervalSeconds: int(5, 86_400).default(60),
      rateLimitRps: int(1, 100_000).default(50),
      rateLimitBurst: int(1, 100_000).default(100),
      maxRows: int(1, 1_000_000).default(10_000),
      logLevel: oneOf(LOG_LEVELS).default('info'),
      container: z
        .strictObject({
          cpu: z
            .number({ error: (issue) => `expected a number, got ${show(issue.input)}` })
            .check((ctx) => {
              const quarters = ctx.value * 4;
              if (!Number.isInteger(quarters) || ctx.value < 0.25 || ctx.value > 4) {
                ctx.issues.push({ code: 'custom', input: ctx.value, message: `got ${show(ctx.value)}; allowed: 0.25 to 4 in steps of 0.25 (memory is 2 GiB per vCPU)` });
              }
            })
            .default(0.5),
          minReplicas: int(0, 300).default(0),
          maxReplicas: int(1, 300).default(3),
          concurrentRequests: int(1, 1000).default(50),
        }).prefault({}),
      databricks: z
        .strictObject({
          workloadSize: oneOf(WORKLOAD_SIZES).default('Small'),
          workloadType: oneOf(WORKLOAD_TYPES).default('CPU'),
          scaleToZero: bool.default(true),
          rateLimitCallsPerMinute: int(1, 1_000_000).default(600),
          inferenceTables: bool.default(true),
        }).prefault({}),
    }),
    databricks: z.strictObject({
      host: text(/^https:\/\/[A-Za-z0-9.-]+\.azuredatabricks\.net$/, 'https://adb-<id>.<n>.azuredatabricks.net (no trailing slash)'),
      workspaceResourceId: text(
        /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Databricks\/workspaces\/[^/]+$/i,
        'an ARM id /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Databricks/workspaces/<name>',
      ),
      authType: oneOf(DATABRICKS_AUTH_TYPES).default('azure-cli'),
      catalog: ucName,
      schema: ucName,
      secretScope: text(/^[A-Za-z0-9_.-]{1,128}$/, 'a secret scope name (letters, digits, _ . -)').optional(),
      workspaceDir: text(/^\/[A-Za-z0-9_./ -]+[^/]$/, 'an absolute workspace folder such as /Shared/renewable-energy-mlops').default('/Shared/renewable-energy-mlops'),
      sparkVersion: text(/^\d+\.\d+\.x-[a-z0-9.-]+$/, 'a runtime key such as 15.4.x-scala2.12').default('15.4.x-scala2.12'),
      nodeTypeId: text(/^Standard_[A-Za-z0-9_]+$/, 'an Azure VM size such as Standard_D4ds_v5').default('Standard_D4ds_v5'),
      adminGroup: groupName.default('mlops-admins'),
      operatorGroup: groupName.default('mlops-operators'),
      clientGroup: groupName.default('mlops-clients'),
    }),
    jobs: z.strictObject({
      timezone: timeZone.default('UTC'),
      paused: bool.default(false),
      notificationEmails: z.array(email).default([]),
      scoring: z.strictObject(jobSettings({ schedule: '0 0 3 * * ?', timeoutSeconds: 3600, maxRetries: 2 })).prefault({}),
      monitoring: z
        .strictObject({
          ...jobSettings({ schedule: '0 30 4 * * ?', timeoutSeconds: 1800, maxRetries: 1 }),
          lookbackDays: int(1, 90).default(7),
          threshold: z
            .number({ error: (issue) => `expected a number, got ${show(issue.input)}` })
            .gt(0, { error: (issue) => `must be > 0 and < 1, got ${show(issue.input)}` })
            .lt(1, { error: (issue) => `must be > 0 and < 1, got ${show(issue.input)}` })
            .default(0.05),
        }).prefault({}),
      retrain: z
        .strictObject(jobSettings({ schedule: '0 0 2 ? * MON', timeoutSeconds: 7200, maxRetries: 0 })).prefault({}),
    }),
  })
  .check((ctx) => {
    const cfg = ctx.value;
    const issue = (path: PropertyKey[], message: string, input: unknown) => ctx.issues.push({ code: 'custom', path, message, input });
    const { serving } = cfg;
    if (serving.shadow !== undefined) {
      if (serving.target === 'databricks') {
        issue(['serving', 'shadow'], `shadow traffic is served by the container image only; remove it or use serving.target: container (got ${show(serving.shadow)})`, serving.shadow);
      } else if (serving.routes[serving.shadow] !== undefined) {
        issue(['serving', 'shadow'], `${show(serving.shadow)} already receives live traffic in serving.routes; a shadow alias must not be routed`, serving.shadow);
      }
    }
    if (serving.container.minReplicas > serving.container.maxReplicas) {
      issue(['serving', 'container', 'minReplicas'], `must be ≤ serving.container.maxReplicas (${serving.container.maxReplicas}), got ${serving.container.minReplicas}`, serving.container.minReplicas);
    }
    if (serving.rateLimitBurst < serving.rateLimitRps) {
      issue(['serving', 'rateLimitBurst'], `must be ≥ serving.rateLimitRps (${serving.rateLimitRps}), got ${serving.rateLimitBurst}`, serving.rateLimitBurst);
    }
    if (cfg.environment === 'prod' && !serving.allowScaleToZeroInProduction) {
      const override = 'set serving.allowScaleToZeroInProduction: true to accept cold starts';
      if (serving.target === 'container' && serving.container.minReplicas < 1) {
        issue(['serving', 'container', 'minReplicas'], `production endpoints keep at least 1 replica, got ${serving.container.minReplicas}; ${override}`, serving.container.minReplicas);
      }
      if (serving.target === 'databricks' && serving.databricks.scaleToZero) {
        issue(['serving', 'databricks', 'scaleToZero'], `production endpoints must not scale to zero, got true; ${override}`, true);
      }
    }
    for (const name of ['scoring', 'monitoring', 'retrain'] as const) {
      const job = cfg.jobs[name];
      if (job.warnAfterSeconds !== undefined && job.warnAfterSeconds >= job.timeoutSeconds) {
        issue(['jobs', name, 'warnAfterSeconds'], `must be < jobs.${name}.timeoutSeconds (${job.timeoutSeconds}), got ${job.warnAfterSeconds}`, job.warnAfterSeconds);
      }
    }
  });

export type MlopsSettings = z.output<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid stack configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function keyName(path: readonly PropertyKey[]): string {
  if (path.length === 0) return PROJECT;
  if (path[0] === 'location') return 'azure-native:location';
  return path.map(String).join('.');
}

function describe(issue: z.core.$ZodIssue, raw: unknown): string {
  const key = keyName(issue.path);
  const value = valueAt(raw, issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${issue.path.length ? `${key}.` : ''}${k}: unknown key, got ${show(valueAt(raw, [...issue.path, k]))}; check the spelling against infra/README.md`).join('\n');
  }
  if (value === undefined && issue.code === 'invalid_type') {
    return `${key}: required, got nothing`;
  }
  if (issue.code === 'invalid_type' && issue.expected === 'record') {
    return `${key}: expected a map, got ${show(value)}`;
  }
  if (issue.code === 'invalid_key') {
    return issue.issues.map((inner) => `${key}: ${inner.message}`).join('\n');
  }
  return `${key}: ${issue.message}`;
}

/**
 * Validates raw stack settings (the project's config keys as parsed objects, plus `location`).
 * Throws a ConfigError whose message has one line per problem.
 */
export function parseSettings(raw: unknown): MlopsSettings {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => describe(issue, raw).split('\n'));
  throw new ConfigError([...new Set(problems)].sort());
}


export const OBJECT_KEYS = ['naming', 'tags', 'azure', 'storage', 'keyVault', 'images', 'serving', 'databricks', 'jobs'] as const;

/**
 * Reads and validates `Pulumi.<stack>.yaml` without the Pulumi engine (secrets are not part of the settings).
 * A missing file names the stacks that exist.
 */
export function readStackSettings(stack: string, root: string): MlopsSettings {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  if (!/^[A-Za-z0-9_.-]+$/.test(stack) || !existsSync(file)) {
    const known = readdirSync(root)
      .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
      .filter((s): s is string => Boolean(s));
    throw new ConfigError([`stack: unknown stack "${stack}"; allowed: ${known.join(', ') || 'none (no Pulumi.<stack>.yaml files)'}`]);
  }
  const document = parseYaml(readFileSync(file, 'utf8')) as { config?: Record<string, unknown> } | null;
  const config = document?.config ?? {};
  const raw: Record<string, unknown> = { location: config['azure-native:location'], environment: config[`${PROJECT}:environment`] };
  for (const key of OBJECT_KEYS) raw[key] = config[`${PROJECT}:${key}`];
  return parseSettings(raw);
}
