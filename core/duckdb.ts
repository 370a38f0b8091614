import type { DuckDBConnection } from '@duckdb/node-api';

type DuckDBApi = typeof import('@duckdb/node-api');
type DuckDBBindings = typeof import('@duckdb/node-bindings');

let api: DuckDBApi | undefined;
let bindings: DuckDBBindings | undefined;

/**
 * DuckDB's node API, loaded on first use: only the jobs that read or write Parquet pay for it. `require`, not
 * `import()`: both packages are CommonJS, and `import()` would have Node's ESM loader scan the source of every module
 * the package re-exports for its export names first (~140 ms measured for `@duckdb/node-api`, on top of loading it).
 */
export function duckdbApi(): DuckDBApi {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (api ??= require('@duckdb/node-api') as DuckDBApi);
}

/** DuckDB's C API bindings (raw vectors), loaded on first use like `duckdbApi` (kept: hot paths call this). */
export function duckdbBindings(): DuckDBBindings {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (bindings ??= require('@duckdb/node-bindings') as DuckDBBindings);
}

/**
 * The values of a flat DOUBLE vector of a raw data chunk, as a view on DuckDB's memory (no copy, no per-value calls):
 * valid while the chunk lives. Null slots hold arbitrary values, so callers read only rows they know are valid.
 */
export function chunkDoubles(chunk: import('@duckdb/node-bindings').DataChunk, column: number, rows: number): Float64Array {
  const b = duckdbBindings();
  const bytes = b.vector_get_data(b.data_chunk_get_vector(chunk, column), rows * 8);
  return new Float64Array(bytes.buffer, bytes.byteOffset, rows);
}

/** Runs `fn` with a connection to a fresh in-memory DuckDB and closes both afterwards. */
export async function withDuckDB<T>(fn: (conn: DuckDBConnection) => Promise<T>, options?: Record<string, string>): Promise<T> {
  const { DuckDBInstance } = duckdbApi();
  const instance = await DuckDBInstance.create(':memory:', options);
  const conn = await instance.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Quotes a string as a SQL literal (for file paths in COPY statements, which take no parameters). */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
