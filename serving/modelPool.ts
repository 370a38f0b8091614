/**
 * The models behind the registry aliases a server routes to: one ONNX session per distinct version, shared by all
 * aliases pointing at it. The alias → model map is replaced as a whole (atomic swap), so a request sees either the
 * old or the new assignment. Sessions are released only once no alias points at them and no request uses them.
 *
 * Every version is smoke-tested before it serves: its reference rows (`reference.json` goldenRows) must score to
 * finite values equal to the predictions recorded at training time. Hot reload polls the aliases; a version that
 * fails to load or to pass the smoke test is not swapped in, the old one keeps serving.
 */
import { UserError } from '../core/errors';
import { OnnxModel } from '../core/model/runtime';
import type { ReferenceProfile } from '../core/profile';
import type { Aliases, ModelRegistry } from '../core/registry';
import { N_FEATURES } from '../core/schema';
import type { ServerMetrics } from './metrics';
import type { LogSink } from './predictionLog';

/**
 * Event-loop turns a coalesced run waits for: with 2, requests read in the next poll phase join the batch. A run
 * costs far more in the server (cold caches) than its per-row share, so fewer, larger runs mean less CPU per request
 * (measured ~15 % at 5,000 req/s); the extra turn adds microseconds of latency when the server is not busy.
 */
const COALESCE_TURNS = 2;

/** Rows per coalesced ONNX run at most; bigger requests run on their own. */
const MAX_BATCH_ROWS = 1024;

interface PendingRun {
  data: Float32Array;
  resolve(out: Float32Array): void;
  reject(err: unknown): void;
}

/**
 * One ONNX session. Concurrent requests that arrive in the same event-loop turn are coalesced into one run
 * (dynamic batching): onnxruntime's per-call cost (tensor marshalling, run setup) dominates single-row scoring,
 * and tree ensembles score rows independently, so results are identical to one run per request.
 */
class VersionHandle {
  private busy = 0;
  private retired = false;
  private released = false;
  private pending: PendingRun[] = [];
  private pendingRows = 0;
  private scheduled = false;

  constructor(
    readonly version: number,
    readonly model: OnnxModel,
  ) {}

  predict(data: Float32Array): Promise<Float32Array> {
    const rows = data.length / N_FEATURES;
    if (rows === 0) return Promise.resolve(new Float32Array(0));
    if (rows >= MAX_BATCH_ROWS) return this.run(data);
    return new Promise<Float32Array>((resolve, reject) => {
      if (this.pendingRows + rows > MAX_BATCH_ROWS) this.flush();
      this.pending.push({ data, resolve, reject });
      this.pendingRows += rows;
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.coalesce, COALESCE_TURNS - 1);
      }
    });
  }

  /** Waits `turnsLeft` more event-loop turns (check phases), then runs what has been coalesced. */
  private readonly coalesce = (turnsLeft: number): void => {
    if (turnsLeft > 0) setImmediate(this.coalesce, turnsLeft - 1);
    else this.flush();
  };

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const rows = this.pendingRows;
    this.pendingRows = 0;
    if (batch.length === 1) {
      const only = batch[0]!;
      this.run(only.data).then(only.resolve, only.reject);
      return;
    }
    const data = new Float32Array(rows * N_FEATURES);
    let offset = 0;
    for (const p of batch) {
      data.set(p.data, offset);
      offset += p.data.length;
    }
    this.run(data).then(
      (out) => {
        let row = 0;
        for (const p of batch) {
          const n = p.data.length / N_FEATURES;
          p.resolve(out.subarray(row, row + n));
          row += n;
        }
      },
      (err: unknown) => {
        for (const p of batch) p.reject(err);
      },
    );
  }

  private async run(data: Float32Array): Promise<Float32Array> {
    this.busy++;
    try {
      return await this.model.predict(data);
    } finally {
      this.busy--;
      if (this.retired && this.busy === 0 && this.pending.length === 0) this.release();
    }
  }

  retire(): void {
    this.retired = true;
    if (this.busy === 0 && this.pending.length === 0) this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    void this.model.release().catch(() => undefined);
  }
}

export interface ServedModel {
  alias: string;
  version: number;
  /** `<alias>/<version>`: the `x-served-model` header value. */
  label: string;
  predict(data: Float32Array): Promise<Float32Array>;
}

export type ReloadOutcome = 'loaded' | 'failed' | 'missing' | 'registry_error';

export interface ReloadReport {
  alias: string;
  outcome: ReloadOutcome;
  from: number | null;
  to: number | null;
  error?: string;
}

/** Relative tolerance of the smoke test against the recorded golden predictions. */
const SMOKE_TOLERANCE = 1e-4;

export class ModelPool {
  private served = new Map<string, ServedModel>();
  private readonly handles = new Map<number, VersionHandle>();
  private pollTimer: NodeJS.Timeout | null = null;
  private reloading: Promise<ReloadReport[]> | null = null;
  private loaded = false;

  constructor(
    private readonly registry: ModelRegistry,
    readonly modelName: string,
    /** Aliases to serve (routes and shadow), in order. */
    readonly aliases: readonly string[],
    private readonly metrics: ServerMetrics,
    private readonly logger: LogSink,
  ) {}

  /** True once every alias has a loaded, smoke-tested model. */
  get ready(): boolean {
    return this.loaded && this.aliases.every((a) => this.served.has(a));
  }

  get(alias: string): ServedModel | undefined {
    return this.served.get(alias);
  }

  /** alias → version currently served. */
  versions(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [alias, m] of this.served) out[alias] = m.version;
    return out;
  }

  /** Loads every alias; a missing model, unknown alias or failing version is a UserError naming it. */
  async load(): Promise<void> {
    const aliases = await this.registry.getAliases(this.modelName);
    const missing = this.aliases.filter((a) => aliases[a] === undefined);
    if (missing.length > 0) {
      const versions = await this.registry.listVersions(this.modelName).catch(() => [] as number[]);
      if (versions.length === 0) {
        // Tell "no such registry" from "no such model" (checked only on this error path: it costs a round trip).
        await this.registry.check();
        throw new UserError(`model '${this.modelName}' not found in registry ${this.registry.uri}`);
      }
      const known = Object.keys(aliases).sort();
      throw new UserError(
        `model '${this.modelName}' has no alias ${missing.map((a) => `'${a}'`).join(', ')} in ${this.registry.uri}; ` +
          `known aliases: ${known.length ? known.map((a) => `${a} → v${aliases[a]}`).join(', ') : '(none)'}`,
      );
    }
    const next = new Map<string, ServedModel>();
    for (const alias of this.aliases) {
      const version = aliases[alias]!;
      let handle: VersionHandle;
      try {
        handle = await this.handleFor(version);
      } catch (err) {
        throw new UserError(`cannot serve alias '${alias}' (model '${this.modelName}' version ${version}): ${(err as Error).message}`);
      }
      next.set(alias, served(alias, handle));
    }
    this.swap(next);
    this.loaded = true;
  }

  /** Polls the aliases every `intervalMs` (0 disables). */
  startPolling(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.pollTimer = setInterval(() => void this.reload(), intervalMs);
    this.pollTimer.unref();
  }

  /** Re-reads the aliases and swaps in changed versions that load and pass the smoke test. */
  reload(): Promise<ReloadReport[]> {
    if (!this.reloading) {
      this.reloading = this.doReload().finally(() => {
        this.reloading = null;
      });
    }
    return this.reloading;
  }

  private async doReload(): Promise<ReloadReport[]> {
    let aliases: Aliases;
    try {
      aliases = await this.registry.getAliases(this.modelName);
    } catch (err) {
      const error = (err as Error).message;
      this.logger.warn({ err: error }, 'model reload: cannot read the registry aliases; keeping the current models');
      return this.aliases.map((alias) => {
        this.metrics.reloads.inc({ alias, outcome: 'registry_error' });
        return { alias, outcome: 'registry_error' as const, from: this.served.get(alias)?.version ?? null, to: null, error };
      });
    }
    const reports: ReloadReport[] = [];
    const next = new Map(this.served);
    for (const alias of this.aliases) {
      const from = this.served.get(alias)?.version ?? null;
      const to = aliases[alias];
      if (to === undefined) {
        this.metrics.reloads.inc({ alias, outcome: 'missing' });
        this.logger.warn({ alias, version: from }, `model reload: alias '${alias}' was removed from the registry; keeping version ${from}`);
        reports.push({ alias, outcome: 'missing', from, to: null });
        continue;
      }
      if (to === from) continue;
      try {
        const handle = await this.handleFor(to);
        next.set(alias, served(alias, handle));
        this.metrics.reloads.inc({ alias, outcome: 'loaded' });
        this.logger.info({ alias, from, to }, `model reload: alias '${alias}' now serves version ${to}`);
        reports.push({ alias, outcome: 'loaded', from, to });
      } catch (err) {
        const error = (err as Error).message;
        this.metrics.reloads.inc({ alias, outcome: 'failed' });
        this.logger.error({ alias, from, to, err: error }, `model reload: version ${to} for alias '${alias}' failed; keeping version ${from}`);
        reports.push({ alias, outcome: 'failed', from, to, error });
      }
    }
    if (reports.some((r) => r.outcome === 'loaded')) this.swap(next);
    this.retireUnused();
    return reports;
  }

  async close(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    if (this.reloading) await this.reloading.catch(() => undefined);
    this.served = new Map();
    this.retireUnused();
  }

  private swap(next: Map<string, ServedModel>): void {
    const previous = this.served;
    this.served = next;
    for (const [alias, m] of next) this.metrics.setServed(alias, m.version, previous.get(alias)?.version ?? null);
  }

  private retireUnused(): void {
    const used = new Set([...this.served.values()].map((m) => m.version));
    for (const [version, handle] of this.handles) {
      if (!used.has(version)) {
        this.handles.delete(version);
        handle.retire();
      }
    }
  }

  /** The session for a version: reused when loaded, else loaded and smoke-tested. */
  private async handleFor(version: number): Promise<VersionHandle> {
    const existing = this.handles.get(version);
    if (existing) return existing;
    const [bytes, reference] = await Promise.all([
      this.registry.getModelBytes(this.modelName, version),
      this.registry.getReference<ReferenceProfile>(this.modelName, version),
    ]);
    const model = await OnnxModel.load(bytes);
    // The fallback still works, only slower: worth a line when an onnxruntime-node upgrade changes its internals.
    if (model.api !== 'native') this.logger.warn({ version }, "onnxruntime-node's native session is not reachable; scoring through its public API (slower)");
    try {
      await smokeTest(model, reference);
    } catch (err) {
      await model.release().catch(() => undefined);
      throw err;
    }
    const handle = new VersionHandle(version, model);
    this.handles.set(version, handle);
    return handle;
  }
}

function served(alias: string, handle: VersionHandle): ServedModel {
  return { alias, version: handle.version, label: `${alias}/${handle.version}`, predict: (d) => handle.predict(d) };
}

/** Scores the reference rows: every prediction must be finite and match the recorded one. */
export async function smokeTest(model: OnnxModel, reference: ReferenceProfile): Promise<void> {
  const golden = reference?.goldenRows;
  if (!golden || !Array.isArray(golden.features) || golden.features.length === 0) {
    throw new Error('smoke test: reference.json has no golden rows to score');
  }
  const data = new Float32Array(golden.features.length * N_FEATURES);
  golden.features.forEach((row, i) => data.set(row, i * N_FEATURES));
  const out = await model.predict(data);
  if (out.length !== golden.features.length) {
    throw new Error(`smoke test: ${golden.features.length} reference rows gave ${out.length} predictions`);
  }
  for (let i = 0; i < out.length; i++) {
    const got = out[i]!;
    if (!Number.isFinite(got)) throw new Error(`smoke test: reference row ${i} scored ${got}, not a finite number`);
    const want = golden.predictions[i];
    if (typeof want === 'number' && Math.abs(got - want) > SMOKE_TOLERANCE * Math.max(1, Math.abs(want))) {
      throw new Error(`smoke test: reference row ${i} scored ${got}, but the version recorded ${want} at training time`);
    }
  }
}
