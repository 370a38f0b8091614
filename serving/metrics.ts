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
  /** Label children cached by key: looking them up per request is measurable on the hot path. */
  private readonly requestChildren = new Map<string, { inc(): void }>();
  private readonly durationChildren = new Map<string, { observe(v: number): void }>();
  private readonly scoredChildren = new Map<string, { inc(n: number): void }>();

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

  request(route: string, alias: string, status: number, seconds: number): void {
    const key = `${route}\u0001${alias}\u0001${status}`;
    let counter = this.requestChildren.get(key);
    if (!counter) {
      counter = this.requests.labels(route, alias, String(status));
      this.requestChildren.set(key, counter);
    }
    counter.inc();
    const dkey = `${route}\u0001${alias}`;
    let hist = this.durationChildren.get(dkey);
    if (!hist) {
      hist = this.duration.labels(route, alias);
      this.durationChildren.set(dkey, hist);
    }
    hist.observe(seconds);
  }

  scored(alias: string, version: number, shadow: boolean, rows: number): void {
    const key = `${alias}\u0001${version}\u0001${shadow}`;
    let counter = this.scoredChildren.get(key);
    if (!counter) {
      counter = this.rowsScored.labels(alias, String(version), String(shadow));
      this.scoredChildren.set(key, counter);
    }
    counter.inc(rows);
  }

  setServed(alias: string, version: number, previous: number | null): void {
    if (previous !== null && previous !== version) this.servedModel.remove(alias, String(previous));
    this.servedModel.set({ alias, version: String(version) }, 1);
  }
}
