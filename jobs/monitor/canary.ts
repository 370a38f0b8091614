/**
 * Canary verdict: is the challenger better than the champion on the traffic each of them served?
 *
 * The two routes score different requests, so the samples are unpaired and of unequal size (90/10 splits). The
 * statistic is Δ = RMSE(challenger) − RMSE(champion); its uncertainty comes from a seeded percentile bootstrap
 * that resamples each route's squared errors independently with replacement (no normality or equal-variance
 * assumption, and RMSE is what the promotion rules use). With a confidence interval [lo, hi] for Δ:
 * - hi < −margin          → "promote challenger" (clearly lower error, by more than the margin);
 * - lo > 0                → "keep champion" (the challenger is clearly worse);
 * - otherwise             → "not enough evidence yet" (the interval still straddles the decision).
 * Too few labelled rows on either route is also "not enough evidence yet", with the counts.
 */
import { createRng } from '../../core/random';
import { UserError } from '../../core/errors';

export type CanaryDecision = 'promote challenger' | 'keep champion' | 'not enough evidence yet';

export interface CanarySettings {
  /** Bootstrap resamples. */
  resamples: number;
  /** Two-sided confidence level of the interval. */
  confidence: number;
  seed: number;
  /** Required RMSE improvement (target units) before promoting. */
  margin: number;
  /** Labelled rows each route needs before any verdict. */
  minLabels: number;
}

export const DEFAULT_CANARY_SETTINGS: CanarySettings = { resamples: 2000, confidence: 0.95, seed: 42, margin: 0, minLabels: 50 };

export interface CanaryVerdict {
  decision: CanaryDecision;
  /** One sentence with the numbers. */
  summary: string;
  champion: { route: string; version: number; n: number; rmse: number | null; mae: number | null };
  challenger: { route: string; version: number; n: number; rmse: number | null; mae: number | null };
  /** RMSE(challenger) − RMSE(champion); negative = challenger better. */
  rmse_difference: number | null;
  ci: { lower: number; upper: number; confidence: number } | null;
  /** Share of resamples in which the challenger had the lower RMSE. */
  challenger_better_share: number | null;
  settings: CanarySettings;
}

export function checkCanarySettings(s: CanarySettings): void {
  if (!Number.isInteger(s.resamples) || s.resamples < 100) throw new UserError(`--bootstrap must be an integer ≥ 100, got ${s.resamples}`);
  if (!(s.confidence > 0.5 && s.confidence < 1)) throw new UserError(`--confidence must be between 0.5 and 1, got ${s.confidence}`);
  if (!(s.margin >= 0)) throw new UserError(`--canary-margin must be ≥ 0, got ${s.margin}`);
  if (!Number.isInteger(s.minLabels) || s.minLabels < 2) throw new UserError(`--min-canary-labels must be an integer ≥ 2, got ${s.minLabels}`);
}

function squaredErrors(actual: ArrayLike<number>, predicted: ArrayLike<number>): Float64Array {
  const out = new Float64Array(actual.length);
  for (let i = 0; i < out.length; i++) {
    const e = (actual[i] as number) - (predicted[i] as number);
    out[i] = e * e;
  }
  return out;
}

const rmseOf = (sq: Float64Array) => Math.sqrt(sq.reduce((a, b) => a + b, 0) / sq.length);
const maeOf = (sq: Float64Array) => sq.reduce((a, b) => a + Math.sqrt(b), 0) / sq.length;

/** Percentile of an ascending array (linear interpolation). */
function percentile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface RouteErrors {
  route: string;
  version: number;
  actual: ArrayLike<number>;
  predicted: ArrayLike<number>;
}

export function canaryVerdict(champion: RouteErrors, challenger: RouteErrors, settings: CanarySettings = DEFAULT_CANARY_SETTINGS): CanaryVerdict {
  checkCanarySettings(settings);
  const a = squaredErrors(champion.actual, champion.predicted);
  const b = squaredErrors(challenger.actual, challenger.predicted);
  const side = (r: RouteErrors, sq: Float64Array) => ({
    route: r.route,
    version: r.version,
    n: sq.length,
    rmse: sq.length ? rmseOf(sq) : null,
    mae: sq.length ? maeOf(sq) : null,
  });
  const base = { champion: side(champion, a), challenger: side(challenger, b), settings };
  if (a.length < settings.minLabels || b.length < settings.minLabels) {
    return {
      ...base,
      decision: 'not enough evidence yet',
      summary: `not enough evidence yet: ${b.length} labelled challenger rows and ${a.length} champion rows, at least ${settings.minLabels} each needed`,
      rmse_difference: a.length && b.length ? rmseOf(b) - rmseOf(a) : null,
      ci: null,
      challenger_better_share: null,
    };
  }
  const rng = createRng(settings.seed);
  const diffs = new Float64Array(settings.resamples);
  let better = 0;
  for (let r = 0; r < settings.resamples; r++) {
    let sa = 0;
    for (let i = 0; i < a.length; i++) sa += a[rng.nextInt(a.length)]!;
    let sb = 0;
    for (let i = 0; i < b.length; i++) sb += b[rng.nextInt(b.length)]!;
    const d = Math.sqrt(sb / b.length) - Math.sqrt(sa / a.length);
    diffs[r] = d;
    if (d < 0) better++;
  }
  diffs.sort();
  const alpha = 1 - settings.confidence;
  const lower = percentile(diffs, alpha / 2);
  const upper = percentile(diffs, 1 - alpha / 2);
  const diff = rmseOf(b) - rmseOf(a);
  const decision: CanaryDecision = upper < -settings.margin ? 'promote challenger' : lower > 0 ? 'keep champion' : 'not enough evidence yet';
  const pct = Math.round(settings.confidence * 100);
  const numbers = `RMSE challenger ${base.challenger.rmse!.toFixed(4)} (n ${b.length}) vs champion ${base.champion.rmse!.toFixed(4)} (n ${a.length}), Δ ${diff.toFixed(4)}, ${pct} % CI [${lower.toFixed(4)}, ${upper.toFixed(4)}]`;
  const why =
    decision === 'promote challenger'
      ? `the whole interval is below ${settings.margin > 0 ? `−${settings.margin}` : '0'}`
      : decision === 'keep champion'
        ? 'the challenger is worse across the whole interval'
        : 'the interval still includes no difference';
  return {
    ...base,
    decision,
    summary: `${decision}: ${numbers} — ${why}`,
    rmse_difference: diff,
    ci: { lower, upper, confidence: settings.confidence },
    challenger_better_share: better / settings.resamples,
  };
}
