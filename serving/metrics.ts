/**
 * Prometheus metrics of one server instance. Each server owns its own prom-client Registry (no global state), so
 * several servers can run in one process (tests) without clashing. Names are a contract with the monitor job
 * and the dashboards; do not rename them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'alias' | 'status'>;
  readonly duration: Histogram<'route' | 'alias'>;
  readonly rowsScored: Counter<'alias' | 'version' | 'shadow'>;
  readonly logQueueDepth: Gauge;
  readonly logDropped: Counter;
  readonly logRetries: Counter;
  readonly logWritten: Counter;
  readonly logSpilled: Counter;
  readonly servedModel: Gauge<'alias' | 'version'>;
  readonly reloads: Counter<'alias' | 'outcome'>;
  /** Label children cached per route → alias (→ status): prom-client hashes labels on every lookup. */
  private readonly routeHandles = new Map<string, Map<string, RequestMetrics>>();
  private readonly scoredHandles = new Map<string, Map<number, { inc(n: number): void }[]>>();

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'mlops_requests_total',
      help: 'HTTP requests by route, registry alias and status code',
      labelNames: ['route', 'alias', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'mlops_request_duration_seconds',
      help: 'Request latency seen by the server, by route and alias',
      labelNames: ['route', 'alias'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.rowsScored = new Counter({
      name: 'mlops_rows_scored_total',
      help: 'Rows scored, by alias, model version and whether it was shadow scoring',
      labelNames: ['alias', 'version', 'shadow'],
      registers,
    });
    this.logQueueDepth = new Gauge({ name: 'mlops_log_queue_depth', help: 'Prediction log records held in memory, not yet written', registers });
    this.logDropped = new Counter({
      name: 'mlops_log_records_dropped_total',
      help: 'Prediction log records lost (neither written nor spilled to local disk)',
      registers,
    });
    this.logRetries = new Counter({ name: 'mlops_log_write_retries_total', help: 'Retried prediction log writes', registers });
    this.logWritten = new Counter({ name: 'mlops_log_records_written_total', help: 'Prediction log records written to the log storage', registers });
    this.logSpilled = new Counter({
      name: 'mlops_log_records_spilled_total',
      help: 'Prediction log records spilled to local disk while the log storage was unavailable (replayed later)',
      registers,
    });
    this.servedModel = new Gauge({
      name: 'mlops_served_model_info',
      help: 'Model version served per alias (value 1 for the current version)',
      labelNames: ['alias', 'version'],
      registers,
    });
    this.reloads = new Counter({
      name: 'mlops_model_reload_total',
      help: 'Model reload attempts per alias by outcome (loaded, failed, unchanged is not counted)',
      labelNames: ['alias', 'outcome'],
      registers,
    });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** The request metrics of one route and alias, created once and reused (cheap on the hot path). */
  forRoute(route: string, alias: string): RequestMetrics {
    let byAlias = this.routeHandles.get(route);
    if (!byAlias) this.routeHandles.set(route, (byAlias = new Map()));
    let handle = byAlias.get(alias);
    if (!handle) byAlias.set(alias, (handle = new RequestMetrics(this.requests, this.duration, route, alias)));
    return handle;
  }

  scored(alias: string, version: number, shadow: boolean, rows: number): void {
    let byVersion = this.scoredHandles.get(alias);
    if (!byVersion) this.scoredHandles.set(alias, (byVersion = new Map()));
    let pair = byVersion.get(version);
    if (!pair) {
      pair = [this.rowsScored.labels(alias, String(version), 'false'), this.rowsScored.labels(alias, String(version), 'true')];
      byVersion.set(version, pair);
    }
    pair[shadow ? 1 : 0]!.inc(rows);
  }

  setServed(alias: string, version: number, previous: number | null): void {
    if (previous !== null && previous !== version) this.servedModel.remove(alias, String(previous));
    this.servedModel.set({ alias, version: String(version) }, 1);
  }
}

/** `mlops_requests_total` by status and `mlops_request_duration_seconds` for one route and alias. */
export class RequestMetrics {
  private readonly byStatus = new Map<number, { inc(): void }>();
  private readonly histogram: { observe(v: number): void };

  constructor(
    private readonly requests: Counter<'route' | 'alias' | 'status'>,
    duration: Histogram<'route' | 'alias'>,
    private readonly route: string,
    private readonly alias: string,
  ) {
    this.histogram = duration.labels(route, alias);
  }

  observe(status: number, seconds: number): void {
    let counter = this.byStatus.get(status);
    if (!counter) this.byStatus.set(status, (counter = this.requests.labels(this.route, this.alias, String(status))));
    counter.inc();
    this.histogram.observe(seconds);
  }
}
