import { describe, expect, it } from 'vitest';
import type { ColumnProfile } from '../../core/profile';
import { profileColumn } from '../../core/profile';
import { createRng } from '../../core/random';
import { columnStats, decideDrift, DEFAULT_DRIFT_SETTINGS, type ColumnStats } from './drift';

function normal(seed: number, n: number, mean = 0, std = 1): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => mean + std * rng.normal());
}

function profileOf(values: Float64Array): ColumnProfile {
  return profileColumn(values, Uint32Array.from({ length: Math.min(values.length, 10_000) }, (_, i) => i));
}

/** A column whose only relevant facts are its p-value test result and effect sizes. */
function pColumn(column: string, p: number, meanShift = 1): ColumnStats {
  return {
    ...columnStats(column, profileOf(normal(1, 50)), normal(2, 50), 'ks'),
    test: 'ks',
    test_kind: 'pvalue',
    score: p,
    ks_pvalue: p,
    mean_shift: meanShift,
    wasserstein: Math.abs(meanShift),
  };
}

describe('columnStats', () => {
  it('computes every statistic and picks the test from the reference size (Evidently)', () => {
    const small = columnStats('x', profileOf(normal(1, 800)), normal(2, 5000, 1), 'auto');
    expect(small.test).toBe('ks');
    expect(small.ks_pvalue).toBeLessThan(1e-10);
    expect(small.mean_shift).toBeGreaterThan(0.85);
    expect(small.mean_shift).toBeLessThan(1.15);
    expect(small.psi).toBeGreaterThan(0.25);
    expect(small.wasserstein).toBeGreaterThan(0.85);
    expect(small.jensenshannon).toBeGreaterThan(0.1);
    expect(small.std_ratio).toBeCloseTo(1, 0);
    expect(small.histogram!.reference.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(small.histogram!.production.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    const large = columnStats('x', profileOf(normal(1, 5000)), normal(2, 5000), 'auto');
    expect(large.test).toBe('wasserstein');
    expect(large.score).toBe(large.wasserstein);
    expect(large.score).toBeLessThan(0.1);
  });

  it('counts missing production values as a null rate and drops them from the statistics', () => {
    const prod = normal(3, 1000);
    for (let i = 0; i < 300; i++) prod[i] = NaN;
    const stats = columnStats('x', profileOf(normal(1, 2000)), prod, 'auto');
    expect(stats.production_n).toBe(700);
    expect(stats.production_null_rate).toBeCloseTo(0.3, 12);
    expect(stats.null_rate_change).toBeCloseTo(0.3, 12);
    const decided = decideDrift([stats], DEFAULT_DRIFT_SETTINGS)[0]!;
    expect(decided.test_drift).toBe(false);
    expect(decided.null_rate_drift).toBe(true);
    expect(decided.drifted).toBe(true);
  });

  it('has no test when a side has no values, and no drift verdict from it', () => {
    const stats = columnStats('x', profileOf(normal(1, 100)), new Float64Array([NaN, NaN]), 'auto');
    expect(stats.test).toBeNull();
    const d = decideDrift([stats], { ...DEFAULT_DRIFT_SETTINGS, nullRateTolerance: 1 })[0]!;
    expect(d.drifted).toBe(false);
  });
});

describe('decideDrift', () => {
  it('the effect gate keeps a tiny shift on a huge sample from counting as drift', () => {
    // 0.06σ on 200,000 rows against a 10,000-value reference: KS is sure it moved, but it does not matter.
    const stats = columnStats('x', profileOf(normal(1, 10_000)), normal(2, 200_000, 0.06), 'ks');
    const gated = decideDrift([stats], DEFAULT_DRIFT_SETTINGS)[0]!;
    expect(stats.ks_pvalue).toBeLessThan(0.05);
    expect(gated.test_drift).toBe(true);
    expect(gated.effect_gate_passed).toBe(false);
    expect(gated.drifted).toBe(false);
    const ungated = decideDrift([stats], { ...DEFAULT_DRIFT_SETTINGS, minEffect: 0 })[0]!;
    expect(ungated.effect_gate_passed).toBeNull();
    expect(ungated.drifted).toBe(true);
    // A material shift passes the gate.
    const big = decideDrift([columnStats('x', profileOf(normal(1, 10_000)), normal(2, 200_000, 0.3), 'ks')], DEFAULT_DRIFT_SETTINGS)[0]!;
    expect(big.effect_gate_passed).toBe(true);
    expect(big.drifted).toBe(true);
  });

  it('applies Bonferroni and Benjamini–Hochberg across the p-value columns', () => {
    const ps = [0.001, 0.008, 0.012, 0.5, 0.6, 0.7, 0.9];
    const cols = ps.map((p, i) => pColumn(`c${i}`, p));
    const drifted = (correction: 'none' | 'bonferroni' | 'bh') =>
      decideDrift(cols, { ...DEFAULT_DRIFT_SETTINGS, correction })
        .filter((c) => c.drifted)
        .map((c) => c.column);
    expect(drifted('none')).toEqual(['c0', 'c1', 'c2']);
    // Bonferroni: 0.007, 0.056, 0.084 → only c0.
    expect(drifted('bonferroni')).toEqual(['c0']);
    // BH: 0.007, 0.028, 0.028 → all three survive.
    expect(drifted('bh')).toEqual(['c0', 'c1', 'c2']);
    const bonf = decideDrift(cols, { ...DEFAULT_DRIFT_SETTINGS, correction: 'bonferroni' });
    expect(bonf[1]!.adjusted_score).toBeCloseTo(0.056, 12);
    expect(bonf[1]!.score).toBe(0.008);
    // Distance-test columns are not part of the family.
    const mixed = decideDrift([pColumn('p', 0.02), { ...pColumn('d', 0.5), test: 'wasserstein', test_kind: 'distance', score: 0.2 }], {
      ...DEFAULT_DRIFT_SETTINGS,
      correction: 'bonferroni',
    });
    expect(mixed[0]!.adjusted_score).toBe(0.02);
    expect(mixed.map((c) => c.drifted)).toEqual([true, true]);
  });

  it('uses the distance threshold for distance tests', () => {
    const col = { ...pColumn('d', 0.5), test: 'wasserstein' as const, test_kind: 'distance' as const, score: 0.15 };
    expect(decideDrift([col], DEFAULT_DRIFT_SETTINGS)[0]!.drifted).toBe(true);
    expect(decideDrift([col], { ...DEFAULT_DRIFT_SETTINGS, distanceThreshold: 0.2 })[0]!.drifted).toBe(false);
  });
});
