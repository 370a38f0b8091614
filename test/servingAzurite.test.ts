/**
 * The prediction log on Azure Blob (Azurite): records == scored rows; a storage outage in the middle of load fails
 * no request and loses no record once storage is back; SIGTERM flushes what is queued before the process exits.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PredictionLogRecord } from '../core/logRecord';
import { openStorage } from '../core/storage';
import { FEATURES } from '../core/schema';
import { freePort, startAzurite } from './support/azurite';
import { createTestContainer } from './support/blob';
import { createTestRegistry, type TestRegistry } from './support/models';
import { eventually, pool, readLocalLog, send, startServer, tempDir } from './support/servingHarness';

let reg: TestRegistry;
const temp = tempDir('mlops-serving-azurite-');
const REPO = path.resolve(__dirname, '..');

beforeAll(async () => {
  reg = await createTestRegistry();
});
afterAll(() => {
  reg?.cleanup();
  temp.cleanup();
});

const row = (i: number): number[] => [1990 + (i % 30), 1e6 + i, 1e10 + i * 1e6, 100 + i, 60 + (i % 40), 5 + (i % 20)];

function body(i: number, n: number): string {
  return JSON.stringify({ dataframe_split: { columns: FEATURES, data: Array.from({ length: n }, (_, k) => row(i + k)) }, client_request_id: `req-${i}` });
}

async function readBlobLog(uri: string): Promise<PredictionLogRecord[]> {
  const storage = openStorage(uri);
  const out: PredictionLogRecord[] = [];
  for (const { key } of await storage.list('predictions/')) {
    expect(key).toMatch(/^predictions\/date=\d{4}-\d{2}-\d{2}\/part-\d{8}T\d{9}Z-[0-9a-f]{12}\.jsonl$/);
    for (const line of (await storage.get(key)).toString('utf8').split('\n')) if (line) out.push(JSON.parse(line) as PredictionLogRecord);
  }
  return out;
}

describe('prediction log on Azure Blob (Azurite)', () => {
  it('writes one record per scored row', async () => {
    const container = await createTestContainer({ prefix: 'serving' });
    const s = await startServer({ registry: reg.uri, routes: 'champion=50,challenger=50', logs: container.uri, logSpillDir: path.join(temp.dir, 'spill-a') });
    let rows = 0;
    try {
      await pool(Array.from({ length: 60 }, (_, i) => i), 6, async (i) => {
        const n = (i % 3) + 1;
        const res = await send(s.url, { body: body(i, n) });
        expect(res.status).toBe(200);
        rows += n;
      });
    } finally {
      await s.close();
    }
    const records = await readBlobLog(container.uri);
    expect(records.filter((r) => r.record_type === 'prediction')).toHaveLength(rows);
    expect(new Set(records.map((r) => r.client_request_id)).size).toBe(60);
    await container.dispose();
  });

  it('storage stopped mid-load: no failed request, every record delivered after it restarts', async () => {
    const azurite = await startAzurite({ persistent: true });
    process.env.AZURE_STORAGE_CONNECTION_STRING = azurite.connectionString;
    const container = 'outage';
    await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(container).create();
    const logs = `${azurite.blobEndpoint}/${container}`;
    const s = await startServer(
      { registry: reg.uri, routes: 'champion=90,challenger=10', logs, logSpillDir: path.join(temp.dir, 'spill-outage'), logFlushSeconds: 0.1, logBatchRecords: 25 },
      { logTuning: { maxTries: 2, retryBaseMs: 20, replayBaseMs: 100, replayMaxMs: 400 } },
    );
    let rows = 0;
    let next = 0;
    const burst = async (count: number): Promise<void> => {
      await pool(Array.from({ length: count }, () => next++), 6, async (i) => {
        const n = (i % 2) + 1;
        const res = await send(s.url, { body: body(i, n) });
        expect(res.status).toBe(200);
        rows += n;
      });
    };
    try {
      await burst(100);
      await s.server.log!.flush();
      await azurite.stop();
      // Keep scoring while storage is down until the writer has noticed and spilled.
      await eventually(async () => {
        await burst(20);
        await s.server.log!.flush();
        return s.server.log!.degraded;
      }, 'the log writer to notice the outage');
      await burst(150);
      await s.server.log!.flush();
      expect(s.server.log!.degraded).toBe(true);
      await azurite.restart();
      await burst(50);
      await eventually(() => s.server.log!.drainSpill(), 'the spilled records to be replayed');
      const metrics = (await send(s.url, { method: 'GET', path: '/metrics' })).text;
      expect(metrics).toMatch(/mlops_log_records_dropped_total 0\n/);
      expect(metrics).toMatch(/mlops_log_records_spilled_total [1-9]/);
    } finally {
      await s.close();
    }
    const records = await readBlobLog(logs);
    const predictions = records.filter((r) => r.record_type === 'prediction');
    expect(predictions).toHaveLength(rows);
    // No duplicates: every (request, row) exactly once.
    expect(new Set(predictions.map((r) => `${r.request_id}/${r.row_index}`)).size).toBe(rows);
    await azurite.dispose();
  });
});

describe('shutdown', () => {
  it('SIGTERM: stops, flushes queued records, exits 0', async () => {
    const logs = path.join(temp.dir, 'sigterm-logs');
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'jobs/cli.ts', 'serve', '--registry', reg.uri, '--host', '127.0.0.1', '--port', String(port), '--routes', 'champion=100', '--logs', logs],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
        // A flush interval and batch far beyond the test: records can only reach storage through the shutdown flush.
        env: { ...process.env, MLOPS_LOG_FLUSH_SECONDS: '3600', MLOPS_LOG_BATCH_RECORDS: '1000000', MLOPS_LOG_SPILL_DIR: path.join(temp.dir, 'spill-sigterm'), MLOPS_LOG_LEVEL: 'info' },
      },
    );
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    try {
      await eventually(async () => (await fetch(`${url}/health`).then((r) => r.status).catch(() => 0)) === 200, `the server to start: ${output}`);
      let rows = 0;
      await pool(Array.from({ length: 40 }, (_, i) => i), 4, async (i) => {
        const res = await send(url, { body: body(i, 3) });
        expect(res.status).toBe(200);
        rows += 3;
      });
      expect(readLocalLog(logs)).toHaveLength(0);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(readLocalLog(logs)).toHaveLength(rows);
      expect(output).toContain('shutting down');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
