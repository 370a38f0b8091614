/**
 * Model quality once the actuals arrive: regression metrics per day and per route/version on the labelled
 * predictions, thresholds, and the "violated in k of the last n windows" rule (as Databricks' metric-violation
 * check) that raises PERFORMANCE_DEGRADATION and can set `should_retrain` without any drift.
 *
 * Thresholds default from the monitored version's own card (`metrics.random_holdout`, the held-out evaluation at
 * training time) with a tolerance: min R² = holdout R² − `r2Tolerance` (absolute), max RMSE = holdout RMSE ×
 * (1 + `rmseTolerance`). Explicit `minR2` / `maxRmse` replace them.
 */
import type { ModelCard, RegressionMetrics } from '../../core/card';
import { UserError } from '../../core/errors';
import { regressionMetrics } from '../../core/metrics';
import type { LabelJoinCounts, LabelledRows } from './labels';

export interface QualitySettings {
  minR2?: number | undefined;
  maxRmse?: number | undefined;
  r2Tolerance: number;
  rmseTolerance: number;
  /** Labelled rows a daily window needs to be judged. */
  minLabels: number;
  /** Violations needed… */
  k: number;
  /** …among the last n judged daily windows. */
  n: number;
}

export const DEFAULT_QUALITY_SETTINGS: QualitySettings = { r2Tolerance: 0.05, rmseTolerance: 0.2, minLabels: 30, k: 2, n: 3 };

export interface QualityThresholds {
  min_r2: number | null;
  max_rmse: number | null;
  /** Where the thresholds come from. */
  source: string;
}

export type MetricsRow = RegressionMetrics & { violations: string[] };

export interface DailyQuality {
  day: string;
  /** null when the day had fewer than `min_labels` labelled rows (not judged). */
  metrics: MetricsRow | null;
  n: number;
  judged: boolean;
  violated: boolean;
}

export interface QualityResult {
  label_column: string;
  labels_uri: string;
  join: LabelJoinCounts;
  thresholds: QualityThresholds;
  settings: { min_labels: number; k: number; n: number; r2_tolerance: number; rmse_tolerance: number };
  /** Over the whole window, per route (`<alias>/<version>`, shadow separately). */
  by_route: Array<{ route: string; alias: string | null; model_version: number | null; shadow: boolean; metrics: RegressionMetrics }>;
  /** Per day and route. */
  by_day_route: Array<{ day: string; route: string; metrics: RegressionMetrics }>;
  /** The monitored version's non-shadow daily windows, the input of the k-of-n rule. */
  daily: DailyQuality[];
  /** Judged windows among the last n considered. */
  windows_considered: string[];
  violations_in_window: number;
  /** The k-of-n rule fired. */
  degraded: boolean;
  /** The most recent judged window violated a threshold (even if the rule did not fire yet). */
  latest_violated: boolean;
  messages: string[];
}

export function qualityThresholds(card: ModelCard | null, settings: QualitySettings): QualityThresholds {
  const holdout = card?.metrics?.random_holdout;
  const fromCard = holdout && Number.isFinite(holdout.r2) && Number.isFinite(holdout.rmse);
  const minR2 = settings.minR2 ?? (fromCard ? holdout.r2 - settings.r2Tolerance : null);
  const maxRmse = settings.maxRmse ?? (fromCard ? holdout.rmse * (1 + settings.rmseTolerance) : null);
  const parts: string[] = [];
  if (settings.minR2 !== undefined) parts.push('min R² from --min-r2');
  else if (fromCard) parts.push(`min R² = holdout R² ${holdout.r2.toFixed(4)} − ${settings.r2Tolerance}`);
  if (settings.maxRmse !== undefined) parts.push('max RMSE from --max-rmse');
  else if (fromCard) parts.push(`max RMSE = holdout RMSE ${holdout.rmse.toFixed(4)} × ${1 + settings.rmseTolerance}`);
  if (minR2 === null && maxRmse === null) parts.push('no thresholds: the version card has no random_holdout metrics and none were given');
  return { min_r2: minR2, max_rmse: maxRmse, source: parts.join('; ') };
}

function violationsOf(m: RegressionMetrics, t: QualityThresholds): string[] {
  const out: string[] = [];
  if (t.min_r2 !== null && m.r2 < t.min_r2) out.push(`R² ${m.r2.toFixed(4)} < ${t.min_r2.toFixed(4)}`);
  if (t.max_rmse !== null && m.rmse > t.max_rmse) out.push(`RMSE ${m.rmse.toFixed(4)} > ${t.max_rmse.toFixed(4)}`);
  return out;
}

function groupIndices(keys: readonly string[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => {
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(i);
  });
  return groups;
}

function metricsOf(rows: LabelledRows, idx: readonly number[]): RegressionMetrics {
  const y = new Float64Array(idx.length);
  const p = new Float64Array(idx.length);
  idx.forEach((i, k) => {
    y[k] = rows.actual[i]!;
    p[k] = rows.prediction[i]!;
  });
  return regressionMetrics(y, p);
}

export function checkQualitySettings(s: QualitySettings): void {
  if (!Number.isInteger(s.k) || !Number.isInteger(s.n) || s.k < 1 || s.n < 1 || s.k > s.n) {
    throw new UserError(`the degradation rule needs integers 1 ≤ k ≤ n, got k = ${s.k}, n = ${s.n}`);
  }
  if (!Number.isInteger(s.minLabels) || s.minLabels < 2) throw new UserError(`--min-labels must be an integer ≥ 2, got ${s.minLabels}`);
  if (!(s.r2Tolerance >= 0) || !(s.rmseTolerance >= 0)) throw new UserError('--r2-tolerance and --rmse-tolerance must be ≥ 0');
}

/**
 * Quality of the labelled rows. `version` is the monitored version: its non-shadow daily windows (`days`, oldest
 * first) feed the k-of-n rule; the other routes are reported.
 */
export function assessQuality(input: {
  rows: LabelledRows;
  join: LabelJoinCounts;
  labelsUri: string;
  labelColumn: string;
  version: number;
  days: readonly string[];
  card: ModelCard | null;
  settings: QualitySettings;
}): QualityResult {
  const { rows, settings } = input;
  checkQualitySettings(settings);
  const thresholds = qualityThresholds(input.card, settings);
  const n = rows.actual.length;

  const byRoute = [...groupIndices(rows.route)].map(([route, idx]) => {
    const i0 = idx[0]!;
    return { route, alias: rows.alias[i0]!, model_version: rows.version[i0]!, shadow: rows.shadow[i0]!, metrics: metricsOf(rows, idx) };
  });
  byRoute.sort((a, b) => Number(a.shadow) - Number(b.shadow) || b.metrics.n - a.metrics.n);
  const byDayRoute = [...groupIndices(Array.from({ length: n }, (_, i) => `${rows.day[i]}\u0000${rows.route[i]}`))].map(([key, idx]) => {
    const [day, route] = key.split('\u0000') as [string, string];
    return { day, route, metrics: metricsOf(rows, idx) };
  });
  byDayRoute.sort((a, b) => a.day.localeCompare(b.day) || a.route.localeCompare(b.route));

  const mine = Array.from({ length: n }, (_, i) => i).filter((i) => !rows.shadow[i] && rows.version[i] === input.version);
  const perDay = groupIndices(mine.map((i) => rows.day[i]!));
  const daily: DailyQuality[] = input.days.map((day) => {
    const idx = (perDay.get(day) ?? []).map((k) => mine[k]!);
    if (idx.length < settings.minLabels) {
      return { day, n: idx.length, judged: false, violated: false, metrics: idx.length >= 2 ? { ...metricsOf(rows, idx), violations: [] } : null };
    }
    const m = metricsOf(rows, idx);
    const violations = violationsOf(m, thresholds);
    return { day, n: idx.length, judged: true, violated: violations.length > 0, metrics: { ...m, violations } };
  });
  const judged = daily.filter((d) => d.judged);
  const considered = judged.slice(-settings.n);
  const violationsCount = considered.filter((d) => d.violated).length;
  const degraded = violationsCount >= settings.k;
  const latest = judged.at(-1);

  const messages: string[] = [];
  const j = input.join;
  messages.push(
    `labels: ${j.matched} served predictions matched of ${j.labels} labels (${j.unmatched_labels} labels without a prediction in the window, ${j.unmatched_predictions} predictions with an id still unlabelled, ${j.predictions_without_id} predictions without client_request_id)`,
  );
  if (j.duplicate_label_rows > 0) messages.push(`labels: ${j.duplicate_label_rows} duplicate label rows for ${j.duplicate_label_ids} ids replaced by the last one in the file`);
  if (j.labels_missing_id + j.labels_missing_actual > 0) messages.push(`labels: ${j.labels_missing_id} rows without id and ${j.labels_missing_actual} without an actual value ignored`);
  if (j.duplicate_prediction_rows > 0) messages.push(`labels: ${j.duplicate_prediction_rows} repeated predictions for the same id: the latest one is evaluated`);
  if (judged.length === 0) {
    messages.push(`quality: no daily window of version ${input.version} has ${settings.minLabels} labelled rows yet; not judged`);
  } else if (degraded) {
    messages.push(
      `PERFORMANCE_DEGRADATION: thresholds violated in ${violationsCount} of the last ${considered.length} judged daily windows (rule: ${settings.k} of ${settings.n}); latest ${latest!.day}: ${latest!.metrics!.violations.join(', ') || 'within thresholds'}`,
    );
  } else if (latest?.violated) {
    messages.push(`quality: ${latest.day} violated (${latest.metrics!.violations.join(', ')}), ${violationsCount} of the last ${considered.length} windows so far (rule: ${settings.k} of ${settings.n})`);
  } else {
    messages.push(`quality: within thresholds (${violationsCount} violation(s) in the last ${considered.length} judged daily windows)`);
  }

  return {
    label_column: input.labelColumn,
    labels_uri: input.labelsUri,
    join: input.join,
    thresholds,
    settings: { min_labels: settings.minLabels, k: settings.k, n: settings.n, r2_tolerance: settings.r2Tolerance, rmse_tolerance: settings.rmseTolerance },
    by_route: byRoute,
    by_day_route: byDayRoute,
    daily,
    windows_considered: considered.map((d) => d.day),
    violations_in_window: violationsCount,
    degraded,
    latest_violated: latest?.violated ?? false,
    messages,
  };
}
