import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudit } from '../../core/audit';
import { readDecision } from '../../core/decision';
import { UserError } from '../../core/errors';
import { OnnxModel } from '../../core/model/runtime';
import type { ReferenceProfile } from '../../core/profile';
import { FEATURES } from '../../core/schema';
import { LocalStorage } from '../../core/storage/local';
import { createTestRegistry, type TestRegistry } from '../../test/support/models';
import { quantileSorted } from '../drift/sample';
import { runMonitor } from './run';
import { daysEnding, generateLogRecords, loadRoutedModels, writeLogRecords, type LogScenario } from './testSupport';
import type { MonitorOptions } from './types';

const END = '2025-03-07';
const DAYS = daysEnding(END, 7);

let registry: TestRegistry;
let reference: ReferenceProfile;
let champion: OnnxModel;
let challenger: OnnxModel;
const scratch: string[] = [];

function tempDir(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `mlops-monitor-${name}-`));
  scratch.push(dir);
  return dir;
}

beforeAll(async () => {
  registry = await createTestRegistry();
  ({ reference, champion, challenger } = await loadRoutedModels(registry));
});

afterAll(async () => {
  await champion?.release();
  await challenger?.release();
  registry?.cleanup();
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

function scenario(overrides: Partial<LogScenario> = {}): LogScenario {
  return {
    reference,
    model: registry.model,
    days: DAYS,
    rowsPerDay: 400,
    seed: 11,
    routes: [
      { alias: 'champion', version: registry.versions.champion, share: 0.9, predict: (x) => champion.predict(x) },
      { alias: 'challenger', version: registry.versions.challenger, share: 0.1, predict: (x) => challenger.predict(x) },
    ],
    ...overrides,
  };
}

async function logsFor(s: LogScenario): Promise<string> {
  const dir = tempDir('logs');
  await writeLogRecords(new LocalStorage(dir), await generateLogRecords(s));
  return dir;
}

function options(logs: string, extra: Partial<MonitorOptions> = {}): MonitorOptions {
  return { registry: registry.uri, logs, report: tempDir('report'), endDate: END, webhookUrl: '', ...extra };
}

describe('mlops monitor on generated server logs', () => {
  it('flags nothing on an unshifted sample and writes every output', async () => {
    const logs = await logsFor(scenario({ shadow: { alias: 'shadow', version: registry.versions.challenger, share: 1, predict: (x) => challenger.predict(x) } }));
    const opts = options(logs);
    const result = await runMonitor(opts);
    expect(result.status).toBe('ok');
    expect(result.should_retrain).toBe(false);
    expect(result.drift_count).toBe(0);
    expect(result.drift_features).toEqual([]);
    expect(result.features.map((f) => f.column)).toEqual([...FEATURES]);
    // Evidently's choice: the reference sample has > 1000 values → normed Wasserstein.
    expect(result.features.every((f) => f.test === 'wasserstein')).toBe(true);
    expect(result.model_version).toBe(registry.versions.champion);
    // Only champion rows of the current version are the drift sample; challenger and shadow are reported per route.
    const champ = result.service.routes.find((r) => r.alias === 'champion' && !r.shadow)!;
    const chall = result.service.routes.find((r) => r.alias === 'challenger' && !r.shadow)!;
    const shadow = result.service.routes.find((r) => r.shadow)!;
    expect(result.rows).toBe(champ.rows);
    expect(champ.rows + chall.rows).toBe(7 * 400);
    expect(chall.rows).toBeGreaterThan(150);
    expect(shadow.rows).toBe(7 * 400);
    expect(shadow.traffic_share).toBeNull();
    expect(result.service.shadow_rows).toBe(7 * 400);
    expect(champ.traffic_share! + chall.traffic_share!).toBeCloseTo(1, 10);
    expect(champ.prediction_mean).not.toBeCloseTo(chall.prediction_mean!, 3);
    expect(result.service.daily.map((d) => d.day)).toEqual(DAYS);
    expect(result.service.daily.every((d) => d.prediction_rows === 400 && d.shadow_rows === 400)).toBe(true);
    expect(result.service.sla.breached).toBe(false);
    expect(result.alert.triggered).toBe(false);

    const decision = await readDecision(opts.report);
    expect(decision).toMatchObject({ status: 'ok', should_retrain: false, drift_count: 0, model_version: registry.versions.champion, rows: result.rows });
    const ownDecision = await readDecision(result.report.decision);
    expect(ownDecision.created_at).toBe(decision.created_at);
    const audit = await readAudit(opts.report, { kind: 'monitor_decision' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ should_retrain: false, run_id: result.run_id });
    const html = readFileSync(result.report.html, 'utf8');
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(FEATURES.length + 4);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    const json = JSON.parse(readFileSync(result.report.json, 'utf8'));
    expect(json.run_id).toBe(result.run_id);
  });

  it('detects a 1σ shift in one feature, and only that feature', async () => {
    const logs = await logsFor(scenario({ shiftSigma: { gdp: 1 } }));
    const result = await runMonitor(options(logs));
    expect(result.status).toBe('drift');
    expect(result.drift_features).toEqual(['gdp']);
    expect(result.drift_count).toBe(1);
    expect(result.drift_share).toBeCloseTo(1 / 6, 12);
    expect(result.should_retrain).toBe(false);
    const gdp = result.features.find((f) => f.column === 'gdp')!;
    expect(gdp.mean_shift).toBeGreaterThan(0.8);
    expect(gdp.wasserstein).toBeGreaterThan(0.5);
    expect(result.alert).toMatchObject({ triggered: true, severity: 'info', skipped: true, delivered: false });
    expect((await readDecision(result.report.root)).drift_features).toEqual(['gdp']);
  });

  it('recommends retraining when the drifted share reaches --retrain-share', async () => {
    const logs = await logsFor(scenario({ shiftSigma: { gdp: 1, population: -1 } }));
    const result = await runMonitor(options(logs));
    expect(result.drift_features).toEqual(['population', 'gdp']);
    expect(result.should_retrain).toBe(true);
    expect(result.alert.severity).toBe('warning');
    const raised = await runMonitor(options(logs, { retrainShare: 0.5 }));
    expect(raised.should_retrain).toBe(false);
    expect(raised.status).toBe('drift');
  });

  it('reports insufficient data instead of a verdict when too few production rows', async () => {
    const logs = await logsFor(scenario({ rowsPerDay: 20, shiftSigma: { gdp: 3 } }));
    const result = await runMonitor(options(logs));
    expect(result.status).toBe('insufficient_data');
    expect(result.should_retrain).toBe(false);
    expect(result.drift_count).toBe(0);
    expect(result.features).toEqual([]);
    expect(result.messages[0]).toMatch(/insufficient data: \d+ production rows .* at least 200 needed/);
    expect(result.alert.triggered).toBe(false);
    expect((await readDecision(result.report.root)).status).toBe('insufficient_data');
    // An empty window (no partitions at all) is the same outcome, not an error.
    const empty = await runMonitor(options(logs, { endDate: '2024-01-01' }));
    expect(empty).toMatchObject({ status: 'insufficient_data', rows: 0, should_retrain: false });
    expect(empty.service.requests).toBe(0);
  });

  it('treats a null-rate jump as a finding of its own', async () => {
    const logs = await logsFor(scenario({ nullRate: { population: 0.2 } }));
    const result = await runMonitor(options(logs));
    const population = result.features.find((f) => f.column === 'population')!;
    expect(population.production_null_rate).toBeGreaterThan(0.15);
    expect(population.null_rate_drift).toBe(true);
    expect(population.test_drift).toBe(false);
    expect(population.drifted).toBe(true);
    expect(population.reasons.join(' ')).toMatch(/null rate 0\.0 % → \d+\.\d % /);
    expect(result.drift_features).toEqual(['population']);
    const tolerant = await runMonitor(options(logs, { nullRateTolerance: 0.5 }));
    expect(tolerant.drift_features).toEqual([]);
  });

  it('detects an SLA breach from request latencies (per request, not per row) and error rates', async () => {
    const slow = scenario({ rowsPerRequest: 4, latencyMs: (rng) => (rng.next() < 0.1 ? 900 : 30), errorRate: 0.05 });
    const logs = await logsFor(slow);
    const result = await runMonitor(options(logs));
    expect(result.service.requests).toBe(7 * (100 + 5));
    expect(result.service.latency_ms!.p95).toBeGreaterThan(200);
    expect(result.service.sla.breached).toBe(true);
    expect(result.service.sla.breaches.join(' ')).toMatch(/latency p95 .* > SLA 200 ms/);
    expect(result.service.sla.breaches.join(' ')).toMatch(/error rate 4\.76 % > 1\.00 %/);
    expect(result.service.errors_by_code).toEqual([{ status_code: 400, error_code: 'BAD_REQUEST', requests: 35 }]);
    expect(result.alert).toMatchObject({ triggered: true, severity: 'critical' });
    const relaxed = await runMonitor(options(logs, { slaP95Ms: 1000, maxErrorRate: 0.1 }));
    expect(relaxed.service.sla.breached).toBe(false);
    expect(relaxed.alert.triggered).toBe(false);
  });

  it('reports request latency quantiles (overall and per route) and a histogram that match the logged requests exactly', async () => {
    const s = scenario({ rowsPerRequest: 3, errorRate: 0.02, shadow: { alias: 'shadow', version: registry.versions.challenger, share: 1, predict: (x) => challenger.predict(x) } });
    const records = await generateLogRecords(s);
    const logs = tempDir('logs');
    await writeLogRecords(new LocalStorage(logs), records);
    const result = await runMonitor(options(logs));
    // One latency per request and route: row 0 of a scored request, or its error record.
    const requests = records.filter((r) => r.record_type === 'error' || r.row_index === 0);
    // quantile_cont interpolates linearly between the closest ranks, as the drift module's quantileSorted does.
    const quantile = (values: number[], p: number): number => quantileSorted([...values].sort((a, b) => a - b), p);
    const served = requests.filter((r) => !r.shadow).map((r) => r.latency_ms as number);
    const latency = result.service.latency_ms!;
    expect(result.service.requests).toBe(served.length);
    for (const [p, got] of [[0.5, latency.p50], [0.95, latency.p95], [0.99, latency.p99]] as const) expect(got).toBeCloseTo(quantile(served, p), 9);
    expect(latency.max).toBe(Math.max(...served));
    for (const route of result.service.routes) {
      const mine = requests.filter((r) => r.alias === route.alias && Boolean(r.shadow) === route.shadow).map((r) => r.latency_ms as number);
      expect(route.requests).toBe(mine.length);
      expect(route.latency_p50_ms).toBeCloseTo(quantile(mine, 0.5), 9);
      expect(route.latency_p95_ms).toBeCloseTo(quantile(mine, 0.95), 9);
    }
    const histogram = result.service.latency_histogram;
    expect(histogram.reduce((sum, b) => sum + b.requests, 0)).toBe(served.length);
    // The bins span the larger of the 99.5th percentile and 1.1 × the SLA; the last bin takes the tail.
    expect(histogram[histogram.length - 2]!.to_ms).toBeCloseTo(Math.max(quantile(served, 0.995), 200 * 1.1), 9);
  });

  it('rejects bad input with UserErrors', async () => {
    const logs = await logsFor(scenario({ rowsPerDay: 10, days: [END] }));
    await expect(runMonitor(options(logs, { alias: 'nosuchalias' }))).rejects.toThrow(UserError);
    await expect(runMonitor(options(logs, { alias: 'nosuchalias' }))).rejects.toThrow(/no alias 'nosuchalias'/);
    await expect(runMonitor(options(path.join(logs, 'missing')))).rejects.toThrow(/does not exist/);
    await expect(runMonitor(options(logs, { endDate: '2025-02-30' }))).rejects.toThrow(/--end-date must be a calendar date/);
    await expect(runMonitor(options(logs, { retrainShare: 2 }))).rejects.toThrow(/--retrain-share/);
  });
});

describe('monitor alerts through the webhook', () => {
  let server: Server;
  let url = '';
  const received: unknown[] = [];
  let failing = false;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (failing) {
          res.writeHead(500).end('broken');
          return;
        }
        received.push(JSON.parse(body));
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-token`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('delivers a drift alert, and reports (not throws) a failing webhook', async () => {
    const logs = await logsFor(scenario({ shiftSigma: { gdp: 1, population: 1 } }));
    failing = false;
    const ok = await runMonitor(options(logs, { webhookUrl: url }));
    expect(ok.alert).toMatchObject({ triggered: true, delivered: true, severity: 'warning', attempts: 1 });
    expect(received).toHaveLength(1);
    const payload = received[0] as { text: string };
    expect(payload.text).toMatch(/WARNING/);
    expect(payload.text).toMatch(/retraining recommended: 2 drifted feature/);
    expect(payload.text).toContain(ok.report.html);

    failing = true;
    const failed = await runMonitor(options(logs, { webhookUrl: url, alertRetries: 1, alertBaseDelayMs: 1 }));
    expect(failed.should_retrain).toBe(true);
    expect(failed.alert).toMatchObject({ triggered: true, delivered: false, attempts: 2, status: 500 });
    expect(failed.alert.error).toMatch(/webhook answered 500/);
    expect(JSON.stringify(failed)).not.toContain('secret-token');
    expect(JSON.parse(readFileSync(failed.report.json, 'utf8')).alert.delivered).toBe(false);
  });
});
