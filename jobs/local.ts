/**
 * The local environment (`npm start`): the whole loop on the local disk. Registry, prediction logs, batch scores
 * and reports are directories under `--home` (default `.mlops/`); the server and the jobs are the same code that
 * runs in the cloud, configured from a stack file (`Pulumi.dev.yaml` by default) — its routes and shadow for the
 * server, its Quartz schedules (run here with croner) for score, monitor and retrain.
 */
import { promises as fs, createWriteStream } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadTable, row, selectRows, tableToCsv, years, type TrainingTable } from '../core/data';
import { UserError } from '../core/errors';
import { ModelRegistry } from '../core/registry';
import { createRng } from '../core/random';
import { FEATURES, MODEL_NAME, type Feature } from '../core/schema';
import { syntheticTable } from '../core/synthetic';
import { meanAndStd } from './drift/sample';
import { readStackSettings, type MlopsSettings } from '../infra/settings';

export const OWID_CSV_URL = 'https://raw.githubusercontent.com/owid/energy-data/master/owid-energy-data.csv';
const REPO_ROOT = path.resolve(__dirname, '..');

export interface LocalOptions {
  home: string;
  /** CSV/Parquet path or URI, `synthetic`, or undefined for the cached official OWID file (downloaded once). */
  data?: string;
  dataUrl?: string;
  stack: string;
  host: string;
  port: number;
  once: boolean;
  /** Feature → shift in reference standard deviations, applied to the generated traffic. */
  injectDrift: Partial<Record<Feature, number>>;
  /** Rows of traffic sent in `--once`. */
  trafficRows: number;
  seed: number;
  /** Where progress lines go (stderr by default); the summary goes to stdout. */
  say: (line: string) => void;
}

export interface LocalLayout {
  home: string;
  registry: string;
  logs: string;
  scoring: string;
  reports: string;
  data: string;
}

export function layoutOf(home: string): LocalLayout {
  const abs = path.resolve(home);
  return {
    home: abs,
    registry: path.join(abs, 'registry'),
    logs: path.join(abs, 'logs'),
    scoring: path.join(abs, 'scoring'),
    reports: path.join(abs, 'reports'),
    data: path.join(abs, 'data'),
  };
}

/** Parses `feature=sigma[,feature=sigma…]` (repeatable flag). */
export function parseDriftSpec(value: string, previous: Partial<Record<Feature, number>> = {}): Partial<Record<Feature, number>> {
  const out = { ...previous };
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, sigma] = part.split('=');
    if (!name || sigma === undefined) throw new UserError(`--inject-drift must look like <feature>=<sigma>, got '${part}'`);
    const features = name === 'all' ? [...FEATURES] : [name];
    for (const f of features) {
      if (!(FEATURES as readonly string[]).includes(f)) throw new UserError(`--inject-drift: unknown feature '${f}'; features: ${FEATURES.join(', ')}, or 'all'`);
      const s = Number(sigma);
      if (!Number.isFinite(s)) throw new UserError(`--inject-drift: '${sigma}' is not a number of standard deviations`);
      out[f as Feature] = s;
    }
  }
  return out;
}

/** The stack's serving routes as the server's `--routes` string. */
export function routesOf(settings: MlopsSettings): string {
  return Object.entries(settings.serving.routes)
    .map(([alias, weight]) => `${alias}=${weight}`)
    .join(',');
}

/** Downloads the official OWID CSV once into the data dir; returns null when offline. */
async function cachedOwidCsv(layout: LocalLayout, url: string, say: (l: string) => void): Promise<string | null> {
  const file = path.join(layout.data, 'owid-energy-data.csv');
  if (await fs.stat(file).then((s) => s.size > 0, () => false)) return file;
  say(`downloading the OWID energy dataset (CC BY 4.0) from ${url}`);
  const partial = `${file}.partial`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    const total = Number(res.headers.get('content-length')) || 0;
    let received = 0;
    let lastShown = 0;
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      const now = Date.now();
      if (now - lastShown > 250 || (total && received === total)) {
        lastShown = now;
        const mb = (n: number) => (n / 1e6).toFixed(1);
        const pct = total ? `${Math.floor((100 * received) / total)}% ` : '';
        const bar = total ? `[${'#'.repeat(Math.floor((20 * received) / total)).padEnd(20, '.')}] ` : '';
        if (process.stderr.isTTY) process.stderr.write(`\r  ${bar}${pct}${mb(received)}${total ? `/${mb(total)}` : ''} MB`);
      }
    });
    await pipeline(body, createWriteStream(partial));
    if (process.stderr.isTTY) process.stderr.write('\n');
    await fs.rename(partial, file);
    say(`cached ${file} (${(received / 1e6).toFixed(1)} MB)`);
    return file;
  } catch (err) {
    await fs.rm(partial, { force: true });
    say(`cannot download the OWID dataset (${(err as Error).message}); continuing offline`);
    return null;
  }
}

const SYNTHETIC_BANNER = [
  '************************************************************************',
  '*  OFFLINE and no data file: using the SYNTHETIC table (not real data). *',
  '*  Pass --data <owid-energy-data.csv> to run on the real OWID dataset.  *',
  '************************************************************************',
];

interface Windows {
  /** First year of the holdout (the most recent years: what "production" looks like later). */
  holdoutFrom: number;
  championTo: number;
  challengerTo: number;
}

/**
 * Year windows of the demo: the champion is trained on an older window than the challenger (so the canary
 * compares two different models), both strictly before the holdout years used to judge promotions.
 */
export function windowsOf(table: TrainingTable): Windows {
  const distinct = [...new Set(Array.from(years(table)))].sort((a, b) => a - b);
  if (distinct.length < 20) throw new UserError(`the local loop needs at least 20 distinct years of data, got ${distinct.length}`);
  const holdoutFrom = distinct[distinct.length - 5]!;
  return { holdoutFrom, championTo: holdoutFrom - 10, challengerTo: holdoutFrom - 5 };
}

function rowsWhere(table: TrainingTable, keep: (year: number) => boolean): TrainingTable {
  const y = years(table);
  const idx: number[] = [];
  for (let i = 0; i < y.length; i++) if (keep(y[i]!)) idx.push(i);
  return selectRows(table, idx);
}

export interface PreparedData {
  table: TrainingTable;
  synthetic: boolean;
  source: string;
  historyCsv: string;
  holdoutCsv: string;
  windows: Windows;
}

/** Resolves the data source and writes the history (training) and holdout (promotion) files of the loop. */
export async function prepareData(layout: LocalLayout, options: Pick<LocalOptions, 'data' | 'dataUrl' | 'say' | 'seed'>): Promise<PreparedData> {
  await fs.mkdir(layout.data, { recursive: true });
  let table: TrainingTable;
  let source: string;
  if (options.data === 'synthetic') {
    table = syntheticTable({ seed: options.seed });
    source = 'synthetic';
  } else if (options.data) {
    table = await loadTable(options.data);
    source = options.data;
  } else {
    const file = await cachedOwidCsv(layout, options.dataUrl ?? OWID_CSV_URL, options.say);
    if (file) {
      table = await loadTable(file);
      source = file;
    } else {
      for (const line of SYNTHETIC_BANNER) options.say(line);
      table = syntheticTable({ seed: options.seed });
      source = 'synthetic';
    }
  }
  const windows = windowsOf(table);
  const historyCsv = path.join(layout.data, 'history.csv');
  const holdoutCsv = path.join(layout.data, 'holdout.csv');
  await fs.writeFile(historyCsv, tableToCsv(rowsWhere(table, (y) => y < windows.holdoutFrom)));
  await fs.writeFile(holdoutCsv, tableToCsv(rowsWhere(table, (y) => y >= windows.holdoutFrom)));
  return { table, synthetic: table.source.synthetic, source, historyCsv, holdoutCsv, windows };
}

/** Trains a champion and a challenger when the registry has no versions yet. */
export async function seedRegistry(layout: LocalLayout, data: PreparedData, options: Pick<LocalOptions, 'say' | 'seed'>): Promise<{ trained: number[] }> {
  await fs.mkdir(layout.registry, { recursive: true });
  const registry = ModelRegistry.open(layout.registry);
  if ((await registry.listVersions(MODEL_NAME)).length > 0) return { trained: [] };
  const { runTrain } = await import('./train.js');
  const history = rowsWhere(data.table, (y) => y < data.windows.holdoutFrom);
  const trained: number[] = [];
  for (const [alias, toYear, seed] of [
    ['champion', data.windows.championTo, options.seed],
    ['challenger', data.windows.challengerTo, options.seed + 1],
  ] as const) {
    const r = await runTrain({ data: data.historyCsv, table: history, registry: layout.registry, alias, toYear, seed, tags: { origin: 'local-environment' } });
    const m = r.metrics.random_holdout!;
    options.say(`trained ${alias}: version ${r.version} on years ≤ ${toYear} (R² ${m.r2.toFixed(4)}, RMSE ${m.rmse.toFixed(3)})`);
    trained.push(r.version);
  }
  return { trained };
}

/** Traffic rows: a seeded sample of the champion's training window, optionally shifted per feature. */
export function trafficRows(data: PreparedData, n: number, seed: number, drift: Partial<Record<Feature, number>>): number[][] {
  const base = rowsWhere(data.table, (y) => y <= data.windows.championTo);
  const rng = createRng(seed + 1000);
  const std = FEATURES.map((_, j) => meanAndStd(Float64Array.from({ length: base.usedRows }, (_, i) => base.X[i * FEATURES.length + j]!)).std);
  const out: number[][] = [];
  for (let k = 0; k < n; k++) {
    const r = row(base.X, rng.nextInt(base.usedRows));
    FEATURES.forEach((f, j) => {
      const sigma = drift[f];
      if (sigma) r[j] = r[j]! + sigma * std[j]!;
    });
    out.push(r);
  }
  return out;
}


export interface LoopSummary {
  home: string;
  endpoint: string;
  stack: string;
  data: { source: string; synthetic: boolean; rows: number; holdout_from: number };
  routes: string;
  shadow: string | null;
  traffic: { rows: number; requests: number; served: Record<string, number>; injected_drift: Partial<Record<Feature, number>> };
  score: { rows: number; scored: number; rejects: number; output: string } | null;
  monitor: { status: string; should_retrain: boolean; drift_features: string[]; report: string | null };
  retrain: { retrained: boolean; candidate_version: number | null; reason: string };
  promote: { promoted: boolean; decision: string; reasons: string[] } | null;
  served_before: string | null;
  served_after: string | null;
  paths: LocalLayout;
}

async function postRows(endpoint: string, rows: number[][], requestId: string, route = '/invocations'): Promise<string | null> {
  const res = await fetch(`${endpoint}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-client-request-id': requestId },
    body: JSON.stringify({ dataframe_split: { columns: FEATURES, data: rows } }),
  });
  if (!res.ok) throw new Error(`local endpoint answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  await res.arrayBuffer();
  return res.headers.get('x-served-model');
}

/** Starts the server from the stack's serving settings, on the local registry and log directory. */
async function startServer(layout: LocalLayout, settings: MlopsSettings, options: Pick<LocalOptions, 'host' | 'port'>) {
  const { ScoringServer } = await import('../serving/server.js');
  const { resolveServeConfig } = await import('../serving/config.js');
  const config = resolveServeConfig({
    registry: layout.registry,
    routes: routesOf(settings),
    shadow: settings.serving.shadow ?? undefined,
    logs: layout.logs,
    host: options.host,
    port: options.port,
    reloadIntervalSeconds: 5,
    logFlushSeconds: 1,
    logSpillDir: path.join(layout.home, 'spill'),
    logLevel: 'warn',
  });
  const server = new ScoringServer(config, { logger: { level: 'warn' } });
  const address = await server.start();
  return { server, endpoint: address.replace('0.0.0.0', '127.0.0.1'), routes: routesOf(settings), shadow: config.shadow };
}

/** One full loop: traffic → score → monitor → (retrain → promote → reload) → summary. */
export async function runOnce(options: LocalOptions): Promise<LoopSummary> {
  const layout = layoutOf(options.home);
  const settings = readStackSettings(options.stack, REPO_ROOT);
  const data = await prepareData(layout, options);
  await seedRegistry(layout, data, options);
  const { server, endpoint, routes, shadow } = await startServer(layout, settings, options);
  try {
    options.say(`serving on ${endpoint} with routes ${routes}${shadow ? `, shadow ${shadow}` : ''}`);
    const rows = trafficRows(data, options.trafficRows, options.seed, options.injectDrift);
    const served: Record<string, number> = {};
    const batch = 10;
    let requests = 0;
    for (let i = 0; i < rows.length; i += batch) {
      const model = await postRows(endpoint, rows.slice(i, i + batch), `local-${options.seed}-${requests}`);
      served[model ?? 'unknown'] = (served[model ?? 'unknown'] ?? 0) + 1;
      requests++;
    }
    options.say(`sent ${rows.length} rows in ${requests} requests: ${Object.entries(served).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    await server.log?.flush();
    // Probes go to the champion route itself, so the canary split cannot pick the answer.
    const probe = (id: string) => postRows(endpoint, rows.slice(0, 1), `local-${options.seed}-${id}`, '/served-models/champion/invocations');
    const servedBefore = await probe('probe-before');
    await server.log?.flush();

    const trafficCsv = path.join(layout.data, 'traffic.csv');
    await fs.writeFile(trafficCsv, [FEATURES.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n');
    const { runScore } = await import('./score.js');
    const score = await runScore({ registry: layout.registry, input: trafficCsv, output: layout.scoring });
    options.say(`score: ${score.scored} rows scored, ${score.rejects} rejected → ${layout.scoring}`);

    const { runMonitor } = await import('./monitor/run.js');
    const monitor = await runMonitor({
      registry: layout.registry,
      logs: layout.logs,
      report: layout.reports,
      lookbackDays: 1,
      threshold: settings.jobs.monitoring.threshold,
      minRows: Math.min(200, Math.floor(options.trafficRows / 4)),
    });
    options.say(`monitor: ${monitor.status}; drifted: ${monitor.drift_features.join(', ') || 'none'}; should_retrain ${monitor.should_retrain}`);

    const { runRetrain } = await import('./retrain.js');
    const retrain = await runRetrain({ data: data.historyCsv, registry: layout.registry, decision: layout.reports, seed: options.seed + 2 });
    options.say(`retrain: ${retrain.retrained ? `candidate version ${retrain.candidate_version}` : retrain.reason}`);

    let promote: LoopSummary['promote'] = null;
    let servedAfter = servedBefore;
    if (retrain.retrained && retrain.candidate_version !== undefined) {
      const { runPromote } = await import('./promote.js');
      const p = await runPromote({ registry: layout.registry, candidate: retrain.candidate_version, stage: 'champion', data: data.holdoutCsv });
      promote = { promoted: p.promoted, decision: p.decision, reasons: p.reasons };
      options.say(`promote: ${p.decision}${p.reasons.length ? ` (${p.reasons.join('; ')})` : ''}`);
      if (p.promoted) {
        await server.pool.reload();
        servedAfter = await probe('probe-after');
        options.say(`the endpoint now serves ${servedAfter} (was ${servedBefore})`);
      }
    }
    return {
      home: layout.home,
      endpoint,
      stack: options.stack,
      data: { source: data.source, synthetic: data.synthetic, rows: data.table.usedRows, holdout_from: data.windows.holdoutFrom },
      routes,
      shadow,
      traffic: { rows: rows.length, requests, served, injected_drift: options.injectDrift },
      score: { rows: score.rows, scored: score.scored, rejects: score.rejects, output: layout.scoring },
      monitor: { status: monitor.status, should_retrain: monitor.should_retrain, drift_features: monitor.drift_features, report: monitor.report?.html ?? null },
      retrain: { retrained: retrain.retrained, candidate_version: retrain.candidate_version ?? null, reason: retrain.reason },
      promote,
      served_before: servedBefore,
      served_after: servedAfter,
      paths: layout,
    };
  } finally {
    await server.close();
  }
}

/** Quartz expressions as Databricks reads them (1 = Sunday in day-of-week), run by croner. */
export async function quartzCron(expression: string, timezone: string, run: () => Promise<void>) {
  const { Cron } = await import('croner');
  return new Cron(expression, { timezone, protect: true, alternativeWeekdays: true }, run);
}

/**
 * The long-running local environment: serves, runs the stack's schedules, and stops cleanly on Ctrl-C / SIGTERM
 * (in-flight requests finish, the prediction log is flushed). Resolves when stopped.
 */
export async function runLocalEnvironment(options: LocalOptions): Promise<void> {
  const layout = layoutOf(options.home);
  const settings = readStackSettings(options.stack, REPO_ROOT);
  const data = await prepareData(layout, options);
  await seedRegistry(layout, data, options);
  const { server, endpoint, routes, shadow } = await startServer(layout, settings, options);
  const { runScore } = await import('./score.js');
  const { runMonitor } = await import('./monitor/run.js');
  const { runRetrain } = await import('./retrain.js');
  const { runPromote } = await import('./promote.js');
  const jobs = settings.jobs;
  const guarded = (name: string, body: () => Promise<string>) => async () => {
    const started = Date.now();
    try {
      options.say(`[${new Date().toISOString()}] ${name}: ${await body()} (${Date.now() - started} ms)`);
    } catch (err) {
      options.say(`[${new Date().toISOString()}] ${name} failed: ${(err as Error).message}`);
    }
  };
  const schedules = [
    {
      name: 'score',
      cron: jobs.scoring.schedule,
      run: guarded('score', async () => {
        const r = await runScore({ registry: layout.registry, input: data.holdoutCsv, output: layout.scoring });
        return `${r.scored} rows scored, ${r.rejects} rejected → ${layout.scoring}`;
      }),
    },
    {
      name: 'monitor',
      cron: jobs.monitoring.schedule,
      run: guarded('monitor', async () => {
        const r = await runMonitor({ registry: layout.registry, logs: layout.logs, report: layout.reports, lookbackDays: jobs.monitoring.lookbackDays, threshold: jobs.monitoring.threshold });
        return `${r.status}, drifted: ${r.drift_features.join(', ') || 'none'}, should_retrain ${r.should_retrain}; report ${r.report.html}`;
      }),
    },
    {
      name: 'retrain',
      cron: jobs.retrain.schedule,
      run: guarded('retrain', async () => {
        const r = await runRetrain({ data: data.historyCsv, registry: layout.registry, decision: layout.reports });
        if (!r.retrained || r.candidate_version === undefined) return `no retraining: ${r.reason}`;
        // As the Databricks DAG does: a new candidate enters as the challenger (the canary), never straight to champion.
        const p = await runPromote({ registry: layout.registry, candidate: r.candidate_version, stage: 'challenger', data: data.holdoutCsv });
        return `candidate version ${r.candidate_version}: ${p.decision}${p.reasons.length ? ` (${p.reasons.join('; ')})` : ''}`;
      }),
    },
  ];
  const crons = await Promise.all(schedules.map((s) => quartzCron(s.cron, jobs.timezone, s.run)));

  const lines = [
    '',
    `local environment (${options.stack} stack settings) under ${layout.home}${data.synthetic ? '  [SYNTHETIC DATA]' : ''}`,
    `  endpoint     ${endpoint}/invocations   (routes ${routes}${shadow ? `, shadow ${shadow}` : ''})`,
    `  try          curl -s ${endpoint}/invocations -H 'content-type: application/json' -d '{"dataframe_split":{"columns":${JSON.stringify(FEATURES)},"data":[[2015,83000000,3.9e12,3300,2600,480]]}}'`,
    `  metrics      ${endpoint}/metrics`,
    `  registry     ${layout.registry}`,
    `  logs         ${layout.logs}/predictions/date=YYYY-MM-DD/`,
    `  scores       ${layout.scoring}`,
    `  reports      ${layout.reports}`,
    `  data         ${data.source} (history < ${data.windows.holdoutFrom} ≤ holdout)`,
    ...schedules.map((s, i) => `  ${s.name.padEnd(12)} ${s.cron} (${jobs.timezone}); next ${crons[i]!.nextRun()?.toISOString() ?? 'never'}`),
    '  Ctrl-C stops (in-flight requests finish, logs are flushed).',
    '',
  ];
  for (const l of lines) process.stdout.write(l + '\n');

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      options.say(`${signal}: stopping schedules, draining requests, flushing the prediction log`);
      for (const c of crons) c.stop();
      server.close().then(resolve, (err: unknown) => {
        options.say(`shutdown failed: ${(err as Error).message}`);
        resolve();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
