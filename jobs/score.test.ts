import { copyFileSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlString, withDuckDB } from '../core/duckdb';
import { OnnxModel } from '../core/model/runtime';
import { ModelRegistry } from '../core/registry';
import { FEATURES, MODEL_NAME } from '../core/schema';
import { syntheticCsv } from '../core/synthetic';
import { createTestContainer, type TestContainer } from '../test/support/blob';
import { PolicyFailure } from './cliSupport';
import { runScore, scoreFile } from './score';
import { runTrain } from './train';

let dir: string;
let registry: string;
let inputCsv: string;
let goodRows: number;
/** Predictions of the first test, in file order. */
let referencePredictions: number[] = [];
const BAD_ROWS = 4;

/** The synthetic OWID-like table (its own missing cells included) plus four rows that cannot be scored. */
async function writeInput(): Promise<void> {
  const lines = syntheticCsv({ seed: 11, countries: 40 }).trim().split('\n');
  // columns: country, year, population, gdp, primary_energy_consumption, fossil_fuel_consumption, renewables_consumption, target
  lines.push(
    'Bad Text,2001,lots,1e12,10,5,5,50',
    'Bad Inf,2002,1000000,inf,10,5,5,50',
    'Bad Range,2003,1000000,1e39,10,5,5,50',
    'Bad Missing,2004,1000000,1e12,,5,5,50',
  );
  inputCsv = path.join(dir, 'input.csv');
  await fs.writeFile(inputCsv, lines.join('\n') + '\n');
}

async function query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  return withDuckDB(async (conn) => (await (await conn.runAndReadAll(sql)).getRowObjectsJS()) as T[]);
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlops-score-test-'));
  registry = path.join(dir, 'registry');
  await fs.mkdir(registry);
  await runTrain({ data: 'synthetic', registry, alias: 'champion', params: { nEstimators: 40 } });
  await writeInput();
  const counted = await query<{ n: bigint }>(
    `SELECT count(*) AS n FROM read_csv(${sqlString(inputCsv)}, header = true, all_varchar = true) WHERE ${FEATURES.map((f) => `"${f}" IS NOT NULL`).join(' AND ')}`,
  );
  goodRows = Number(counted[0]!.n) - 3; // three of the bad rows have all six cells filled
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('mlops score (local)', () => {
  it('scores every good row, matches onnxruntime row by row, and writes rejects with reasons', async () => {
    const out = path.join(dir, 'out-a');
    const result = await runScore({ registry, input: inputCsv, output: out, date: '2025-03-01', maxRejectShare: 0.5 });
    expect(result.scored).toBe(goodRows);
    expect(result.rows).toBe(result.scored + result.rejects);
    expect(result.rejects).toBeGreaterThanOrEqual(BAD_ROWS);
    expect(result.model_version).toBe(1);
    expect(result.reject_reasons["not a number in column 'population'"]).toBe(1);
    expect(result.reject_reasons["non-finite value in column 'gdp'"]).toBe(1);
    expect(result.reject_reasons["out of float32 range in column 'gdp'"]).toBe(1);
    expect(result.reject_reasons["missing value in column 'primary_energy_consumption'"]).toBeGreaterThanOrEqual(1);
    expect(result.outputs.scored).toBe(`${out}/date=2025-03-01/part-0.parquet`);
    expect(result.kept_columns).toEqual(['country']);

    const scored = await query<Record<string, number | string>>(`SELECT * FROM read_parquet(${sqlString(result.outputs.scored)}, hive_partitioning = false)`);
    expect(scored).toHaveLength(goodRows);
    expect(Object.keys(scored[0]!)).toEqual(['country', ...FEATURES, 'prediction', 'model_version', 'model_alias', 'scored_at', 'run_id']);
    expect(new Set(scored.map((r) => r.run_id))).toEqual(new Set([result.run_id]));
    expect(scored.every((r) => r.model_version === 1 && r.model_alias === 'champion')).toBe(true);

    // Predictions belong to their own rows (order and batching preserved): recompute them directly.
    const reg = ModelRegistry.open(registry);
    const model = await OnnxModel.load(await reg.getModelBytes(MODEL_NAME, 1));
    const expected = await model.predict(scored.map((r) => FEATURES.map((f) => Number(r[f]))));
    await model.release();
    // onnxruntime may sum the trees in a different order for other batch shapes and thread counts: float32 rounding only.
    scored.forEach((r, i) => expect(Math.abs((r.prediction as number) - expected[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(expected[i]!))));
    referencePredictions = scored.map((r) => r.prediction as number);

    const rejects = await query<Record<string, string | number | null>>(
      `SELECT country, reason, raw_value FROM read_parquet(${sqlString(result.outputs.rejects)}) WHERE country LIKE 'Bad %' ORDER BY country`,
    );
    expect(rejects).toEqual([
      { country: 'Bad Inf', reason: "non-finite value in column 'gdp'", raw_value: 'inf' },
      { country: 'Bad Missing', reason: "missing value in column 'primary_energy_consumption'", raw_value: null },
      { country: 'Bad Range', reason: "out of float32 range in column 'gdp'", raw_value: '1e39' },
      { country: 'Bad Text', reason: "not a number in column 'population'", raw_value: 'lots' },
    ]);
  });

  it('is idempotent: re-running a date replaces the partition (same rows, no duplicates, no temp files)', async () => {
    const out = path.join(dir, 'out-b');
    const first = await runScore({ registry, input: inputCsv, output: out, date: '2025-03-02', maxRejectShare: 0.5 });
    const second = await runScore({ registry, input: inputCsv, output: out, date: '2025-03-02', maxRejectShare: 0.5 });
    expect(second.run_id).not.toBe(first.run_id);
    const rows = await query<{ n: bigint; runs: bigint; run_id: string; keys: bigint }>(
      `SELECT count(*) AS n, count(DISTINCT run_id) AS runs, any_value(run_id) AS run_id, count(DISTINCT (country, "year")) AS keys
       FROM read_parquet(${sqlString(`${out}/date=*/*.parquet`)}, hive_partitioning = true)`,
    );
    expect(Number(rows[0]!.n)).toBe(goodRows);
    expect(Number(rows[0]!.keys)).toBe(goodRows);
    expect(Number(rows[0]!.runs)).toBe(1);
    expect(rows[0]!.run_id).toBe(second.run_id);
    const rejects = await query<{ n: bigint }>(`SELECT count(*) AS n FROM read_parquet(${sqlString(second.outputs.rejects)})`);
    expect(Number(rejects[0]!.n)).toBe(second.rejects);
    expect(await fs.readdir(path.join(out, 'date=2025-03-02'))).toEqual(['part-0.parquet']);
    expect(await fs.readdir(path.join(out, 'rejects', 'date=2025-03-02'))).toEqual(['part-0.parquet']);

    // The re-run gives the same predictions, in the same order.
    const again = await query<{ p: number }>(`SELECT prediction AS p FROM read_parquet(${sqlString(second.outputs.scored)})`);
    expect(again).toHaveLength(referencePredictions.length);
    again.forEach((r, i) => expect(Math.abs(r.p - referencePredictions[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(r.p))));
  });

  it('fails by policy (PolicyFailure, exit code 3) when the reject share is over the limit, after writing the outputs', async () => {
    const out = path.join(dir, 'out-c');
    const err = await runScore({ registry, input: inputCsv, output: out, date: '2025-03-03', maxRejectShare: 0.0001 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyFailure);
    const result = (err as PolicyFailure).result as { rejects: number; reject_share: number };
    expect(result.reject_share).toBeGreaterThan(0.0001);
    await expect(fs.stat(path.join(out, 'date=2025-03-03', 'part-0.parquet'))).resolves.toBeTruthy();
  });

  it('reads Parquet input with numeric columns and carries chosen columns', async () => {
    const parquet = path.join(dir, 'input.parquet');
    await withDuckDB(async (conn) => {
      await conn.run(
        `COPY (SELECT country, ${FEATURES.map((f) => `TRY_CAST("${f}" AS DOUBLE) AS "${f}"`).join(', ')} FROM read_csv(${sqlString(inputCsv)}, header = true, all_varchar = true)) TO ${sqlString(parquet)} (FORMAT parquet)`,
      );
    });
    const result = await runScore({ registry, input: parquet, output: path.join(dir, 'out-d'), date: '2025-03-04', maxRejectShare: 0.5, keep: ['country', 'nope'] });
    // "lots" became NULL in the Parquet file (missing), 'inf' and 1e39 stay non-finite / out of range.
    expect(result.scored).toBe(goodRows);
    expect(result.reject_reasons["missing value in column 'population'"]).toBeGreaterThanOrEqual(1);
    expect(result.kept_columns).toEqual(['country']);
    // Same rows in the same order as the CSV run: the predictions pair with their rows.
    const scored = await query<{ p: number }>(`SELECT prediction AS p FROM read_parquet(${sqlString(result.outputs.scored)})`);
    expect(scored).toHaveLength(referencePredictions.length);
    scored.forEach((r, i) => expect(Math.abs(r.p - referencePredictions[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(r.p))));
  });

  it('pairs predictions with their rows across many row groups read in parallel, rejects spread through the file', async () => {
    const parquet = path.join(dir, 'input-big.parquet');
    // 12 copies of the input (~15 k rows, its bad rows in every copy), in 1,000-row row groups that DuckDB reads on
    // several threads; a row id keeps track of each row.
    await withDuckDB(async (conn) => {
      await conn.run(
        `COPY (SELECT row_number() OVER () AS row_id, country, ${FEATURES.map((f) => `TRY_CAST("${f}" AS DOUBLE) AS "${f}"`).join(', ')}
               FROM range(12) copies, read_csv(${sqlString(inputCsv)}, header = true, all_varchar = true))
         TO ${sqlString(parquet)} (FORMAT parquet, ROW_GROUP_SIZE 1000)`,
      );
    });
    const result = await runScore({ registry, input: parquet, output: path.join(dir, 'out-big'), date: '2025-03-05', maxRejectShare: 0.5, keep: ['row_id'], threads: 2 });
    expect(result.scored).toBe(12 * goodRows);
    const scored = await query<Record<string, number | bigint>>(`SELECT * FROM read_parquet(${sqlString(result.outputs.scored)})`);
    expect(scored.map((r) => Number(r.row_id))).toEqual([...scored.map((r) => Number(r.row_id))].sort((a, b) => a - b));
    const model = await OnnxModel.load(await ModelRegistry.open(registry).getModelBytes(MODEL_NAME, 1));
    const expected = await model.predict(scored.map((r) => FEATURES.map((f) => Number(r[f]))));
    await model.release();
    let mismatches = 0;
    scored.forEach((r, i) => {
      if (Math.abs((r.prediction as number) - expected[i]!) > 1e-5 * Math.max(1, Math.abs(expected[i]!))) mismatches++;
    });
    expect(mismatches).toBe(0);
    const rejects = await query<{ n: bigint }>(`SELECT count(*) AS n FROM read_parquet(${sqlString(result.outputs.rejects)})`);
    expect(Number(rejects[0]!.n)).toBe(result.rejects);
    expect(result.rows).toBe(12 * (goodRows + result.rejects / 12));
  });

  it('pairs predictions with their rows across a glob of several Parquet files, on a single thread', async () => {
    const parts = path.join(dir, 'parts');
    await fs.mkdir(parts);
    await withDuckDB(async (conn) => {
      for (let k = 0; k < 3; k++) {
        await conn.run(
          `COPY (SELECT ${k} * 100000 + row_number() OVER () AS row_id, ${FEATURES.map((f) => `TRY_CAST("${f}" AS DOUBLE) * ${1 + k / 10} AS "${f}"`).join(', ')}
                 FROM read_csv(${sqlString(inputCsv)}, header = true, all_varchar = true))
           TO ${sqlString(path.join(parts, `part-${k}.parquet`))} (FORMAT parquet, ROW_GROUP_SIZE 500)`,
        );
      }
    });
    // One thread: the query's only DuckDB thread waits for every model call on the JavaScript thread.
    const result = await runScore({ registry, input: path.join(parts, '*.parquet'), output: path.join(dir, 'out-parts'), date: '2025-03-08', maxRejectShare: 0.5, keep: ['row_id'], threads: 1 });
    const scored = await query<Record<string, number | bigint>>(`SELECT * FROM read_parquet(${sqlString(result.outputs.scored)})`);
    expect(scored.length).toBe(result.scored);
    expect(new Set(scored.map((r) => Math.floor(Number(r.row_id) / 100000)))).toEqual(new Set([0, 1, 2]));
    const model = await OnnxModel.load(await ModelRegistry.open(registry).getModelBytes(MODEL_NAME, 1));
    const expected = await model.predict(scored.map((r) => FEATURES.map((f) => Number(r[f]))));
    await model.release();
    const off = scored.filter((r, i) => Math.abs((r.prediction as number) - expected[i]!) > 1e-5 * Math.max(1, Math.abs(expected[i]!)));
    expect(off).toHaveLength(0);
  });

  it.each(['parquet', 'csv'] as const)('refuses to publish when the %s input files change while they are scored', async (format) => {
    const inputs = path.join(dir, `changing-${format}`);
    const spare = path.join(dir, `spare.${format}`);
    const options = format === 'parquet' ? '(FORMAT parquet)' : '(FORMAT csv, HEADER true)';
    const write = (file: string): Promise<void> =>
      withDuckDB(async (conn) => {
        await conn.run(
          `COPY (SELECT country, ${FEATURES.map((f) => `TRY_CAST("${f}" AS DOUBLE) AS "${f}"`).join(', ')} FROM read_csv(${sqlString(inputCsv)}, header = true, all_varchar = true)) TO ${sqlString(file)} ${options}`,
        );
      });
    await fs.mkdir(inputs);
    await write(path.join(inputs, `a.${format}`));
    await write(spare);
    const model = await OnnxModel.load(await ModelRegistry.open(registry).getModelBytes(MODEL_NAME, 1));
    let added = false;
    const work = path.join(dir, `changing-${format}-work`);
    await fs.mkdir(work);
    try {
      const run = scoreFile({
        // A second file lands in the glob while the first vector is being scored.
        predictor: {
          predictSync: (rows) => {
            if (!added) copyFileSync(spare, path.join(inputs, `b.${format}`));
            added = true;
            return model.predictSync(rows);
          },
        },
        inputFile: path.join(inputs, `*.${format}`),
        format,
        scoredFile: path.join(work, 'scored.parquet'),
        rejectsFile: path.join(work, 'rejects.parquet'),
        workDir: work,
        meta: { modelVersion: 1, modelAlias: 'champion', scoredAt: new Date().toISOString(), runId: 'changing' },
      });
      await expect(run).rejects.toMatchObject({ name: 'UserError', message: expect.stringMatching(/input files changed while they were being scored/) });
      expect(added).toBe(true);
    } finally {
      await model.release();
    }
  });

  it('fails with the model\'s own error when scoring throws, and when it returns the wrong number of predictions', async () => {
    const model = await OnnxModel.load(await ModelRegistry.open(registry).getModelBytes(MODEL_NAME, 1));
    const work = path.join(dir, 'throwing-work');
    await fs.mkdir(work);
    const run = (predictSync: (rows: Float32Array) => Float32Array) =>
      scoreFile({
        predictor: { predictSync },
        inputFile: inputCsv,
        format: 'csv',
        scoredFile: path.join(work, 'scored.parquet'),
        rejectsFile: path.join(work, 'rejects.parquet'),
        workDir: work,
        meta: { modelVersion: 1, modelAlias: 'champion', scoredAt: new Date().toISOString(), runId: 'throwing' },
      });
    try {
      const boom = new RangeError('the model exploded');
      await expect(
        run(() => {
          throw boom;
        }),
      ).rejects.toBe(boom);
      await expect(run((rows) => model.predictSync(rows).subarray(1))).rejects.toThrow(/the model returned \d+ predictions for \d+ rows/);
    } finally {
      await model.release();
    }
  });

  it('reads CSV cells with surrounding whitespace as their numbers, and NA-like tokens as missing', async () => {
    const csv = path.join(dir, 'spaces.csv');
    const header = `country,${FEATURES.join(',')}`;
    await fs.writeFile(csv, `${header}\nA,2015,47000000,1.6e12,1500,1200,250\nB, 2015 ,\t47000000, 1.6e12,1500 ,1200,250\nC,2015,NA,1.6e12,1500,1200,250\nD,2015, NaN ,1.6e12,1500,1200,250\n`);
    const result = await runScore({ registry, input: csv, output: path.join(dir, 'out-spaces'), date: '2025-03-07', maxRejectShare: 1 });
    expect(result.scored).toBe(2);
    expect(result.reject_reasons).toEqual({ "missing value in column 'population'": 2 });
    const rows = await query<{ country: string; prediction: number }>(`SELECT country, prediction FROM read_parquet(${sqlString(result.outputs.scored)}) ORDER BY country`);
    expect(rows.map((r) => r.country)).toEqual(['A', 'B']);
    expect(rows[1]!.prediction).toBe(rows[0]!.prediction);
  });

  it('does not carry input columns whose names the outputs use themselves', async () => {
    const csv = path.join(dir, 'reserved.csv');
    await fs.writeFile(csv, `country,ok,prediction,${FEATURES.join(',')}\nA,no,7,2015,47000000,1.6e12,1500,1200,250\n`);
    const result = await runScore({ registry, input: csv, output: path.join(dir, 'out-reserved'), date: '2025-03-09', keep: ['country', 'ok', 'prediction'] });
    expect(result.kept_columns).toEqual(['country']);
    expect(result.scored).toBe(1);
    const rows = await query<{ prediction: number }>(`SELECT prediction FROM read_parquet(${sqlString(result.outputs.scored)})`);
    expect(rows[0]!.prediction).not.toBe(7);
  });

  it('carries input columns named like the parser\'s working columns, but never its own (case-insensitive) names', async () => {
    const csv = path.join(dir, 'internal-names.csv');
    await fs.writeFile(csv, `v0,m1,o2,_MLOPS_V0,OK,${FEATURES.join(',')}\nx,y,z,a,b,2015,47000000,1.6e12,1500,1200,250\nx2,y2,z2,a,b,2015,NA,1.6e12,1500,1200,250\n`);
    const result = await runScore({ registry, input: csv, output: path.join(dir, 'out-internal'), date: '2025-03-09', keep: ['v0', 'm1', 'o2', '_MLOPS_V0', 'OK'], maxRejectShare: 1 });
    expect(result.kept_columns).toEqual(['v0', 'm1', 'o2']);
    expect(result).toMatchObject({ scored: 1, rejects: 1 });
    const scored = await query<Record<string, unknown>>(`SELECT v0, m1, o2, "year" FROM read_parquet(${sqlString(result.outputs.scored)})`);
    expect(scored).toEqual([{ v0: 'x', m1: 'y', o2: 'z', year: 2015 }]);
    const rejects = await query<Record<string, unknown>>(`SELECT v0, m1, o2, reason FROM read_parquet(${sqlString(result.outputs.rejects)})`);
    expect(rejects).toEqual([{ v0: 'x2', m1: 'y2', o2: 'z2', reason: "missing value in column 'population'" }]);
  });

  it('writes an empty rejects file with the full schema (the same types as a non-empty one) when every row scores', async () => {
    const clean = path.join(dir, 'input-clean.parquet');
    const dirty = path.join(dir, 'input-dirty.parquet');
    await withDuckDB(async (conn) => {
      const select = `SELECT country, CAST(12 AS SMALLINT) AS iso_code, ${FEATURES.map((f) => `CAST("${f}" AS DOUBLE) AS "${f}"`).join(', ')} FROM read_csv(${sqlString(inputCsv)}, header = true, all_varchar = true)
               WHERE ${FEATURES.map((f) => `TRY_CAST("${f}" AS DOUBLE) IS NOT NULL AND isfinite(TRY_CAST("${f}" AS DOUBLE)) AND abs(TRY_CAST("${f}" AS DOUBLE)) < 1e30`).join(' AND ')}`;
      await conn.run(`COPY (${select}) TO ${sqlString(clean)} (FORMAT parquet)`);
      await conn.run(`COPY (${select} UNION ALL SELECT 'Nowhere', CAST(7 AS SMALLINT), ${FEATURES.map(() => 'NULL').join(', ')}) TO ${sqlString(dirty)} (FORMAT parquet)`);
    });
    const result = await runScore({ registry, input: clean, output: path.join(dir, 'out-clean'), date: '2025-03-06' });
    expect(result.rejects).toBe(0);
    expect(result.scored).toBe(goodRows);
    const withRejects = await runScore({ registry, input: dirty, output: path.join(dir, 'out-dirty'), date: '2025-03-06' });
    expect(withRejects.rejects).toBe(1);
    const schema = (file: string) => query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)}, hive_partitioning = false)`);
    const empty = await schema(result.outputs.rejects);
    expect(empty.map((c) => c.column_name)).toEqual(['country', 'iso_code', ...FEATURES, 'reason', 'raw_value', 'model_version', 'model_alias', 'scored_at', 'run_id']);
    expect(empty).toEqual(await schema(withRejects.outputs.rejects));
    expect(empty.find((c) => c.column_name === 'iso_code')!.column_type).toBe('SMALLINT');
    const rows = await query<{ n: bigint }>(`SELECT count(*) AS n FROM read_parquet(${sqlString(result.outputs.rejects)})`);
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it('handles an input with no rows and one where no row can be scored: both outputs written, with their schemas', async () => {
    const header = `country,${FEATURES.join(',')}`;
    const empty = path.join(dir, 'empty.csv');
    await fs.writeFile(empty, `${header}\n`);
    const none = await runScore({ registry, input: empty, output: path.join(dir, 'out-empty'), date: '2025-03-09' });
    expect(none).toMatchObject({ rows: 0, scored: 0, rejects: 0, reject_share: 0 });
    const allBad = path.join(dir, 'all-bad.csv');
    await fs.writeFile(allBad, `${header}\nA,2015,NA,1,1,1,1\nB,2015,1,x,1,1,1\n`);
    const bad = await runScore({ registry, input: allBad, output: path.join(dir, 'out-all-bad'), date: '2025-03-09', maxRejectShare: 1 });
    expect(bad).toMatchObject({ rows: 2, scored: 0, rejects: 2 });
    expect(bad.reject_reasons).toEqual({ "missing value in column 'population'": 1, "not a number in column 'gdp'": 1 });
    for (const result of [none, bad]) {
      const scored = await query<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(result.outputs.scored)}, hive_partitioning = false)`);
      expect(scored.map((c) => c.column_name)).toEqual(['country', ...FEATURES, 'prediction', 'model_version', 'model_alias', 'scored_at', 'run_id']);
      const rows = await query<{ n: bigint }>(`SELECT count(*) AS n FROM read_parquet(${sqlString(result.outputs.scored)})`);
      expect(Number(rows[0]!.n)).toBe(0);
    }
  });

  it('gives UserErrors for a missing input, a missing column, a bad date and an unknown alias', async () => {
    const out = path.join(dir, 'out-e');
    await expect(runScore({ registry, input: path.join(dir, 'nope.csv'), output: out })).rejects.toMatchObject({ name: 'UserError', message: expect.stringMatching(/input not found/) });
    const partial = path.join(dir, 'partial.csv');
    await fs.writeFile(partial, 'year,population\n2000,1\n');
    await expect(runScore({ registry, input: partial, output: out })).rejects.toThrow(/missing required columns 'gdp'/);
    await expect(runScore({ registry, input: inputCsv, output: out, date: '2025-02-30' })).rejects.toThrow(/calendar date/);
    await expect(runScore({ registry, input: inputCsv, output: out, alias: 'challenger' })).rejects.toThrow(/no alias 'challenger'/);
    await expect(runScore({ registry, input: path.join(dir, 'x.json'), output: out })).rejects.toThrow(/cannot tell the format/);
  });
});

describe('mlops score (Azurite)', () => {
  let container: TestContainer;
  beforeAll(async () => {
    container = await createTestContainer();
  });
  afterAll(async () => {
    await container?.dispose();
  });

  it('stages a blob input, uploads each partition as one blob and replaces it on re-run', async () => {
    const service = BlobServiceClient.fromConnectionString(container.connectionString);
    const blobs = service.getContainerClient(container.name);
    await blobs.getBlockBlobClient('inputs/day.csv').uploadData(await fs.readFile(inputCsv));
    const output = `${container.uri}/scoring`;
    const first = await runScore({ registry, input: `${container.uri}/inputs/day.csv`, output, date: '2025-03-05', maxRejectShare: 0.5 });
    const second = await runScore({ registry, input: `${container.uri}/inputs/day.csv`, output, date: '2025-03-05', maxRejectShare: 0.5 });
    expect(second.scored).toBe(first.scored);
    expect(second.outputs.scored).toBe(`${output}/date=2025-03-05/part-0.parquet`);

    const names: string[] = [];
    for await (const blob of blobs.listBlobsFlat({ prefix: 'scoring/' })) names.push(blob.name);
    expect(names.sort()).toEqual(['scoring/date=2025-03-05/part-0.parquet', 'scoring/rejects/date=2025-03-05/part-0.parquet']);

    const local = path.join(dir, 'from-blob.parquet');
    await blobs.getBlockBlobClient('scoring/date=2025-03-05/part-0.parquet').downloadToFile(local);
    const rows = await query<{ n: bigint; runs: bigint; run_id: string }>(
      `SELECT count(*) AS n, count(DISTINCT run_id) AS runs, any_value(run_id) AS run_id FROM read_parquet(${sqlString(local)})`,
    );
    expect(Number(rows[0]!.n)).toBe(goodRows);
    expect(Number(rows[0]!.runs)).toBe(1);
    expect(rows[0]!.run_id).toBe(second.run_id);
  });
});
