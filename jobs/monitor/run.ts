/**
 * `mlops monitor`: production rows of a window vs the monitored version's reference profile (data drift), service
 * checks from the same logs (latency vs SLA, errors, routes), a report (JSON + self-contained HTML), the decision
 * record `mlops retrain` reads, an audit record and a webhook alert.
 *
 * The decision is data: ok, drift and insufficient data all exit 0; only bad input (unknown alias, missing logs
 * root, unreadable logs) is an error.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withDuckDB } from '../../core/duckdb';
import { UserError } from '../../core/errors';
import type { ReferenceProfile } from '../../core/profile';
import { ModelRegistry } from '../../core/registry';
import { FEATURES, MODEL_NAME } from '../../core/schema';
import { isRemoteUri, openStorage } from '../../core/storage/index';
import { monitorFindings, qualityFindings, sendMonitorAlert } from './alert';
import { canaryVerdict, checkCanarySettings, DEFAULT_CANARY_SETTINGS, type CanarySettings, type CanaryVerdict } from './canary';
import { columnStats, CORRECTIONS, decideDrift, DEFAULT_DRIFT_SETTINGS, DRIFT_METHODS, type ColumnDrift, type DriftSettings } from './drift';
import { preloadCharts } from './charts';
import { renderHtml } from './html';
import { qualitySections } from './qualityHtml';
import { DEFAULT_LABEL_COLUMN, joinLabels, type LabelJoinCounts, type LabelledRows } from './labels';
import { loadLogs, readProductionSample, stageLogs } from './logs';
import { buildDecision, reportUris, writeOutputs } from './outputs';
import { assessQuality, checkQualitySettings, DEFAULT_QUALITY_SETTINGS, type QualityResult, type QualitySettings } from './quality';
import { serviceChecks } from './service';
import type { MonitorOptions, MonitorResult } from './types';
import { monitorWindow } from './window';

export const MONITOR_DEFAULTS = {
  alias: 'champion',
  lookbackDays: 7,
  retrainShare: 0.3,
  minRows: 200,
  slaP95Ms: 200,
  maxErrorRate: 0.01,
} as const;

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isFinite(value) || value < min || value > max) throw new UserError(`${name} must be between ${min} and ${max}, got ${value}`);
}

function basicIso(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export async function runMonitor(options: MonitorOptions): Promise<MonitorResult> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  const now = options.now ?? new Date();
  const model = options.model ?? MODEL_NAME;
  const alias = options.alias ?? MONITOR_DEFAULTS.alias;
  const settings: DriftSettings = {
    method: options.method ?? DEFAULT_DRIFT_SETTINGS.method,
    threshold: options.threshold ?? DEFAULT_DRIFT_SETTINGS.threshold,
    distanceThreshold: options.distanceThreshold,
    correction: options.correction ?? DEFAULT_DRIFT_SETTINGS.correction,
    minEffect: options.minEffect ?? DEFAULT_DRIFT_SETTINGS.minEffect,
    nullRateTolerance: options.nullRateTolerance ?? DEFAULT_DRIFT_SETTINGS.nullRateTolerance,
  };
  if (!DRIFT_METHODS.includes(settings.method)) throw new UserError(`--method must be one of ${DRIFT_METHODS.join(', ')}, got '${settings.method}'`);
  if (!CORRECTIONS.includes(settings.correction)) throw new UserError(`--correction must be one of ${CORRECTIONS.join(', ')}, got '${settings.correction}'`);
  checkRange('--threshold', settings.threshold, 0, 1);
  if (settings.distanceThreshold !== undefined) checkRange('--distance-threshold', settings.distanceThreshold, 0, Number.MAX_VALUE);
  checkRange('--min-effect', settings.minEffect, 0, Number.MAX_VALUE);
  checkRange('--null-rate-tolerance', settings.nullRateTolerance, 0, 1);
  const retrainShare = options.retrainShare ?? MONITOR_DEFAULTS.retrainShare;
  checkRange('--retrain-share', retrainShare, 0, 1);
  const minRows = options.minRows ?? MONITOR_DEFAULTS.minRows;
  if (!Number.isInteger(minRows) || minRows < 1) throw new UserError(`--min-rows must be a positive integer, got ${minRows}`);
  const sla = { p95Ms: options.slaP95Ms ?? MONITOR_DEFAULTS.slaP95Ms, p99Ms: options.slaP99Ms, maxErrorRate: options.maxErrorRate ?? MONITOR_DEFAULTS.maxErrorRate };
  checkRange('--sla-p95-ms', sla.p95Ms, 0, Number.MAX_VALUE);
  if (sla.p99Ms !== undefined) checkRange('--sla-p99-ms', sla.p99Ms, 0, Number.MAX_VALUE);
  checkRange('--max-error-rate', sla.maxErrorRate, 0, 1);
  const window = monitorWindow(options.endDate, options.lookbackDays ?? MONITOR_DEFAULTS.lookbackDays, now);
  const runId = options.runId ?? `${window.end_date}-${basicIso(now)}-${randomBytes(3).toString('hex')}`;
  const qualitySettings: QualitySettings = {
    minR2: options.minR2,
    maxRmse: options.maxRmse,
    r2Tolerance: options.r2Tolerance ?? DEFAULT_QUALITY_SETTINGS.r2Tolerance,
    rmseTolerance: options.rmseTolerance ?? DEFAULT_QUALITY_SETTINGS.rmseTolerance,
    minLabels: options.minLabels ?? DEFAULT_QUALITY_SETTINGS.minLabels,
    k: options.degradationK ?? DEFAULT_QUALITY_SETTINGS.k,
    n: options.degradationN ?? DEFAULT_QUALITY_SETTINGS.n,
  };
  const canarySettings: CanarySettings = {
    resamples: options.bootstrapResamples ?? DEFAULT_CANARY_SETTINGS.resamples,
    confidence: options.confidence ?? DEFAULT_CANARY_SETTINGS.confidence,
    seed: options.seed ?? DEFAULT_CANARY_SETTINGS.seed,
    margin: options.canaryMargin ?? DEFAULT_CANARY_SETTINGS.margin,
    minLabels: options.minCanaryLabels ?? DEFAULT_CANARY_SETTINGS.minLabels,
  };
  const labelColumn = options.labelColumn ?? DEFAULT_LABEL_COLUMN;
  const challengerAlias = options.challengerAlias ?? 'challenger';
  if (options.labels !== undefined) {
    checkQualitySettings(qualitySettings);
    checkCanarySettings(canarySettings);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(runId)) throw new UserError(`--run-id may use letters, digits, '.', '_' and '-' only, got '${runId}'`);

  let t = performance.now();
  const registry = ModelRegistry.open(options.registry);
  await registry.check();
  const version = await registry.resolve(model, alias);
  const reference = await registry.getReference<ReferenceProfile>(model, version);
  if (!reference?.features || !reference.prediction) throw new UserError(`model '${model}' version ${version} has no usable reference profile (reference.json)`);
  for (const f of FEATURES) {
    if (!reference.features[f]) throw new UserError(`the reference profile of model '${model}' version ${version} has no column '${f}'`);
  }
  const card = options.labels !== undefined ? await registry.getCard(model, version) : null;
  const aliases = options.labels !== undefined ? await registry.getAliases(model) : {};
  if (isRemoteUri(options.report)) await openStorage(options.report).check();
  timings.registry = performance.now() - t;

  const scratch = await fs.mkdtemp(path.join(options.tempDir ?? os.tmpdir(), 'mlops-monitor-'));
  try {
    preloadCharts();
    t = performance.now();
    const staged = await stageLogs(options.logs, window.days, scratch);
    timings.stage_logs = performance.now() - t;

    const { records, service, sample, labelled } = await withDuckDB(
      async (conn) => {
        let tt = performance.now();
        const records = await loadLogs(conn, staged, model, options.labels !== undefined);
        timings.load_logs = performance.now() - tt;
        tt = performance.now();
        const service = await serviceChecks(conn, sla);
        timings.service_checks = performance.now() - tt;
        tt = performance.now();
        const sample = await readProductionSample(conn, version);
        timings.read_sample = performance.now() - tt;
        let labelled: { counts: LabelJoinCounts; rows: LabelledRows } | null = null;
        if (options.labels !== undefined) {
          tt = performance.now();
          labelled = await joinLabels(conn, options.labels, labelColumn, scratch);
          timings.join_labels = performance.now() - tt;
        }
        return { records, service, sample, labelled };
      },
      { temp_directory: path.join(scratch, 'duckdb') },
    );

    t = performance.now();
    const rows = sample.rows;
    const sufficient = rows >= minRows;
    let features: ColumnDrift[] = [];
    let prediction: ColumnDrift | null = null;
    if (sufficient) {
      const stats = [
        ...FEATURES.map((f, j) => columnStats(f, reference.features[f], sample.features[j]!, settings.method)),
        columnStats('prediction', reference.prediction, sample.prediction, settings.method),
      ];
      const decided = decideDrift(stats, settings);
      features = decided.slice(0, FEATURES.length);
      prediction = decided[FEATURES.length]!;
    }
    timings.drift = performance.now() - t;

    let quality: QualityResult | null = null;
    let canary: CanaryVerdict | null = null;
    const canaryNotes: string[] = [];
    if (labelled) {
      t = performance.now();
      quality = assessQuality({
        rows: labelled.rows,
        join: labelled.counts,
        labelsUri: options.labels!,
        labelColumn,
        version,
        days: window.days,
        card,
        settings: qualitySettings,
      });
      const championVersion = aliases.champion;
      const challengerVersion = aliases[challengerAlias];
      if (championVersion === undefined || challengerVersion === undefined || championVersion === challengerVersion) {
        canaryNotes.push(`canary: no verdict — needs aliases 'champion' and '${challengerAlias}' on different versions (have ${JSON.stringify(aliases)})`);
      } else {
        const pick = (v: number) => {
          const idx: number[] = [];
          for (let i = 0; i < labelled.rows.actual.length; i++) if (!labelled.rows.shadow[i] && labelled.rows.version[i] === v) idx.push(i);
          return { actual: idx.map((i) => labelled.rows.actual[i]!), predicted: idx.map((i) => labelled.rows.prediction[i]!) };
        };
        canary = canaryVerdict(
          { route: `champion/${championVersion}`, version: championVersion, ...pick(championVersion) },
          { route: `${challengerAlias}/${challengerVersion}`, version: challengerVersion, ...pick(challengerVersion) },
          canarySettings,
        );
      }
      timings.quality = performance.now() - t;
    }

    const driftFeatures = features.filter((c) => c.drifted).map((c) => c.column);
    const driftShare = sufficient ? driftFeatures.length / FEATURES.length : 0;
    const driftRetrain = sufficient && driftShare >= retrainShare && driftFeatures.length > 0;
    const degraded = quality?.degraded ?? false;
    const shouldRetrain = driftRetrain || degraded;
    const status = degraded ? 'degraded' : !sufficient ? 'insufficient_data' : driftFeatures.length > 0 ? 'drift' : 'ok';

    const messages: string[] = [];
    if (!sufficient) {
      messages.push(
        `insufficient data: ${rows} production rows of version ${version} in ${window.days[0]}…${window.end_date}, at least ${minRows} needed; drift not evaluated, no retraining recommended`,
      );
    } else {
      for (const c of features) if (c.drifted) messages.push(`drift in ${c.column}: ${c.reasons.join('; ')}`);
      if (driftFeatures.length === 0) messages.push(`no drift in the ${FEATURES.length} features over ${rows} production rows`);
      messages.push(
        driftRetrain
          ? `retraining recommended: drift share ${driftShare.toFixed(2)} ≥ ${retrainShare}`
          : `no retraining: drift share ${driftShare.toFixed(2)} < ${retrainShare}`,
      );
      if (prediction?.drifted) messages.push(`the prediction distribution moved: ${prediction.reasons.join('; ')}`);
    }
    if (quality) messages.push(...quality.messages);
    if (degraded) messages.push('retraining recommended: PERFORMANCE_DEGRADATION rule fired');
    if (canary) messages.push(`canary: ${canary.summary}`);
    messages.push(...canaryNotes);
    for (const b of service.sla.breaches) messages.push(`SLA breach: ${b}`);
    const otherVersions = service.routes.filter((r) => !r.shadow && r.model_version !== version && r.rows > 0);
    for (const r of otherVersions) messages.push(`route ${r.route} served ${r.rows} rows in the window (not part of the drift sample)`);
    if (service.shadow_rows > 0) messages.push(`${service.shadow_rows} shadow rows excluded from the drift sample (reported per route)`);

    const result: MonitorResult = {
      command: 'monitor',
      run_id: runId,
      status,
      should_retrain: shouldRetrain,
      drift_count: driftFeatures.length,
      drift_features: driftFeatures,
      drift_share: driftShare,
      retrain_share_threshold: retrainShare,
      rows,
      min_rows: minRows,
      window,
      model,
      alias,
      model_version: version,
      settings: {
        method: settings.method,
        threshold: settings.threshold,
        distance_threshold: settings.distanceThreshold ?? null,
        correction: settings.correction,
        min_effect: settings.minEffect,
        null_rate_tolerance: settings.nullRateTolerance,
      },
      features,
      prediction,
      service,
      quality,
      canary,
      logs: { uri: options.logs, files: staged.files, records, days_with_logs: staged.daysWithLogs },
      messages,
      report: reportUris(options.report, runId),
      alert: { triggered: false, severity: null, title: null, reasons: [], delivered: false, attempts: 0, skipped: true },
      timings_ms: timings,
    };

    t = performance.now();
    const findings = [...monitorFindings({ ...result, should_retrain: driftRetrain }), ...qualityFindings(quality, canary)];
    const qualityFields: Record<string, string | number> = {};
    if (quality) {
      const latest = quality.daily.filter((d) => d.judged).at(-1);
      qualityFields.quality = latest?.metrics
        ? `${latest.day}: R² ${latest.metrics.r2.toFixed(3)}, RMSE ${latest.metrics.rmse.toFixed(3)} (n ${latest.n}); ${quality.violations_in_window} of last ${quality.windows_considered.length} windows violated`
        : 'not judged yet';
    }
    if (canary) qualityFields.canary = canary.summary;
    result.alert = await sendMonitorAlert({
      findings,
      title: `mlops monitor: ${model} v${version} (${alias}) — ${degraded ? 'PERFORMANCE_DEGRADATION' : status}${service.sla.breached ? ', SLA breach' : ''}`,
      fields: {
        status,
        should_retrain: String(shouldRetrain),
        drift_features: driftFeatures.join(', ') || '–',
        rows,
        window: `${window.days[0]} … ${window.end_date}`,
        ...qualityFields,
        report: result.report.html,
      },
      webhookUrl: options.webhookUrl,
      retries: options.alertRetries,
      baseDelayMs: options.alertBaseDelayMs,
    });
    timings.alert = performance.now() - t;

    t = performance.now();
    const html = await renderHtml(result, await qualitySections(result));
    timings.render_html = performance.now() - t;
    t = performance.now();
    const decision = buildDecision(result, now, messages);
    timings.total = performance.now() - started;
    await writeOutputs(options.report, result, html, decision, now);
    timings.write_outputs = performance.now() - t;
    return result;
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

/** Human-readable summary lines. */
export function describeMonitorResult(r: MonitorResult): string[] {
  const lines = [
    `monitor ${r.model} ${r.alias} → v${r.model_version}, ${r.window.days[0]} … ${r.window.end_date}: ${r.status}, should_retrain=${r.should_retrain}`,
    `  production rows ${r.rows}; drifted features ${r.drift_count}/${FEATURES.length}${r.drift_features.length ? ` (${r.drift_features.join(', ')})` : ''}`,
  ];
  for (const c of r.features) {
    lines.push(
      `  ${c.column.padEnd(28)} ${c.drifted ? 'DRIFT' : 'ok   '} ${String(c.test).padEnd(12)} score=${c.adjusted_score?.toPrecision(3) ?? '–'} mean_shift=${c.mean_shift?.toFixed(2) ?? '–'}σ null ${(100 * c.reference_null_rate).toFixed(1)}%→${c.production_null_rate === null ? '–' : (100 * c.production_null_rate).toFixed(1)}%`,
    );
  }
  const lat = r.service.latency_ms;
  lines.push(
    `  service: ${r.service.requests} requests, error rate ${r.service.error_rate === null ? '–' : (100 * r.service.error_rate).toFixed(2) + ' %'}, p50/p95/p99 ${lat ? `${lat.p50.toFixed(1)}/${lat.p95.toFixed(1)}/${lat.p99.toFixed(1)} ms` : '–'} (SLA p95 ${r.service.sla.p95_ms} ms: ${r.service.sla.breached ? 'BREACHED' : 'met'})`,
  );
  if (r.quality) {
    const q = r.quality;
    lines.push(`  quality (${q.join.matched} labelled rows; thresholds: min R² ${q.thresholds.min_r2?.toFixed(4) ?? '–'}, max RMSE ${q.thresholds.max_rmse?.toFixed(4) ?? '–'}):`);
    for (const d of q.daily) {
      lines.push(`    ${d.day} n=${String(d.n).padEnd(6)} ${d.judged ? `R² ${d.metrics!.r2.toFixed(3)} RMSE ${d.metrics!.rmse.toFixed(3)} ${d.violated ? 'VIOLATED' : 'ok'}` : 'not judged (too few labels)'}`);
    }
  }
  if (r.canary) lines.push(`  canary: ${r.canary.summary}`);
  for (const m of r.messages) lines.push(`  - ${m}`);
  lines.push(`  report: ${r.report.html}`);
  lines.push(
    r.alert.triggered
      ? `  alert (${r.alert.severity}): ${r.alert.delivered ? 'delivered' : `not delivered — ${r.alert.error ?? 'unknown reason'}`}`
      : '  alert: nothing to report',
  );
  return lines;
}
