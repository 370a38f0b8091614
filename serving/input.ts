/**
 * Request body → feature matrix, with the MLflow scoring server's input formats and schema enforcement.
 *
 * Accepted JSON bodies (an object with exactly one format key, plus optional `params` and `client_request_id`):
 * - `dataframe_split`: pandas `orient="split"`, `{columns, data, index?}`
 * - `dataframe_records`: a list of row objects
 * - `instances` / `inputs`: a list of row objects, a list of 6-value rows in feature order, or a dict column → list
 * and `text/csv` with a header row. Extra columns are ignored; every feature column is required; each value must be
 * a finite number within float32 range (JSON integers are fine). Values are kept as float64 for the log and
 * converted to float32 for the model.
 */
import { FEATURES, FLOAT32_MAX, N_FEATURES } from '../core/schema';
import { PlainTextError, ScoringError, badRequest, invalidValue, tooLarge } from './errors';

export const FORMAT_KEYS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;

export interface ParsedInput {
  /** Row-major n × 6 values in FEATURES order, as sent (float64). */
  values: Float64Array;
  rows: number;
  /** `client_request_id` from the body, when present. */
  clientRequestId: string | null;
}

export type BodyKind = 'json' | 'csv';

const SUPPORTED_TYPES = "Types: ['text/csv', 'application/json']";

/**
 * Checks a Content-Type header the way MLflow does: split on `;`, mime type first, only a `charset=utf-8`
 * parameter is allowed. Anything else is MLflow's plain-text 415.
 */
export function contentKind(header: string | undefined): BodyKind {
  // The common exact headers first: same answer as the general parse below, without splitting.
  if (header === 'application/json') return 'json';
  if (header === 'text/csv') return 'csv';
  const parts = (header ?? '').split(';').map((p) => p.trim());
  const mime = (parts[0] ?? '').toLowerCase();
  let kind: BodyKind;
  if (mime === 'application/json') kind = 'json';
  else if (mime === 'text/csv') kind = 'csv';
  else {
    throw new PlainTextError(
      415,
      `This predictor only supports the following content types: ${SUPPORTED_TYPES}. Got '${header ?? 'None'}'.`,
    );
  }
  const unexpected: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const pair = parts[i]!;
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim().toLowerCase();
    const value = (eq < 0 ? '' : pair.slice(eq + 1)).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    if (key === 'charset') {
      if (value !== 'utf-8' && value !== 'utf8') throw new PlainTextError(415, 'The scoring server only supports UTF-8');
    } else {
      unexpected.push(key);
    }
  }
  if (unexpected.length > 0) throw new PlainTextError(415, `Unrecognized content type parameters: ${unexpected.join(', ')}.`);
  return kind;
}

export function parseBody(kind: BodyKind, text: string, maxRows: number): ParsedInput {
  return kind === 'json' ? parseJsonBody(text, maxRows) : parseCsvBody(text, maxRows);
}

// ---------------------------------------------------------------------------------------------------------------
// JSON

/** Python's json (which MLflow uses) accepts NaN and ±Infinity tokens; they stand for themselves via these markers. */
const NON_FINITE_MARK = '\u0000';

export function parseJsonBody(text: string, maxRows: number): ParsedInput {
  const body = parseJsonText(text);
  if (Array.isArray(body)) {
    throw badRequest(
      `Invalid input. The input must be a JSON object with exactly one of the keys ${FORMAT_KEYS.join(', ')}. Received a list.`,
    );
  }
  if (body === null || typeof body !== 'object') {
    throw badRequest(
      `Invalid input. The input must be a JSON object with exactly one of the keys ${FORMAT_KEYS.join(', ')}. Received ${describe(body)}.`,
    );
  }
  const obj = body as Record<string, unknown>;
  let format: (typeof FORMAT_KEYS)[number] | null = null;
  for (const key of FORMAT_KEYS) {
    if (Object.prototype.hasOwnProperty.call(obj, key)) {
      if (format !== null) {
        throw badRequest(
          `Invalid input. The input must contain exactly one of the keys ${FORMAT_KEYS.join(', ')}; got both '${format}' and '${key}'.`,
        );
      }
      format = key;
    }
  }
  if (format === null) {
    const keys = Object.keys(obj);
    throw badRequest(
      `Invalid input. The input must contain exactly one of the keys ${FORMAT_KEYS.join(', ')}; got ${keys.length ? `keys [${keys.join(', ')}]` : 'an empty object'}.`,
    );
  }
  const params = obj.params;
  if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) {
    throw badRequest(`Invalid input. 'params' must be a JSON object, got ${describe(params)}.`);
  }
  const cid = obj.client_request_id;
  if (cid !== undefined && cid !== null && typeof cid !== 'string') {
    throw badRequest(`Invalid input. 'client_request_id' must be a string, got ${describe(cid)}.`);
  }
  const clientRequestId = typeof cid === 'string' ? cid : null;
  const data = obj[format];
  let values: Float64Array;
  switch (format) {
    case 'dataframe_split':
      values = fromSplit(data, maxRows);
      break;
    case 'dataframe_records':
      if (!Array.isArray(data)) throw badRequest(`Invalid input. 'dataframe_records' must be a list of row objects, got ${describe(data)}.`);
      values = fromRecords(data, format, maxRows);
      break;
    default:
      values = fromTensorStyle(data, format, maxRows);
  }
  return { values, rows: values.length / N_FEATURES, clientRequestId };
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (first) {
    const tolerant = markNonFiniteTokens(text);
    if (tolerant !== null) {
      try {
        return JSON.parse(tolerant);
      } catch {
        // report the original error
      }
    }
    throw badRequest(`Invalid input. Failed to parse the request body as JSON: ${(first as Error).message}`);
  }
}

/** Replaces bare NaN / Infinity / -Infinity tokens (outside strings) with marker strings; null when there are none. */
function markNonFiniteTokens(text: string): string | null {
  let out = '';
  let last = 0;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34) break;
      }
      continue;
    }
    let token: string | null = null;
    if (c === 78 /* N */ && text.startsWith('NaN', i)) token = 'NaN';
    else if (c === 73 /* I */ && text.startsWith('Infinity', i)) token = 'Infinity';
    else if (c === 45 /* - */ && text.startsWith('-Infinity', i)) token = '-Infinity';
    if (token !== null) {
      out += text.slice(last, i) + JSON.stringify(NON_FINITE_MARK + token);
      i += token.length - 1;
      last = i + 1;
      found = true;
    }
  }
  return found ? out + text.slice(last) : null;
}

function fromSplit(data: unknown, maxRows: number): Float64Array {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw badRequest(`Invalid input. 'dataframe_split' must be an object with 'columns' and 'data', got ${describe(data)}.`);
  }
  const split = data as Record<string, unknown>;
  const columns = split.columns;
  const rows = split.data;
  if (columns !== undefined && (!Array.isArray(columns) || columns.some((c) => typeof c !== 'string'))) {
    throw badRequest(`Invalid input. 'dataframe_split.columns' must be a list of column names.`);
  }
  if (!Array.isArray(rows)) throw badRequest(`Invalid input. 'dataframe_split.data' must be a list of rows, got ${describe(rows)}.`);
  const names = (columns ?? []) as string[];
  const positions = new Int32Array(N_FEATURES);
  for (let j = 0; j < N_FEATURES; j++) {
    const p = names.indexOf(FEATURES[j]!);
    if (p < 0) throw missingColumn(FEATURES[j]!);
    positions[j] = p;
  }
  const index = split.index;
  if (index !== undefined && (!Array.isArray(index) || index.length !== rows.length)) {
    throw badRequest(`Invalid input. 'dataframe_split.index' must be a list with one entry per row of 'data'.`);
  }
  checkRowCount(rows.length, maxRows);
  const out = new Float64Array(rows.length * N_FEATURES);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!Array.isArray(row) || row.length !== names.length) {
      throw badRequest(
        `Invalid input. Row ${i} of 'dataframe_split.data' must be a list of ${names.length} values (one per column), got ${describe(row)}.`,
      );
    }
    for (let j = 0; j < N_FEATURES; j++) out[i * N_FEATURES + j] = cell(row[positions[j]!], j, i);
  }
  return out;
}

function fromRecords(rows: unknown[], format: string, maxRows: number): Float64Array {
  checkRowCount(rows.length, maxRows);
  const out = new Float64Array(rows.length * N_FEATURES);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw badRequest(`Invalid input. Row ${i} of '${format}' must be an object mapping column names to values, got ${describe(row)}.`);
    }
    const rec = row as Record<string, unknown>;
    for (let j = 0; j < N_FEATURES; j++) {
      const v = rec[FEATURES[j]!];
      if (v === undefined) throw missingColumn(FEATURES[j]!, rows.length > 1 ? i : undefined);
      out[i * N_FEATURES + j] = cell(v, j, i);
    }
  }
  return out;
}

function fromTensorStyle(data: unknown, format: string, maxRows: number): Float64Array {
  if (Array.isArray(data)) {
    if (data.length > 0 && Array.isArray(data[0])) return fromPositional(data, format, maxRows);
    return fromRecords(data, format, maxRows);
  }
  if (data !== null && typeof data === 'object') return fromColumns(data as Record<string, unknown>, format, maxRows);
  throw badRequest(`Invalid input. '${format}' must be a list of rows or an object mapping column names to lists, got ${describe(data)}.`);
}

function fromPositional(rows: unknown[], format: string, maxRows: number): Float64Array {
  checkRowCount(rows.length, maxRows);
  const out = new Float64Array(rows.length * N_FEATURES);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!Array.isArray(row) || row.length !== N_FEATURES) {
      throw badRequest(
        `Invalid input. Row ${i} of '${format}' must be a list of ${N_FEATURES} values in the order ${FEATURES.join(', ')}, got ${describe(row)}.`,
      );
    }
    for (let j = 0; j < N_FEATURES; j++) out[i * N_FEATURES + j] = cell(row[j], j, i);
  }
  return out;
}

function fromColumns(cols: Record<string, unknown>, format: string, maxRows: number): Float64Array {
  let n = -1;
  for (let j = 0; j < N_FEATURES; j++) {
    const col = cols[FEATURES[j]!];
    if (col === undefined) throw missingColumn(FEATURES[j]!);
    if (!Array.isArray(col)) throw badRequest(`Invalid input. Column '${FEATURES[j]}' of '${format}' must be a list of values, got ${describe(col)}.`);
    if (n < 0) n = col.length;
    else if (col.length !== n) {
      throw badRequest(`Invalid input. The columns of '${format}' have different lengths (${FEATURES[0]}: ${n}, ${FEATURES[j]}: ${col.length}).`);
    }
  }
  checkRowCount(n, maxRows);
  const out = new Float64Array(n * N_FEATURES);
  for (let j = 0; j < N_FEATURES; j++) {
    const col = cols[FEATURES[j]!] as unknown[];
    for (let i = 0; i < n; i++) out[i * N_FEATURES + j] = cell(col[i], j, i);
  }
  return out;
}

function cell(v: unknown, j: number, i: number): number {
  if (typeof v === 'number') {
    if (v > FLOAT32_MAX || v < -FLOAT32_MAX) throw outOfRange(String(v), j, i);
    return v;
  }
  if (typeof v === 'string' && v.charCodeAt(0) === 0) {
    throw invalidValue(`Invalid value for column '${FEATURES[j]}' at row ${i}: ${v.slice(1)} is not allowed; every feature must be a finite number.`);
  }
  if (v === null) {
    throw invalidValue(`Invalid value for column '${FEATURES[j]}' at row ${i}: null (missing values are not supported).`);
  }
  throw invalidValue(
    `Incompatible input types for column '${FEATURES[j]}' at row ${i}: expected a number (float), got ${describe(v)}.`,
  );
}

function outOfRange(text: string, j: number, i: number): ScoringError {
  return invalidValue(`Invalid value for column '${FEATURES[j]}' at row ${i}: ${text} is outside the float32 range the model accepts.`);
}

function missingColumn(name: string, row?: number): ScoringError {
  return invalidValue(
    `The input column '${name}' is required by the model signature but missing from the input data${row !== undefined ? ` (row ${row})` : ''}.`,
  );
}

function checkRowCount(n: number, maxRows: number): void {
  if (n > maxRows) throw tooLarge(`The request has ${n} rows; at most ${maxRows} rows are accepted per request.`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  switch (typeof v) {
    case 'string':
      return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
    case 'boolean':
      return `the boolean ${v}`;
    case 'number':
      return `the number ${v}`;
    case 'undefined':
      return 'nothing';
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CSV

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/** `text/csv` with a header row (pandas `read_csv` defaults): extra columns ignored, empty cells are missing values. */
export function parseCsvBody(text: string, maxRows: number): ParsedInput {
  const records = splitCsv(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  const header = records[0];
  if (!header || (header.length === 1 && header[0]!.trim() === '')) throw badRequest('Invalid input. The CSV body is empty; a header row is required.');
  const names = header.map((h) => h.trim());
  const positions = FEATURES.map((f) => {
    const p = names.indexOf(f);
    if (p < 0) throw missingColumn(f);
    return p;
  });
  const n = records.length - 1;
  checkRowCount(n, maxRows);
  const out = new Float64Array(n * N_FEATURES);
  for (let i = 0; i < n; i++) {
    const rec = records[i + 1]!;
    if (rec.length !== names.length) {
      throw badRequest(`Invalid input. CSV row ${i} has ${rec.length} fields; the header has ${names.length}.`);
    }
    for (let j = 0; j < N_FEATURES; j++) {
      const raw = rec[positions[j]!]!.trim();
      if (DECIMAL.test(raw)) {
        const v = Number(raw);
        if (v > FLOAT32_MAX || v < -FLOAT32_MAX) throw outOfRange(raw, j, i);
        out[i * N_FEATURES + j] = v;
      } else if (raw === '') {
        throw invalidValue(`Invalid value for column '${FEATURES[j]}' at row ${i}: empty (missing values are not supported).`);
      } else if (NON_FINITE.test(raw)) {
        throw invalidValue(`Invalid value for column '${FEATURES[j]}' at row ${i}: ${raw} is not allowed; every feature must be a finite number.`);
      } else {
        throw invalidValue(
          `Incompatible input types for column '${FEATURES[j]}' at row ${i}: expected a number (float), got ${JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + '…' : raw)}.`,
        );
      }
    }
  }
  return { values: out, rows: n, clientRequestId: null };
}

/** RFC 4180 records (quoted fields with `""` escapes, CRLF or LF); blank lines are skipped. */
function splitCsv(text: string): string[][] {
  const records: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let sawField = false;
  const endRow = (): void => {
    if (sawField || field !== '' || row.length > 0) {
      row.push(field);
      if (!(row.length === 1 && row[0]!.trim() === '')) records.push(row);
    }
    row = [];
    field = '';
    sawField = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') {
      quoted = true;
      sawField = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
      sawField = true;
    } else if (c === '\n') {
      endRow();
    } else if (c === '\r') {
      if (text[i + 1] !== '\n') endRow();
    } else field += c;
  }
  if (quoted) throw badRequest('Invalid input. The CSV body ends inside a quoted field.');
  endRow();
  return records;
}
