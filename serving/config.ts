/**
 * Server configuration: one typed object, built from CLI flags or their environment variables (see README).
 */
import { UserError } from '../core/errors';
import { MODEL_NAME } from '../core/schema';
import { loadApiKeys } from './auth';
import { parseRoutes, type Route } from './routes';

export interface ServeConfig {
  registry: string;
  model: string;
  host: string;
  port: number;
  routes: Route[];
  /** Alias scored on every request in the background, logged, never returned. */
  shadow: string | null;
  /** Prediction log storage URI; null disables the prediction log. */
  logs: string | null;
  apiKeys: string[];
  /** Alias polling period; 0 disables hot reload. */
  reloadIntervalSeconds: number;
  /** Token-bucket rate per caller; null disables rate limiting. */
  rateLimitRps: number | null;
  rateLimitBurst: number;
  maxRows: number;
  bodyLimitBytes: number;
  logSpillDir: string | undefined;
  logFlushSeconds: number;
  logBatchRecords: number;
  logQueueRecords: number;
  /** Time allowed for draining requests and flushing the log after SIGTERM (Container Apps grants 30 s). */
  shutdownGraceSeconds: number;
  /** Take the client address from X-Forwarded-For (behind the Container Apps ingress). */
  trustProxy: boolean;
  logLevel: string;
}

export const SERVE_DEFAULTS = {
  model: MODEL_NAME,
  host: '0.0.0.0',
  port: 8080,
  routes: 'champion=100',
  reloadIntervalSeconds: 30,
  maxRows: 10_000,
  /** 16 MB, the Databricks Model Serving payload limit. */
  bodyLimitBytes: 16 * 1024 * 1024,
  logFlushSeconds: 5,
  logBatchRecords: 10_000,
  logQueueRecords: 100_000,
  shutdownGraceSeconds: 25,
  logLevel: 'info',
} as const;

export interface RawServeOptions {
  registry?: string;
  model?: string;
  host?: string;
  port?: number;
  routes?: string;
  shadow?: string;
  logs?: string;
  apiKeys?: string;
  apiKeysFile?: string;
  reloadIntervalSeconds?: number;
  rateLimitRps?: number;
  rateLimitBurst?: number;
  maxRows?: number;
  bodyLimitBytes?: number;
  logSpillDir?: string;
  logFlushSeconds?: number;
  logBatchRecords?: number;
  logQueueRecords?: number;
  shutdownGraceSeconds?: number;
  trustProxy?: boolean;
  logLevel?: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function resolveServeConfig(raw: RawServeOptions): ServeConfig {
  if (!raw.registry) throw new UserError('--registry (MLOPS_REGISTRY) is required: the model registry URI');
  const routes = parseRoutes(raw.routes ?? SERVE_DEFAULTS.routes);
  const shadow = raw.shadow?.trim() ? raw.shadow.trim() : null;
  if (shadow !== null) parseRoutes(`${shadow}=100`, '--shadow');
  const logLevel = (raw.logLevel ?? SERVE_DEFAULTS.logLevel).toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) throw new UserError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${raw.logLevel}'`);
  const rps = raw.rateLimitRps ?? null;
  if (rps !== null && !(rps > 0)) throw new UserError(`--rate-limit-rps must be a positive number, got ${rps}`);
  if (raw.rateLimitBurst !== undefined && rps === null) {
    throw new UserError('--rate-limit-burst needs --rate-limit-rps (MLOPS_RATE_LIMIT_RPS)');
  }
  return {
    registry: raw.registry,
    model: raw.model ?? SERVE_DEFAULTS.model,
    host: raw.host ?? SERVE_DEFAULTS.host,
    port: raw.port ?? SERVE_DEFAULTS.port,
    routes,
    shadow,
    logs: raw.logs?.trim() ? raw.logs.trim() : null,
    apiKeys: loadApiKeys(raw.apiKeys, raw.apiKeysFile),
    reloadIntervalSeconds: raw.reloadIntervalSeconds ?? SERVE_DEFAULTS.reloadIntervalSeconds,
    rateLimitRps: rps,
    rateLimitBurst: raw.rateLimitBurst ?? (rps === null ? 0 : Math.max(1, Math.ceil(rps))),
    maxRows: raw.maxRows ?? SERVE_DEFAULTS.maxRows,
    bodyLimitBytes: raw.bodyLimitBytes ?? SERVE_DEFAULTS.bodyLimitBytes,
    logSpillDir: raw.logSpillDir?.trim() ? raw.logSpillDir.trim() : undefined,
    logFlushSeconds: raw.logFlushSeconds ?? SERVE_DEFAULTS.logFlushSeconds,
    logBatchRecords: raw.logBatchRecords ?? SERVE_DEFAULTS.logBatchRecords,
    logQueueRecords: raw.logQueueRecords ?? SERVE_DEFAULTS.logQueueRecords,
    shutdownGraceSeconds: raw.shutdownGraceSeconds ?? SERVE_DEFAULTS.shutdownGraceSeconds,
    trustProxy: raw.trustProxy ?? false,
    logLevel,
  };
}

/** Aliases a server loads: routes in order, then the shadow alias. */
export function servedAliases(config: Pick<ServeConfig, 'routes' | 'shadow'>): string[] {
  const aliases = config.routes.map((r) => r.alias);
  if (config.shadow && !aliases.includes(config.shadow)) aliases.push(config.shadow);
  return aliases;
}
