// Databricks Jobs for batch scoring, monitoring and retraining. Every task runs the jobs image on a
// single-node job cluster (Databricks Container Services) through the uploaded launcher, which calls
// `node /app/dist/jobs/cli.js <command> …` and publishes the JSON result as task values.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import * as authorization from '@pulumi/azure-native/authorization';
import * as databricks from '@pulumi/databricks';
import { PROJECT_ROOT } from './images';
import type { StorageContainerName } from './logStorage';
import { roleDefinitionId, type BuiltInRole } from './roles';
import { SECRET_NAMES, type SecretName } from './secrets';

/** Launcher source, relative to the project root (where `pulumi up` runs). */
export const LAUNCHER_SOURCE = 'jobs/databricks/launcher.py';

export interface JobSchedule {
  readonly schedule: string;
  readonly timeoutSeconds: number;
  readonly warnAfterSeconds?: number;
  readonly maxRetries: number;
  readonly minRetryIntervalSeconds: number;
}

export interface JobsArgs {
  readonly environment: string;
  readonly jobPrefix: string;
  readonly workspaceDir: string;
  readonly model: string;
  readonly jobsImage: pulumi.Input<string>;
  readonly registryId: pulumi.Input<string>;
  readonly subscriptionId: pulumi.Input<string>;
  readonly containerUrls: Readonly<Record<StorageContainerName, pulumi.Input<string>>>;
  readonly containerIds: Readonly<Record<StorageContainerName, pulumi.Input<string>>>;
  readonly jobsPrincipal: { readonly clientId: string; readonly objectId: string };
  readonly secretReference: (secretName: SecretName) => string;
  readonly alertWebhookUrl: pulumi.Output<string>;
  readonly notificationEmails: readonly string[];
  readonly timezone: string;
  readonly paused: boolean;
  readonly sparkVersion: string;
  readonly nodeTypeId: string;
  readonly operatorGroup: string;
  readonly adminGroup: string;
  readonly logLevel: string;
  readonly scoring: JobSchedule;
  readonly monitoring: JobSchedule & { readonly lookbackDays: number; readonly threshold: number };
  readonly retrain: JobSchedule;
  readonly tags: Record<string, string>;
  readonly provider: databricks.Provider;
  /** Secret scope must exist before clusters resolve `{{secrets/…}}`. */
  readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

export type JobKey = 'batchScoring' | 'monitoring' | 'retraining';

/** What the jobs principal may do on each storage container. */
const JOBS_STORAGE_ROLES: Readonly<Record<StorageContainerName, BuiltInRole>> = {
  models: 'storageBlobDataContributor', // retrain writes versions, promote moves aliases
  logs: 'storageBlobDataReader', // monitor reads prediction logs
  scoring: 'storageBlobDataContributor', // batch input/output and training data
  reports: 'storageBlobDataContributor', // monitoring reports and retrain decisions
};

type Task = databricks.types.input.JobTask;

function launcherMd5(): string | undefined {
  const file = path.join(PROJECT_ROOT, LAUNCHER_SOURCE);
  return existsSync(file) ? createHash('md5').update(readFileSync(file)).digest('hex') : undefined;
}

export class Jobs extends pulumi.ComponentResource {
  readonly jobs: Readonly<Record<JobKey, databricks.Job>>;
  readonly jobIds: pulumi.Output<Record<JobKey, string>>;
  readonly jobUrls: pulumi.Output<Record<JobKey, string>>;
  readonly launcherPath: pulumi.Output<string>;

  constructor(name: string, args: JobsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:jobs:Jobs', name, {}, opts);
    const child = { parent: this };
    const databricksChild = { parent: this, provider: args.provider };

    const storageGrants = (Object.entries(JOBS_STORAGE_ROLES) as [StorageContainerName, BuiltInRole][]).map(([container, role]) =>
      new authorization.RoleAssignment(`${name}-storage-${container}`, {
        principalId: args.jobsPrincipal.objectId,
        principalType: 'ServicePrincipal',
        roleDefinitionId: roleDefinitionId(args.subscriptionId, role),
        scope: args.containerIds[container],
        description: `Databricks jobs principal on the ${container} container`,
      }, child));
    const imagePull = new authorization.RoleAssignment(`${name}-acr-pull`, {
      principalId: args.jobsPrincipal.objectId,
      principalType: 'ServicePrincipal',
      roleDefinitionId: roleDefinitionId(args.subscriptionId, 'acrPull'),
      scope: args.registryId,
      description: 'Databricks job clusters pull the jobs image',
    }, child);

    const containerServices = new databricks.WorkspaceConf(`${name}-container-services`, {
      customConfig: { enableDcs: 'true' },
    }, databricksChild);

    const launcher = new databricks.WorkspaceFile(`${name}-launcher`, {
      path: `${args.workspaceDir}/launcher.py`,
      source: LAUNCHER_SOURCE,
      md5: launcherMd5(),
    }, databricksChild);
    this.launcherPath = launcher.path;

    const webhook = new databricks.NotificationDestination(`${name}-alert-webhook`, {
      displayName: `${args.jobPrefix} alerts`,
      config: { genericWebhook: { url: args.alertWebhookUrl } },
    }, databricksChild);

    const cluster = {
      jobClusterKey: 'single_node',
      newCluster: {
        sparkVersion: args.sparkVersion,
        nodeTypeId: args.nodeTypeId,
        numWorkers: 0,
        dataSecurityMode: 'SINGLE_USER',
        singleUserName: args.jobsPrincipal.clientId,
        sparkConf: { 'spark.databricks.cluster.profile': 'singleNode', 'spark.master': 'local[*]' },
        customTags: { ResourceClass: 'SingleNode', environment: args.environment },
        dockerImage: {
          url: args.jobsImage,
          // The jobs principal holds AcrPull; its credentials stay in the Key Vault-backed scope.
          basicAuth: {
            username: args.secretReference(SECRET_NAMES.azureClientId),
            password: args.secretReference(SECRET_NAMES.azureClientSecret),
          },
        },
        sparkEnvVars: {
          AZURE_TENANT_ID: args.secretReference(SECRET_NAMES.azureTenantId),
          AZURE_CLIENT_ID: args.secretReference(SECRET_NAMES.azureClientId),
          AZURE_CLIENT_SECRET: args.secretReference(SECRET_NAMES.azureClientSecret),
          MLOPS_ALERT_WEBHOOK_URL: args.secretReference(SECRET_NAMES.alertWebhookUrl),
          MLOPS_MODEL: args.model,
          MLOPS_LOG_LEVEL: args.logLevel,
        },
      },
    };

    const launch = (taskKey: string, settings: JobSchedule, parameters: pulumi.Input<string>[], extra: Partial<Task> = {}): Task => ({
      taskKey,
      jobClusterKey: cluster.jobClusterKey,
      sparkPythonTask: { pythonFile: launcher.path, source: 'WORKSPACE', parameters },
      maxRetries: settings.maxRetries,
      minRetryIntervalMillis: settings.minRetryIntervalSeconds * 1000,
      retryOnTimeout: false,
      ...extra,
    });

    const url = args.containerUrls;
    const monitorParameters = (report: string): pulumi.Input<string>[] => [
      'monitor',
      '--registry', url.models,
      '--logs', url.logs,
      '--alias', 'champion',
      '--lookback-days', String(args.monitoring.lookbackDays),
      '--threshold', String(args.monitoring.threshold),
      '--report', pulumi.interpolate`${url.reports}/${report}`,
    ];

    const declare = (key: JobKey, title: string, settings: JobSchedule, tasks: Task[]): databricks.Job => {
      const warnAfter = settings.warnAfterSeconds ?? Math.round(settings.timeoutSeconds * 0.75);
      const emails = [...args.notificationEmails];
      return new databricks.Job(`${name}-${key}`, {
        name: `${args.jobPrefix} ${title}`,
        description: `${title} for ${args.model} (${args.environment}); managed by Pulumi`,
        schedule: {
          quartzCronExpression: settings.schedule,
          timezoneId: args.timezone,
          pauseStatus: args.paused ? 'PAUSED' : 'UNPAUSED',
        },
        maxConcurrentRuns: 1,
        timeoutSeconds: settings.timeoutSeconds,
        health: { rules: [{ metric: 'RUN_DURATION_SECONDS', op: 'GREATER_THAN', value: warnAfter }] },
        queue: { enabled: true },
        runAs: { servicePrincipalName: args.jobsPrincipal.clientId },
        jobClusters: [cluster],
        // Sorted by taskKey: the API returns tasks in that order, so any other order shows as a diff.
        tasks: [...tasks].sort((a, b) => String(a.taskKey).localeCompare(String(b.taskKey))),
        emailNotifications: emails.length > 0
          ? { onFailures: emails, onDurationWarningThresholdExceededs: emails, noAlertForSkippedRuns: true }
          : undefined,
        webhookNotifications: {
          onFailures: [{ id: webhook.id }],
          onDurationWarningThresholdExceededs: [{ id: webhook.id }],
        },
        tags: { ...args.tags, job: key },
      }, { ...databricksChild, dependsOn: [containerServices, imagePull, ...storageGrants, ...args.dependsOn] });
    };

    const batchScoring = declare('batchScoring', 'batch scoring', args.scoring, [
      launch('batch_score', args.scoring, [
        'score',
        '--registry', url.models,
        '--alias', 'champion',
        '--input', pulumi.interpolate`${url.scoring}/input`,
        '--output', pulumi.interpolate`${url.scoring}/output`,
        '--date', '{{job.start_time.iso_date}}',
      ]),
    ]);

    const monitoring = declare('monitoring', 'monitoring', args.monitoring, [
      launch('monitor', args.monitoring, monitorParameters('monitoring')),
    ]);

    const decision = pulumi.interpolate`${url.reports}/retraining`;
    const retraining = declare('retraining', 'retraining', args.retrain, [
      launch('drift_detection', args.retrain, monitorParameters('retraining')),
      {
        taskKey: 'should_retrain',
        dependsOns: [{ taskKey: 'drift_detection' }],
        conditionTask: { op: 'EQUAL_TO', left: '{{tasks.drift_detection.values.should_retrain}}', right: 'true' },
      },
      launch('retrain_model', args.retrain, [
        'retrain',
        '--data', pulumi.interpolate`${url.scoring}/training`,
        '--registry', url.models,
        '--decision', decision,
      ], { dependsOns: [{ taskKey: 'should_retrain', outcome: 'true' }] }),
      launch('validate_and_promote', args.retrain, [
        'promote',
        '--registry', url.models,
        '--candidate', '{{tasks.retrain_model.values.candidate_version}}',
        '--stage', 'challenger',
      ], { dependsOns: [{ taskKey: 'retrain_model' }] }),
    ]);

    this.jobs = { batchScoring, monitoring, retraining };
    for (const [key, job] of Object.entries(this.jobs)) {
      new databricks.Permissions(`${name}-${key}-permissions`, {
        jobId: job.id,
        accessControls: [
          { groupName: args.operatorGroup, permissionLevel: 'CAN_MANAGE_RUN' },
          { groupName: args.adminGroup, permissionLevel: 'CAN_MANAGE' },
        ],
      }, databricksChild);
    }

    this.jobIds = pulumi.output({ batchScoring: batchScoring.id, monitoring: monitoring.id, retraining: retraining.id });
    this.jobUrls = pulumi.output({ batchScoring: batchScoring.url, monitoring: monitoring.url, retraining: retraining.url });

    this.registerOutputs({ jobIds: this.jobIds, jobUrls: this.jobUrls, launcherPath: this.launcherPath });
  }
}
