import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors';
import { measureBusy, readLogSample, type RequestSample } from './utilisation';

const T0 = Date.parse('2025-03-10T00:00:00Z');
const DAY = 86_400_000;
const at = (seconds: number, latencyMs = 10): RequestSample => ({ t: T0 + seconds * 1000, latencyMs });

describe('measureBusy', () => {
  it('requests 100 s apart inside a 300 s window make one busy block and one cold start', () => {
    const m = measureBusy([at(1000), at(1100), at(1200), at(1300)], 300, T0, T0 + DAY);
    expect(m.busyBlocks).toBe(1);
    expect(m.coldStarts).toBe(1);
    // 1000 → 1300 + 300
    expect(m.busySeconds).toBe(600);
    expect(m.activeShare).toBeCloseTo(600 / 86_400, 12);
    expect(m.requests).toBe(4);
  });

  it('requests 10 min apart are separate blocks, each one a cold start', () => {
    const m = measureBusy([at(0), at(600), at(1200), at(1800)], 300, T0, T0 + DAY);
    expect(m.busyBlocks).toBe(4);
    expect(m.coldStarts).toBe(4);
    expect(m.busySeconds).toBe(4 * 300);
  });

  it('the same requests merge into one block with a 30 min window (Databricks)', () => {
    const m = measureBusy([at(0), at(600), at(1200), at(1800)], 1800, T0, T0 + DAY);
    expect(m.busyBlocks).toBe(1);
    expect(m.busySeconds).toBe(1800 + 1800);
  });

  it('does not depend on input order and clips busy time at the end of the observed period', () => {
    const m = measureBusy([at(86_300), at(0)], 300, T0, T0 + DAY);
    expect(m.busyBlocks).toBe(2);
    expect(m.busySeconds).toBe(300 + 100);
  });

  it('a request exactly one window after the previous one is a new block', () => {
    expect(measureBusy([at(0), at(300)], 300, T0, T0 + DAY).busyBlocks).toBe(2);
    expect(measureBusy([at(0), at(299.999)], 300, T0, T0 + DAY).busyBlocks).toBe(1);
  });

  it('mean concurrency per busy minute follows Little\'s law (Σ latency / 60 s)', () => {
    const m = measureBusy([at(0, 30_000), at(10, 90_000), at(120, 6_000)], 300, T0, T0 + DAY);
    expect(m.minuteConcurrency.sort()).toEqual([0.1, 2]);
  });

  it('an empty observed period is an error', () => {
    expect(() => measureBusy([], 300, T0, T0)).toThrow(UserError);
  });
});

describe('readLogSample', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'cost-logs-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const record = (timestamp: string, requestId: string, rowIndex: number, shadow = false) =>
    JSON.stringify({ record_type: 'prediction', timestamp, request_id: requestId, client_request_id: null, row_index: rowIndex, model_name: 'm', alias: 'champion', model_version: 1, shadow, prediction: 1, latency_ms: 12, status_code: 200, error_code: null });

  it('reduces rows to one sample per request, skips shadow rows and covers whole UTC days', async () => {
    const dir = path.join(root, 'a', 'predictions');
    mkdirSync(path.join(dir, 'date=2025-03-10'), { recursive: true });
    mkdirSync(path.join(dir, 'date=2025-03-11'), { recursive: true });
    writeFileSync(
      path.join(dir, 'date=2025-03-10', 'part-1.jsonl'),
      [record('2025-03-10T08:00:00.000Z', 'r1', 0), record('2025-03-10T08:00:00.000Z', 'r1', 1), record('2025-03-10T08:00:00.100Z', 'r1', 0, true)].join('\n') + '\n',
    );
    writeFileSync(path.join(dir, 'date=2025-03-11', 'part-1.jsonl'), record('2025-03-11T09:00:00.000Z', 'r2', 0) + '\n');
    writeFileSync(path.join(dir, 'date=2025-03-11', 'part-2.parquet'), 'not read');
    const sample = await readLogSample(path.join(root, 'a'));
    expect(sample.requests).toEqual([
      { t: Date.parse('2025-03-10T08:00:00Z'), latencyMs: 12 },
      { t: Date.parse('2025-03-11T09:00:00Z'), latencyMs: 12 },
    ]);
    expect(sample.firstDay).toBe('2025-03-10');
    expect(sample.lastDay).toBe('2025-03-11');
    expect(sample.observedEnd - sample.observedStart).toBe(2 * DAY);
    expect(sample.logFiles).toBe(2);
    expect(sample.skippedFiles).toBe(1);

    const since = await readLogSample(path.join(root, 'a'), '2025-03-11');
    expect(since.requests).toHaveLength(1);
    expect(since.firstDay).toBe('2025-03-11');
  });

  it('no log partitions and malformed lines are readable errors', async () => {
    mkdirSync(path.join(root, 'empty'), { recursive: true });
    await expect(readLogSample(path.join(root, 'empty'))).rejects.toThrow(/no prediction logs under predictions\/date=YYYY-MM-DD/);
    const bad = path.join(root, 'bad', 'predictions', 'date=2025-03-10');
    mkdirSync(bad, { recursive: true });
    writeFileSync(path.join(bad, 'part-1.jsonl'), '{"timestamp": "2025-03-10T00:00:00Z"}\nnot json\n');
    await expect(readLogSample(path.join(root, 'bad'))).rejects.toThrow(/part-1.jsonl line 2 is not JSON/);
  });
});
