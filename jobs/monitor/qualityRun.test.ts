import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDecision } from '../../core/decision';
import { UserError } from '../../core/errors';
import { OnnxModel } from '../../core/model/runtime';
import type { ReferenceProfile } from '../../core/profile';
import { LocalStorage } from '../../core/storage/local';
import { createTestRegistry, type TestRegistry } from '../../test/support/models';
import { runMonitor } from './run';
import { daysEnding, generateLogRecords, loadRoutedModels, writeLogRecords, type LogScenario } from './testSupport';

const END = '2025-08-10';
const DAYS = daysEnding(END, 7);
let registry: TestRegistry;
let reference: ReferenceProfile;
let champion: OnnxModel;
let challenger: OnnxModel;
let server: Server;
let webhook = '';
const received: Array<{ text: string }> = [];
const dirs: string[] = [];

function temp(name: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), `mlops-quality-${name}-`));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  registry = await createTestRegistry();
  ({ reference, champion, challenger } = await loadRoutedModels(registry));
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  webhook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await champion?.release();
  await challenger?.release();
  registry?.cleanup();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function logsWithLabels(overrides: Partial<LogScenario> = {}): Promise<{ logs: string; labels: string }> {
  const labelsOut: NonNullable<LogScenario['labelsOut']> = [];
  const records = await generateLogRecords({
    reference,
    model: registry.model,
    days: DAYS,
    rowsPerDay: 300,
    seed: 21,
    routes: [
      { alias: 'champion', version: registry.versions.champion, share: 0.7, predict: (x) => champion.predict(x) },
      { alias: 'challenger', version: registry.versions.challenger, share: 0.3, predict: (x) => challenger.predict(x) },
    ],
    shadow: { alias: 'shadow', version: registry.versions.challenger, share: 1, predict: (x) => challenger.predict(x) },
    labelsOut,
    ...overrides,
  });
  const logs = temp('logs');
  await writeLogRecords(new LocalStorage(logs), records);
  const labels = path.join(temp('labels'), 'actuals.csv');
  // Labels arrive for most requests only, and one correction is sent twice.
  const kept = labelsOut.filter((_, i) => i % 10 !== 0);
  const lines = kept.map((l) => `${l.client_request_id},${l.row_index},${l.actual}`);
  lines.push(`${kept[0]!.client_request_id},0,${kept[0]!.actual}`);
  lines.push('never-served,0,12.5');
  writeFileSync(labels, ['client_request_id,row_index,renewables_share_energy', ...lines].join('\n') + '\n');
  return { logs, labels };
}

describe('mlops monitor --labels', () => {
  it('measures quality per day and route, reports the join and a canary verdict', async () => {
    const { logs, labels } = await logsWithLabels();
    const result = await runMonitor({ registry: registry.uri, logs, report: temp('report'), endDate: END, labels, webhookUrl: '' });
    const q = result.quality!;
    expect(q.join.matched + q.join.unmatched_predictions).toBe(7 * 300);
    expect(q.join.unmatched_predictions).toBe(210);
    expect(q.join.unmatched_labels).toBe(1);
    expect(q.join.duplicate_label_ids).toBe(1);
    expect(q.join.shadow_matched).toBe(q.join.matched);
    expect(q.daily.map((d) => d.day)).toEqual(DAYS);
    expect(q.daily.every((d) => d.judged)).toBe(true);
    expect(q.thresholds.source).toMatch(/holdout R²/);
    expect(q.degraded).toBe(false);
    expect(result.status).not.toBe('degraded');
    expect(q.by_route.map((r) => r.route).sort()).toEqual([`challenger/${registry.versions.challenger}`, `champion/${registry.versions.champion}`, `shadow/${registry.versions.challenger} (shadow)`]);
    const canary = result.canary!;
    expect(canary.champion.n + canary.challenger.n).toBe(q.join.matched);
    expect(canary.ci).not.toBeNull();
    expect(['promote challenger', 'keep champion', 'not enough evidence yet']).toContain(canary.decision);
    expect(canary.summary).toContain(canary.decision);
    const html = readFileSync(result.report.html, 'utf8');
    expect(html).toContain('Canary verdict');
    expect(html).toContain('Model quality from labels');
    expect((await readDecision(result.report.root)).canary_decision).toBe(canary.decision);
  });

  it('raises PERFORMANCE_DEGRADATION and recommends retraining without drift when k of n days violate', async () => {
    const late = new Set(DAYS.slice(-3));
    const { logs, labels } = await logsWithLabels({ actualNoise: (day, rng) => (late.has(day) ? 25 * rng.normal() : 0) });
    received.length = 0;
    const result = await runMonitor({ registry: registry.uri, logs, report: temp('report'), endDate: END, labels, webhookUrl: webhook });
    expect(result.drift_count).toBe(0);
    expect(result.quality!.daily.map((d) => d.violated)).toEqual([false, false, false, false, true, true, true]);
    expect(result.quality!.degraded).toBe(true);
    expect(result.status).toBe('degraded');
    expect(result.should_retrain).toBe(true);
    expect(result.alert).toMatchObject({ triggered: true, severity: 'critical', delivered: true });
    expect(received).toHaveLength(1);
    expect(received[0]!.text).toMatch(/PERFORMANCE_DEGRADATION: thresholds violated in 3 of the last 3 daily windows/);
    expect(received[0]!.text).toMatch(/canary: /);
    const decision = await readDecision(result.report.root);
    expect(decision).toMatchObject({ status: 'degraded', should_retrain: true, drift_count: 0, quality_degraded: true });
    // A stricter rule (all of the last 4) does not fire.
    const strict = await runMonitor({ registry: registry.uri, logs, report: temp('report'), endDate: END, labels, webhookUrl: '', degradationK: 4, degradationN: 4 });
    expect(strict.quality!.degraded).toBe(false);
    expect(strict.should_retrain).toBe(false);
    expect(strict.alert.severity).toBe('warning');
  });

  it('turns unusable labels into UserErrors', async () => {
    const { logs } = await logsWithLabels({ rowsPerDay: 20, days: [END] });
    const bad = path.join(temp('labels'), 'bad.csv');
    writeFileSync(bad, 'id,renewables_share_energy\nx,1\n');
    const run = runMonitor({ registry: registry.uri, logs, report: temp('report'), endDate: END, labels: bad, webhookUrl: '' });
    await expect(run).rejects.toThrow(UserError);
    await expect(runMonitor({ registry: registry.uri, logs, report: temp('report'), endDate: END, labels: bad, webhookUrl: '' })).rejects.toThrow(
      /no 'client_request_id' column/,
    );
  });
});
