import { createRng } from './random';
import { FEATURES, N_FEATURES, type Feature } from './schema';

/**
 * The reference profile stored with each version (`reference.json`): what the drift monitor compares
 * production against, and the golden rows the smoke tests score.
 */
export interface ColumnProfile {
  count: number;
  nullCount: number;
  nullRate: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  quantiles: { probs: number[]; values: number[] };
  /** Equal-width histogram over [min, max] of the non-null values. */
  histogram: { edges: number[]; counts: number[] };
  /** A seeded uniform sample of the non-null values (at most `sampleSize`), in row order. */
  sample: number[];
}

export interface ReferenceProfile {
  schemaVersion: 1;
  createdAt: string;
  rows: number;
  sampleSize: number;
  features: Record<Feature, ColumnProfile>;
  prediction: ColumnProfile;
  target: ColumnProfile | null;
  /** Rows with the model's own float32-exact predictions: smoke tests check a loaded model reproduces them. */
  goldenRows: { features: number[][]; predictions: number[] };
}

export const QUANTILE_PROBS = [0, 0.01, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.99, 1];
export const DEFAULT_SAMPLE_SIZE = 10_000;
const HISTOGRAM_BINS = 20;
const GOLDEN_ROWS = 32;

/** Linear-interpolated quantile of sorted values (numpy's default "linear" method). */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] as number;
  return a + (h - lo) * ((sorted[hi] as number) - a);
}

/** Profiles one column; NaN and null count as missing. `sampleIndex` picks the rows kept in the sample. */
export function profileColumn(values: ArrayLike<number | null>, sampleIndex: ArrayLike<number>): ColumnProfile {
  const present: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) present.push(v);
  }
  const count = present.length;
  const nullCount = values.length - count;
  const base = { count, nullCount, nullRate: values.length ? nullCount / values.length : 0 };
  if (count === 0) {
    return { ...base, mean: null, std: null, min: null, max: null, quantiles: { probs: QUANTILE_PROBS, values: [] }, histogram: { edges: [], counts: [] }, sample: [] };
  }
  const sorted = Float64Array.from(present).sort();
  let mean = 0;
  for (const v of present) mean += v;
  mean /= count;
  let ss = 0;
  for (const v of present) ss += (v - mean) * (v - mean);
  const min = sorted[0] as number;
  const max = sorted[count - 1] as number;
  const bins = min === max ? 1 : HISTOGRAM_BINS;
  const width = (max - min) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins ? max : min + k * width));
  const counts = new Array<number>(bins).fill(0);
  for (const v of present) {
    const k = width === 0 ? 0 : Math.min(bins - 1, Math.floor((v - min) / width));
    counts[k]!++;
  }
  const sample: number[] = [];
  for (let k = 0; k < sampleIndex.length; k++) {
    const v = values[sampleIndex[k] as number];
    if (v !== null && v !== undefined && Number.isFinite(v)) sample.push(v);
  }
  return {
    ...base,
    mean,
    std: Math.sqrt(ss / count),
    min,
    max,
    quantiles: { probs: QUANTILE_PROBS, values: QUANTILE_PROBS.map((p) => quantileSorted(sorted, p)) },
    histogram: { edges, counts },
    sample,
  };
}

/**
 * Builds the reference profile from the rows a version was trained on (row-major N × 6 features), the
 * model's predictions on them and, when known, the true targets.
 */
export function buildReferenceProfile(input: {
  X: ArrayLike<number>;
  predictions: ArrayLike<number>;
  target?: ArrayLike<number>;
  seed?: number;
  sampleSize?: number;
}): ReferenceProfile {
  const { X, predictions, target, seed = 42, sampleSize = DEFAULT_SAMPLE_SIZE } = input;
  const n = predictions.length;
  if (X.length !== n * N_FEATURES) throw new RangeError(`X has ${X.length} values, expected ${n} × ${N_FEATURES}`);
  if (n === 0) throw new RangeError('cannot profile zero rows');
  const rng = createRng(seed);
  const sampleIndex = n <= sampleSize ? Uint32Array.from({ length: n }, (_, i) => i) : rng.sample(n, sampleSize).sort();
  const column = (j: number) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = X[i * N_FEATURES + j] as number;
    return out;
  };
  const features = Object.fromEntries(FEATURES.map((f, j) => [f, profileColumn(column(j), sampleIndex)])) as Record<Feature, ColumnProfile>;
  const golden = rng.sample(n, Math.min(GOLDEN_ROWS, n)).sort();
  return {
    schemaVersion: 1,
    createdAt: new Date().toISOString(),
    rows: n,
    sampleSize: sampleIndex.length,
    features,
    prediction: profileColumn(predictions, sampleIndex),
    target: target ? profileColumn(target, sampleIndex) : null,
    goldenRows: {
      features: Array.from(golden, (i) => Array.from({ length: N_FEATURES }, (_, j) => X[i * N_FEATURES + j] as number)),
      predictions: Array.from(golden, (i) => predictions[i] as number),
    },
  };
}
