/**
 * bench:drift — `mlops monitor` end to end on 1,000,000 logged rows × 6 features.
 *
 * Writes a week of prediction logs in the server's layout (`predictions/date=<day>/part-*.jsonl`, one row per
 * request, 90/10 champion/challenger) into a temp dir, trains a small real model for the registry and its
 * reference profile, then runs the monitor (DuckDB read, service checks, drift statistics, HTML with SVG charts,
 * decision and audit) and prints its time and the process's peak RSS. Goals: ≤ 5 s and ≤ 1 GB.
 *
 * The machine may be shared, so the same run also times a baseline — sorting the 6 M feature values once, the
 * floor of any exact two-sample statistic — and prints the ratio monitor / baseline, which is comparable across
 * loads. Generation streams to disk and holds no records, so the peak RSS is the monitor's.
 *
 *   npm run bench:drift [-- --rows 1000000 --days 7 --keep]
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { runMonitor } from '../jobs/monitor/run';
import { daysEnding } from '../jobs/monitor/testSupport';
import { runTrain } from '../jobs/train';
import type { ReferenceProfile } from '../core/profile';
import { createRng } from '../core/random';
import { ModelRegistry } from '../core/registry';
import { FEATURES, MODEL_NAME } from '../core/schema';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function peakRssMb(): number {
  // maxRSS is in kilobytes.
  return process.resourceUsage().maxRSS / 1024;
}

const ROWS = arg('rows', 1_000_000);
const DAYS = arg('days', 7);
const END = '2025-06-30';

async function writeLogs(root: string, reference: ReferenceProfile, champion: number, challenger: number): Promise<number> {
  const rng = createRng(2024);
  const n = reference.prediction.sample.length;
  const cols = FEATURES.map((f) => reference.features[f].sample);
  const std = FEATURES.map((f) => reference.features[f].std ?? 0);
  // A mild real shift in one feature so the report has something to show.
  const shift = FEATURES.map((f) => (f === 'gdp' ? 0.5 : 0));
  const days = daysEnding(END, DAYS);
  let bytes = 0;
  for (const [d, day] of days.entries()) {
    const dir = path.join(root, 'predictions', `date=${day}`);
    await mkdir(dir, { recursive: true });
    const rows = Math.floor(ROWS / DAYS) + (d < ROWS % DAYS ? 1 : 0);
    const parts = 4;
    const start = Date.parse(`${day}T00:00:00.000Z`);
    for (let p = 0; p < parts; p++) {
      const out = createWriteStream(path.join(dir, `part-${p}-${randomBytes(4).toString('hex')}.jsonl`));
      const from = Math.floor((p * rows) / parts);
      const to = Math.floor(((p + 1) * rows) / parts);
      let buf = '';
      for (let r = from; r < to; r++) {
        const i = rng.nextInt(n);
        const toChallenger = rng.next() < 0.1;
        const ts = new Date(start + Math.floor((r / rows) * 86_400_000)).toISOString();
        const values = FEATURES.map((f, j) => `"${f}":${cols[j]![i]! + (shift[j]! + 0.02 * rng.normal()) * std[j]!}`).join(',');
        const latency = Math.round(Math.exp(Math.log(15) + 0.5 * rng.normal()) * 1000) / 1000;
        buf +=
          `{"record_type":"prediction","timestamp":"${ts}","request_id":"${day}-${r}","client_request_id":null,"row_index":0,` +
          `"model_name":"${MODEL_NAME}","alias":"${toChallenger ? 'challenger' : 'champion'}","model_version":${toChallenger ? challenger : champion},"shadow":false,` +
          `${values},"prediction":${Math.fround(reference.prediction.sample[i]!)},"latency_ms":${latency},"status_code":200,"error_code":null}\n`;
        if (buf.length > 1 << 20) {
          bytes += buf.length;
          if (!out.write(buf)) await once(out, 'drain');
          buf = '';
        }
      }
      bytes += buf.length;
      out.end(buf);
      await once(out, 'finish');
    }
  }
  return bytes;
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'mlops-bench-drift-'));
  const keep = process.argv.includes('--keep');
  try {
    const registry = path.join(work, 'registry');
    const champion = await runTrain({ data: 'synthetic', registry, model: MODEL_NAME, alias: 'champion', seed: 1, params: { nEstimators: 30, maxDepth: 5 } });
    const challenger = await runTrain({ data: 'synthetic', registry, model: MODEL_NAME, alias: 'challenger', seed: 2, params: { nEstimators: 20, maxDepth: 4 } });
    const reference = await ModelRegistry.open(registry).getReference<ReferenceProfile>(MODEL_NAME, champion.version);
    const logs = path.join(work, 'logs');
    let t = performance.now();
    const bytes = await writeLogs(logs, reference, champion.version, challenger.version);
    const generateS = (performance.now() - t) / 1000;
    const rssBefore = peakRssMb();

    t = performance.now();
    const result = await runMonitor({ registry, logs, report: path.join(work, 'reports'), endDate: END, lookbackDays: DAYS, webhookUrl: '' });
    const monitorS = (performance.now() - t) / 1000;
    const rssPeak = peakRssMb();

    // Baseline: sort each feature column of the production sample once (6 × ~900 k values).
    const rng = createRng(7);
    const columns = FEATURES.map(() => Float64Array.from({ length: result.rows }, () => rng.normal()));
    t = performance.now();
    for (const c of columns) c.sort();
    const sortS = (performance.now() - t) / 1000;

    const phases = Object.entries(result.timings_ms)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`)
      .join(', ');
    console.log(`logs: ${ROWS.toLocaleString('en')} rows over ${DAYS} days, ${(bytes / 2 ** 20).toFixed(0)} MiB JSON lines (generated in ${generateS.toFixed(1)} s)`);
    console.log(`monitor: ${result.status}, drift in [${result.drift_features.join(', ')}], production rows ${result.rows.toLocaleString('en')}, requests ${result.service.requests.toLocaleString('en')}`);
    console.log(`monitor end to end: ${monitorS.toFixed(2)} s (goal ≤ 5 s)`);
    console.log(`  phases: ${phases}`);
    console.log(`peak RSS: ${rssPeak.toFixed(0)} MB (goal ≤ 1024 MB; ${rssBefore.toFixed(0)} MB before the monitor ran)`);
    console.log(`baseline: sorting the ${FEATURES.length} production columns once: ${sortS.toFixed(2)} s`);
    console.log(`ratio monitor / baseline: ${(monitorS / sortS).toFixed(1)}×`);
    console.log(`cores: ${os.availableParallelism()}, load average (1 min): ${os.loadavg()[0]!.toFixed(2)}`);
    if (keep) console.log(`kept: ${work}`);
  } finally {
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
