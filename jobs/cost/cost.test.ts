import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors';
import type { CostReport } from './estimate';
import { describeCostResult, runCost } from './run';

const REPO = path.resolve(__dirname, '../..');

/** A small stack file with every number the estimate uses spelled out. */
function stackYaml(serving: string, environment = 'dev', extra = ''): string {
  return `config:
  azure-native:location: eastus
  renewable-energy-mlops:environment: ${environment}
  renewable-energy-mlops:naming:
    prefix: cost
  renewable-energy-mlops:azure:
    jobsPrincipal:
      clientId: 6b1f0c2e-7d4a-4f3b-9a5e-2c8d1e0f3a41
      objectId: 0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c61
    imagePushPrincipal:
      clientId: 2a7c4e91-3b5d-4f6a-8e0c-9d1b2f3a4c52
      objectId: 9f8e7d6c-5b4a-4392-a1f0-e9d8c7b6a572
    databricksAppObjectId: 4c3b2a19-0f8e-4d7c-b6a5-948372615083
  renewable-energy-mlops:storage:
    replication: LRS
    logRetentionDays: 30
    softDeleteDays: 0
    analyticsRetentionDays: 30
  renewable-energy-mlops:images:
    registrySku: Basic
  renewable-energy-mlops:serving:
${serving}
    logLevel: info
  renewable-energy-mlops:databricks:
    host: https://adb-1.1.azuredatabricks.net
    workspaceResourceId: /subscriptions/s/resourceGroups/rg/providers/Microsoft.Databricks/workspaces/w
    catalog: c
    schema: s
    nodeTypeId: Standard_D4ds_v5
  renewable-energy-mlops:jobs:
    timezone: UTC
    paused: false
    scoring:
      schedule: "0 0 3 * * ?"
      timeoutSeconds: 3600
    monitoring:
      schedule: "0 30 4 * * ?"
      timeoutSeconds: 1800
      lookbackDays: 7
    retrain:
      schedule: "0 0 2 ? * MON"
      timeoutSeconds: 7200
${extra}`;
}

const CONTAINER = `    target: container
    container:
      cpu: 0.5
      minReplicas: 0
      maxReplicas: 2
      concurrentRequests: 50`;
const DATABRICKS = `    target: databricks
    databricks:
      workloadSize: Small
      scaleToZero: true`;

const component = (r: CostReport, name: string) => r.components.find((c) => c.name === name)!.monthly;

let root: string;
let logs: string;
const logLines: string[] = [];

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'cost-'));
  writeFileSync(path.join(root, 'Pulumi.fixed.yaml'), stackYaml(CONTAINER));
  writeFileSync(path.join(root, 'Pulumi.fixeddb.yaml'), stackYaml(DATABRICKS));
  writeFileSync(path.join(root, 'Pulumi.broken.yaml'), stackYaml(CONTAINER.replace('cpu: 0.5', 'cpu: 0.3')));
  // One day of logs: 08:00:00, 08:01:40, 08:03:20 (100 s apart), then 12:00:00 and 12:10:00 (10 min apart).
  // Every request scored two rows and has one shadow row.
  logs = path.join(root, 'logs');
  const day = path.join(logs, 'predictions', 'date=2025-03-10');
  mkdirSync(day, { recursive: true });
  const times = ['08:00:00', '08:01:40', '08:03:20', '12:00:00', '12:10:00'];
  times.forEach((time, i) => {
    for (const [row, shadow] of [[0, false], [1, false], [0, true]] as const) {
      logLines.push(JSON.stringify({ record_type: 'prediction', timestamp: `2025-03-10T${time}.000Z`, request_id: `req-${i}`, client_request_id: null, row_index: row, model_name: 'renewable_energy_predictor', alias: shadow ? 'challenger' : 'champion', model_version: 1, shadow, prediction: 12.5, latency_ms: 8, status_code: 200, error_code: null, year: 2020, population: 1, gdp: 1, primary_energy_consumption: 1, fossil_fuel_consumption: 1, renewables_consumption: 1 }));
    }
  });
  writeFileSync(path.join(day, 'part-0001.jsonl'), logLines.slice(0, 9).join('\n') + '\n');
  writeFileSync(path.join(day, 'part-0002.jsonl'), logLines.slice(9).join('\n') + '\n');
  writeFileSync(path.join(root, 'no-free-grants.json'), JSON.stringify({
    container_apps: { free_vcpu_seconds: { value: 0 }, free_gib_seconds: { value: 0 }, free_requests: { value: 0 } },
  }));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('cost arithmetic on a fixed container stack (assumed utilisation)', () => {
  it('matches the hand-computed monthly figures', async () => {
    const r = await runCost({ stack: 'fixed', projectDir: root, utilisation: 0.5, busyBlocksPerDay: 1, requestsPerMonth: 3_000_000, jobMinutes: 10, clusterStartMinutes: 5 });
    const MONTH = 30 * 86_400; // 2,592,000 s
    // Serving, minReplicas 0: busy 50 % = 1,296,000 s + 30 cold starts × 20 s = 1,296,600 s on one 0.5 vCPU / 1 GiB replica.
    // vCPU-s 648,300 − 180,000 free = 468,300 × 0.000024; GiB-s 1,296,600 − 360,000 free = 936,600 × 0.000003;
    // requests (3,000,000 − 2,000,000) / 1e6 × 0.40.
    const serving = 468_300 * 0.000024 + 936_600 * 0.000003 + 0.4;
    expect(serving).toBeCloseTo(14.449, 6);
    expect(component(r, 'serving')).toBeCloseTo(serving, 2);
    // Jobs: 30 daily scoring + 30 daily monitoring + 52 Mondays × 30 / 365 retraining runs, (10 + 5) min each,
    // Standard_D4ds_v5 = 1 DBU/h × $0.30 + $0.226 VM.
    const jobs = (30 + 30 + (52 * 30) / 365) * (15 / 60) * (1 * 0.3 + 0.226);
    expect(component(r, 'jobs')).toBeCloseTo(jobs, 2);
    // Storage: 3e6 × 500 B kept 30 days at $0.0208/GB-month; one write per 5 busy seconds (1,296,000 / 5 = 259,200)
    // at $0.065 / 10k; monitor reads 7 days of files on 30 runs: 30 × 7 × 259,200 / 30 = 1,814,400 at $0.0052 / 10k.
    const storage = ((3e6 * 500) / 1024 ** 3) * 0.0208 + (259_200 / 1e4) * 0.065 + (1_814_400 / 1e4) * 0.0052;
    expect(component(r, 'storage')).toBeCloseTo(storage, 2);
    // Log Analytics: (259,200 + 1,814,400) × 1 kB + 0.1 GB ≈ 2.03 GB < 5 GB free, 30-day retention ≤ 31 included.
    expect(component(r, 'monitoring')).toBe(0);
    // Key Vault: 1,440 reference refreshes + 30 cold starts + 5 reads × 64.27 job runs, $0.03 / 10k.
    const vault = ((1440 + 30 + 5 * (60 + (52 * 30) / 365)) / 1e4) * 0.03;
    expect(component(r, 'key_vault')).toBeCloseTo(vault, 2);
    expect(component(r, 'container_registry')).toBeCloseTo(0.167 * 30, 6);
    expect(r.total).toBeCloseTo(serving + jobs + storage + vault + 0.167 * 30, 2);
    expect(r.total).toBeCloseTo(30.57, 2);

    // Without scale-to-zero: 1 replica always on; busy 1,296,000 s active, the other 1,296,000 s idle.
    const without = (648_000 - 180_000) * 0.000024 + 648_000 * 0.000003 + (1_296_000 - 360_000) * 0.000003 + 1_296_000 * 0.000003 + 0.4;
    expect(without).toBeCloseTo(20.272, 6);
    expect(r.scale_to_zero).toMatchObject({ enabled: true, cold_starts_per_month: 30, cold_start_seconds: 20 });
    expect(r.scale_to_zero.saving).toBeCloseTo(without - serving, 2);
    expect(r.scale_to_zero.monthly_with).toBeCloseTo(r.total, 2);
    // Components and totals are rounded to cents separately.
    expect(r.scale_to_zero.monthly_without).toBeCloseTo(r.total - serving + without, 1);

    expect(r.month_hours).toBe(720);
    expect(r.currency).toBe('USD');
    expect(r.utilisation).toMatchObject({ source: 'assumed', active_share: 0.5, window_seconds: 300, requests_per_month: 3_000_000, active_hours_per_month: MONTH / 2 / 3600 });
    expect(r.prices).toMatchObject({ as_of: '2024-06-01', region: 'eastus' });
    expect(r.assumptions.join('\n')).toMatch(/30 days \(720 h\)/);
  });

  it('paused schedules cost nothing but report what they would cost', async () => {
    const paused = stackYaml(CONTAINER).replace('paused: false', 'paused: true');
    writeFileSync(path.join(root, 'Pulumi.paused.yaml'), paused);
    const r = await runCost({ stack: 'paused', projectDir: root, jobMinutes: 10, clusterStartMinutes: 5 });
    const jobs = r.components.find((c) => c.name === 'jobs')!;
    expect(jobs.monthly).toBe(0);
    expect(jobs.details.monthly_if_unpaused).toBeCloseTo((60 + (52 * 30) / 365) * 0.25 * 0.526, 2);
  });
});

describe('cost with utilisation measured from a fixed log sample', () => {
  it('container: 300 s window → 3 busy blocks (1,100 s) in one observed day, scaled × 30', async () => {
    const r = await runCost({ stack: 'fixed', projectDir: root, logs, prices: path.join(root, 'no-free-grants.json') });
    // 08:00:00–08:08:20 (500 s), 12:00–12:05 (300 s), 12:10–12:15 (300 s) = 1,100 s of 86,400; 3 cold starts.
    expect(r.utilisation).toMatchObject({
      source: 'measured',
      window_seconds: 300,
      requests_per_month: 150,
      busy_blocks_per_month: 90,
      observed: { first_day: '2025-03-10', last_day: '2025-03-10', days: 1, requests: 5, busy_blocks: 3, cold_starts: 3, log_files: 2 },
    });
    expect(r.utilisation.active_share).toBeCloseTo(1100 / 86_400, 4);
    // Month: 33,000 busy s + 90 cold starts × 20 s = 34,800 s; no free grants in this price file.
    const serving = 34_800 * 0.5 * 0.000024 + 34_800 * 1 * 0.000003 + (150 / 1e6) * 0.4;
    expect(component(r, 'serving')).toBeCloseTo(serving, 2);
    const without = 33_000 * 0.5 * 0.000024 + (2_592_000 - 33_000) * 0.5 * 0.000003 + 33_000 * 0.000003 + (2_592_000 - 33_000) * 0.000003 + (150 / 1e6) * 0.4;
    expect(r.scale_to_zero.saving).toBeCloseTo(without - serving, 2);
    expect(r.scale_to_zero.cold_starts_per_month).toBe(90);
    // Storage volume uses the measured bytes per request (all 15 lines, shadow rows included) and 2 files/day × 30.
    const bytes = logLines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    const storage = r.components.find((c) => c.name === 'storage')!.details;
    expect(storage.log_bytes_per_request).toBe(Math.round(bytes / 5));
    expect(storage.write_ops).toBe(60);
    expect(r.prices.source).toMatch(/no-free-grants\.json over default/);
  });

  it('databricks: 1,800 s window merges the 12:00 and 12:10 requests → 2 blocks (4,400 s), launches billed', async () => {
    const r = await runCost({ stack: 'fixeddb', projectDir: root, logs });
    // 08:00:00–08:33:20 (2,000 s) and 12:00–12:40 (2,400 s): 4,400 s/day × 30 = 132,000 s = 36.67 h.
    expect(r.utilisation).toMatchObject({ window_seconds: 1800, busy_blocks_per_month: 60, cold_start_seconds: 300 });
    // Small = 4 concurrency × 1 DBU/h; 60 launches × 1 DBU; $0.07/DBU.
    const serving = ((132_000 / 3600) * 4 + 60) * 0.07;
    expect(component(r, 'serving')).toBeCloseTo(serving, 2);
    expect(r.scale_to_zero).toMatchObject({ enabled: true, cold_starts_per_month: 60 });
    expect(r.scale_to_zero.saving).toBeCloseTo(720 * 4 * 0.07 - serving, 2);
  });

  it('an empty log storage is a readable error', async () => {
    mkdirSync(path.join(root, 'nologs'), { recursive: true });
    await expect(runCost({ stack: 'fixed', projectDir: root, logs: path.join(root, 'nologs') })).rejects.toThrow(/no prediction logs/);
  });
});

describe('errors', () => {
  it('an unknown stack names the known stacks', async () => {
    const err = await runCost({ stack: 'staging', projectDir: REPO }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/unknown stack "staging"; allowed: dev, prod/);
  });

  it('an invalid stack file is a UserError naming the key', async () => {
    await expect(runCost({ stack: 'broken', projectDir: root })).rejects.toThrow(/serving\.container\.cpu/);
  });

  it('a prices file with an unknown key, a bad value or bad JSON is a readable error', async () => {
    const file = path.join(root, 'bad-prices.json');
    writeFileSync(file, JSON.stringify({ container_apps: { active_vcpu_secnd: { value: 1 } }, storage: { gb_month: { LRS: { value: -1 } } } }));
    const err = (await runCost({ stack: 'fixed', projectDir: root, prices: file }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/unknown key container_apps\.active_vcpu_secnd/);
    expect(err.message).toMatch(/storage\.gb_month\.LRS\.value: must be ≥ 0/);
    writeFileSync(file, '{ not json');
    await expect(runCost({ stack: 'fixed', projectDir: root, prices: file })).rejects.toThrow(/not valid JSON/);
    await expect(runCost({ stack: 'fixed', projectDir: root, prices: path.join(root, 'missing.json') })).rejects.toThrow(/cannot read the file \(ENOENT\)/);
  });

  it('a node type missing from the price table names the key to add', async () => {
    writeFileSync(path.join(root, 'Pulumi.bignode.yaml'), stackYaml(CONTAINER).replace('Standard_D4ds_v5', 'Standard_E64ds_v5'));
    await expect(runCost({ stack: 'bignode', projectDir: root })).rejects.toThrow(/databricks_jobs\.node_types\.Standard_E64ds_v5/);
    // ... which --prices can add.
    const file = path.join(root, 'bignode-prices.json');
    writeFileSync(file, JSON.stringify({ databricks_jobs: { node_types: { Standard_E64ds_v5: { dbu_per_hour: 16, vm_per_hour: 4.5 } } } }));
    const r = await runCost({ stack: 'bignode', projectDir: root, prices: file, jobMinutes: 10, clusterStartMinutes: 5 });
    expect(component(r, 'jobs')).toBeCloseTo((60 + (52 * 30) / 365) * 0.25 * (16 * 0.3 + 4.5), 2);
  });
});

describe('the real stacks', () => {
  it('prod (Databricks Medium, always on, live schedules) costs more than dev (Container Apps, scale-to-zero, paused)', async () => {
    const dev = await runCost({ stack: 'dev', projectDir: REPO });
    const prod = await runCost({ stack: 'prod', projectDir: REPO });
    expect(prod.total).toBeGreaterThan(dev.total);
    expect(component(prod, 'serving')).toBeGreaterThan(component(dev, 'serving'));
    expect(component(prod, 'jobs')).toBeGreaterThan(component(dev, 'jobs'));
    // More data kept longer (365 + 14 days, ZRS); the write count, not the volume, dominates dev's storage bill.
    const stored = (r: CostReport) => r.components.find((c) => c.name === 'storage')!.details.stored_gb as number;
    expect(stored(prod)).toBeGreaterThan(stored(dev));
    expect(component(prod, 'container_registry')).toBeGreaterThan(component(dev, 'container_registry'));
    expect(dev.scale_to_zero.enabled).toBe(true);
    expect(prod.scale_to_zero.enabled).toBe(false);
    // Always-on Medium: 8 concurrency × 720 h × $0.07.
    expect(component(prod, 'serving')).toBeCloseTo(8 * 720 * 0.07, 2);
    for (const r of [dev, prod]) {
      expect(r.scale_to_zero.saving).toBeGreaterThan(0);
      expect(r.scale_to_zero.monthly_without).toBeGreaterThan(r.scale_to_zero.monthly_with);
      expect(r.assumptions.join('\n')).toMatch(/the stack runs in westeurope, where prices differ/);
    }
    const text = describeCostResult(dev).join('\n');
    expect(text).toMatch(/^Monthly cost estimate for stack dev/);
    expect(text).toMatch(/Scale-to-zero \(enabled/);
    expect(text).toMatch(/total/);
  });

  it('the CLI prints one JSON object, and an unknown stack exits 2 with one readable line', () => {
    const tsx = path.join(REPO, 'node_modules', '.bin', 'tsx');
    const ok = spawnSync(tsx, ['jobs/cli.ts', 'cost', '--stack', 'dev', '--json'], { cwd: REPO, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    const result = JSON.parse(ok.stdout.trim());
    expect(Object.keys(result)).toEqual(expect.arrayContaining(['stack', 'month_hours', 'currency', 'assumptions', 'components', 'total', 'scale_to_zero', 'utilisation', 'prices']));
    expect(result.components.map((c: { name: string }) => c.name)).toEqual(['serving', 'jobs', 'storage', 'monitoring', 'key_vault', 'container_registry']);
    const bad = spawnSync(tsx, ['jobs/cli.ts', 'cost', '--stack', 'nope'], { cwd: REPO, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/mlops cost: error: stack nope: stack: unknown stack "nope"; allowed: dev, prod/);
  });
});
