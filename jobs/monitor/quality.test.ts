import { describe, expect, it } from 'vitest';
import type { ModelCard } from '../../core/card';
import { createRng } from '../../core/random';
import { canaryVerdict, DEFAULT_CANARY_SETTINGS } from './canary';
import type { LabelJoinCounts, LabelledRows } from './labels';
import { assessQuality, DEFAULT_QUALITY_SETTINGS, qualityThresholds } from './quality';

const JOIN: LabelJoinCounts = {
  label_rows: 0,
  labels_missing_id: 0,
  labels_missing_actual: 0,
  duplicate_label_rows: 0,
  duplicate_label_ids: 0,
  labels: 0,
  duplicate_prediction_rows: 0,
  predictions_without_id: 0,
  matched: 0,
  matched_without_prediction: 0,
  unmatched_labels: 0,
  unmatched_predictions: 0,
  shadow_matched: 0,
};

type Row = { day: string; version: number; shadow?: boolean; actual: number; prediction: number };

function labelled(rows: Row[]): LabelledRows {
  return {
    day: rows.map((r) => r.day),
    route: rows.map((r) => `${r.version === 1 ? 'champion' : 'challenger'}/${r.version}${r.shadow ? ' (shadow)' : ''}`),
    alias: rows.map((r) => (r.version === 1 ? 'champion' : 'challenger')),
    version: rows.map((r) => r.version),
    shadow: rows.map((r) => r.shadow ?? false),
    prediction: Float64Array.from(rows.map((r) => r.prediction)),
    actual: Float64Array.from(rows.map((r) => r.actual)),
  };
}

const card = (r2: number, rmse: number) => ({ metrics: { random_holdout: { n: 100, r2, rmse, mae: 0, mape: null, mapeExcluded: 0 } } }) as unknown as ModelCard;

describe('quality metrics from labels', () => {
  it('computes R², RMSE, MAE and MAPE per day and route as by hand, excluding zero targets from MAPE', () => {
    const rows: Row[] = [
      // day 1, champion: errors −0.5, 0, 0.5, −1 on actuals 1, 2, 3, 4
      { day: 'd1', version: 1, actual: 1, prediction: 1.5 },
      { day: 'd1', version: 1, actual: 2, prediction: 2 },
      { day: 'd1', version: 1, actual: 3, prediction: 2.5 },
      { day: 'd1', version: 1, actual: 4, prediction: 5 },
      // day 1, challenger: actuals 0 and 2, predictions 1 and 2
      { day: 'd1', version: 2, actual: 0, prediction: 1 },
      { day: 'd1', version: 2, actual: 2, prediction: 2 },
      // a shadow row is its own route
      { day: 'd1', version: 2, shadow: true, actual: 2, prediction: 3 },
    ];
    const q = assessQuality({ rows: labelled(rows), join: JOIN, labelsUri: 'x.csv', labelColumn: 'y', version: 1, days: ['d1'], card: null, settings: { ...DEFAULT_QUALITY_SETTINGS, minLabels: 2 } });
    const champ = q.by_route.find((r) => r.route === 'champion/1')!.metrics;
    expect(champ.n).toBe(4);
    // SSres = 1.5, SStot = 5 → R² = 0.7; RMSE = √(1.5/4); MAE = 2/4; MAPE = (0.5 + 0 + 1/6 + 0.25)/4 · 100.
    expect(champ.r2).toBeCloseTo(0.7, 12);
    expect(champ.rmse).toBeCloseTo(Math.sqrt(0.375), 12);
    expect(champ.mae).toBeCloseTo(0.5, 12);
    expect(champ.mape).toBeCloseTo(((0.5 + 1 / 6 + 0.25) / 4) * 100, 10);
    const chall = q.by_route.find((r) => r.route === 'challenger/2')!.metrics;
    expect(chall).toMatchObject({ n: 2, mapeExcluded: 1, mape: 0 });
    expect(chall.rmse).toBeCloseTo(Math.sqrt(0.5), 12);
    expect(q.by_route.find((r) => r.shadow)!.metrics.n).toBe(1);
    expect(q.by_day_route.map((d) => d.route)).toEqual(['challenger/2', 'challenger/2 (shadow)', 'champion/1']);
    // The daily windows of the monitored version only see its own served rows.
    expect(q.daily[0]!.n).toBe(4);
    expect(q.thresholds.min_r2).toBeNull();
    expect(q.degraded).toBe(false);
  });

  it('takes thresholds from the card with tolerances, explicit flags overriding', () => {
    const t = qualityThresholds(card(0.9, 2), DEFAULT_QUALITY_SETTINGS);
    expect(t.min_r2).toBeCloseTo(0.85, 12);
    expect(t.max_rmse).toBeCloseTo(2.4, 12);
    expect(t.source).toMatch(/holdout R² 0\.9000 − 0\.05/);
    const explicit = qualityThresholds(card(0.9, 2), { ...DEFAULT_QUALITY_SETTINGS, minR2: 0.5, maxRmse: 10 });
    expect(explicit).toMatchObject({ min_r2: 0.5, max_rmse: 10 });
  });

  it('fires PERFORMANCE_DEGRADATION only when k of the last n judged windows violate', () => {
    const rng = createRng(3);
    const day = (d: string, noise: number, n = 40): Row[] =>
      Array.from({ length: n }, () => {
        const actual = 10 + 5 * rng.normal();
        return { day: d, version: 1, actual, prediction: actual + noise * rng.normal() };
      });
    const run = (noises: (number | null)[], k = 2, n = 3) => {
      const days = noises.map((_, i) => `2025-01-0${i + 1}`);
      const rows = noises.flatMap((z, i) => (z === null ? day(days[i]!, 0.1, 5) : day(days[i]!, z)));
      return assessQuality({ rows: labelled(rows), join: JOIN, labelsUri: 'x', labelColumn: 'y', version: 1, days, card: card(0.99, 0.5), settings: { ...DEFAULT_QUALITY_SETTINGS, k, n } });
    };
    // ok, bad, ok, bad: the last three judged windows hold two violations.
    const fired = run([0.3, 3, 0.3, 3]);
    expect(fired.daily.map((d) => d.violated)).toEqual([false, true, false, true]);
    expect(fired.windows_considered).toEqual(['2025-01-02', '2025-01-03', '2025-01-04']);
    expect(fired.violations_in_window).toBe(2);
    expect(fired.degraded).toBe(true);
    expect(fired.messages.join('\n')).toMatch(/PERFORMANCE_DEGRADATION: thresholds violated in 2 of the last 3/);
    // bad, bad, ok, ok: only one violation among the last three.
    const old = run([3, 3, 0.3, 0.3]);
    expect(old.violations_in_window).toBe(1);
    expect(old.degraded).toBe(false);
    // Windows with too few labels are not judged and do not count either way.
    const sparse = run([0.3, 3, null, 3]);
    expect(sparse.daily[2]!.judged).toBe(false);
    expect(sparse.windows_considered).toEqual(['2025-01-01', '2025-01-02', '2025-01-04']);
    expect(sparse.degraded).toBe(true);
    expect(sparse.latest_violated).toBe(true);
    expect(run([0.3, 0.3, 0.3, 3], 1, 1).degraded).toBe(true);
    expect(() => run([0.3], 3, 2)).toThrow(/1 ≤ k ≤ n/);
  });
});

describe('canary verdict (seeded bootstrap of the RMSE difference, unequal samples)', () => {
  const errors = (seed: number, n: number, sd: number) => {
    const rng = createRng(seed);
    const actual = Array.from({ length: n }, () => 20 + 10 * rng.normal());
    return { actual, predicted: actual.map((a) => a + sd * rng.normal()) };
  };
  const champion = (sd: number, n = 900) => ({ route: 'champion/1', version: 1, ...errors(1, n, sd) });
  const challenger = (sd: number, n = 100) => ({ route: 'challenger/2', version: 2, ...errors(2, n, sd) });

  it('promotes a clearly better challenger', () => {
    const v = canaryVerdict(champion(2), challenger(1));
    expect(v.decision).toBe('promote challenger');
    expect(v.ci!.upper).toBeLessThan(0);
    expect(v.rmse_difference).toBeLessThan(-0.5);
    expect(v.challenger_better_share).toBe(1);
    expect(v.summary).toMatch(/^promote challenger: RMSE challenger \d+\.\d+ \(n 100\) vs champion \d+\.\d+ \(n 900\), Δ -\d+\.\d+, 95 % CI \[/);
    // A margin larger than the improvement holds the promotion back.
    expect(canaryVerdict(champion(2), challenger(1), { ...DEFAULT_CANARY_SETTINGS, margin: 5 }).decision).toBe('not enough evidence yet');
  });

  it('keeps the champion when the challenger is clearly worse', () => {
    const v = canaryVerdict(champion(1), challenger(2));
    expect(v.decision).toBe('keep champion');
    expect(v.ci!.lower).toBeGreaterThan(0);
  });

  it('asks for more evidence when the two are indistinguishable or labels are few', () => {
    const v = canaryVerdict(champion(1), challenger(1));
    expect(v.decision).toBe('not enough evidence yet');
    expect(v.ci!.lower).toBeLessThan(0);
    expect(v.ci!.upper).toBeGreaterThan(0);
    const few = canaryVerdict(champion(2), challenger(1, 20));
    expect(few.decision).toBe('not enough evidence yet');
    expect(few.ci).toBeNull();
    expect(few.summary).toMatch(/20 labelled challenger rows .* at least 50 each/);
  });

  it('is reproducible for a seed', () => {
    const a = canaryVerdict(champion(1.1), challenger(1));
    const b = canaryVerdict(champion(1.1), challenger(1));
    expect(b.ci).toEqual(a.ci);
    expect(canaryVerdict(champion(1.1), challenger(1), { ...DEFAULT_CANARY_SETTINGS, seed: 7 }).ci).not.toEqual(a.ci);
  });
});
