import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PredictionLogRecord } from '../core/logRecord';
import { LocalStorage, type Storage } from '../core/storage';
import { ServerMetrics } from './metrics';
import { PredictionLog } from './predictionLog';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const dirs: string[] = [];
function temp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'plog-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function record(i: number, timestamp = '2024-05-01T10:00:00.000Z'): PredictionLogRecord {
  return {
    record_type: 'prediction',
    timestamp,
    request_id: `r${i}`,
    client_request_id: null,
    row_index: 0,
    model_name: 'm',
    alias: 'champion',
    model_version: 1,
    shadow: false,
    year: 2000,
    population: 1,
    gdp: 2,
    primary_energy_consumption: 3,
    fossil_fuel_consumption: 4,
    renewables_consumption: 5,
    prediction: i,
    latency_ms: 1,
    status_code: 200,
    error_code: null,
  };
}

/** A LocalStorage whose writes fail while `down` is set. */
function switchable(root: string): { storage: Storage; setDown(v: boolean): void; puts: () => number } {
  const inner = new LocalStorage(root);
  let down = false;
  let puts = 0;
  const storage: Storage = Object.assign(Object.create(inner) as Storage, {
    uri: inner.uri,
    put: async (...args: Parameters<Storage['put']>) => {
      puts++;
      if (down) throw new Error('storage unavailable');
      return inner.put(...args);
    },
  });
  return { storage, setDown: (v) => (down = v), puts: () => puts };
}

async function written(root: string): Promise<string[]> {
  const storage = new LocalStorage(root);
  const out: string[] = [];
  for (const { key } of await storage.list('predictions/')) {
    for (const line of (await storage.get(key)).toString('utf8').split('\n')) if (line) out.push((JSON.parse(line) as PredictionLogRecord).request_id);
  }
  return out.sort();
}

describe('PredictionLog', () => {
  it('partitions by the UTC date of each record', async () => {
    const root = temp();
    const log = new PredictionLog({ storage: new LocalStorage(root), metrics: new ServerMetrics({ defaultMetrics: false }), logger: quiet, spillDir: temp() });
    await log.start();
    log.add(record(1, '2024-05-01T23:59:59.999Z'));
    log.add(record(2, '2024-05-02T00:00:00.000Z'));
    await log.close();
    expect(readdirSync(path.join(root, 'predictions')).sort()).toEqual(['date=2024-05-01', 'date=2024-05-02']);
  });

  it('retries, spills during an outage, replays when storage is back, drops nothing', async () => {
    const root = temp();
    const metrics = new ServerMetrics({ defaultMetrics: false });
    const s = switchable(root);
    const log = new PredictionLog({ storage: s.storage, metrics, logger: quiet, spillDir: temp(), batchRecords: 10, maxTries: 3, retryBaseMs: 1, replayBaseMs: 10, replayMaxMs: 20 });
    await log.start();
    for (let i = 0; i < 25; i++) log.add(record(i));
    await log.flush();
    s.setDown(true);
    for (let i = 25; i < 60; i++) log.add(record(i));
    await log.flush();
    expect(log.degraded).toBe(true);
    expect((await metrics.logRetries.get()).values[0]!.value).toBeGreaterThanOrEqual(2);
    s.setDown(false);
    expect(await log.drainSpill()).toBe(true);
    await log.close();
    expect(await written(root)).toHaveLength(60);
    expect((await metrics.logDropped.get()).values[0]!.value).toBe(0);
    expect((await metrics.logWritten.get()).values[0]!.value).toBe(60);
  });

  it('keeps memory bounded: beyond the queue limit batches go to disk while a write is slow', async () => {
    const root = temp();
    const metrics = new ServerMetrics({ defaultMetrics: false });
    const inner = new LocalStorage(root);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: Storage = Object.assign(Object.create(inner) as Storage, {
      uri: inner.uri,
      put: async (...args: Parameters<Storage['put']>) => {
        await gate;
        return inner.put(...args);
      },
    });
    const log = new PredictionLog({ storage: slow, metrics, logger: quiet, spillDir: temp(), batchRecords: 10, maxQueueRecords: 30, replayBaseMs: 10 });
    await log.start();
    let maxQueued = 0;
    for (let i = 0; i < 200; i++) {
      log.add(record(i));
      maxQueued = Math.max(maxQueued, log.queued);
    }
    expect(maxQueued).toBeLessThanOrEqual(30);
    await Promise.resolve();
    release();
    expect(await log.drainSpill()).toBe(true);
    await log.close();
    expect(await written(root)).toHaveLength(200);
    // Only the first batch was in the slow write; the rest went to disk and was replayed.
    expect((await metrics.logSpilled.get()).values[0]!.value).toBeGreaterThanOrEqual(170);
    expect((await metrics.logDropped.get()).values[0]!.value).toBe(0);
  });

  it('replays records spilled by an earlier process at startup', async () => {
    const root = temp();
    const spillDir = temp();
    const down = switchable(root);
    down.setDown(true);
    const first = new PredictionLog({ storage: down.storage, metrics: new ServerMetrics({ defaultMetrics: false }), logger: quiet, spillDir, maxTries: 1 });
    await first.start();
    for (let i = 0; i < 7; i++) first.add(record(i));
    await first.close(1_000);
    expect(await written(root)).toHaveLength(0);

    const second = new PredictionLog({ storage: new LocalStorage(root), metrics: new ServerMetrics({ defaultMetrics: false }), logger: quiet, spillDir });
    await second.start();
    expect(await second.drainSpill()).toBe(true);
    await second.close();
    expect(await written(root)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
  });
});
