import type { Feature } from './schema';

/**
 * The prediction log record: one per scored row (and per shadow-scored row) plus one per failed request.
 * Written as JSON lines under `predictions/date=YYYY-MM-DD/part-*.jsonl` in the log storage, so that
 * DuckDB (`read_json_auto('…/predictions/*\/*.jsonl', hive_partitioning = true)`) and Spark
 * (`spark.read.json(…)`) read it directly. Columns are flat; field names are stable (the monitor reads them).
 */
export type PredictionLogRecord = {
  /** `prediction` for a scored row, `error` for a failed request (then row fields are null). */
  record_type: 'prediction' | 'error';
  /** ISO-8601 UTC time the request was received. */
  timestamp: string;
  request_id: string;
  /** The client's own id (`client_request_id` body field or `x-client-request-id` header), for label joins. */
  client_request_id: string | null;
  /** 0-based row index inside the request. */
  row_index: number | null;
  model_name: string;
  /** The route (registry alias) that scored the row; null on errors before routing. */
  alias: string | null;
  model_version: number | null;
  /** True for rows scored by the shadow alias (never returned to the client). */
  shadow: boolean;
  prediction: number | null;
  /** Whole-request latency in milliseconds as seen by the server. */
  latency_ms: number;
  status_code: number;
  error_code: string | null;
} & { [K in Feature]: number | null };

export const PREDICTIONS_PREFIX = 'predictions';

/** `predictions/date=YYYY-MM-DD/` for a timestamp (UTC). */
export function partitionPrefix(timestamp: Date): string {
  return `${PREDICTIONS_PREFIX}/date=${timestamp.toISOString().slice(0, 10)}/`;
}

/** The record of a failed request: no row, no features, no prediction. */
export function errorLogRecord(fields: {
  timestamp: string;
  request_id: string;
  client_request_id: string | null;
  model_name: string;
  alias: string | null;
  model_version: number | null;
  latency_ms: number;
  status_code: number;
  error_code: string;
}): PredictionLogRecord {
  return {
    record_type: 'error',
    row_index: null,
    shadow: false,
    year: null,
    population: null,
    gdp: null,
    primary_energy_consumption: null,
    fossil_fuel_consumption: null,
    renewables_consumption: null,
    prediction: null,
    ...fields,
  };
}
