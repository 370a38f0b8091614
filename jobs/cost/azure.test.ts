import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../core/storage/index';
import { createTestContainer, type TestContainer } from '../../test/support/blob';
import { measureBusy, readLogSample } from './utilisation';

describe('measured utilisation from prediction logs in Azure Blob (Azurite)', () => {
  let container: TestContainer;
  beforeAll(async () => {
    container = await createTestContainer({ prefix: 'logs' });
  });
  afterAll(async () => container?.dispose());

  it('lists the date partitions through the storage interface and measures the same blocks as locally', async () => {
    const storage = openStorage(container.uri);
    const line = (ts: string, id: string) => JSON.stringify({ record_type: 'prediction', timestamp: ts, request_id: id, shadow: false, latency_ms: 5 });
    await storage.put('predictions/date=2025-03-10/part-1.jsonl', [line('2025-03-10T08:00:00Z', 'a'), line('2025-03-10T08:01:40Z', 'b')].join('\n') + '\n');
    await storage.put('predictions/date=2025-03-10/part-2.jsonl', line('2025-03-10T09:00:00Z', 'c') + '\n');
    await storage.put('other/date=2025-03-10/part-1.jsonl', line('2025-03-10T10:00:00Z', 'd') + '\n');
    const sample = await readLogSample(container.uri);
    expect(sample.requests).toHaveLength(3);
    expect(sample.logFiles).toBe(2);
    const m = measureBusy(sample.requests, 300, sample.observedStart, sample.observedEnd);
    expect(m.busyBlocks).toBe(2);
    expect(m.busySeconds).toBe(400 + 300);
  });
});
