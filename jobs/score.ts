/**
 * Batch scoring: `mlops score` reads a CSV or Parquet table, scores every row with a registered model version and
 * writes one Parquet file per run date, plus the rows that could not be scored (with the reason) beside it.
 *
 * One pass over the input, in bounded memory on inputs larger than RAM: DuckDB (under a `memory_limit`, spilling to
 * a scratch directory) reads and parses the input and writes the scored Parquet file, and the model runs inside that
 * query as a DuckDB scalar function that scores each 2,048-row vector with onnxruntime. JavaScript only ever holds
 * one vector's features; kept columns never pass through it. The rejects are written by a second query over the
 * input, run only when the first one met rows that cannot be scored.
 *
 * Idempotent per date: each output file is written to a temporary name and renamed over `part-0.parquet`
 * (local), or uploaded as one blob put (Azure: a block blob becomes visible only when committed). A re-run of a date
 * therefore replaces the partition atomically — no duplicates, never a half-written file. Rejects are published
 * before the scored rows, so a visible new scored file means the run finished.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { chunkDoubles, duckdbApi, duckdbBindings, sqlString } from '../core/duckdb';
import { NotFoundError, UserError } from '../core/errors';
import { readOnnxMetadata } from '../core/model/onnx';
import { OnnxModel } from '../core/model/runtime';
import { ModelRegistry } from '../core/registry';
import { FEATURES, FLOAT32_MAX, MODEL_NAME, N_FEATURES } from '../core/schema';
import { isRemoteUri, openStorage, type Storage } from '../core/storage/index';
import { localPathOf } from '../core/storage/local';
import { openStorageForObject } from '../core/storage/objectUri';
import { PolicyFailure } from './cliSupport';

/** DuckDB's vector size: the most rows one data chunk holds (one model call). */
const CHUNK_ROWS = 2048;
export const DEFAULT_MAX_REJECT_SHARE = 0.05;
export const DEFAULT_MEMORY_LIMIT = '1GB';
/** Identifier columns carried into the outputs when the input has them (OWID names). */
export const DEFAULT_KEEP_COLUMNS = ['country', 'iso_code'];
const PART_FILE = 'part-0.parquet';
/** Cells read as missing, as the training loader does. */
const MISSING_TOKENS = ['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL'];
const NUMERIC_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;

export type InputFormat = 'csv' | 'parquet';

/**
 * Anything that scores a row-major N × 6 float32 matrix synchronously (OnnxModel on onnxruntime's native session
 * does): the model is called from inside a DuckDB query, which cannot wait for a promise.
 */
export interface Predictor {
  predictSync(rows: Float32Array): Float32Array;
}

export interface ScoreFileOptions {
  predictor: Predictor;
  /** Local file path (or a local glob) of the input. */
  inputFile: string;
  format: InputFormat;
  /** Local destinations: written as given (callers pass temporary names and rename). */
  scoredFile: string;
  rejectsFile: string;
  /** Scratch directory for DuckDB's spill files. */
  workDir: string;
  meta: { modelVersion: number; modelAlias: string; scoredAt: string; runId: string };
  memoryLimit?: string;
  threads?: number;
  /** Columns to carry into both outputs; missing ones are ignored. Default DEFAULT_KEEP_COLUMNS. */
  keep?: string[];
}

export interface ScoreFileResult {
  rows: number;
  scored: number;
  rejects: number;
  /** Reject counts by reason (the reason names the column). */
  rejectReasons: Record<string, number>;
  keptColumns: string[];
  timings: { setup_ms: number; score_ms: number; rejects_ms: number };
}

export function formatOf(uri: string): InputFormat {
  const lower = uri.toLowerCase().replace(/[?#].*$/, '');
  if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return 'parquet';
  if (/\.(csv|tsv|txt)(\.gz|\.zst)?$/.test(lower)) return 'csv';
  throw new UserError(`cannot tell the format of ${uri}: expected a .csv (optionally .gz) or .parquet file`);
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function sourceSql(file: string, format: InputFormat): string {
  // CSV cells are read as text so that one bad cell becomes a reject instead of failing the type detection.
  return format === 'csv'
    ? `read_csv(${sqlString(file)}, header = true, all_varchar = true)`
    : `read_parquet(${sqlString(file)})`;
}

/**
 * SQL that parses the six features, picks the first problem of each row and keeps the offending raw text. Its working
 * columns are named `_mlops_*`; input columns with such names are never carried.
 */
function parseSql(source: string, types: Map<string, string>, keep: string[]): string {
  const inner: string[] = keep.map((c) => quoteIdent(c));
  const bad: string[] = [];
  const reasons: string[] = [];
  FEATURES.forEach((feature, j) => {
    const col = quoteIdent(feature);
    const type = types.get(feature)!;
    if (type === 'VARCHAR') {
      // list_contains, not `IN (…)`: DuckDB plans an IN list this long as a hash join per column (~0.25 s per column
      // per million rows measured), which the optimizer then keeps even where the flag is never used.
      inner.push(`(${col} IS NULL OR list_contains([${MISSING_TOKENS.map(sqlString).join(', ')}], trim(${col}))) AS _mlops_m${j}`);
      inner.push(`TRY_CAST(${col} AS DOUBLE) AS _mlops_v${j}`); // the cast itself ignores surrounding whitespace
    } else {
      inner.push(`(${col} IS NULL OR isnan(CAST(${col} AS DOUBLE))) AS _mlops_m${j}`);
      inner.push(`CAST(${col} AS DOUBLE) AS _mlops_v${j}`);
    }
    inner.push(`${col} AS _mlops_o${j}`);
    bad.push(`(_mlops_m${j} OR _mlops_v${j} IS NULL OR NOT isfinite(_mlops_v${j}) OR abs(_mlops_v${j}) > ${FLOAT32_MAX})`);
    const name = feature.replace(/'/g, "''");
    reasons.push(
      `WHEN _mlops_m${j} THEN 'missing value in column ''${name}'''`,
      `WHEN _mlops_v${j} IS NULL THEN 'not a number in column ''${name}'''`,
      `WHEN NOT isfinite(_mlops_v${j}) THEN 'non-finite value in column ''${name}'''`,
      `WHEN abs(_mlops_v${j}) > ${FLOAT32_MAX} THEN 'out of float32 range in column ''${name}'''`,
    );
  });
  const outer = [
    ...keep.map((c) => quoteIdent(c)),
    ...FEATURES.map((f, j) => `_mlops_v${j} AS ${quoteIdent(f)}`),
    // The same verdict as `reason IS NULL`, without the missing-token test (no text is trimmed or compared): every
    // missing token either fails the cast or reads as NaN, which is not finite.
    `coalesce(${FEATURES.map((_, j) => `isfinite(_mlops_v${j}) AND abs(_mlops_v${j}) <= ${FLOAT32_MAX}`).join(' AND ')}, false) AS ok`,
    `CASE ${reasons.join(' ')} ELSE NULL END AS reason`,
    `CASE ${bad.map((b, j) => `WHEN ${b} THEN CAST(_mlops_o${j} AS VARCHAR)`).join(' ')} ELSE NULL END AS raw_value`,
  ];
  return `SELECT ${outer.join(', ')} FROM (SELECT ${inner.join(', ')} FROM ${source})`;
}

/** The files a local path or glob names, with their sizes and modification times. */
async function inputFingerprint(conn: DuckDBConnection, inputFile: string): Promise<string> {
  const files = (await (await conn.runAndReadAll(`SELECT file FROM glob(${sqlString(inputFile)}) ORDER BY file`)).getRowsJS()).map((r) => String(r[0]));
  const stats = await Promise.all(files.map(async (f) => fs.stat(f).then((st) => `${f}\t${st.size}\t${st.mtimeMs}`, () => `${f}\tgone`)));
  return stats.join('\n');
}

async function describe(conn: DuckDBConnection, source: string, inputFile: string): Promise<Map<string, string>> {
  try {
    const rows = await (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowObjectsJS();
    return new Map(rows.map((r) => [String(r['column_name']), String(r['column_type'])]));
  } catch (err) {
    const first = (err as Error).message.split('\n')[0] ?? '';
    if (/No files found|No such file|does not exist/i.test(first)) throw new UserError(`input not found: ${inputFile}`);
    throw new UserError(`cannot read input ${inputFile}: ${first}`);
  }
}

/** The SQL name of the scoring function registered on the engine's own DuckDB instance. */
const PREDICT_FUNCTION = 'mlops_predict';

interface ScoringCounters {
  /** Input rows the function saw (every row of the input). */
  rows: number;
  /** Rows it scored (the others are rejects). */
  scored: number;
  /** The first error thrown while scoring (DuckDB only carries its message). */
  error: unknown;
}

/**
 * Registers `mlops_predict(ok BOOLEAN, f1 … f6 DOUBLE) → DOUBLE` on the instance: the model's prediction for rows
 * with `ok`, NULL for the others. DuckDB calls it once per vector of at most 2,048 rows with flat vectors (its C API
 * flattens every input first); the calls arrive on the JavaScript thread while the query runs on DuckDB's threads,
 * so reading the next input, the other columns and the Parquet encoding overlap with onnxruntime. The function is
 * volatile, so the optimizer never duplicates it into a pushed-down filter: it runs exactly once per input row.
 */
function registerPredictFunction(connection: DuckDBConnection, predictor: Predictor): ScoringCounters {
  const api = duckdbApi();
  const bindings = duckdbBindings();
  const counters: ScoringCounters = { rows: 0, scored: 0, error: undefined };
  const features = new Float32Array(CHUNK_ROWS * N_FEATURES);
  const out = new Float64Array(CHUNK_ROWS);
  const validity = new Uint8Array(CHUNK_ROWS / 8);
  const fn = new api.DuckDBScalarFunction();
  fn.setName(PREDICT_FUNCTION);
  fn.addParameter(api.BOOLEAN);
  for (let j = 0; j < N_FEATURES; j++) fn.addParameter(api.DOUBLE);
  fn.setReturnType(api.DOUBLE);
  fn.setVolatile();
  // Raw vectors (no per-value calls): the node-api wrapper would build JavaScript objects for every row.
  bindings.scalar_function_set_function(fn.scalar_function, (info, input, output) => {
    try {
      const n = bindings.data_chunk_get_size(input);
      const ok = bindings.vector_get_data(bindings.data_chunk_get_vector(input, 0), n);
      const c0 = chunkDoubles(input, 1, n), c1 = chunkDoubles(input, 2, n), c2 = chunkDoubles(input, 3, n);
      const c3 = chunkDoubles(input, 4, n), c4 = chunkDoubles(input, 5, n), c5 = chunkDoubles(input, 6, n);
      let k = 0;
      // `ok` is true only when every feature is a finite number in float32 range (never NULL).
      for (let r = 0; r < n; r++) {
        if (ok[r] !== 1) continue;
        const base = k++ * 6; // N_FEATURES, spelled out: this loop is the hot path
        features[base] = c0[r]!;
        features[base + 1] = c1[r]!;
        features[base + 2] = c2[r]!;
        features[base + 3] = c3[r]!;
        features[base + 4] = c4[r]!;
        features[base + 5] = c5[r]!;
      }
      const predictions = k > 0 ? predictor.predictSync(features.subarray(0, k * N_FEATURES)) : new Float32Array(0);
      if (predictions.length !== k) throw new Error(`the model returned ${predictions.length} predictions for ${k} rows`);
      let all = true;
      validity.fill(0xff);
      for (let r = 0, i = 0; r < n; r++) {
        if (ok[r] === 1) {
          out[r] = predictions[i++]!;
        } else {
          validity[r >> 3]! &= ~(1 << (r & 7));
          all = false;
        }
      }
      bindings.copy_data_to_vector(output, 0, out.buffer, 0, n * 8);
      if (!all) {
        bindings.vector_ensure_validity_writable(output);
        bindings.copy_data_to_vector_validity(output, 0, validity.buffer, 0, Math.ceil(n / 64) * 8);
      }
      counters.rows += n;
      counters.scored += k;
    } catch (err) {
      counters.error ??= err;
      bindings.scalar_function_set_error(info, (err as Error).message ?? String(err));
    }
  });
  connection.registerScalarFunction(fn);
  fn.destroySync();
  return counters;
}

/**
 * Scores a local file into two local Parquet files (the engine behind `runScore`; also used by the benchmark).
 */
export async function scoreFile(options: ScoreFileOptions): Promise<ScoreFileResult> {
  const tSetup = performance.now();
  const api = duckdbApi();
  const config: Record<string, string> = {
    memory_limit: options.memoryLimit ?? DEFAULT_MEMORY_LIMIT,
    temp_directory: path.join(options.workDir, 'spill'),
    preserve_insertion_order: 'true',
  };
  if (options.threads !== undefined) config.threads = String(options.threads);
  let instance;
  try {
    // Nothing is stored: an in-memory database, which still spills operator state to `temp_directory`.
    instance = await api.DuckDBInstance.create(':memory:', config);
  } catch (err) {
    throw new UserError(`cannot start DuckDB: ${(err as Error).message.split('\n')[0]}`);
  }
  const conn = await instance.connect();
  try {
    const source = sourceSql(options.inputFile, options.format);
    const types = await describe(conn, source, options.inputFile);
    const missing = FEATURES.filter((f) => !types.has(f));
    if (missing.length > 0) {
      throw new UserError(
        `${options.inputFile}: missing required column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} ` +
          `(the model needs ${FEATURES.join(', ')})`,
      );
    }
    for (const f of FEATURES) {
      const t = types.get(f)!;
      if (t !== 'VARCHAR' && !NUMERIC_TYPE.test(t)) throw new UserError(`${options.inputFile}: column '${f}' has type ${t}; a number is required`);
    }
    const reserved = new Set<string>([...FEATURES, 'prediction', 'model_version', 'model_alias', 'scored_at', 'run_id', 'reason', 'raw_value', 'ok']);
    // DuckDB's identifiers are case-insensitive, so the reserved names are too.
    const keep = (options.keep ?? DEFAULT_KEEP_COLUMNS).filter((c) => types.has(c) && !reserved.has(c.toLowerCase()) && !c.toLowerCase().startsWith('_mlops_'));
    const parsed = parseSql(source, types, keep);
    // The input is read again for the rejects: the files must not change in between (checked after the writes).
    const fingerprint = await inputFingerprint(conn, options.inputFile);
    const counters = registerPredictFunction(conn, options.predictor);

    const { modelVersion, modelAlias, scoredAt, runId } = options.meta;
    if (!Number.isSafeInteger(modelVersion)) throw new Error(`model version must be an integer, got ${modelVersion}`);
    const metaSql = `CAST(${modelVersion} AS INTEGER) AS model_version, ${sqlString(modelAlias)} AS model_alias, CAST(${sqlString(scoredAt)} AS TIMESTAMPTZ) AS scored_at, ${sqlString(runId)} AS run_id`;
    const parquet = `(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`;
    const columns = [...keep, ...FEATURES].map(quoteIdent).join(', ');

    // One pass: DuckDB reads and parses the input, calls the model on every vector and writes the scored Parquet
    // file in input order; the prediction is NULL exactly for the rows that cannot be scored.
    const t0 = performance.now();
    try {
      await conn.run(
        `COPY (SELECT ${columns}, prediction, ${metaSql} FROM (SELECT ${columns}, ${PREDICT_FUNCTION}(ok, ${FEATURES.map(quoteIdent).join(', ')}) AS prediction FROM (${parsed})) WHERE prediction IS NOT NULL) TO ${sqlString(options.scoredFile)} ${parquet}`,
      );
    } catch (err) {
      throw counters.error ?? err;
    }
    const t1 = performance.now();
    const { rows: total, scored } = counters;
    // Without rejects (the common case) the input is not read again, not even to bind the query: the same columns
    // with the same types (the input's for kept columns), no rows.
    const rejectRows =
      scored === total
        ? `SELECT ${[...keep.map((c) => `CAST(NULL AS ${types.get(c)!}) AS ${quoteIdent(c)}`), ...FEATURES.map((f) => `CAST(NULL AS DOUBLE) AS ${quoteIdent(f)}`), 'CAST(NULL AS VARCHAR) AS reason', 'CAST(NULL AS VARCHAR) AS raw_value'].join(', ')} LIMIT 0`
        : `SELECT ${columns}, reason, raw_value FROM (${parsed}) WHERE reason IS NOT NULL`;
    await conn.run(`COPY (SELECT *, ${metaSql} FROM (${rejectRows})) TO ${sqlString(options.rejectsFile)} ${parquet}`);
    if ((await inputFingerprint(conn, options.inputFile)) !== fingerprint) {
      throw new UserError(`${options.inputFile}: the input files changed while they were being scored; nothing was published, run again`);
    }
    const reasonRows = await (
      await conn.runAndReadAll(`SELECT reason, count(*)::DOUBLE AS n FROM read_parquet(${sqlString(options.rejectsFile)}) GROUP BY reason ORDER BY n DESC, reason`)
    ).getRowObjectsJS();
    const rejects = reasonRows.reduce((sum, r) => sum + Number(r.n), 0);
    if (scored + rejects !== total) throw new Error(`scored ${scored} and rejected ${rejects} rows of ${total}`);
    // Every scored row is in the file (the count comes from the Parquet footer).
    const written = Number((await (await conn.runAndReadAll(`SELECT count(*)::DOUBLE FROM read_parquet(${sqlString(options.scoredFile)})`)).getRowsJS())[0]![0]);
    if (written !== scored) throw new Error(`scored ${scored} rows but the output holds ${written}`);
    const t2 = performance.now();

    return {
      rows: total,
      scored,
      rejects,
      rejectReasons: Object.fromEntries(reasonRows.map((r) => [String(r.reason), Number(r.n)])),
      keptColumns: keep,
      timings: { setup_ms: t0 - tSetup, score_ms: t1 - t0, rejects_ms: t2 - t1 },
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export interface ScoreOptions {
  registry: string;
  model?: string;
  /** Alias (default `champion`), `latest` or a version number. */
  alias?: string;
  input: string;
  output: string;
  /** Run date `YYYY-MM-DD` (UTC); default today. Names the output partition. */
  date?: string;
  maxRejectShare?: number;
  memoryLimit?: string;
  threads?: number;
  /** Parent of the scratch directory; default the OS temp dir (`TMPDIR`). */
  tempDir?: string;
  keep?: string[];
  runId?: string;
}

export interface ScoreResult {
  command: 'score';
  model: string;
  model_version: number;
  model_alias: string;
  run_id: string;
  date: string;
  input: string;
  rows: number;
  scored: number;
  rejects: number;
  reject_share: number;
  max_reject_share: number;
  reject_reasons: Record<string, number>;
  kept_columns: string[];
  duration_ms: number;
  rows_per_s: number;
  outputs: { scored: string; rejects: string };
  timings: Record<string, number>;
}

function checkDate(date: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const parsed = match ? new Date(`${date}T00:00:00Z`) : null;
  if (!parsed || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date) {
    throw new UserError(`--date must be a calendar date YYYY-MM-DD, got '${date}'`);
  }
  return date;
}

/** Optional streaming methods a Storage may offer; used when present so that big files never sit in memory. */
interface FileTransfers {
  getToFile?(key: string, file: string): Promise<void>;
  putFile?(key: string, file: string, options?: { contentType?: string }): Promise<{ etag: string }>;
}

async function stageInput(uri: string, workDir: string): Promise<string> {
  if (!isRemoteUri(uri)) {
    const file = localPathOf(uri);
    if (!/[*?[]/.test(file)) {
      const stat = await fs.stat(file).catch(() => null);
      if (!stat) throw new UserError(`input not found: ${uri}`);
      if (!stat.isFile()) throw new UserError(`input is not a file: ${uri}`);
    }
    return file;
  }
  const { storage, key } = openStorageForObject(uri);
  const name = key.split('/').pop() ?? 'input';
  const file = path.join(workDir, `input-${name}`);
  const transfers = storage as Storage & FileTransfers;
  try {
    if (transfers.getToFile) await transfers.getToFile(key, file);
    else await fs.writeFile(file, await storage.get(key));
  } catch (err) {
    if (err instanceof NotFoundError) throw new UserError(`input not found: ${uri}`);
    throw err;
  }
  return file;
}

async function publishLocal(temp: string, final: string): Promise<void> {
  const handle = await fs.open(temp, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, final);
}

/**
 * Loads a model the way batch scoring runs it: onnxruntime's native session (the model is called synchronously from
 * inside the DuckDB query), `threads` intra-op threads (default: the cores, at most 4), and no spin-waiting between
 * calls: onnxruntime's threads would otherwise spin on the cores DuckDB's threads need for reading and writing
 * (~0.8 s of CPU per million rows measured on 2 cores).
 */
export async function loadBatchModel(bytes: Uint8Array, threads?: number): Promise<OnnxModel> {
  const model = await OnnxModel.load(bytes, { intraOpNumThreads: threads ?? Math.max(1, Math.min(4, os.availableParallelism())), spinning: false });
  if (model.api !== 'native') {
    await model.release();
    throw new UserError("batch scoring needs onnxruntime-node's native session, which this onnxruntime-node version does not expose; install the locked version (npm ci)");
  }
  return model;
}

/** Resolves the model, scores `input` and publishes `<output>/date=<date>/part-0.parquet` and its rejects. */
export async function runScore(options: ScoreOptions): Promise<ScoreResult> {
  const started = performance.now();
  const modelName = options.model ?? MODEL_NAME;
  const alias = options.alias ?? 'champion';
  const date = checkDate(options.date ?? new Date().toISOString().slice(0, 10));
  const maxRejectShare = options.maxRejectShare ?? DEFAULT_MAX_REJECT_SHARE;
  const format = formatOf(options.input);
  const scoredAt = new Date().toISOString();
  const runId = options.runId ?? `score-${date}-${randomUUID()}`;
  const timings: Record<string, number> = {};

  let t = performance.now();
  const registry = ModelRegistry.open(options.registry);
  await registry.check();
  const version = await registry.resolve(modelName, alias);
  const bytes = await registry.getModelBytes(modelName, version);
  const declared = readOnnxMetadata(bytes).feature_names;
  if (declared !== undefined && declared !== FEATURES.join(',')) {
    throw new UserError(`model '${modelName}' version ${version} expects features [${declared}], not the schema's [${FEATURES.join(', ')}]`);
  }
  const model = await loadBatchModel(bytes, options.threads);
  timings.load_model_ms = performance.now() - t;

  const remoteOutput = isRemoteUri(options.output);
  const workDir = await fs.mkdtemp(path.join(options.tempDir ?? os.tmpdir(), 'mlops-score-'));
  const scoredKey = `date=${date}/${PART_FILE}`;
  const rejectsKey = `rejects/date=${date}/${PART_FILE}`;
  const outputRoot = options.output.replace(/\/+$/, '');
  try {
    t = performance.now();
    const inputFile = await stageInput(options.input, workDir);
    timings.stage_input_ms = performance.now() - t;

    let scoredFile: string;
    let rejectsFile: string;
    let finals: { scored: string; rejects: string } | null = null;
    if (remoteOutput) {
      scoredFile = path.join(workDir, 'scored.parquet');
      rejectsFile = path.join(workDir, 'rejects.parquet');
    } else {
      const root = localPathOf(options.output);
      const scoredDir = path.join(root, `date=${date}`);
      const rejectsDir = path.join(root, 'rejects', `date=${date}`);
      await fs.mkdir(scoredDir, { recursive: true });
      await fs.mkdir(rejectsDir, { recursive: true });
      // Temporary names start with `.~` (invisible to Storage.list and to `*.parquet` globs) in the final directory,
      // so the rename is atomic.
      const suffix = randomBytes(6).toString('hex');
      scoredFile = path.join(scoredDir, `.~tmp.${PART_FILE}.${suffix}`);
      rejectsFile = path.join(rejectsDir, `.~tmp.${PART_FILE}.${suffix}`);
      finals = { scored: path.join(scoredDir, PART_FILE), rejects: path.join(rejectsDir, PART_FILE) };
    }

    let engine: ScoreFileResult;
    try {
      engine = await scoreFile({
        predictor: model,
        inputFile,
        format,
        scoredFile,
        rejectsFile,
        workDir,
        meta: { modelVersion: version, modelAlias: alias, scoredAt, runId },
        ...(options.memoryLimit !== undefined ? { memoryLimit: options.memoryLimit } : {}),
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        ...(options.keep !== undefined ? { keep: options.keep } : {}),
      });
    } catch (err) {
      if (finals) await Promise.all([fs.rm(scoredFile, { force: true }), fs.rm(rejectsFile, { force: true })]);
      throw err;
    } finally {
      await model.release();
    }
    Object.assign(timings, engine.timings);

    t = performance.now();
    if (finals) {
      await publishLocal(rejectsFile, finals.rejects);
      await publishLocal(scoredFile, finals.scored);
    } else {
      const storage = openStorage(options.output) as Storage & FileTransfers;
      const upload = async (key: string, file: string): Promise<void> => {
        if (storage.putFile) await storage.putFile(key, file, { contentType: 'application/vnd.apache.parquet' });
        else await storage.put(key, await fs.readFile(file), { contentType: 'application/vnd.apache.parquet' });
      };
      await upload(rejectsKey, rejectsFile);
      await upload(scoredKey, scoredFile);
    }
    timings.publish_ms = performance.now() - t;

    const duration = performance.now() - started;
    const rejectShare = engine.rows === 0 ? 0 : engine.rejects / engine.rows;
    const result: ScoreResult = {
      command: 'score',
      model: modelName,
      model_version: version,
      model_alias: alias,
      run_id: runId,
      date,
      input: options.input,
      rows: engine.rows,
      scored: engine.scored,
      rejects: engine.rejects,
      reject_share: rejectShare,
      max_reject_share: maxRejectShare,
      reject_reasons: engine.rejectReasons,
      kept_columns: engine.keptColumns,
      duration_ms: Math.round(duration),
      rows_per_s: duration > 0 ? Math.round(engine.rows / (duration / 1000)) : 0,
      outputs: { scored: `${outputRoot}/${scoredKey}`, rejects: `${outputRoot}/${rejectsKey}` },
      timings: Object.fromEntries(Object.entries(timings).map(([key, v]) => [key, Math.round(v)])),
    };
    if (rejectShare > maxRejectShare) {
      throw new PolicyFailure(
        `${engine.rejects} of ${engine.rows} rows rejected (share ${rejectShare.toFixed(4)} > --max-reject-share ${maxRejectShare}); outputs were written`,
        result,
      );
    }
    return result;
  } finally {
    await fs.rm(workDir, { recursive: true, force: true });
  }
}

export function describeScoreResult(r: ScoreResult): string[] {
  const lines = [
    `scored ${r.scored} of ${r.rows} rows with ${r.model} version ${r.model_version} ('${r.model_alias}') for ${r.date} in ${r.duration_ms} ms (${r.rows_per_s} rows/s)`,
    `rejects: ${r.rejects} (share ${r.reject_share.toFixed(4)}, limit ${r.max_reject_share})`,
  ];
  for (const [reason, n] of Object.entries(r.reject_reasons).slice(0, 10)) lines.push(`  ${n}  ${reason}`);
  lines.push(`output: ${r.outputs.scored}`, `rejects: ${r.outputs.rejects}`, `run id: ${r.run_id}`);
  return lines;
}
