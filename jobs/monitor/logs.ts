/**
 * Reading the prediction logs of a monitor window into DuckDB.
 *
 * Only the window's partitions (`predictions/date=<day>/`) are read. Local logs are read in place through one glob
 * per day; Azure logs are listed per day through the Storage interface and downloaded to a scratch directory first.
 * Columns are declared explicitly (no type sniffing over millions of lines) and only the ones the monitor needs are
 * read, so a big window costs a few doubles per row in DuckDB plus the typed arrays of the production sample.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { chunkDoubles, sqlString } from '../../core/duckdb';
import { UserError } from '../../core/errors';
import { PREDICTIONS_PREFIX } from '../../core/logRecord';
import { FEATURES, N_FEATURES } from '../../core/schema';
import { isRemoteUri, openStorage } from '../../core/storage/index';
import { localPathOf } from '../../core/storage/local';

/** Log files this reader understands (the server writes JSON lines). */
const LOG_FILE = /\.jsonl$/;

export interface StagedLogs {
  /** Globs or files handed to DuckDB (empty when the window has no logs). */
  sources: string[];
  /** Days of the window that had at least one log file. */
  daysWithLogs: string[];
  /** Number of log files (local: counted per day directory). */
  files: number;
}

/**
 * Finds the window's log files. `scratchDir` receives the downloads for remote logs. A missing logs root is a
 * UserError; days without a partition are simply absent.
 */
export async function stageLogs(logsUri: string, days: readonly string[], scratchDir: string): Promise<StagedLogs> {
  const storage = openStorage(logsUri);
  await storage.check();
  const sources: string[] = [];
  const daysWithLogs: string[] = [];
  let files = 0;
  if (!isRemoteUri(logsUri)) {
    const root = localPathOf(logsUri);
    for (const day of days) {
      const dir = path.join(root, PREDICTIONS_PREFIX, `date=${day}`);
      const names = await fs.readdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [] as string[];
        throw new UserError(`cannot read log partition ${dir}: ${err.code ?? err.message}`);
      });
      const count = names.filter((n) => LOG_FILE.test(n) && !n.startsWith('.')).length;
      if (count === 0) continue;
      files += count;
      daysWithLogs.push(day);
      sources.push(path.join(dir, '*.jsonl'));
    }
    return { sources, daysWithLogs, files };
  }
  for (const day of days) {
    const prefix = `${PREDICTIONS_PREFIX}/date=${day}/`;
    const objects = (await storage.list(prefix)).filter((o) => LOG_FILE.test(o.key) && !o.key.slice(prefix.length).includes('/'));
    if (objects.length === 0) continue;
    const dir = path.join(scratchDir, PREDICTIONS_PREFIX, `date=${day}`);
    await fs.mkdir(dir, { recursive: true });
    // A few downloads in flight: enough to hide latency without holding many files in memory at once.
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < objects.length; i = next++) {
        const object = objects[i]!;
        await fs.writeFile(path.join(dir, path.basename(object.key)), await storage.get(object.key));
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, objects.length) }, worker));
    files += objects.length;
    daysWithLogs.push(day);
    sources.push(path.join(dir, '*.jsonl'));
  }
  return { sources, daysWithLogs, files };
}

/** Columns read from every record, with their DuckDB types (core/logRecord.ts). */
function logColumns(withClientIds: boolean): Record<string, string> {
  // Every column read costs: DuckDB looks each one up in every JSON object and stores it (strings over 12 bytes,
  // like request ids, on the heap), so only what the checks use is read.
  const columns: Record<string, string> = {
    record_type: 'VARCHAR',
    model_name: 'VARCHAR',
    alias: 'VARCHAR',
    model_version: 'INTEGER',
    shadow: 'BOOLEAN',
    prediction: 'DOUBLE',
    latency_ms: 'DOUBLE',
    status_code: 'INTEGER',
    error_code: 'VARCHAR',
    // Row 0 (or the error record) stands for its request in the service checks.
    row_index: 'INTEGER',
  };
  if (withClientIds) {
    // The label join: its key and, for repeated client ids, the latest record (by time, then request id).
    columns.client_request_id = 'VARCHAR';
    columns.timestamp = 'VARCHAR';
    columns.request_id = 'VARCHAR';
  }
  for (const f of FEATURES) columns[f] = 'DOUBLE';
  return columns;
}

/**
 * Loads the window's records of `model` into the temp table `logs` (plus a `day` column from the partition) and
 * returns the number of records. With `withClientIds` the label join columns are kept too.
 */
export async function loadLogs(conn: DuckDBConnection, staged: StagedLogs, model: string, withClientIds: boolean): Promise<number> {
  const columns = logColumns(withClientIds);
  // model_name only selects the records; it is not stored.
  const names = Object.keys(columns).filter((n) => n !== 'model_name');
  if (staged.sources.length === 0) {
    const defs = names.map((n) => `CAST(NULL AS ${columns[n]}) AS "${n}"`).join(', ');
    await conn.run(`CREATE TEMP TABLE logs AS SELECT ${defs}, CAST(NULL AS VARCHAR) AS day LIMIT 0`);
    return 0;
  }
  const spec = Object.entries(columns).map(([n, type]) => `"${n}": '${type}'`).join(', ');
  const source = `read_json([${staged.sources.map(sqlString).join(', ')}], format = 'newline_delimited', hive_partitioning = true, columns = {${spec}})`;
  try {
    await conn.run(
      `CREATE TEMP TABLE logs AS SELECT ${names.map((n) => `"${n}"`).join(', ')}, CAST("date" AS VARCHAR) AS day
       FROM ${source} WHERE model_name = ${sqlString(model)} OR model_name IS NULL`,
    );
  } catch (err) {
    throw new UserError(`cannot read the prediction logs: ${(err as Error).message.split('\n')[0]}`);
  }
  const count = await conn.runAndReadAll('SELECT count(*)::DOUBLE AS n FROM logs');
  return Number(count.getRowObjectsJS()[0]?.n ?? 0);
}

/**
 * The production sample: one column per feature and the prediction, nulls as NaN. Each column is sorted on its own
 * (ascending, nulls last) — the statistics are per column, and DuckDB sorts on every core while JavaScript would
 * sort on one; the drift statistics then skip their own sort. Rows are therefore not aligned across columns.
 */
export interface ProductionSample {
  rows: number;
  features: Float64Array[];
  prediction: Float64Array;
}

/** SQL condition selecting the production rows of one version (scored rows returned to clients). */
export function productionFilter(version: number): string {
  return `record_type = 'prediction' AND NOT coalesce(shadow, false) AND model_version = ${Math.trunc(version)}`;
}

/** Reads the production rows of `version` into typed arrays (no per-row objects), each column sorted. */
export async function readProductionSample(conn: DuckDBConnection, version: number): Promise<ProductionSample> {
  const where = productionFilter(version);
  const countReader = await conn.runAndReadAll(`SELECT count(*)::DOUBLE AS n FROM logs WHERE ${where}`);
  const rows = Number(countReader.getRowObjectsJS()[0]?.n ?? 0);
  const columns = [...FEATURES, 'prediction'];
  const targets = columns.map(() => new Float64Array(rows));
  for (let c = 0; c < columns.length; c++) {
    const out = targets[c]!;
    // Nulls become NaN in SQL (DuckDB sorts NaN after every number), so every vector is a plain array of doubles
    // that is copied as a block: no per-value calls.
    const result = await conn.run(`SELECT coalesce(CAST("${columns[c]}" AS DOUBLE), 'NaN'::DOUBLE) FROM logs WHERE ${where} ORDER BY 1 ASC`);
    // A materialized result: its chunks are read synchronously, without a thread-pool round trip per chunk.
    if (result.rowCount !== rows) throw new Error(`the logs changed while reading (${result.rowCount} production rows of '${columns[c]}', expected ${rows})`);
    let offset = 0;
    for (let i = 0; i < result.chunkCount; i++) {
      const chunk = result.getChunk(i);
      const n = chunk.rowCount;
      out.set(chunkDoubles(chunk.chunk, 0, n), offset);
      offset += n;
    }
    if (offset !== rows) throw new Error(`expected ${rows} production rows of '${columns[c]}', read ${offset}`);
  }
  return { rows, features: targets.slice(0, N_FEATURES), prediction: targets[N_FEATURES]! };
}

/** Runs a query and returns plain JS row objects (BIGINTs as numbers). */
export async function queryRows<T = Record<string, unknown>>(conn: DuckDBConnection, sql: string): Promise<T[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS().map((row) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) out[k] = typeof v === 'bigint' ? Number(v) : v;
    return out as T;
  });
}
