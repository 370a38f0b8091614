import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, readAudit } from '../core/audit';
import { LATEST_DECISION_KEY, parseDecision, readDecision, writeLatestDecision } from '../core/decision';
import { openStorage } from '../core/storage/index';
import { createTestContainer, type TestContainer } from './support/blob';
import { sampleDecision } from './support/decisions';


let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlops-shared-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const containers: TestContainer[] = [];
afterEach(async () => {
  await Promise.all(containers.splice(0).map((c) => c.dispose()));
});

describe('monitor decision', () => {
  it('round-trips through a reports root and through the object URI', async () => {
    const root = path.join(dir, 'reports-a');
    await fs.mkdir(root);
    const uri = await writeLatestDecision(root, sampleDecision());
    expect(uri).toBe(`${root}/${LATEST_DECISION_KEY}`);
    const fromRoot = await readDecision(root);
    expect(fromRoot.should_retrain).toBe(true);
    expect(fromRoot.drift_features).toEqual(['gdp', 'population']);
    expect(fromRoot.source_uri).toBe(uri);
    expect((await readDecision(uri)).model_version).toBe(3);
  });

  it('gives readable UserErrors for missing, non-JSON and invalid decisions', async () => {
    const root = path.join(dir, 'reports-b');
    await fs.mkdir(root);
    await expect(readDecision(root)).rejects.toThrow(/no latest-decision\.json in .*reports-b/);
    await expect(readDecision(path.join(root, 'nope.json'))).rejects.toThrow(/decision file not found/);
    await fs.writeFile(path.join(root, 'broken.json'), '{"kind":');
    await expect(readDecision(path.join(root, 'broken.json'))).rejects.toMatchObject({ name: 'UserError', message: expect.stringMatching(/not valid JSON/) });
    await fs.writeFile(path.join(root, 'bad.json'), JSON.stringify({ ...sampleDecision(), should_retrain: 'yes', status: 'meh' }));
    await expect(readDecision(path.join(root, 'bad.json'))).rejects.toThrow(/should_retrain.*status|status.*should_retrain/);
    expect(() => parseDecision({ ...sampleDecision(), drift_count: 5 })).toThrow(/drift_count 5 but 2 drift_features/);
  });

  it('keeps unknown extra fields (forward compatible)', () => {
    const parsed = parseDecision({ ...sampleDecision(), per_feature: { gdp: { p: 0.01 } } });
    expect(parsed.per_feature).toEqual({ gdp: { p: 0.01 } });
  });

  it('reads from an Azurite container', async () => {
    const c = await createTestContainer({ prefix: 'reports' });
    containers.push(c);
    await writeLatestDecision(c.uri, sampleDecision({ should_retrain: false, status: 'ok', drift_count: 0, drift_features: [], drift_share: 0 }));
    const d = await readDecision(c.uri);
    expect(d.should_retrain).toBe(false);
    expect(d.source_uri).toBe(`${c.uri}/latest-decision.json`);
  });
});

describe('audit log', () => {
  it('appends immutable records and reads them back in time order, filtered by kind and time', async () => {
    const root = path.join(dir, 'audit-a');
    await fs.mkdir(root);
    const t0 = new Date('2025-03-01T23:59:59.000Z');
    const a = await appendAudit(root, { kind: 'promotion', candidate: 4, promoted: true }, t0);
    const b = await appendAudit(root, { kind: 'rollback', restored: 3 }, new Date('2025-03-02T00:00:01.000Z'));
    const c = await appendAudit(root, { kind: 'promotion', candidate: 5, promoted: false }, new Date('2025-03-02T10:00:00.000Z'));
    expect(a.key).toMatch(/^audit\/date=2025-03-01\/20250301T235959\.000Z-promotion-[0-9a-f]{12}\.json$/);
    expect(b.key.startsWith('audit/date=2025-03-02/')).toBe(true);
    expect(a.uri).toBe(`${root}/${a.key}`);

    const all = await readAudit(root);
    expect(all.map((r) => r.kind)).toEqual(['promotion', 'rollback', 'promotion']);
    expect(all[0]).toMatchObject({ candidate: 4, promoted: true, recorded_at: t0.toISOString(), audit_id: a.record.audit_id });
    expect((await readAudit(root, { kind: 'promotion' })).map((r) => r.candidate)).toEqual([4, 5]);
    expect((await readAudit(root, { since: '2025-03-02T00:00:00Z' })).map((r) => r.audit_id)).toEqual([b.record.audit_id, c.record.audit_id]);

    // Records are created with If-None-Match: the same key can never be written twice.
    await expect(openStorage(root).put(a.key, '{}', { ifNoneMatch: '*' })).rejects.toMatchObject({ name: 'PreconditionFailedError' });
  });

  it('rejects bad kinds and works on Azurite', async () => {
    await expect(appendAudit(path.join(dir, 'audit-b'), { kind: 'Bad Kind!' })).rejects.toThrow(/kind must match/);
    const c = await createTestContainer({ prefix: 'registry/renewable_energy_predictor' });
    containers.push(c);
    await appendAudit(c.uri, { kind: 'monitor_decision', status: 'ok' });
    await appendAudit(c.uri, { kind: 'monitor_decision', status: 'drift' });
    const records = await readAudit(c.uri, { kind: 'monitor_decision' });
    expect(records.map((r) => r.status)).toEqual(['ok', 'drift']);
  });
});
