import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { UserError } from './errors';
import { FEATURES, N_FEATURES, TARGET } from './schema';
import { isRemoteUri, openStorageForObject } from './storage/objectUri';

/**
 * A training/evaluation table in the feature schema. `X` is row-major N × 6 (FEATURES order) in float64;
 * the model itself sees float32 (see `toFloat32`).
 */
export interface TrainingTable {
  source: {
    uri: string;
    format: 'csv' | 'parquet' | 'generated';
    sha256: string;
    synthetic: boolean;
  };
  /** Data rows read from the source (header excluded). */
  rows: number;
  /** Complete rows: every feature and the target present. */
  usedRows: number;
  /** Rows left out of training, by reason (a row missing a feature is counted once, under missingFeature). */
  excluded: { missingFeature: number; missingTarget: number };
  X: Float64Array;
  y: Float64Array;
  /** `country` of each used row when the source has it (OWID does), else null. */
  country: (string | null)[];
}

/** Cells read as missing, as pandas does by default for the OWID file. */
const MISSING_TOKENS = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL']);

/** Feature columns in schema order, then the target. */
export const REQUIRED_COLUMNS = [...FEATURES, TARGET] as const;

export function toFloat32(X: Float64Array): Float32Array {
  return Float32Array.from(X);
}

/** Row `i` of a row-major N × 6 matrix as a plain array. */
export function row(X: ArrayLike<number>, i: number): number[] {
  const out = new Array<number>(N_FEATURES);
  for (let j = 0; j < N_FEATURES; j++) out[j] = X[i * N_FEATURES + j] as number;
  return out;
}

/** Keeps the rows whose indices are given, in that order. */
export function selectRows(table: TrainingTable, indices: ArrayLike<number>): TrainingTable {
  const n = indices.length;
  const X = new Float64Array(n * N_FEATURES);
  const y = new Float64Array(n);
  const country: (string | null)[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k] as number;
    X.set(table.X.subarray(i * N_FEATURES, (i + 1) * N_FEATURES), k * N_FEATURES);
    y[k] = table.y[i] as number;
    country[k] = table.country[i] ?? null;
  }
  return { ...table, usedRows: n, X, y, country };
}

/** Years of the used rows (the first feature). */
export function years(table: TrainingTable): Int32Array {
  const out = new Int32Array(table.usedRows);
  for (let i = 0; i < out.length; i++) out[i] = table.X[i * N_FEATURES] as number;
  return out;
}

function formatOf(uri: string): 'csv' | 'parquet' {
  const lower = uri.toLowerCase().split('?')[0] as string;
  if (lower.endsWith('.parquet') || lower.endsWith('.pq')) return 'parquet';
  if (lower.endsWith('.csv') || lower.endsWith('.csv.gz') || lower.endsWith('.txt')) return 'csv';
  throw new UserError(`cannot tell the format of ${uri}: expected a .csv or .parquet file`);
}

/** Reads a file from a local path or a storage object URI (Azure Blob). */
export async function readSourceBytes(uri: string): Promise<Buffer> {
  if (isRemoteUri(uri)) {
    const { storage, key } = openStorageForObject(uri);
    try {
      return await storage.get(key);
    } catch (err) {
      if ((err as Error).name === 'NotFoundError') throw new UserError(`data file not found: ${uri}`);
      throw err;
    }
  }
  try {
    return await fs.readFile(uri);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`data file not found: ${uri}`);
    if (code === 'EISDIR') throw new UserError(`data path is a directory, not a file: ${uri}`);
    throw new UserError(`cannot read data file ${uri}: ${(err as Error).message}`);
  }
}

/**
 * Loads the OWID energy table (the full official CSV with ~130 columns, the trimmed one, or a Parquet export)
 * by its official column names. Rows missing a feature or the target are counted and left out; a cell that is
 * not a number is an error naming file, line and column.
 */
export async function loadTable(uri: string): Promise<TrainingTable> {
  const format = formatOf(uri);
  const bytes = await readSourceBytes(uri);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length === 0) throw new UserError(`data file is empty: ${uri}`);
  const parsed = format === 'csv' ? parseCsv(uri, bytes) : await parseParquet(uri, bytes);
  return buildTable(uri, format, sha256, parsed);
}

export interface ParsedColumns {
  rows: number;
  /** Per required column, one value per row; NaN = missing. */
  columns: Float64Array[];
  country: (string | null)[];
}

export function buildTable(
  uri: string,
  format: TrainingTable['source']['format'],
  sha256: string,
  parsed: ParsedColumns,
): TrainingTable {
  const { rows, columns, country } = parsed;
  let missingFeature = 0;
  let missingTarget = 0;
  const keep: number[] = [];
  for (let i = 0; i < rows; i++) {
    let complete = true;
    for (let j = 0; j < N_FEATURES; j++) {
      if (Number.isNaN(columns[j]![i])) {
        complete = false;
        break;
      }
    }
    if (!complete) missingFeature++;
    else if (Number.isNaN(columns[N_FEATURES]![i])) missingTarget++;
    else keep.push(i);
  }
  if (keep.length === 0) {
    throw new UserError(
      `no complete rows in ${uri}: all ${rows} rows miss a feature (${missingFeature}) or the target (${missingTarget}); ` +
        `required columns: ${REQUIRED_COLUMNS.join(', ')}`,
    );
  }
  const X = new Float64Array(keep.length * N_FEATURES);
  const y = new Float64Array(keep.length);
  const countries: (string | null)[] = new Array(keep.length);
  keep.forEach((i, k) => {
    for (let j = 0; j < N_FEATURES; j++) X[k * N_FEATURES + j] = columns[j]![i]!;
    y[k] = columns[N_FEATURES]![i]!;
    countries[k] = country[i] ?? null;
  });
  return {
    source: { uri, format, sha256, synthetic: format === 'generated' },
    rows,
    usedRows: keep.length,
    excluded: { missingFeature, missingTarget },
    X,
    y,
    country: countries,
  };
}

function parseCsv(uri: string, bytes: Buffer): ParsedColumns {
  let records: string[][];
  try {
    records = parse(bytes, { bom: true, relax_column_count: false, skip_empty_lines: true, trim: true });
  } catch (err) {
    throw new UserError(`cannot parse CSV ${uri}: ${(err as Error).message}`);
  }
  const header = records[0];
  if (!header || header.length === 0) throw new UserError(`data file is empty: ${uri}`);
  const index = REQUIRED_COLUMNS.map((name) => header.indexOf(name));
  const missing = REQUIRED_COLUMNS.filter((_, k) => index[k]! < 0);
  if (missing.length > 0) {
    throw new UserError(
      `${uri}: missing required column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} ` +
        `(expected the OWID names: ${REQUIRED_COLUMNS.join(', ')})`,
    );
  }
  const countryIndex = header.indexOf('country');
  const rows = records.length - 1;
  if (rows === 0) throw new UserError(`data file has a header but no rows: ${uri}`);
  const columns = REQUIRED_COLUMNS.map(() => new Float64Array(rows));
  const country: (string | null)[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const rec = records[r + 1]!;
    for (let k = 0; k < REQUIRED_COLUMNS.length; k++) {
      const cell = rec[index[k]!] ?? '';
      if (MISSING_TOKENS.has(cell)) {
        columns[k]![r] = NaN;
        continue;
      }
      const value = Number(cell);
      if (!Number.isFinite(value)) {
        // Line numbers are 1-based and count the header line (blank lines are skipped by the parser).
        throw new UserError(
          `${uri}: line ${r + 2}, column '${REQUIRED_COLUMNS[k]}': not a number: ${JSON.stringify(cell.slice(0, 40))}`,
        );
      }
      columns[k]![r] = value;
    }
    country[r] = countryIndex >= 0 ? (rec[countryIndex] ?? null) : null;
  }
  return { rows, columns, country };
}

const NUMERIC_DUCKDB_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*)$/;

async function parseParquet(uri: string, bytes: Buffer): Promise<ParsedColumns> {
  const { withDuckDB } = await import('./duckdb.js');
  // DuckDB reads a local file; remote objects are staged in a private temp dir first.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlops-parquet-'));
  const file = path.join(dir, 'input.parquet');
  try {
    await fs.writeFile(file, bytes);
    return await withDuckDB(async (conn) => {
      let described;
      try {
        described = await (await conn.runAndReadAll('DESCRIBE SELECT * FROM read_parquet($1)', [file])).getRowObjectsJS();
      } catch (err) {
        throw new UserError(`cannot read Parquet ${uri}: ${(err as Error).message.split('\n')[0]}`);
      }
      const types = new Map(described.map((r) => [String(r['column_name']), String(r['column_type'])]));
      const missing = REQUIRED_COLUMNS.filter((c) => !types.has(c));
      if (missing.length > 0) {
        throw new UserError(
          `${uri}: missing required column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} ` +
            `(expected the OWID names: ${REQUIRED_COLUMNS.join(', ')})`,
        );
      }
      for (const c of REQUIRED_COLUMNS) {
        const t = types.get(c)!;
        if (!NUMERIC_DUCKDB_TYPES.test(t)) {
          throw new UserError(`${uri}: column '${c}' has type ${t}; a numeric type is required`);
        }
      }
      const select = REQUIRED_COLUMNS.map((c) => `CAST("${c}" AS DOUBLE) AS "${c}"`).join(', ');
      const countrySel = types.get('country') === 'VARCHAR' ? ', "country"' : '';
      const reader = await conn.runAndReadAll(`SELECT ${select}${countrySel} FROM read_parquet($1)`, [file]);
      const cols = await reader.getColumnsJS();
      const rows = reader.currentRowCount;
      if (rows === 0) throw new UserError(`data file has no rows: ${uri}`);
      const columns = REQUIRED_COLUMNS.map((_, k) => {
        const out = new Float64Array(rows);
        const src = cols[k]!;
        for (let r = 0; r < rows; r++) {
          const v = src[r];
          out[r] = v === null || v === undefined ? NaN : Number(v);
        }
        return out;
      });
      const country = countrySel ? (cols[REQUIRED_COLUMNS.length]! as (string | null)[]) : new Array(rows).fill(null);
      return { rows, columns, country };
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Writes a table as CSV with the OWID column names (`country` first when known), as the loader reads it back. */
export function tableToCsv(table: TrainingTable): string {
  const lines = [['country', ...REQUIRED_COLUMNS].join(',')];
  for (let i = 0; i < table.usedRows; i++) {
    const country = table.country[i] ?? '';
    const quoted = /[",\n]/.test(country) ? `"${country.replace(/"/g, '""')}"` : country;
    const values = Array.from(table.X.subarray(i * N_FEATURES, (i + 1) * N_FEATURES), String);
    lines.push([quoted, ...values, String(table.y[i])].join(','));
  }
  return lines.join('\n') + '\n';
}
