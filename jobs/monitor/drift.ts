/**
 * Per-column drift for the monitor: every statistic on one column (KS, PSI, normed Wasserstein, Jensen–Shannon,
 * null-rate change, mean/std shift) and the drift decision across columns.
 *
 * The decision follows Evidently's default selection (`pickStatTest`: KS p ≤ 0.05 on references of ≤ 1,000 values,
 * normed Wasserstein ≥ 0.1 above) or a forced method, and adds two guards Evidently lacks:
 * - an optional multiple-testing correction of the p-values across the tested columns (Bonferroni or
 *   Benjamini–Hochberg), so seven tests per report do not raise false alarms by chance;
 * - an effect-size gate for p-value tests: on large samples every p-value is tiny, so a p-value drift only counts
 *   when the shift is also material (|mean shift| or normed Wasserstein ≥ `minEffect`, both in reference std units).
 * A null-rate change of more than `nullRateTolerance` is a finding of its own: statistics drop missing values, so a broken
 * upstream column that starts sending nulls would otherwise look perfectly stable.
 */
import {
  benjaminiHochberg,
  bonferroni,
  ks2sampSorted,
  pickStatTest,
  psiSorted,
  SortedSample,
  statTests,
  wassersteinNormedSorted,
  type StatTestKind,
  type StatTestName,
} from '../drift/index';
import { lowerBound, meanAndStd, quantileSorted } from '../drift/sample';
import type { ColumnProfile } from '../../core/profile';

export type DriftMethod = 'auto' | 'ks' | 'psi' | 'wasserstein' | 'jensenshannon';
export const DRIFT_METHODS: readonly DriftMethod[] = ['auto', 'ks', 'psi', 'wasserstein', 'jensenshannon'];
export type Correction = 'none' | 'bonferroni' | 'bh';
export const CORRECTIONS: readonly Correction[] = ['none', 'bonferroni', 'bh'];

export interface DriftSettings {
  method: DriftMethod;
  /** p-value threshold for p-value tests (KS, chi-square): drift when p ≤ threshold. */
  threshold: number;
  /** Threshold for distance tests (PSI, Wasserstein, JS); default the test's own (0.1). */
  distanceThreshold?: number | undefined;
  correction: Correction;
  /** Effect-size gate for p-value tests, in reference std units; 0 disables it. */
  minEffect: number;
  /** Absolute null-rate change (production − reference) that counts as a finding. */
  nullRateTolerance: number;
}

export const DEFAULT_DRIFT_SETTINGS: DriftSettings = {
  method: 'auto',
  threshold: 0.05,
  correction: 'none',
  minEffect: 0.1,
  nullRateTolerance: 0.05,
};

/** Statistics of one column, before any decision. */
export interface ColumnStats {
  column: string;
  reference_n: number;
  production_n: number;
  reference_null_rate: number;
  production_null_rate: number | null;
  null_rate_change: number | null;
  /** The test that decides for this column (null when one side has no values). */
  test: StatTestName | null;
  test_kind: StatTestKind | null;
  categorical: boolean;
  /** Raw score of the deciding test. */
  score: number | null;
  ks_statistic: number | null;
  ks_pvalue: number | null;
  psi: number | null;
  wasserstein: number | null;
  jensenshannon: number | null;
  chisquare_pvalue: number | null;
  reference_mean: number | null;
  production_mean: number | null;
  reference_std: number | null;
  production_std: number | null;
  /** (production mean − reference mean) / reference std. */
  mean_shift: number | null;
  /** production std / reference std. */
  std_ratio: number | null;
  /** Shares of both samples over shared equal-width bins, for the report's histograms. */
  histogram: { edges: number[]; reference: number[]; production: number[] } | null;
}

/** A column with its decision. */
export interface ColumnDrift extends ColumnStats {
  /** Score after the multiple-testing correction (p-value tests), else the raw score. */
  adjusted_score: number | null;
  threshold: number | null;
  /** The deciding test's verdict (after correction), before the effect gate. */
  test_drift: boolean;
  /** null when the gate does not apply (distance tests or gate disabled). */
  effect_gate_passed: boolean | null;
  null_rate_drift: boolean;
  drifted: boolean;
  reasons: string[];
}

const HISTOGRAM_BINS = 30;

function chooseTest(reference: SortedSample, method: DriftMethod): { name: StatTestName; categorical: boolean } {
  if (method === 'auto') {
    const picked = pickStatTest(reference);
    return { name: picked.name, categorical: picked.categorical };
  }
  return { name: method, categorical: false };
}

function sharedHistogram(ref: Float64Array, cur: Float64Array): ColumnStats['histogram'] {
  // Range: the reference's full span plus the bulk of production (its extreme 0.1 % would squash the picture).
  const lo = Math.min(ref[0]!, quantileSorted(cur, 0.001));
  const hi = Math.max(ref[ref.length - 1]!, quantileSorted(cur, 0.999));
  const width = hi > lo ? (hi - lo) / HISTOGRAM_BINS : 1;
  const edges = Array.from({ length: HISTOGRAM_BINS + 1 }, (_, k) => lo + k * width);
  const shares = (sorted: Float64Array): number[] => {
    const out: number[] = [];
    for (let k = 0; k < HISTOGRAM_BINS; k++) {
      const start = k === 0 ? 0 : lowerBound(sorted, edges[k]!);
      const end = k === HISTOGRAM_BINS - 1 ? sorted.length : lowerBound(sorted, edges[k + 1]!);
      out.push((end - start) / sorted.length);
    }
    return out;
  };
  return { edges, reference: shares(ref), production: shares(cur) };
}

/**
 * All statistics of one column. `reference` is the version's stored profile of the column; `production` holds the
 * window's values with nulls as NaN (`rows` of them).
 */
export function columnStats(column: string, reference: ColumnProfile, production: Float64Array, method: DriftMethod): ColumnStats {
  const ref = SortedSample.from(reference.sample);
  const cur = SortedSample.from(production);
  const rows = production.length;
  const productionNullRate = rows > 0 ? cur.dropped / rows : null;
  const base: ColumnStats = {
    column,
    reference_n: ref.length,
    production_n: cur.length,
    reference_null_rate: reference.nullRate,
    production_null_rate: productionNullRate,
    null_rate_change: productionNullRate === null ? null : productionNullRate - reference.nullRate,
    test: null,
    test_kind: null,
    categorical: false,
    score: null,
    ks_statistic: null,
    ks_pvalue: null,
    psi: null,
    wasserstein: null,
    jensenshannon: null,
    chisquare_pvalue: null,
    reference_mean: reference.mean,
    production_mean: null,
    reference_std: reference.std,
    production_std: null,
    mean_shift: null,
    std_ratio: null,
    histogram: null,
  };
  if (cur.length > 0) {
    const { mean, std } = meanAndStd(cur.values);
    base.production_mean = mean;
    base.production_std = std;
  }
  if (ref.length === 0 || cur.length === 0) return base;

  const refStats = meanAndStd(ref.values);
  const refMean = reference.mean ?? refStats.mean;
  const refStd = reference.std ?? refStats.std;
  base.reference_mean = refMean;
  base.reference_std = refStd;
  const scale = Math.max(refStd, 1e-12);
  base.mean_shift = (base.production_mean! - refMean) / scale;
  base.std_ratio = refStd > 0 ? base.production_std! / refStd : null;

  const { name, categorical } = chooseTest(ref, method);
  const ks = ks2sampSorted(ref.values, cur.values);
  base.ks_statistic = ks.statistic;
  base.ks_pvalue = ks.pvalue;
  base.psi = psiSorted(ref.values, cur.values).value;
  base.wasserstein = wassersteinNormedSorted(ref.values, cur.values).value;
  base.jensenshannon = statTests.jensenshannon.compute(ref, cur, { categorical }).score;
  if (name === 'chisquare') base.chisquare_pvalue = statTests.chisquare.compute(ref, cur).score;
  base.test = name;
  base.test_kind = statTests[name].kind;
  base.categorical = categorical;
  base.score = { ks: base.ks_pvalue, psi: base.psi, wasserstein: base.wasserstein, jensenshannon: base.jensenshannon, chisquare: base.chisquare_pvalue }[name];
  base.histogram = sharedHistogram(ref.values, cur.values);
  return base;
}

function fmt(x: number): string {
  return Math.abs(x) >= 0.001 || x === 0 ? x.toFixed(3) : x.toExponential(2);
}

/** Applies the correction, thresholds, effect gate and null-rate rule to every column. */
export function decideDrift(columns: readonly ColumnStats[], settings: DriftSettings): ColumnDrift[] {
  const pIdx = columns.flatMap((c, i) => (c.test_kind === 'pvalue' && c.score !== null && Number.isFinite(c.score) ? [i] : []));
  const pvalues = pIdx.map((i) => columns[i]!.score!);
  const adjusted = settings.correction === 'bonferroni' ? bonferroni(pvalues) : settings.correction === 'bh' ? benjaminiHochberg(pvalues) : pvalues;
  const adjustedByIndex = new Map(pIdx.map((i, k) => [i, adjusted[k]!]));

  return columns.map((c, i) => {
    const reasons: string[] = [];
    let threshold: number | null = null;
    let adjustedScore: number | null = c.score;
    let testDrift = false;
    let gate: boolean | null = null;
    if (c.test !== null && c.score !== null) {
      const test = statTests[c.test];
      if (test.kind === 'pvalue') {
        threshold = settings.threshold;
        adjustedScore = adjustedByIndex.get(i) ?? c.score;
        testDrift = test.drifted(adjustedScore, threshold);
        if (testDrift && settings.minEffect > 0) {
          const effect = Math.max(Math.abs(c.mean_shift ?? 0), c.wasserstein ?? 0);
          gate = effect >= settings.minEffect;
          if (gate) reasons.push(`${c.test} p=${fmt(adjustedScore)}${settings.correction !== 'none' ? ` (${settings.correction})` : ''} ≤ ${threshold}, effect ${fmt(effect)} ≥ ${settings.minEffect}`);
        } else if (testDrift) {
          reasons.push(`${c.test} p=${fmt(adjustedScore)}${settings.correction !== 'none' ? ` (${settings.correction})` : ''} ≤ ${threshold}`);
        }
      } else {
        threshold = settings.distanceThreshold ?? test.defaultThreshold;
        testDrift = test.drifted(c.score, threshold);
        if (testDrift) reasons.push(`${c.test} ${fmt(c.score)} ≥ ${threshold}`);
      }
    }
    const nullRateDrift = c.null_rate_change !== null && Math.abs(c.null_rate_change) > settings.nullRateTolerance;
    if (nullRateDrift) {
      reasons.push(
        `null rate ${(100 * c.reference_null_rate).toFixed(1)} % → ${(100 * c.production_null_rate!).toFixed(1)} % (change > ${(100 * settings.nullRateTolerance).toFixed(1)} points)`,
      );
    }
    const drifted = (testDrift && gate !== false) || nullRateDrift;
    return {
      ...c,
      adjusted_score: adjustedScore,
      threshold,
      test_drift: testDrift,
      effect_gate_passed: gate,
      null_rate_drift: nullRateDrift,
      drifted,
      reasons,
    };
  });
}
