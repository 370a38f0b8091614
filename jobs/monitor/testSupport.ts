/**
 * Seeded prediction logs in the server's exact format (core/logRecord.ts, `predictions/date=<day>/part-*.jsonl`),
 * for the monitor's tests and bench. Production rows are drawn from a version's own reference sample (whole rows,
 * so the features stay jointly plausible), optionally shifted or blanked per feature, and scored by the version's
 * real ONNX model when one is given.
 */
import { randomBytes } from 'node:crypto';
import type { PredictionLogRecord } from '../../core/logRecord';
import { errorLogRecord, partitionPrefix } from '../../core/logRecord';
import type { ReferenceProfile } from '../../core/profile';
import { createRng, type Rng } from '../../core/random';
import { FEATURES, N_FEATURES, type Feature } from '../../core/schema';
import type { Storage } from '../../core/storage/index';
import { OnnxModel } from '../../core/model/runtime';
import { ModelRegistry } from '../../core/registry';
import type { TestRegistry } from '../../test/support/models';

export interface RouteSpec {
  alias: string;
  version: number;
  /** Share of requests routed here (non-shadow routes should sum to 1). */
  share: number;
  /** Scores rows (row-major N × 6 float32); default: the reference prediction of the drawn row. */
  predict?: (rows: Float32Array) => Promise<Float32Array>;
}

export interface LogScenario {
  reference: ReferenceProfile;
  model: string;
  days: readonly string[];
  rowsPerDay: number;
  seed: number;
  routes: RouteSpec[];
  /** Scores every request a second time, flagged `shadow: true`. */
  shadow?: RouteSpec;
  /** Add `sigma × reference std` to a feature. */
  shiftSigma?: Partial<Record<Feature, number>>;
  /** Share of rows whose feature is logged as null. */
  nullRate?: Partial<Record<Feature, number>>;
  /** Rows per request (default 1). */
  rowsPerRequest?: number;
  /** Share of extra failed requests (status 400, BAD_REQUEST) per day (default 0). */
  errorRate?: number;
  /** Request latency in ms (default lognormal around 20 ms). */
  latencyMs?: (rng: Rng) => number;
  /** Gives every request a client_request_id `c-<day>-<n>` (default true). */
  clientIds?: boolean;
  /** Receives the ground truth of every served row: the drawn reference row's target (plus `actualNoise`). */
  labelsOut?: Array<{ client_request_id: string; row_index: number; actual: number; day: string; alias: string }>;
  /** Added to the actual value of a row served on `day` (e.g. to make the model look worse later). */
  actualNoise?: (day: string, rng: Rng) => number;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Builds the records of a scenario, in time order. */
export async function generateLogRecords(s: LogScenario): Promise<PredictionLogRecord[]> {
  const rng = createRng(s.seed);
  const ref = s.reference;
  const n = ref.prediction.sample.length;
  const columns = FEATURES.map((f) => ref.features[f].sample);
  if (columns.some((c) => c.length !== n)) throw new Error('reference samples are not aligned; generate from complete rows');
  const shift = FEATURES.map((f) => (s.shiftSigma?.[f] ?? 0) * (ref.features[f].std ?? 0));
  const nullRate = FEATURES.map((f) => s.nullRate?.[f] ?? 0);
  const perRequest = s.rowsPerRequest ?? 1;
  const latency = s.latencyMs ?? ((r: Rng) => Math.exp(Math.log(20) + 0.4 * r.normal()));
  const pickRoute = (): RouteSpec => {
    let u = rng.next();
    for (const r of s.routes) {
      if (u < r.share) return r;
      u -= r.share;
    }
    return s.routes[s.routes.length - 1]!;
  };
  const records: PredictionLogRecord[] = [];
  for (const day of s.days) {
    const dayStart = Date.parse(`${day}T00:00:00.000Z`);
    const requests = Math.ceil(s.rowsPerDay / perRequest);
    const planned: { route: RouteSpec; rows: number[][]; refPred: number[]; at: number; cid: string; rid: string; lat: number }[] = [];
    for (let q = 0; q < requests; q++) {
      const rowCount = Math.min(perRequest, s.rowsPerDay - q * perRequest);
      const rows: number[][] = [];
      const refPred: number[] = [];
      const refIdx: number[] = [];
      for (let k = 0; k < rowCount; k++) {
        const i = rng.nextInt(n);
        refIdx.push(i);
        rows.push(FEATURES.map((_, j) => (rng.next() < nullRate[j]! ? NaN : columns[j]![i]! + shift[j]!)));
        refPred.push(ref.prediction.sample[i]!);
      }
      const at = dayStart + Math.floor((q / requests) * 86_400_000);
      const route = pickRoute();
      if (s.labelsOut && ref.target) {
        refIdx.forEach((i, k) =>
          s.labelsOut!.push({ client_request_id: `c-${day}-${q}`, row_index: k, actual: ref.target!.sample[i]! + (s.actualNoise?.(day, rng) ?? 0), day, alias: route.alias }),
        );
      }
      planned.push({ route, rows, refPred, at, cid: `c-${day}-${q}`, rid: randomBytes(8).toString('hex'), lat: round3(latency(rng)) });
    }
    const score = async (route: RouteSpec, items: typeof planned): Promise<Map<(typeof planned)[number], Float32Array>> => {
      const out = new Map<(typeof planned)[number], Float32Array>();
      if (!route.predict) {
        for (const it of items) out.set(it, Float32Array.from(it.refPred));
        return out;
      }
      const total = items.reduce((a, it) => a + it.rows.length, 0);
      const X = new Float32Array(total * N_FEATURES);
      let o = 0;
      for (const it of items) for (const row of it.rows) for (const v of row) X[o++] = v;
      const p = await route.predict(X);
      let k = 0;
      for (const it of items) {
        out.set(it, p.slice(k, k + it.rows.length));
        k += it.rows.length;
      }
      return out;
    };
    const predictions = new Map<(typeof planned)[number], Float32Array>();
    for (const route of s.routes) {
      for (const [k, v] of await score(route, planned.filter((p) => p.route === route))) predictions.set(k, v);
    }
    const shadowPredictions = s.shadow ? await score(s.shadow, planned) : null;
    const emit = (it: (typeof planned)[number], route: RouteSpec, preds: Float32Array, shadow: boolean) => {
      it.rows.forEach((row, r) => {
        const p = preds[r]!;
        const record = {
          record_type: 'prediction',
          timestamp: new Date(it.at).toISOString(),
          request_id: it.rid,
          client_request_id: s.clientIds === false ? null : it.cid,
          row_index: r,
          model_name: s.model,
          alias: route.alias,
          model_version: route.version,
          shadow,
          ...Object.fromEntries(FEATURES.map((f, j) => [f, Number.isFinite(row[j]!) ? row[j]! : null])),
          prediction: Number.isFinite(p) ? p : null,
          latency_ms: shadow ? round3(it.lat / 2) : it.lat,
          status_code: 200,
          error_code: null,
        } as PredictionLogRecord;
        records.push(record);
      });
    };
    for (const it of planned) {
      emit(it, it.route, predictions.get(it)!, false);
      if (s.shadow && shadowPredictions) emit(it, s.shadow, shadowPredictions.get(it)!, true);
    }
    const errors = Math.round((s.errorRate ?? 0) * requests);
    for (let e = 0; e < errors; e++) {
      records.push(
        errorLogRecord({
          timestamp: new Date(dayStart + Math.floor(((e + 0.5) / errors) * 86_400_000)).toISOString(),
          request_id: randomBytes(8).toString('hex'),
          client_request_id: null,
          model_name: s.model,
          alias: null,
          model_version: null,
          latency_ms: round3(latency(rng) / 4),
          status_code: 400,
          error_code: 'BAD_REQUEST',
        }),
      );
    }
  }
  return records;
}

/** Writes records as the server does: one JSON-lines object per `partFiles` chunk of each day. */
export async function writeLogRecords(storage: Storage, records: readonly PredictionLogRecord[], partFiles = 2): Promise<string[]> {
  const byPrefix = new Map<string, PredictionLogRecord[]>();
  for (const r of records) {
    const prefix = partitionPrefix(new Date(r.timestamp));
    let list = byPrefix.get(prefix);
    if (!list) byPrefix.set(prefix, (list = []));
    list.push(r);
  }
  const keys: string[] = [];
  for (const [prefix, list] of byPrefix) {
    const size = Math.ceil(list.length / partFiles);
    for (let p = 0; p * size < list.length; p++) {
      const key = `${prefix}part-${String(p).padStart(4, '0')}-${randomBytes(4).toString('hex')}.jsonl`;
      await storage.put(key, list.slice(p * size, (p + 1) * size).map((r) => JSON.stringify(r)).join('\n') + '\n', { contentType: 'application/x-ndjson' });
      keys.push(key);
    }
  }
  return keys;
}

/** `count` consecutive days ending with `end`. */
export function daysEnding(end: string, count: number): string[] {
  const t = Date.parse(`${end}T00:00:00.000Z`);
  return Array.from({ length: count }, (_, i) => new Date(t - (count - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

/** The champion's reference profile and both routed models of a test registry, loaded for generating logs. */
export async function loadRoutedModels(registry: TestRegistry): Promise<{ reference: ReferenceProfile; champion: OnnxModel; challenger: OnnxModel }> {
  const reg = ModelRegistry.open(registry.uri);
  const reference = await reg.getReference<ReferenceProfile>(registry.model, registry.versions.champion);
  const champion = await OnnxModel.load(await reg.getModelBytes(registry.model, registry.versions.champion));
  const challenger = await OnnxModel.load(await reg.getModelBytes(registry.model, registry.versions.challenger));
  return { reference, champion, challenger };
}
