/**
 * Delayed ground truth: reading a labels file and joining it to the logged predictions by `client_request_id`.
 *
 * Join key: (`client_request_id`, `row_index`). Clients send one id per request (a top-level `client_request_id`
 * field or an `x-client-request-id` header) and the server logs it on every row of that request with the row's
 * 0-based `row_index`. A labels file without a `row_index` column means row 0 — one row per request, the usual
 * case. Nothing is dropped silently; every row that does not take part is counted:
 * - labels without an id or without an actual value;
 * - duplicate labels for the same key: the LAST one in file order wins (a later correction replaces an earlier
 *   value), the others are counted;
 * - duplicate predictions for the same key (a client retrying with the same id): the latest by timestamp wins;
 * - labels with no prediction in the window, and predictions with an id but no label (both ways);
 * - prediction rows without any client_request_id (they can never be labelled).
 * Shadow rows are joined separately and reported per route; they never count as matches of the served traffic.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from '../../core/duckdb';
import { NotFoundError, UserError } from '../../core/errors';
import { TARGET } from '../../core/schema';
import { isRemoteUri } from '../../core/storage/index';
import { localPathOf } from '../../core/storage/local';
import { openStorageForObject } from '../../core/storage/objectUri';
import { queryRows } from './logs';

export const LABEL_ID_COLUMN = 'client_request_id';
export const DEFAULT_LABEL_COLUMN = TARGET;

export interface LabelJoinCounts {
  label_rows: number;
  labels_missing_id: number;
  labels_missing_actual: number;
  /** Label rows replaced by a later row with the same key (last one wins). */
  duplicate_label_rows: number;
  /** Keys that had more than one label row. */
  duplicate_label_ids: number;
  /** Distinct labelled keys after de-duplication. */
  labels: number;
  /** Non-shadow prediction rows replaced by a later one with the same key (latest wins). */
  duplicate_prediction_rows: number;
  /** Non-shadow prediction rows that carry no client_request_id. */
  predictions_without_id: number;
  /** Non-shadow labelled predictions (the quality sample). */
  matched: number;
  /** … of which the model returned no finite prediction (left out of the metrics). */
  matched_without_prediction: number;
  /** Labels with no non-shadow prediction in the window (the prediction may be older than the window). */
  unmatched_labels: number;
  /** Non-shadow predictions with an id but no label (yet). */
  unmatched_predictions: number;
  /** Shadow rows that found a label (reported per route, never mixed into the served traffic). */
  shadow_matched: number;
}

/** One labelled prediction. */
export interface LabelledRows {
  day: string[];
  route: string[];
  alias: (string | null)[];
  version: (number | null)[];
  shadow: boolean[];
  prediction: Float64Array;
  actual: Float64Array;
}

function formatOf(uri: string): 'csv' | 'parquet' {
  const name = uri.replace(/[?#].*$/, '').toLowerCase();
  if (name.endsWith('.parquet')) return 'parquet';
  if (name.endsWith('.csv') || name.endsWith('.csv.gz')) return 'csv';
  throw new UserError(`--labels must be a .csv, .csv.gz or .parquet file, got '${uri}'`);
}

async function stageLabels(uri: string, scratch: string): Promise<string> {
  if (!isRemoteUri(uri)) {
    const file = localPathOf(uri);
    const stat = await fs.stat(file).catch(() => null);
    if (!stat) throw new UserError(`labels file not found: ${uri}`);
    if (!stat.isFile()) throw new UserError(`labels is not a file: ${uri}`);
    return file;
  }
  const { storage, key } = openStorageForObject(uri);
  const file = path.join(scratch, `labels-${path.basename(key)}`);
  try {
    await fs.writeFile(file, await storage.get(key));
  } catch (err) {
    if (err instanceof NotFoundError) throw new UserError(`labels file not found: ${uri}`);
    throw err;
  }
  return file;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Loads the labels into DuckDB (`labels`: cid, row_index, actual — de-duplicated) and joins them to the `logs`
 * table (which must have been loaded with the client id columns). Returns the counts and the labelled rows.
 */
export async function joinLabels(
  conn: DuckDBConnection,
  uri: string,
  labelColumn: string,
  scratch: string,
): Promise<{ counts: LabelJoinCounts; rows: LabelledRows }> {
  const format = formatOf(uri);
  const file = await stageLabels(uri, scratch);
  const source = format === 'csv' ? `read_csv(${sqlString(file)}, header = true, all_varchar = true)` : `read_parquet(${sqlString(file)})`;
  try {
    await conn.run(`CREATE TEMP TABLE labels_raw AS SELECT * FROM ${source}`);
  } catch (err) {
    throw new UserError(`cannot read labels ${uri}: ${(err as Error).message.split('\n')[0]}`);
  }
  const columns = (await queryRows<{ column_name: string }>(conn, 'DESCRIBE labels_raw')).map((c) => c.column_name);
  if (!columns.includes(LABEL_ID_COLUMN)) {
    throw new UserError(`labels ${uri} have no '${LABEL_ID_COLUMN}' column to join on (columns: ${columns.join(', ') || 'none'})`);
  }
  if (!columns.includes(labelColumn)) {
    throw new UserError(`labels ${uri} have no '${labelColumn}' column with the actual values (columns: ${columns.join(', ')}); use --label-column`);
  }
  const rowIndex = columns.includes('row_index') ? `TRY_CAST(row_index AS INTEGER)` : '0';
  await conn.run(`
    CREATE TEMP TABLE labels_clean AS
    SELECT rowid AS pos,
           NULLIF(trim(CAST(${ident(LABEL_ID_COLUMN)} AS VARCHAR)), '') AS cid,
           coalesce(${rowIndex}, 0) AS row_index,
           NULLIF(trim(CAST(${ident(labelColumn)} AS VARCHAR)), '') AS raw,
           TRY_CAST(trim(CAST(${ident(labelColumn)} AS VARCHAR)) AS DOUBLE) AS actual
    FROM labels_raw`);
  const bad = await queryRows<{ n: number; cid: string | null; raw: string }>(
    conn,
    `SELECT count(*) OVER ()::DOUBLE AS n, cid, raw FROM labels_clean
     WHERE raw IS NOT NULL AND (actual IS NULL OR NOT isfinite(actual)) ORDER BY pos LIMIT 1`,
  );
  if (bad.length > 0) {
    const first = bad[0]!;
    throw new UserError(
      `labels ${uri}: ${first.n} value(s) of '${labelColumn}' are not finite numbers (first: '${first.raw}' for ${LABEL_ID_COLUMN} '${first.cid ?? ''}')`,
    );
  }
  await conn.run(`
    CREATE TEMP TABLE labels AS
    SELECT cid, row_index, actual FROM (
      SELECT cid, row_index, actual, row_number() OVER (PARTITION BY cid, row_index ORDER BY pos DESC) AS rn
      FROM labels_clean WHERE cid IS NOT NULL AND actual IS NOT NULL)
    WHERE rn = 1`);
  await conn.run(`
    CREATE TEMP TABLE preds AS
    SELECT client_request_id AS cid, coalesce(row_index, 0) AS row_index, coalesce(shadow, false) AS shadow, alias, model_version,
           day, prediction,
           row_number() OVER (PARTITION BY client_request_id, coalesce(row_index, 0), coalesce(shadow, false)
                              ORDER BY timestamp DESC, request_id DESC) AS rn
    FROM logs WHERE record_type = 'prediction' AND client_request_id IS NOT NULL`);
  await conn.run(`
    CREATE TEMP TABLE matched AS
    SELECT p.day, p.alias, p.model_version, p.shadow, p.prediction, l.actual
    FROM preds p JOIN labels l USING (cid, row_index) WHERE p.rn = 1`);

  const [c] = await queryRows<Record<keyof LabelJoinCounts, number>>(
    conn,
    `SELECT
       (SELECT count(*) FROM labels_clean)::DOUBLE AS label_rows,
       (SELECT count(*) FROM labels_clean WHERE cid IS NULL)::DOUBLE AS labels_missing_id,
       (SELECT count(*) FROM labels_clean WHERE cid IS NOT NULL AND actual IS NULL)::DOUBLE AS labels_missing_actual,
       (SELECT count(*) FROM labels_clean WHERE cid IS NOT NULL AND actual IS NOT NULL)::DOUBLE - (SELECT count(*) FROM labels)::DOUBLE AS duplicate_label_rows,
       (SELECT count(*) FROM (SELECT 1 FROM labels_clean WHERE cid IS NOT NULL AND actual IS NOT NULL GROUP BY cid, row_index HAVING count(*) > 1))::DOUBLE AS duplicate_label_ids,
       (SELECT count(*) FROM labels)::DOUBLE AS labels,
       (SELECT count(*) FROM preds WHERE NOT shadow AND rn > 1)::DOUBLE AS duplicate_prediction_rows,
       (SELECT count(*) FROM logs WHERE record_type = 'prediction' AND NOT coalesce(shadow, false) AND client_request_id IS NULL)::DOUBLE AS predictions_without_id,
       (SELECT count(*) FROM matched WHERE NOT shadow)::DOUBLE AS matched,
       (SELECT count(*) FROM matched WHERE NOT shadow AND (prediction IS NULL OR NOT isfinite(prediction)))::DOUBLE AS matched_without_prediction,
       (SELECT count(*) FROM labels l WHERE NOT EXISTS (SELECT 1 FROM preds p WHERE NOT p.shadow AND p.cid = l.cid AND p.row_index = l.row_index))::DOUBLE AS unmatched_labels,
       (SELECT count(*) FROM preds p WHERE NOT p.shadow AND p.rn = 1 AND NOT EXISTS (SELECT 1 FROM labels l WHERE p.cid = l.cid AND p.row_index = l.row_index))::DOUBLE AS unmatched_predictions,
       (SELECT count(*) FROM matched WHERE shadow)::DOUBLE AS shadow_matched`,
  );
  const counts = c as unknown as LabelJoinCounts;

  const n = (await queryRows<{ n: number }>(conn, `SELECT count(*)::DOUBLE AS n FROM matched WHERE prediction IS NOT NULL AND isfinite(prediction)`))[0]!.n;
  const rows: LabelledRows = {
    day: new Array<string>(n),
    route: new Array<string>(n),
    alias: new Array<string | null>(n),
    version: new Array<number | null>(n),
    shadow: new Array<boolean>(n),
    prediction: new Float64Array(n),
    actual: new Float64Array(n),
  };
  const result = await conn.stream(
    `SELECT day, alias, model_version, shadow, prediction, actual FROM matched
     WHERE prediction IS NOT NULL AND isfinite(prediction) ORDER BY day, alias, model_version, shadow`,
  );
  let o = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const cols = [0, 1, 2, 3, 4, 5].map((k) => chunk.getColumnVector(k));
    for (let r = 0; r < chunk.rowCount; r++, o++) {
      const alias = cols[1]!.getItem(r) as string | null;
      const version = cols[2]!.getItem(r) as number | null;
      const shadow = cols[3]!.getItem(r) as boolean;
      rows.day[o] = String(cols[0]!.getItem(r));
      rows.alias[o] = alias;
      rows.version[o] = version;
      rows.shadow[o] = shadow;
      rows.route[o] = `${alias ?? '(unrouted)'}/${version ?? '?'}${shadow ? ' (shadow)' : ''}`;
      rows.prediction[o] = cols[4]!.getItem(r) as number;
      rows.actual[o] = cols[5]!.getItem(r) as number;
    }
  }
  if (o !== n) throw new Error(`expected ${n} labelled rows, read ${o}`);
  return { counts, rows };
}
