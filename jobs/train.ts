import { execFileSync } from 'node:child_process';
import type { ModelCard, RegressionMetrics } from '../core/card';
import { renderModelCard } from '../core/cardMarkdown';
import { loadTable, selectRows, toFloat32, years, type TrainingTable } from '../core/data';
import { UserError } from '../core/errors';
import { regressionMetrics } from '../core/metrics';
import { DEFAULT_GBDT_PARAMS, predict, trainGbdt, type GbdtParams, type TreeEnsemble } from '../core/model/gbdt';
import { exportOnnx } from '../core/model/onnx';
import { buildReferenceProfile } from '../core/profile';
import { ModelRegistry } from '../core/registry';
import { FEATURES, MODEL_NAME, TARGET } from '../core/schema';
import { openStorageForWriting } from '../core/storage';
import { randomSplit, timeSplit } from '../core/split';
import { SYNTHETIC_URI, syntheticTable } from '../core/synthetic';

export interface TrainOptions {
  /** A CSV/Parquet path or URI, or `synthetic` for the generated demo table. */
  data: string;
  registry: string;
  model?: string;
  alias?: string;
  seed?: number;
  params?: Partial<GbdtParams>;
  /** Share of rows held out by the seeded random split. */
  testFraction?: number;
  /** Distinct most recent years held out by the time-based evaluation. */
  holdoutYears?: number;
  /** Keep only rows whose year is in [fromYear, toYear] (retraining on a fresh window). */
  fromYear?: number;
  toYear?: number;
  tags?: Record<string, string>;
  /** Already-loaded table (used by retrain and the local environment to avoid loading twice). */
  table?: TrainingTable;
}

export interface TrainResult {
  model: string;
  version: number;
  alias: string | null;
  registry: string;
  synthetic: boolean;
  data: { uri: string; sha256: string; rows: number; usedRows: number; excluded: Record<string, number>; trainRows: number; testRows: number };
  metrics: Record<string, RegressionMetrics>;
  featureImportances: Record<string, number>;
  nTrees: number;
  timings: Record<string, number>;
}

/** Rows whose year lies in [from, to]. */
function windowed(table: TrainingTable, from?: number, to?: number): TrainingTable {
  if (from === undefined && to === undefined) return table;
  const y = years(table);
  const keep: number[] = [];
  for (let i = 0; i < y.length; i++) if ((from === undefined || y[i]! >= from) && (to === undefined || y[i]! <= to)) keep.push(i);
  if (keep.length < 10) {
    throw new UserError(`only ${keep.length} complete rows in the year window ${from ?? '…'}–${to ?? '…'}; need at least 10`);
  }
  return selectRows(table, keep);
}

function gitCommit(): string | null {
  if (process.env.MLOPS_GIT_COMMIT) return process.env.MLOPS_GIT_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).toString().trim() || null;
  } catch {
    return null;
  }
}

function fitAndScore(train: TrainingTable, test: TrainingTable, params: Partial<GbdtParams>): { model: TreeEnsemble; metrics: RegressionMetrics; trainMetrics: RegressionMetrics; ms: number } {
  const t0 = performance.now();
  const model = trainGbdt(toFloat32(train.X), train.y, params);
  const ms = performance.now() - t0;
  return {
    model,
    ms,
    metrics: regressionMetrics(test.y, predict(model, toFloat32(test.X))),
    trainMetrics: regressionMetrics(train.y, predict(model, toFloat32(train.X))),
  };
}

/**
 * Trains a version on the seeded 80/20 split (the registered model is the one fit on the 80 %), evaluates it on
 * the held-out 20 % and, separately, how a model fit on earlier years does on the last K years; checks the
 * ONNX export reproduces the TypeScript model; registers model, card, reference profile and tags; optionally
 * points an alias at it.
 */
export async function runTrain(options: TrainOptions): Promise<TrainResult> {
  const timings: Record<string, number> = {};
  const started = performance.now();
  const modelName = options.model ?? MODEL_NAME;
  const seed = options.seed ?? 42;
  const params: Partial<GbdtParams> = { ...DEFAULT_GBDT_PARAMS, ...options.params, seed };

  const registry = new ModelRegistry(await openStorageForWriting(options.registry));

  let t = performance.now();
  const loaded = options.table ?? (options.data === 'synthetic' ? syntheticTable({ seed }) : await loadTable(options.data));
  const table = windowed(loaded, options.fromYear, options.toYear);
  timings.load_ms = performance.now() - t;
  if (table.usedRows < 10) throw new UserError(`only ${table.usedRows} complete rows in ${table.source.uri}; need at least 10 to train`);

  const split = randomSplit(table.usedRows, options.testFraction ?? 0.2, seed);
  const train = selectRows(table, split.train);
  const test = selectRows(table, split.test);
  const main = fitAndScore(train, test, params);
  timings.train_ms = main.ms;

  const metrics: Record<string, RegressionMetrics> = { random_holdout: main.metrics, train: main.trainMetrics };
  t = performance.now();
  try {
    const ts = timeSplit(years(table), options.holdoutYears ?? 5);
    if (ts.train.length >= 10 && ts.test.length >= 1) {
      metrics[`temporal_holdout_from_${ts.firstTestYear}`] = fitAndScore(selectRows(table, ts.train), selectRows(table, ts.test), params).metrics;
    }
  } catch (err) {
    // Too few distinct years for a time split (tiny or single-year data): the random holdout still stands.
    if (!(err instanceof RangeError)) throw err;
  }
  timings.temporal_eval_ms = performance.now() - t;

  t = performance.now();
  const trainX32 = toFloat32(train.X);
  const trainPred = predict(main.model, trainX32);
  const reference = buildReferenceProfile({ X: train.X, predictions: trainPred, target: train.y, seed });
  timings.profile_ms = performance.now() - t;

  const createdAt = new Date().toISOString();
  const card: Omit<ModelCard, 'version'> = {
    name: modelName,
    createdAt,
    framework: main.model.format,
    features: FEATURES,
    target: TARGET,
    params: { ...params, testFraction: options.testFraction ?? 0.2, holdoutYears: options.holdoutYears ?? 5, fromYear: options.fromYear ?? null, toYear: options.toYear ?? null, nTrees: main.model.nTrees },
    metrics,
    featureImportances: main.model.featureImportances,
    data: {
      uri: table.source.synthetic ? SYNTHETIC_URI : table.source.uri,
      sha256: table.source.sha256,
      synthetic: table.source.synthetic,
      rows: loaded.rows,
      usedRows: table.usedRows,
      excluded: { ...loaded.excluded, ...(table !== loaded ? { outsideYearWindow: loaded.usedRows - table.usedRows } : {}) },
    },
    lineage: { gitCommit: gitCommit(), trainer: main.model.format, nodeVersion: process.version, seed },
    timings: { ...timings },
    tags: { ...(options.tags ?? {}), ...(table.source.synthetic ? { synthetic: 'true' } : {}) },
  };

  t = performance.now();
  const onnx = exportOnnx(main.model, { modelName, extra: { created_at: createdAt, data_sha256: table.source.sha256 } });
  await verifyOnnxParity(onnx, reference.goldenRows.features, reference.goldenRows.predictions);
  timings.export_ms = performance.now() - t;

  t = performance.now();
  const registered = await registry.register(modelName, {
    onnx,
    card,
    reference,
    cardMarkdown: (c) => renderModelCard(c, reference),
    tags: card.tags,
  });
  if (options.alias) await registry.setAlias(modelName, options.alias, registered.version);
  timings.register_ms = performance.now() - t;
  timings.total_ms = performance.now() - started;

  return {
    model: modelName,
    version: registered.version,
    alias: options.alias ?? null,
    registry: registry.uri,
    synthetic: table.source.synthetic,
    data: { ...card.data, trainRows: train.usedRows, testRows: test.usedRows },
    metrics,
    featureImportances: main.model.featureImportances as Record<string, number>,
    nTrees: main.model.nTrees,
    timings,
  };
}

/** Refuses to register an ONNX file that does not reproduce the TypeScript model on the golden rows. */
async function verifyOnnxParity(onnx: Uint8Array, rows: number[][], expected: number[]): Promise<void> {
  const { OnnxModel } = await import('../core/model/runtime.js');
  const session = await OnnxModel.load(onnx);
  try {
    const got = await session.predict(rows);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
    if (!(worst <= 1e-4)) throw new Error(`ONNX export does not reproduce the trained model: max abs difference ${worst} on the golden rows`);
  } finally {
    await session.release();
  }
}

export function describeTrainResult(r: TrainResult): string[] {
  const lines = [
    `registered ${r.model} version ${r.version}${r.alias ? ` as '${r.alias}'` : ''} in ${r.registry}${r.synthetic ? '  [SYNTHETIC DATA]' : ''}`,
    `data: ${r.data.usedRows} of ${r.data.rows} rows used (${Object.entries(r.data.excluded).map(([k, v]) => `${k} ${v}`).join(', ')}); train ${r.data.trainRows}, test ${r.data.testRows}`,
  ];
  for (const [name, mm] of Object.entries(r.metrics)) {
    lines.push(`${name.padEnd(30)} R² ${mm.r2.toFixed(4)}  RMSE ${mm.rmse.toFixed(3)}  MAE ${mm.mae.toFixed(3)}  MAPE ${mm.mape === null ? '–' : mm.mape.toFixed(2) + ' %'}  n ${mm.n}`);
  }
  lines.push(`trees: ${r.nTrees}; timings (ms): ${Object.entries(r.timings).map(([k, v]) => `${k.replace(/_ms$/, '')} ${Math.round(v)}`).join(', ')}`);
  return lines;
}
