/**
 * Batch scoring benchmark: file → Parquet scoring (`scoreFile`, the engine of `mlops score`) against raw
 * onnxruntime `run` on the same rows already in memory (batches of 65,536, onnxruntime's best case, with its default
 * session settings), same model, same process.
 *
 *   npx tsx bench/score.ts [--rows 1000000] [--format parquet|csv] [--threads N] [--trees N] [--rounds 3] [--json] [--strict]
 *
 * Each round times the raw baseline and then the file run, back to back; the ratio is taken within each round (so a
 * slow spell of a shared machine hits both sides) and the median round is reported, as are all rounds.
 *
 * `--trees` trains another ensemble size than the default model's (same other parameters), to see the trade-off
 * between model cost and pipeline overhead.
 *
 * The input is generated first (not timed) with DuckDB in a temp directory. Goals: file → Parquet ≥ 0.5× the raw
 * in-memory rate, and raw onnxruntime ≥ 1 M rows/s. `--strict` exits 1 when a goal is missed.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { sqlString } from '../core/duckdb';
import { toFloat32 } from '../core/data';
import { DEFAULT_GBDT_PARAMS, trainGbdt } from '../core/model/gbdt';
import { exportOnnx } from '../core/model/onnx';
import { OnnxModel } from '../core/model/runtime';
import { FEATURES, MODEL_NAME, N_FEATURES } from '../core/schema';
import { syntheticCsv, syntheticTable } from '../core/synthetic';
import { quantileSorted } from '../jobs/drift/sample';
import { loadBatchModel, scoreFile, type InputFormat } from '../jobs/score';

/** Rows per onnxruntime call for the in-memory baseline: large batches, its best case. */
const RAW_BATCH = 65_536;

const RATIO_GOAL = 0.5;
const RAW_GOAL = 1_000_000;

interface Args {
  rows: number;
  format: InputFormat;
  threads: number;
  trees: number;
  rounds: number;
  json: boolean;
  strict: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rows: 1_000_000, format: 'parquet', threads: Math.max(1, os.availableParallelism()), trees: DEFAULT_GBDT_PARAMS.nEstimators, rounds: 3, json: false, strict: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') args.json = true;
    else if (a === '--strict') args.strict = true;
    else if (a === '--rows') args.rows = Number(argv[++i]);
    else if (a === '--threads') args.threads = Number(argv[++i]);
    else if (a === '--trees') args.trees = Number(argv[++i]);
    else if (a === '--rounds') args.rounds = Number(argv[++i]);
    else if (a === '--format') args.format = argv[++i] as InputFormat;
    else throw new Error(`unknown argument ${a}; usage: bench/score.ts [--rows N] [--format parquet|csv] [--threads N] [--trees N] [--rounds N] [--json] [--strict]`);
  }
  if (!Number.isInteger(args.rows) || args.rows < 1) throw new Error('--rows must be a positive integer');
  if (!Number.isInteger(args.trees) || args.trees < 1 || args.trees > 1000) throw new Error('--trees must be an integer in [1, 1000]');
  if (!Number.isInteger(args.threads) || args.threads < 1) throw new Error('--threads must be a positive integer');
  if (!Number.isInteger(args.rounds) || args.rounds < 1 || args.rounds > 20) throw new Error('--rounds must be an integer in [1, 20]');
  if (args.format !== 'parquet' && args.format !== 'csv') throw new Error('--format must be parquet or csv');
  return args;
}

/**
 * Rows drawn (seeded) from the synthetic OWID-like table with ±2 % multiplicative jitter: realistic joint
 * distributions matter, because tree traversal cost depends on how predictable the branches are.
 */
async function generateInput(file: string, rows: number, format: InputFormat, dir: string): Promise<void> {
  const base = path.join(dir, 'base.csv');
  await fs.writeFile(base, syntheticCsv({ seed: 7, missingRate: 0 }));
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run('SELECT setseed(0.42)');
    await conn.run(`CREATE TABLE base AS SELECT row_number() OVER () - 1 AS k, * FROM read_csv(${sqlString(base)}, header = true)`);
    const n = Number((await (await conn.runAndReadAll('SELECT count(*) FROM base')).getRowsJS())[0]![0]);
    const jitter = (col: string) => `CAST("${col}" AS DOUBLE) * (1 + 0.04 * (random() - 0.5)) AS "${col}"`;
    const select = `SELECT country, "year", ${FEATURES.slice(1).map(jitter).join(', ')}
      FROM range(${rows}) t(i) JOIN base ON base.k = hash(i) % ${n} ORDER BY i`;
    const options = format === 'parquet' ? '(FORMAT parquet, COMPRESSION zstd)' : '(FORMAT csv, HEADER true)';
    await conn.run(`COPY (${select}) TO ${sqlString(file)} ${options}`);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function readFeatures(file: string, format: InputFormat, rows: number): Promise<Float32Array> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const out = new Float32Array(rows * N_FEATURES);
  try {
    const source = format === 'parquet' ? `read_parquet(${sqlString(file)})` : `read_csv(${sqlString(file)}, header = true)`;
    const stream = await conn.stream(`SELECT ${FEATURES.map((f) => `CAST("${f}" AS DOUBLE)`).join(', ')} FROM ${source}`);
    let at = 0;
    for (;;) {
      const chunk = await stream.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const cols = FEATURES.map((_, j) => chunk.getColumnVector(j));
      for (let r = 0; r < chunk.rowCount; r++, at++) for (let j = 0; j < N_FEATURES; j++) out[at * N_FEATURES + j] = cols[j]!.getItem(r) as number;
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  return out;
}

const median = (values: number[]): number => quantileSorted([...values].sort((a, b) => a - b), 0.5);

interface Round {
  raw_ms: number;
  file_ms: number;
  ratio: number;
  timings_ms: Record<string, number>;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlops-bench-score-'));
  try {
    const table = syntheticTable({ seed: 7 });
    const ensemble = trainGbdt(toFloat32(table.X), table.y, { ...DEFAULT_GBDT_PARAMS, nEstimators: args.trees });
    const bytes = exportOnnx(ensemble, { modelName: MODEL_NAME });
    // The baseline with onnxruntime's default session; the job's model loaded exactly as `mlops score` loads it.
    const raw = await OnnxModel.load(bytes, { intraOpNumThreads: args.threads });
    const batchModel = await loadBatchModel(bytes, args.threads);

    const input = path.join(dir, `input.${args.format}`);
    await generateInput(input, args.rows, args.format, dir);
    const inputBytes = (await fs.stat(input)).size;
    const X = await readFeatures(input, args.format, args.rows);
    raw.predictSync(X.subarray(0, Math.min(args.rows, 1024) * N_FEATURES)); // warm-up

    const rounds: Round[] = [];
    let last: Awaited<ReturnType<typeof scoreFile>> | undefined;
    for (let round = 0; round < args.rounds; round++) {
      let t = performance.now();
      for (let start = 0; start < args.rows; start += RAW_BATCH) {
        raw.predictSync(X.subarray(start * N_FEATURES, Math.min(args.rows, start + RAW_BATCH) * N_FEATURES));
      }
      const rawMs = performance.now() - t;

      const work = path.join(dir, `work-${round}`);
      await fs.mkdir(work);
      t = performance.now();
      last = await scoreFile({
        predictor: batchModel,
        inputFile: input,
        format: args.format,
        scoredFile: path.join(work, 'scored.parquet'),
        rejectsFile: path.join(work, 'rejects.parquet'),
        workDir: work,
        meta: { modelVersion: 1, modelAlias: 'champion', scoredAt: new Date().toISOString(), runId: 'bench' },
        threads: args.threads,
      });
      const fileMs = performance.now() - t;
      if (last.rows !== args.rows) throw new Error(`scored ${last.rows} rows of ${args.rows}`);
      await fs.rm(work, { recursive: true, force: true });
      rounds.push({ raw_ms: Math.round(rawMs), file_ms: Math.round(fileMs), ratio: +(rawMs / fileMs).toFixed(3), timings_ms: Object.fromEntries(Object.entries(last.timings).map(([k, v]) => [k, Math.round(v)])) });
    }
    await raw.release();
    await batchModel.release();

    const rawMs = median(rounds.map((r) => r.raw_ms));
    const fileMs = median(rounds.map((r) => r.file_ms));
    const rawRate = args.rows / (rawMs / 1000);
    const fileRate = args.rows / (fileMs / 1000);
    const ratio = median(rounds.map((r) => r.ratio));
    const report = {
      rows: args.rows,
      format: args.format,
      input_mb: +(inputBytes / 1e6).toFixed(1),
      trees: ensemble.nTrees,
      threads: args.threads,
      raw_onnxruntime: { ms: Math.round(rawMs), rows_per_s: Math.round(rawRate) },
      file_to_parquet: { ms: Math.round(fileMs), rows_per_s: Math.round(fileRate), scored: last!.scored, rejects: last!.rejects },
      ratio: +ratio.toFixed(3),
      rounds,
      goals: { ratio: RATIO_GOAL, raw_rows_per_s: RAW_GOAL, ratio_met: ratio >= RATIO_GOAL, raw_met: rawRate >= RAW_GOAL },
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    if (args.json) {
      process.stdout.write(JSON.stringify(report) + '\n');
    } else {
      const line = (name: string, ms: number, rate: number) => `${name.padEnd(30)} ${String(Math.round(ms)).padStart(8)} ms ${Math.round(rate).toLocaleString('en-US').padStart(12)} rows/s`;
      console.log(`batch scoring: ${args.rows.toLocaleString('en-US')} rows (${args.format}, ${report.input_mb} MB), ${ensemble.nTrees} trees, ${args.threads} threads, ${args.rounds} rounds (medians)`);
      console.log(line('raw onnxruntime (in memory)', rawMs, rawRate));
      console.log(line(`file → Parquet (${args.format})`, fileMs, fileRate));
      for (const [i, r] of rounds.entries()) {
        console.log(`  round ${i + 1}: raw ${r.raw_ms} ms, file ${r.file_ms} ms (${Object.entries(r.timings_ms).map(([k, v]) => `${k.replace(/_ms$/, '')} ${v}`).join(', ')}), ratio ${r.ratio.toFixed(3)}`);
      }
      console.log(`ratio file/raw ${ratio.toFixed(3)} (median of rounds; goal ≥ ${RATIO_GOAL}: ${report.goals.ratio_met ? 'met' : 'MISSED'}); raw ≥ 1 M rows/s: ${report.goals.raw_met ? 'met' : 'MISSED'}; peak RSS ${report.peak_rss_mb} MB`);
    }
    if (args.strict && !(report.goals.ratio_met && report.goals.raw_met)) process.exitCode = 1;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
