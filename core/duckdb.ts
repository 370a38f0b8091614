import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * Runs `fn` with a connection to a fresh in-memory DuckDB and closes both afterwards. DuckDB is loaded lazily:
 * only the jobs that read or write Parquet pay for it.
 */
export async function withDuckDB<T>(fn: (conn: DuckDBConnection) => Promise<T>, options?: Record<string, string>): Promise<T> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
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
