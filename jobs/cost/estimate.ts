// The monthly cost model (pure: settings + prices + load in, numbers out). Formulas are documented in
// jobs/cost/README.md; every constant that is a guess rather than a price is listed in the report's assumptions.
import { UserError } from '../../core/errors';
import type { MlopsSettings } from '../../infra/settings';
import type { PriceTable } from './prices';
import { MONTH_DAYS, MONTH_HOURS, MONTH_SECONDS, runsPerMonth } from './schedule';
import { measureBusy, type BusyMeasurement, type LogSample } from './utilisation';

/** Scale-down windows: Container Apps cooldownPeriod default; Databricks scale-to-zero after ~30 min idle. */
export const DEFAULT_WINDOW_SECONDS = { container: 300, databricks: 1800 } as const;
/** Typical cold start: ~20 s reported for small Node images on Container Apps (microsoft/azure-container-apps#997);
 * Databricks documents cold starts of several minutes after scale-to-zero. */
export const DEFAULT_COLD_START_SECONDS = { container: 20, databricks: 300 } as const;
/** Log bytes per request when no logs are given: one JSON-lines record of one scored row. */
export const ASSUMED_LOG_BYTES_PER_REQUEST = 500;
/** The server's prediction log flushes at most every 5 s (serving logFlushSeconds): one write per 5 active seconds. */
export const LOG_FLUSH_SECONDS = 5;
/** Databricks target: the AI-gateway inference table is written in micro-batches, taken as one write per active minute. */
export const INFERENCE_TABLE_WRITE_SECONDS = 60;
/** Log Analytics: one blob diagnostic entry per storage operation. */
export const DIAGNOSTIC_BYTES_PER_STORAGE_OP = 1000;
/** Log Analytics: Container Apps system + console logs without per-request lines (request logging is off). */
export const CONTAINER_BASE_LOG_GB = 0.1;
/** Log Analytics: extra console bytes per request at logLevel debug/trace. */
export const DEBUG_LOG_BYTES_PER_REQUEST = 300;
/** Key Vault: Container Apps re-reads Key Vault references about every 30 min; each job run reads ~5 scope secrets. */
export const KEY_VAULT_REFRESHES_PER_MONTH = MONTH_DAYS * 48;
export const KEY_VAULT_READS_PER_JOB_RUN = 5;
const GB = 1024 ** 3;

export interface CostOptions {
  /** Assumed share of the month the endpoint is busy (without logs). */
  utilisation: number;
  /** Assumed busy blocks per day (each starts with a cold start when scaling to zero). */
  busyBlocksPerDay: number;
  /** Assumed requests per month (without logs). */
  requestsPerMonth: number;
  /** Fixed job run length in minutes; else `jobTimeoutShare` × the job's timeout. */
  jobMinutes?: number;
  jobTimeoutShare: number;
  /** Job cluster start-up billed on every run. */
  clusterStartMinutes: number;
  windowSeconds?: number;
  coldStartSeconds?: number;
}

export const DEFAULT_OPTIONS: CostOptions = {
  utilisation: 0.5,
  busyBlocksPerDay: 1,
  requestsPerMonth: 1_000_000,
  jobTimeoutShare: 0.25,
  clusterStartMinutes: 5,
};

export interface Component {
  name: 'serving' | 'jobs' | 'storage' | 'monitoring' | 'key_vault' | 'container_registry';
  monthly: number;
  details: Record<string, unknown>;
}

export interface CostReport {
  stack: string;
  target: MlopsSettings['serving']['target'];
  location: string;
  month_hours: number;
  currency: string;
  assumptions: string[];
  components: Component[];
  total: number;
  scale_to_zero: {
    enabled: boolean;
    /** What the "without" side means for this target. */
    compared_with: string;
    monthly_with: number;
    monthly_without: number;
    saving: number;
    cold_starts_per_month: number;
    cold_start_seconds: number;
  };
  utilisation: {
    source: 'assumed' | 'measured';
    active_share: number;
    window_seconds: number;
    cold_start_seconds: number;
    active_hours_per_month: number;
    busy_blocks_per_month: number;
    requests_per_month: number;
    observed?: { first_day: string; last_day: string; days: number; requests: number; busy_blocks: number; cold_starts: number; log_files: number; log_bytes: number };
  };
  prices: { source: string; as_of: string; region: string; notice: string };
}

/** The endpoint's load in a month, whatever its source. */
interface ServingLoad {
  /** Busy seconds (union of request + window), cold-start time excluded. */
  activeSeconds: number;
  /** Busy blocks per month = cold starts when the endpoint scales to zero. */
  busyBlocks: number;
  requests: number;
  /** Per busy minute, mean concurrent requests (measured only; empty = one replica covers the load). */
  minuteConcurrency: number[];
  /** Scale factor from the observed period to a month (measured only). */
  monthScale: number;
  logBytesPerRequest: number;
  /** Log files written per month, when measured. */
  logWritesPerMonth?: number;
}

const round = (x: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

function loadFrom(
  options: CostOptions,
  windowSeconds: number,
  sample: LogSample | undefined,
): { load: ServingLoad; measurement?: BusyMeasurement } {
  if (!sample) {
    const share = options.utilisation;
    return {
      load: {
        activeSeconds: share * MONTH_SECONDS,
        busyBlocks: share > 0 && share < 1 ? options.busyBlocksPerDay * MONTH_DAYS : 0,
        requests: options.requestsPerMonth,
        minuteConcurrency: [],
        monthScale: 1,
        logBytesPerRequest: ASSUMED_LOG_BYTES_PER_REQUEST,
      },
    };
  }
  const m = measureBusy(sample.requests, windowSeconds, sample.observedStart, sample.observedEnd);
  const scale = MONTH_SECONDS / m.observedSeconds;
  return {
    measurement: m,
    load: {
      activeSeconds: m.activeShare * MONTH_SECONDS,
      busyBlocks: m.busyBlocks * scale,
      requests: m.requests * scale,
      minuteConcurrency: m.minuteConcurrency,
      monthScale: scale,
      logBytesPerRequest: m.requests > 0 ? sample.logBytes / m.requests : ASSUMED_LOG_BYTES_PER_REQUEST,
      logWritesPerMonth: sample.logFiles * scale,
    },
  };
}

interface ServingCost {
  monthly: number;
  coldStarts: number;
  details: Record<string, unknown>;
}

function containerServing(settings: MlopsSettings, prices: PriceTable, load: ServingLoad, minReplicas: number, coldStartSeconds: number): ServingCost {
  const { cpu, maxReplicas, concurrentRequests } = settings.serving.container;
  const gib = cpu * 2;
  const p = prices.container_apps;
  const scalesToZero = minReplicas === 0;
  const coldStarts = scalesToZero ? load.busyBlocks : 0;
  const activeSeconds = Math.min(MONTH_SECONDS, load.activeSeconds + coldStarts * coldStartSeconds);
  const base = Math.max(1, minReplicas);
  // Replicas above the base that the HTTP rule adds in busy minutes (concurrency / concurrentRequests, capped).
  let extraReplicaSeconds = 0;
  for (const concurrency of load.minuteConcurrency) {
    const needed = Math.min(maxReplicas, Math.max(1, Math.ceil(concurrency / concurrentRequests)));
    if (needed > base) extraReplicaSeconds += (needed - base) * 60;
  }
  extraReplicaSeconds *= load.monthScale;
  const activeReplicaSeconds = activeSeconds * base + extraReplicaSeconds;
  const idleReplicaSeconds = minReplicas * (MONTH_SECONDS - activeSeconds);
  // The monthly free grant is deducted from active usage first, then idle usage.
  const charge = (active: number, idle: number, free: number, activeRate: number, idleRate: number) => {
    const billedActive = Math.max(0, active - free);
    const billedIdle = Math.max(0, idle - Math.max(0, free - active));
    return billedActive * activeRate + billedIdle * idleRate;
  };
  const vcpuCost = charge(activeReplicaSeconds * cpu, idleReplicaSeconds * cpu, p.free_vcpu_seconds.value, p.active_vcpu_second.value, p.idle_vcpu_second.value);
  const memoryCost = charge(activeReplicaSeconds * gib, idleReplicaSeconds * gib, p.free_gib_seconds.value, p.active_gib_second.value, p.idle_gib_second.value);
  const requestCost = (Math.max(0, load.requests - p.free_requests.value) / 1e6) * p.requests_per_million.value;
  return {
    monthly: vcpuCost + memoryCost + requestCost,
    coldStarts,
    details: {
      platform: 'Azure Container Apps (Consumption)',
      vcpu_per_replica: cpu,
      gib_per_replica: gib,
      min_replicas: minReplicas,
      max_replicas: maxReplicas,
      active_hours: round(activeSeconds / 3600),
      active_replica_hours: round(activeReplicaSeconds / 3600),
      idle_replica_hours: round(idleReplicaSeconds / 3600),
      cold_starts: round(coldStarts, 1),
      requests: Math.round(load.requests),
      vcpu_cost: round(vcpuCost),
      memory_cost: round(memoryCost),
      request_cost: round(requestCost),
      formula:
        'active replica-s × (vCPU × active vCPU-s price + GiB × active GiB-s price) + min replicas × idle s × idle prices − free grants + (requests − free) × price per million',
    },
  };
}

function databricksServing(settings: MlopsSettings, prices: PriceTable, load: ServingLoad, scaleToZero: boolean): ServingCost {
  const { workloadSize, workloadType } = settings.serving.databricks;
  const p = prices.model_serving;
  const size = p.workload_sizes[workloadSize];
  if (!size) throw new UserError(`price table has no model_serving.workload_sizes.${workloadSize}; add it with --prices`);
  const rate = p.dbu_per_concurrency_hour[workloadType];
  if (!rate) throw new UserError(`price table has no model_serving.dbu_per_concurrency_hour.${workloadType}; add it with --prices`);
  const dbuPerHour = size.min_concurrency * rate.value;
  const hours = scaleToZero ? Math.min(MONTH_HOURS, load.activeSeconds / 3600) : MONTH_HOURS;
  const launches = scaleToZero ? load.busyBlocks : 0;
  const dbus = hours * dbuPerHour + launches * p.launch_dbu.value;
  return {
    monthly: dbus * p.dbu_price.value,
    coldStarts: launches,
    details: {
      platform: 'Databricks Model Serving (serverless real-time inference)',
      workload_size: workloadSize,
      workload_type: workloadType,
      provisioned_concurrency: size.min_concurrency,
      dbu_per_hour: dbuPerHour,
      scale_to_zero: scaleToZero,
      provisioned_hours: round(hours),
      launches: round(launches, 1),
      dbus: round(dbus, 1),
      formula: 'provisioned hours × concurrency × DBU per concurrency-hour × $/DBU (+ launches × launch DBU × $/DBU with scale-to-zero)',
    },
  };
}

function servingCost(settings: MlopsSettings, prices: PriceTable, load: ServingLoad, scaleToZero: boolean, coldStartSeconds: number): ServingCost {
  if (settings.serving.target === 'container') {
    const min = scaleToZero ? 0 : Math.max(1, settings.serving.container.minReplicas);
    return containerServing(settings, prices, load, min, coldStartSeconds);
  }
  return databricksServing(settings, prices, load, scaleToZero);
}

const JOBS = ['scoring', 'monitoring', 'retrain'] as const;

function jobsCost(settings: MlopsSettings, prices: PriceTable, options: CostOptions): { component: Component; runs: Record<(typeof JOBS)[number], number> } {
  const p = prices.databricks_jobs;
  const nodeType = settings.databricks.nodeTypeId;
  const node = p.node_types[nodeType];
  if (!node) {
    throw new UserError(
      `price table has no databricks_jobs.node_types.${nodeType} (the stack's databricks.nodeTypeId); known: ${Object.keys(p.node_types).join(', ')}; add it with --prices`,
    );
  }
  const hourly = node.dbu_per_hour * p.dbu_price.value + node.vm_per_hour;
  const perJob: Record<string, unknown> = {};
  const runs = { scoring: 0, monitoring: 0, retrain: 0 };
  let monthly = 0;
  let ifUnpaused = 0;
  for (const name of JOBS) {
    const job = settings.jobs[name];
    const scheduled = runsPerMonth(job.schedule, settings.jobs.timezone);
    const minutes = options.jobMinutes ?? (job.timeoutSeconds / 60) * options.jobTimeoutShare;
    const hoursPerRun = (minutes + options.clusterStartMinutes) / 60;
    // maxConcurrentRuns is 1: a job cannot be busy for more than the whole month.
    const busyHours = Math.min(MONTH_HOURS, scheduled * hoursPerRun);
    const cost = busyHours * hourly;
    const active = settings.jobs.paused ? 0 : 1;
    runs[name] = scheduled * active;
    monthly += cost * active;
    ifUnpaused += cost;
    perJob[name] = { schedule: job.schedule, runs_per_month: round(scheduled * active, 2), minutes_per_run: round(minutes + options.clusterStartMinutes, 1), cluster_hours: round(busyHours * active, 2), monthly: round(cost * active) };
  }
  return {
    runs,
    component: {
      name: 'jobs',
      monthly,
      details: {
        platform: 'Databricks Jobs Compute, single-node job cluster',
        node_type: nodeType,
        dbu_per_hour: node.dbu_per_hour,
        cost_per_cluster_hour: round(hourly, 4),
        paused: settings.jobs.paused,
        ...(settings.jobs.paused ? { monthly_if_unpaused: round(ifUnpaused) } : {}),
        jobs: perJob,
        formula: 'runs per month (Quartz schedule) × (run minutes + cluster start) / 60 × (node DBU/h × $/DBU + VM $/h)',
      },
    },
  };
}

export interface EstimateInput {
  stack: string;
  settings: MlopsSettings;
  prices: PriceTable;
  pricesSource: string;
  options?: Partial<CostOptions>;
  /** Prediction logs read with readLogSample; absent → assumed utilisation. */
  logs?: LogSample;
}

export function estimateCost(input: EstimateInput): CostReport {
  const { settings, prices, stack } = input;
  const options: CostOptions = { ...DEFAULT_OPTIONS, ...input.options };
  const target = settings.serving.target;
  const windowSeconds = options.windowSeconds ?? DEFAULT_WINDOW_SECONDS[target];
  const coldStartSeconds = options.coldStartSeconds ?? DEFAULT_COLD_START_SECONDS[target];
  const { load, measurement } = loadFrom(options, windowSeconds, input.logs);
  const enabled = target === 'container' ? settings.serving.container.minReplicas === 0 : settings.serving.databricks.scaleToZero;

  const actual = servingCost(settings, prices, load, enabled, coldStartSeconds);
  const withStz = enabled ? actual : servingCost(settings, prices, load, true, coldStartSeconds);
  const withoutStz = enabled ? servingCost(settings, prices, load, false, coldStartSeconds) : actual;

  const jobs = jobsCost(settings, prices, options);

  // Storage: prediction logs kept for the retention period (+ soft delete), writes per flush, monitor reads.
  const logGbPerMonth = (load.requests * load.logBytesPerRequest) / GB;
  const keptDays = settings.storage.logRetentionDays + settings.storage.softDeleteDays;
  const storedGb = logGbPerMonth * (keptDays / MONTH_DAYS);
  const gbPrice = prices.storage.gb_month[settings.storage.replication];
  if (!gbPrice) throw new UserError(`price table has no storage.gb_month.${settings.storage.replication}; add it with --prices`);
  const writes = load.logWritesPerMonth ?? load.activeSeconds / (target === 'container' ? LOG_FLUSH_SECONDS : INFERENCE_TABLE_WRITE_SECONDS);
  const reads = jobs.runs.monitoring * settings.jobs.monitoring.lookbackDays * (writes / MONTH_DAYS);
  const storageCost = storedGb * gbPrice.value + (writes / 1e4) * prices.storage.write_ops_per_10k.value + (reads / 1e4) * prices.storage.read_ops_per_10k.value;

  // Log Analytics: blob diagnostics per storage operation, Container Apps logs for the container target.
  const la = prices.log_analytics;
  const debug = settings.serving.logLevel === 'debug' || settings.serving.logLevel === 'trace';
  const containerLogGb = target === 'container' ? CONTAINER_BASE_LOG_GB + (debug ? (load.requests * DEBUG_LOG_BYTES_PER_REQUEST) / GB : 0) : 0;
  const ingestedGb = ((writes + reads) * DIAGNOSTIC_BYTES_PER_STORAGE_OP) / GB + containerLogGb;
  const extraRetentionDays = Math.max(0, settings.storage.analyticsRetentionDays - la.included_retention_days.value);
  const monitoringCost =
    Math.max(0, ingestedGb - la.free_gb_month.value) * la.ingestion_per_gb.value + ingestedGb * (extraRetentionDays / MONTH_DAYS) * la.retention_per_gb_month.value;

  const jobRuns = jobs.runs.scoring + jobs.runs.monitoring + jobs.runs.retrain;
  const vaultOps = (target === 'container' ? KEY_VAULT_REFRESHES_PER_MONTH + actual.coldStarts : 0) + jobRuns * KEY_VAULT_READS_PER_JOB_RUN;
  const vaultCost = (vaultOps / 1e4) * prices.key_vault.operations_per_10k.value;

  const acr = prices.container_registry.per_day[settings.images.registrySku];
  if (!acr) throw new UserError(`price table has no container_registry.per_day.${settings.images.registrySku}; add it with --prices`);
  const acrCost = acr.value * MONTH_DAYS;

  const components: Component[] = [
    { name: 'serving', monthly: actual.monthly, details: actual.details },
    jobs.component,
    {
      name: 'storage',
      monthly: storageCost,
      details: {
        replication: settings.storage.replication,
        log_gb_per_month: round(logGbPerMonth, 3),
        kept_days: keptDays,
        stored_gb: round(storedGb, 3),
        log_bytes_per_request: Math.round(load.logBytesPerRequest),
        write_ops: Math.round(writes),
        read_ops: Math.round(reads),
        formula: 'requests × log bytes per request × (log retention + soft delete days) / 30 × $/GB-month + write and read operations',
      },
    },
    {
      name: 'monitoring',
      monthly: monitoringCost,
      details: {
        platform: 'Log Analytics (Analytics Logs)',
        ingested_gb: round(ingestedGb, 3),
        free_gb: la.free_gb_month.value,
        retention_days: settings.storage.analyticsRetentionDays,
        formula: 'max(0, GB ingested − free GB) × $/GB + GB × days beyond the included retention / 30 × $/GB-month',
      },
    },
    { name: 'key_vault', monthly: vaultCost, details: { operations: Math.round(vaultOps), formula: 'operations / 10,000 × price' } },
    { name: 'container_registry', monthly: acrCost, details: { sku: settings.images.registrySku, days: MONTH_DAYS, formula: 'SKU price per day × 30' } },
  ];
  const total = components.reduce((sum, c) => sum + c.monthly, 0);
  const others = total - actual.monthly;

  const activeShare = load.activeSeconds / MONTH_SECONDS;
  const assumptions = [
    `a month is ${MONTH_DAYS} days (${MONTH_HOURS} h); schedules are averaged over a year (runs in 365 days × 30 / 365)`,
    `prices are ${prices.currency} list prices for ${prices.region} as of ${prices.as_of}${prices.region !== settings.location ? `; the stack runs in ${settings.location}, where prices differ — pass --prices with that region's figures` : ''}; check them against the source pages`,
    input.logs
      ? `utilisation measured from ${measurement!.requests} requests over ${round(measurement!.observedSeconds / 86_400, 2)} day(s) of logs, scaled to a month`
      : `utilisation assumed: busy ${round(options.utilisation * 100, 1)} % of the month in ${options.busyBlocksPerDay} block(s) per day, ${options.requestsPerMonth} requests per month (pass --logs to measure)`,
    `the endpoint stays up ${windowSeconds} s after the last request (${target === 'container' ? 'Container Apps cooldownPeriod default 300 s' : 'Databricks scales to zero after ~30 min without traffic'})`,
    `a cold start takes ~${coldStartSeconds} s (${target === 'container' ? 'reported ~20 s for small Node images on Container Apps; billed at the active rate' : 'Databricks: minutes; billed as one launch'})`,
    target === 'container'
      ? 'Container Apps bills busy time at the active rate (the idle rate applies only to replicas at the minimum count, so this is an upper bound); memory is 2 GiB per vCPU; the monthly free grant is applied to this app alone'
      : 'Databricks serving is billed at the lower bound of the workload size concurrency range while provisioned',
    options.jobMinutes !== undefined
      ? `each job run takes ${options.jobMinutes} min plus ${options.clusterStartMinutes} min cluster start`
      : `each job run takes ${round(options.jobTimeoutShare * 100, 1)} % of its timeout plus ${options.clusterStartMinutes} min cluster start; retries are not counted`,
    `log storage holds ${input.logs ? 'the measured' : `${ASSUMED_LOG_BYTES_PER_REQUEST} B of`} log bytes per request for the retention period, written ${input.logs ? 'as the measured number of log files' : target === 'container' ? `once per ${LOG_FLUSH_SECONDS} s flush while busy` : `once per ${INFERENCE_TABLE_WRITE_SECONDS} s while busy (inference table)`}; the monitor job reads each day's files ${settings.jobs.monitoring.lookbackDays} times; models, reports, scoring outputs and egress are not counted`,
    `Log Analytics ingests ~${DIAGNOSTIC_BYTES_PER_STORAGE_OP} B per storage operation${target === 'container' ? ` plus ${CONTAINER_BASE_LOG_GB} GB of Container Apps logs${debug ? ` and ${DEBUG_LOG_BYTES_PER_REQUEST} B per request at logLevel ${settings.serving.logLevel}` : ''}` : ''}; the 5 GB free grant is per billing account`,
  ];

  return {
    stack,
    target,
    location: settings.location,
    month_hours: MONTH_HOURS,
    currency: prices.currency,
    assumptions,
    components: components.map((c) => ({ ...c, monthly: round(c.monthly) })),
    total: round(total),
    scale_to_zero: {
      enabled,
      compared_with: target === 'container' ? `min ${Math.max(1, settings.serving.container.minReplicas)} replica(s) always on vs minReplicas 0` : 'scaleToZero false vs true',
      monthly_with: round(others + withStz.monthly),
      monthly_without: round(others + withoutStz.monthly),
      saving: round(withoutStz.monthly - withStz.monthly),
      cold_starts_per_month: round(withStz.coldStarts, 1),
      cold_start_seconds: coldStartSeconds,
    },
    utilisation: {
      source: input.logs ? 'measured' : 'assumed',
      active_share: round(activeShare, 4),
      window_seconds: windowSeconds,
      cold_start_seconds: coldStartSeconds,
      active_hours_per_month: round(load.activeSeconds / 3600),
      busy_blocks_per_month: round(load.busyBlocks, 1),
      requests_per_month: Math.round(load.requests),
      ...(input.logs && measurement
        ? {
            observed: {
              first_day: input.logs.firstDay,
              last_day: input.logs.lastDay,
              days: round(measurement.observedSeconds / 86_400, 2),
              requests: measurement.requests,
              busy_blocks: measurement.busyBlocks,
              cold_starts: measurement.coldStarts,
              log_files: input.logs.logFiles,
              log_bytes: input.logs.logBytes,
            },
          }
        : {}),
    },
    prices: { source: input.pricesSource, as_of: prices.as_of, region: prices.region, notice: prices.notice },
  };
}
