// Deterministic resource names. Explicit names keep previews and the offline plan stable, and the
// global ones (storage, Key Vault, registry) carry the configured suffix to stay unique across tenants.
import type { MlopsSettings } from './config';

export interface Names {
  readonly resourceGroup: string;
  readonly storageAccount: string;
  readonly logAnalytics: string;
  readonly keyVault: string;
  readonly registry: string;
  readonly containerEnvironment: string;
  readonly containerApp: string;
  readonly pullIdentity: string;
  readonly servingEndpoint: string;
  readonly secretScope: string;
  readonly workspaceDir: string;
  readonly jobPrefix: string;
}

export function namesFor(cfg: MlopsSettings): Names {
  const { prefix, suffix } = cfg.naming;
  const env = cfg.environment;
  return {
    resourceGroup: `rg-${prefix}-${env}`,
    storageAccount: `st${prefix}${env}${suffix}`,
    logAnalytics: `log-${prefix}-${env}`,
    keyVault: `kv${prefix}${env}${suffix}`,
    registry: `acr${prefix}${env}${suffix}`,
    containerEnvironment: `cae-${prefix}-${env}`,
    containerApp: `ca-${prefix}-${env}-serving`,
    pullIdentity: `id-${prefix}-${env}-serving-pull`,
    servingEndpoint: `${prefix}-${env}-${cfg.serving.model.replace(/_/g, '-')}`,
    secretScope: cfg.databricks.secretScope ?? `${prefix}-${env}`,
    workspaceDir: `${cfg.databricks.workspaceDir}/${env}`,
    jobPrefix: `[${env}] ${cfg.serving.model}`,
  };
}

/** Tags on every Azure resource; policies read `environment` and the scale-to-zero override from them. */
export function tagsFor(cfg: MlopsSettings): Record<string, string> {
  return {
    ...cfg.tags,
    project: 'renewable-energy-mlops',
    environment: cfg.environment,
    'managed-by': 'pulumi',
  };
}
