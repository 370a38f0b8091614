import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudit } from '../../core/audit';
import { readDecision } from '../../core/decision';
import type { ReferenceProfile } from '../../core/profile';
import { ModelRegistry } from '../../core/registry';
import { openStorage } from '../../core/storage/index';
import { LocalStorage } from '../../core/storage/local';
import { azuriteEnv, createTestContainer, type TestContainer } from '../../test/support/blob';
import { createTestRegistry, type TestRegistry } from '../../test/support/models';
import { runMonitor } from './run';
import { daysEnding, generateLogRecords, writeLogRecords } from './testSupport';

const END = '2025-05-03';
let registry: TestRegistry;
let reference: ReferenceProfile;
let logs: TestContainer;
let reports: TestContainer;
const dirs: string[] = [];

beforeAll(async () => {
  registry = await createTestRegistry();
  reference = await ModelRegistry.open(registry.uri).getReference<ReferenceProfile>(registry.model, registry.versions.champion);
  logs = await createTestContainer({ prefix: 'serving' });
  reports = await createTestContainer({ prefix: 'reports/prod' });
  const records = await generateLogRecords({
    reference,
    model: registry.model,
    days: daysEnding(END, 3),
    rowsPerDay: 300,
    seed: 5,
    shiftSigma: { renewables_consumption: 1.5 },
    routes: [{ alias: 'champion', version: registry.versions.champion, share: 1 }],
  });
  await writeLogRecords(openStorage(logs.uri), records, 3);
});

afterAll(async () => {
  await logs?.dispose();
  await reports?.dispose();
  registry?.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('mlops monitor on Azure Blob (Azurite)', () => {
  it('reads the window partitions from blob logs and writes the report, decision and audit to blob storage', async () => {
    const result = await runMonitor({ registry: registry.uri, logs: logs.uri, report: reports.uri, endDate: END, lookbackDays: 2, webhookUrl: '' });
    // Only the two days of the window are read (three were written).
    expect(result.logs.days_with_logs).toEqual(daysEnding(END, 2));
    expect(result.logs.files).toBe(6);
    expect(result.rows).toBe(600);
    expect(result.drift_features).toEqual(['renewables_consumption']);
    expect(result.report.html.startsWith(`${reports.uri}/monitor/${result.run_id}/`)).toBe(true);
    const decision = await readDecision(reports.uri);
    expect(decision).toMatchObject({ drift_features: ['renewables_consumption'], rows: 600, report_uri: result.report.html });
    expect((await readDecision(result.report.decision)).run_id).toBe(result.run_id);
    const store = openStorage(reports.uri);
    const html = (await store.get(`monitor/${result.run_id}/report.html`)).toString('utf8');
    expect(html).toContain('<svg');
    const json = JSON.parse((await store.get(`monitor/${result.run_id}/report.json`)).toString('utf8'));
    expect(json.report.audit).toBe(result.report.audit);
    expect(await readAudit(reports.uri, { kind: 'monitor_decision' })).toHaveLength(1);
  });

  it('the CLI prints one JSON object and exits 0 on drift, 2 on an unknown alias', async () => {
    const report = mkdtempSync(path.join(os.tmpdir(), 'mlops-monitor-cli-'));
    dirs.push(report);
    const base = ['tsx', 'jobs/cli.ts', 'monitor', '--registry', registry.uri, '--logs', logs.uri, '--end-date', END, '--report', report, '--json'];
    const env = { ...process.env, ...azuriteEnv(), MLOPS_ALERT_WEBHOOK_URL: '' };
    const ok = spawnSync('npx', base, { cwd: path.resolve(__dirname, '../..'), env, encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    const lines = ok.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!);
    expect(out).toMatchObject({ status: 'drift', should_retrain: false, drift_count: 1, drift_features: ['renewables_consumption'], rows: 900 });
    await expect(new LocalStorage(report).exists('latest-decision.json')).resolves.toBe(true);
    const bad = spawnSync('npx', [...base, '--alias', 'nosuch'], { cwd: path.resolve(__dirname, '../..'), env, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/mlops monitor: error: .*no alias 'nosuch'/);
  });
});
