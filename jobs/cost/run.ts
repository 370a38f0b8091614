import { UserError } from '../../core/errors';
import { ConfigError, readStackSettings, type MlopsSettings } from '../../infra/settings';
import { estimateCost, type CostOptions, type CostReport } from './estimate';
import { loadPrices } from './prices';
import { readLogSample } from './utilisation';

export interface CostCommandOptions extends Partial<CostOptions> {
  stack: string;
  /** Directory holding `Pulumi.<stack>.yaml` (the repository root). */
  projectDir: string;
  logs?: string;
  /** Only log partitions on or after this day (YYYY-MM-DD). */
  since?: string;
  prices?: string;
}

function readSettings(stack: string, projectDir: string): MlopsSettings {
  try {
    return readStackSettings(stack, projectDir);
  } catch (err) {
    if (err instanceof ConfigError) throw new UserError(`stack ${stack}: ${err.problems.join('; ')}`);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`--project-dir ${projectDir}: no such directory`);
    throw err;
  }
}

export async function runCost(opts: CostCommandOptions): Promise<CostReport> {
  if (opts.since !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(opts.since)) throw new UserError(`--since must be YYYY-MM-DD, got '${opts.since}'`);
  const settings = readSettings(opts.stack, opts.projectDir);
  const prices = loadPrices(opts.prices);
  const logs = opts.logs !== undefined ? await readLogSample(opts.logs, opts.since) : undefined;
  const { stack, projectDir: _projectDir, logs: _logs, since: _since, prices: _prices, ...options } = opts;
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<CostOptions>;
  return estimateCost({ stack, settings, prices: prices.table, pricesSource: prices.source, options: defined, ...(logs ? { logs } : {}) });
}

const money = (x: number, currency: string): string => `${currency === 'USD' ? '$' : `${currency} `}${x.toFixed(2)}`;
const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

function summary(c: CostReport['components'][number], currency: string): string {
  const d = c.details as Record<string, any>;
  switch (c.name) {
    case 'serving':
      return d.platform.startsWith('Azure')
        ? `Container Apps ${d.vcpu_per_replica} vCPU / ${d.gib_per_replica} GiB, replicas ${d.min_replicas}–${d.max_replicas}; ${d.active_replica_hours} active + ${d.idle_replica_hours} idle replica-h, ${d.cold_starts} cold starts, ${d.requests} requests`
        : `Model Serving ${d.workload_size} ${d.workload_type} (concurrency ${d.provisioned_concurrency}, ${d.dbu_per_hour} DBU/h), ${d.provisioned_hours} h provisioned${d.scale_to_zero ? `, ${d.launches} launches` : ''}, ${d.dbus} DBU`;
    case 'jobs': {
      const jobs = Object.entries(d.jobs as Record<string, any>).map(([name, j]) => `${name} ${j.runs_per_month}×${j.minutes_per_run} min`);
      return `${d.node_type} at ${money(d.cost_per_cluster_hour, currency)}/h; ${jobs.join(', ')}${d.paused ? ` (schedules paused; ${money(d.monthly_if_unpaused, currency)} if unpaused)` : ''}`;
    }
    case 'storage':
      return `${d.replication}: ${d.stored_gb} GB of logs kept ${d.kept_days} days, ${d.write_ops} writes, ${d.read_ops} reads`;
    case 'monitoring':
      return `${d.ingested_gb} GB ingested (${d.free_gb} GB free), retention ${d.retention_days} days`;
    case 'key_vault':
      return `${d.operations} operations`;
    case 'container_registry':
      return `${d.sku} × ${d.days} days`;
  }
}

export function describeCostResult(r: CostReport): string[] {
  const width = Math.max(...r.components.map((c) => money(c.monthly, r.currency).length), money(r.total, r.currency).length);
  const u = r.utilisation;
  const s = r.scale_to_zero;
  const lines = [
    `Monthly cost estimate for stack ${r.stack} (${r.target} serving, ${r.location}), ${r.month_hours / 24}-day month (${r.month_hours} h), ${r.currency}`,
    '',
    ...r.components.map((c) => `  ${c.name.padEnd(19)} ${money(c.monthly, r.currency).padStart(width)}  ${summary(c, r.currency)}`),
    `  ${'total'.padEnd(19)} ${money(r.total, r.currency).padStart(width)}`,
    '',
    `Utilisation (${u.source}): busy ${pct(u.active_share)} of the month (${u.active_hours_per_month} h) with a ${u.window_seconds} s scale-down window, ${u.busy_blocks_per_month} busy blocks, ${u.requests_per_month} requests per month`,
    ...(u.observed
      ? [`  measured from ${u.observed.requests} requests on ${u.observed.first_day}…${u.observed.last_day} (${u.observed.days} days): ${u.observed.busy_blocks} busy blocks, ${u.observed.cold_starts} cold starts`]
      : []),
    `Scale-to-zero (${s.enabled ? 'enabled' : 'disabled'}; ${s.compared_with}): with ${money(s.monthly_with, r.currency)}, without ${money(s.monthly_without, r.currency)} per month → saving ${money(s.saving, r.currency)}, at the cost of ~${s.cold_starts_per_month} cold starts per month (~${s.cold_start_seconds} s each)`,
    `Prices: ${r.prices.source}, ${r.prices.region}, as of ${r.prices.as_of}`,
    'Assumptions:',
    ...r.assumptions.map((a) => `  - ${a}`),
  ];
  return lines;
}
