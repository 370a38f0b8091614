import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseSettings } from './config';
import { rawSettings, readStackConfig } from './mockEngine';

const stackSettings = (stack: string): Record<string, any> => structuredClone(rawSettings(readStackConfig(stack)));

function problemsOf(adjust: (raw: Record<string, any>) => void, stack = 'dev'): string[] {
  const raw = stackSettings(stack);
  adjust(raw);
  try {
    parseSettings(raw);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('parseSettings on the real stack files', () => {
  it('accepts dev and fills documented defaults', () => {
    const dev = parseSettings(stackSettings('dev'));
    expect(dev.environment).toBe('dev');
    expect(dev.serving.target).toBe('container');
    expect(dev.serving.routes).toEqual({ champion: 90, challenger: 10 });
    expect(dev.serving.model).toBe('renewable_energy_predictor');
    expect(dev.serving.container).toEqual({ cpu: 0.5, minReplicas: 0, maxReplicas: 2, concurrentRequests: 50 });
    expect(dev.serving.databricks).toEqual({ workloadSize: 'Small', workloadType: 'CPU', scaleToZero: true, rateLimitCallsPerMinute: 600, inferenceTables: true });
    expect(dev.jobs.retrain.schedule).toBe('0 0 2 ? * MON');
    expect(dev.jobs.retrain.maxRetries).toBe(0);
    expect(dev.jobs.monitoring).toMatchObject({ lookbackDays: 7, threshold: 0.05, timeoutSeconds: 1800 });
    expect(dev.databricks.authType).toBe('azure-cli');
    expect(dev.images).toEqual({ platform: 'linux/amd64', registrySku: 'Basic' });
  });

  it('accepts prod', () => {
    const prod = parseSettings(stackSettings('prod'));
    expect(prod.environment).toBe('prod');
    expect(prod.serving.target).toBe('databricks');
    expect(prod.serving.databricks.scaleToZero).toBe(false);
    expect(prod.storage.replication).toBe('ZRS');
    expect(prod.keyVault.purgeProtection).toBe(true);
  });
});

describe('config errors are one readable line each', () => {
  it('routes that do not sum to 100', () => {
    expect(problemsOf((raw) => { raw.serving.routes = { champion: 90, challenger: 5 }; }))
      .toEqual(['serving.routes: weights must sum to 100, got 95 (champion=90, challenger=5)']);
  });

  it('non-integer or out-of-range weights and bad aliases', () => {
    expect(problemsOf((raw) => { raw.serving.routes = { champion: 90.5, challenger: 9.5 }; }))
      .toEqual(['serving.routes.challenger: expected an integer, got 9.5', 'serving.routes.champion: expected an integer, got 90.5']);
    expect(problemsOf((raw) => { raw.serving.routes = { Champion: 100 }; }))
      .toEqual(['serving.routes.Champion: got "Champion"; expected a lowercase registry alias ([a-z][a-z0-9_-]*, ≤ 32 characters)']);
    expect(problemsOf((raw) => { raw.serving.routes = {}; })).toEqual(['serving.routes: at least one route is required, got none']);
  });

  it('invalid Quartz cron', () => {
    expect(problemsOf((raw) => { raw.jobs.retrain.schedule = '0 2 * * 1'; }))
      .toEqual(['jobs.retrain.schedule: invalid Quartz cron "0 2 * * 1": expected 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), got 5']);
    expect(problemsOf((raw) => { raw.jobs.scoring.schedule = '0 0 3 * * MON'; }))
      .toEqual(['jobs.scoring.schedule: invalid Quartz cron "0 0 3 * * MON": day-of-month and day-of-week cannot both be specified; put "?" in one of them']);
  });

  it('unknown serving target lists the allowed values', () => {
    expect(problemsOf((raw) => { raw.serving.target = 'kubernetes'; }))
      .toEqual(['serving.target: got "kubernetes"; allowed: container, databricks']);
  });

  it('unknown keys, missing keys and wrong types', () => {
    expect(problemsOf((raw) => { raw.serving.minReplica = 1; }))
      .toEqual(['serving.minReplica: unknown key, got 1; check the spelling against infra/README.md']);
    expect(problemsOf((raw) => { delete raw.databricks.catalog; })).toEqual(['databricks.catalog: required, got nothing']);
    expect(problemsOf((raw) => { delete raw.location; })).toEqual(['azure-native:location: required, got nothing']);
    expect(problemsOf((raw) => { raw.storage.logRetentionDays = '30'; })).toEqual(['storage.logRetentionDays: expected a number, got "30"']);
    expect(problemsOf((raw) => { raw.storage.logRetentionDays = 0; })).toEqual(['storage.logRetentionDays: must be ≥ 1, got 0']);
    expect(problemsOf((raw) => { raw.environment = 'production'; })).toEqual(['environment: got "production"; allowed: dev, staging, prod']);
    expect(problemsOf((raw) => { raw.azure.jobsPrincipal.clientId = 'jobs-sp'; }))
      .toEqual(['azure.jobsPrincipal.clientId: got "jobs-sp"; expected a GUID like 00000000-0000-0000-0000-000000000000']);
    expect(problemsOf((raw) => { raw.jobs.timezone = 'Mars/Olympus'; }))
      .toEqual(['jobs.timezone: unknown time zone "Mars/Olympus"; expected an IANA id such as UTC or Europe/Berlin']);
    expect(problemsOf((raw) => { raw.serving.container.cpu = 0.3; }))
      .toEqual(['serving.container.cpu: got 0.3; allowed: 0.25 to 4 in steps of 0.25 (memory is 2 GiB per vCPU)']);
    expect(problemsOf((raw) => { raw.jobs.notificationEmails = ['oncall']; }))
      .toEqual(['jobs.notificationEmails.0: got "oncall"; expected an e-mail address']);
  });

  it('cross-field rules', () => {
    expect(problemsOf((raw) => { raw.serving.shadow = 'champion'; }))
      .toEqual(['serving.shadow: "champion" already receives live traffic in serving.routes; a shadow alias must not be routed']);
    expect(problemsOf((raw) => { raw.serving.shadow = 'candidate'; }, 'prod'))
      .toEqual(['serving.shadow: shadow traffic is served by the container image only; remove it or use serving.target: container (got "candidate")']);
    expect(problemsOf((raw) => { raw.serving.container.minReplicas = 5; }))
      .toEqual(['serving.container.minReplicas: must be ≤ serving.container.maxReplicas (2), got 5']);
    expect(problemsOf((raw) => { raw.jobs.retrain.warnAfterSeconds = 7200; }, 'prod'))
      .toEqual(['jobs.retrain.warnAfterSeconds: must be < jobs.retrain.timeoutSeconds (7200), got 7200']);
  });

  it('production endpoints must not scale to zero unless explicitly allowed', () => {
    expect(problemsOf((raw) => { raw.serving.databricks.scaleToZero = true; }, 'prod'))
      .toEqual(['serving.databricks.scaleToZero: production endpoints must not scale to zero, got true; set serving.allowScaleToZeroInProduction: true to accept cold starts']);
    expect(problemsOf((raw) => { raw.serving.target = 'container'; }, 'prod'))
      .toEqual(['serving.container.minReplicas: production endpoints keep at least 1 replica, got 0; set serving.allowScaleToZeroInProduction: true to accept cold starts']);
    expect(problemsOf((raw) => { raw.serving.databricks.scaleToZero = true; raw.serving.allowScaleToZeroInProduction = true; }, 'prod')).toEqual([]);
  });

  it('reports every problem at once, sorted, in the error message', () => {
    const raw = stackSettings('dev');
    raw.serving.target = 'k8s';
    raw.jobs.monitoring.threshold = 2;
    expect(() => parseSettings(raw)).toThrow(
      'invalid stack configuration:\n  jobs.monitoring.threshold: must be > 0 and < 1, got 2\n  serving.target: got "k8s"; allowed: container, databricks',
    );
  });
});

describe('loadConfig through the Pulumi runtime', () => {
  const devValues = () => ({ ...readStackConfig('dev').values });

  it('names missing secrets and how to set them', () => {
    const values = devValues();
    delete values['renewable-energy-mlops:alertWebhookUrl'];
    delete values['renewable-energy-mlops:imagePushClientSecret'];
    pulumi.runtime.setAllConfig(values, ['renewable-energy-mlops:jobsPrincipalClientSecret']);
    expect(() => loadConfig()).toThrow(
      'invalid stack configuration:\n  alertWebhookUrl: required secret, got nothing; run pulumi config set --secret alertWebhookUrl <value>\n'
      + '  imagePushClientSecret: required secret, got nothing; run pulumi config set --secret imagePushClientSecret <value>',
    );
  });

  it('rejects a scalar where a map is expected', () => {
    const values = devValues();
    values['renewable-energy-mlops:serving'] = 'container';
    pulumi.runtime.setAllConfig(values, []);
    expect(() => loadConfig()).toThrow('serving: expected an object (YAML map), got "container"');
  });

  it('returns validated settings with secrets as secret Outputs', async () => {
    pulumi.runtime.setAllConfig(devValues(), readStackConfig('dev').secretKeys);
    const cfg = loadConfig();
    expect(cfg.serving.routes).toEqual({ champion: 90, challenger: 10 });
    for (const secret of Object.values(cfg.secrets)) expect(await pulumi.isSecret(secret)).toBe(true);
  });
});
