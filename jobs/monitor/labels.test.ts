import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqlString, withDuckDB } from '../../core/duckdb';
import { UserError } from '../../core/errors';
import type { PredictionLogRecord } from '../../core/logRecord';
import { LocalStorage } from '../../core/storage/local';
import { joinLabels } from './labels';
import { loadLogs, stageLogs } from './logs';
import { writeLogRecords } from './testSupport';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function temp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'mlops-labels-'));
  dirs.push(d);
  return d;
}

const DAY = '2025-04-02';
let seq = 0;
function rec(cid: string | null, pred: number, o: { row?: number; alias?: string; version?: number; shadow?: boolean; minute?: number } = {}): PredictionLogRecord {
  return {
    record_type: 'prediction',
    timestamp: new Date(Date.parse(`${DAY}T10:00:00.000Z`) + (o.minute ?? seq++) * 60_000).toISOString(),
    request_id: `r${seq++}`,
    client_request_id: cid,
    row_index: o.row ?? 0,
    model_name: 'renewable_energy_predictor',
    alias: o.alias ?? 'champion',
    model_version: o.version ?? 1,
    shadow: o.shadow ?? false,
    year: 2000,
    population: 1e6,
    gdp: 1e9,
    primary_energy_consumption: 10,
    fossil_fuel_consumption: 8,
    renewables_consumption: 2,
    prediction: pred,
    latency_ms: 5,
    status_code: 200,
    error_code: null,
  };
}

async function logsDir(records: PredictionLogRecord[]): Promise<string> {
  const dir = temp();
  await writeLogRecords(new LocalStorage(dir), records);
  return dir;
}

async function join(logs: string, labelsFile: string, column = 'renewables_share_energy') {
  const scratch = temp();
  const staged = await stageLogs(logs, [DAY], scratch);
  return withDuckDB(async (conn) => {
    await loadLogs(conn, staged, 'renewable_energy_predictor', true);
    return joinLabels(conn, labelsFile, column, scratch);
  });
}

const RECORDS = (): PredictionLogRecord[] => [
  rec('a', 10),
  rec('b', 20, { row: 0 }),
  rec('b', 21, { row: 1 }),
  rec('c', 30, { alias: 'challenger', version: 2 }),
  rec('c', 31, { alias: 'shadow', version: 2, shadow: true }),
  rec('d', 40, { minute: 1 }),
  rec('d', 41, { minute: 50 }), // the client retried with the same id: the later prediction counts
  rec(null, 50),
  rec('f', 60),
];

describe('joining labels to logged predictions by client_request_id', () => {
  it('counts matches, unmatched both ways, duplicates and unusable rows; last label wins', async () => {
    const logs = await logsDir(RECORDS());
    const dir = temp();
    const labels = path.join(dir, 'labels.csv');
    writeFileSync(
      labels,
      ['client_request_id,row_index,renewables_share_energy', 'a,0,11', 'b,0,19', 'b,1,22', 'c,0,33', 'd,0,40', 'x,0,5', 'a,0,12', ',0,7', 'g,0,'].join('\n') + '\n',
    );
    const { counts, rows } = await join(logs, labels);
    expect(counts).toEqual({
      label_rows: 9,
      labels_missing_id: 1,
      labels_missing_actual: 1,
      duplicate_label_rows: 1,
      duplicate_label_ids: 1,
      labels: 6,
      duplicate_prediction_rows: 1,
      predictions_without_id: 1,
      matched: 5,
      matched_without_prediction: 0,
      unmatched_labels: 1,
      unmatched_predictions: 1,
      shadow_matched: 1,
    });
    const pairs = Array.from(rows.actual, (a, i) => ({ route: rows.route[i], actual: a, prediction: rows.prediction[i] }));
    expect(pairs).toHaveLength(6);
    expect(pairs).toContainEqual({ route: 'champion/1', actual: 12, prediction: 10 }); // the later label for 'a'
    expect(pairs).toContainEqual({ route: 'champion/1', actual: 40, prediction: 41 }); // the later prediction for 'd'
    expect(pairs).toContainEqual({ route: 'champion/1', actual: 22, prediction: 21 });
    expect(pairs).toContainEqual({ route: 'challenger/2', actual: 33, prediction: 30 });
    expect(pairs).toContainEqual({ route: 'shadow/2 (shadow)', actual: 33, prediction: 31 });
    expect(rows.day.every((d) => d === DAY)).toBe(true);
  });

  it('reads Parquet labels, a custom label column, and treats a missing row_index as row 0', async () => {
    const logs = await logsDir(RECORDS());
    const dir = temp();
    const file = path.join(dir, 'labels.parquet');
    await withDuckDB(async (conn) => {
      await conn.run(
        `COPY (SELECT * FROM (VALUES ('a', 11.5), ('b', 19.0), ('c', 33.0)) t(client_request_id, actual_share)) TO ${sqlString(file)} (FORMAT parquet)`,
      );
    });
    const { counts, rows } = await join(logs, file, 'actual_share');
    expect(counts.matched).toBe(3); // a, b row 0 and c; b row 1 stays unlabelled
    expect(counts.unmatched_predictions).toBe(3); // b row 1, d, f
    expect(Array.from(rows.actual).sort((x, y) => x - y)).toEqual([11.5, 19, 33, 33]);
  });

  it('rejects labels without the id column, without the label column, or with non-numeric actuals', async () => {
    const logs = await logsDir(RECORDS());
    const dir = temp();
    const noId = path.join(dir, 'noid.csv');
    writeFileSync(noId, 'request,renewables_share_energy\na,1\n');
    await expect(join(logs, noId)).rejects.toThrow(UserError);
    await expect(join(logs, noId)).rejects.toThrow(/have no 'client_request_id' column to join on \(columns: request, renewables_share_energy\)/);
    const noLabel = path.join(dir, 'nolabel.csv');
    writeFileSync(noLabel, 'client_request_id,share\na,1\n');
    await expect(join(logs, noLabel)).rejects.toThrow(/no 'renewables_share_energy' column .* use --label-column/);
    const text = path.join(dir, 'text.csv');
    writeFileSync(text, 'client_request_id,renewables_share_energy\na,1\nb,twelve\nc,inf\n');
    await expect(join(logs, text)).rejects.toThrow(/2 value\(s\) of 'renewables_share_energy' are not finite numbers \(first: 'twelve' for client_request_id 'b'\)/);
    await expect(join(logs, path.join(dir, 'missing.csv'))).rejects.toThrow(/labels file not found/);
    await expect(join(logs, path.join(dir, 'labels.json'))).rejects.toThrow(/must be a \.csv, \.csv\.gz or \.parquet file/);
  });
});
