import { describe, expect, it } from 'vitest';
import { wassersteinDistance, wassersteinNormed } from './wasserstein';
import { normalSample, relErr } from './testSupport';

describe('wassersteinDistance (scipy.stats.wasserstein_distance, unit weights)', () => {
  it('scipy docstring vectors', () => {
    expect(wassersteinDistance([0, 1, 3], [5, 6, 8])).toBe(5);
    expect(wassersteinDistance([0, 1], [0, 1])).toBe(0);
    // 27/10 by exact rational integration of |F_u − F_v|
    expect(relErr(wassersteinDistance([3.4, 3.9, 7.5, 7.8], [4.5, 1.4]), 2.7)).toBeLessThan(1e-15);
  });

  it('is symmetric, order-free and equals |mean shift| for a pure translation', () => {
    const x = normalSample(3000, 7);
    const shifted = Array.from(x, (v) => v + 0.75).reverse();
    expect(relErr(wassersteinDistance(x, shifted), 0.75)).toBeLessThan(1e-12);
    expect(wassersteinDistance(shifted, x)).toBeCloseTo(wassersteinDistance(x, shifted), 14);
  });

  it('handles different sample sizes and ties', () => {
    // F_u − F_v on [1,2): 1/2 − 1 ; on [2,3): 1 − 1 → 0.5
    expect(wassersteinDistance([1, 2], [1, 1, 1])).toBe(0.5);
  });

  it('rejects empty and non-finite input', () => {
    expect(() => wassersteinDistance([], [1])).toThrow(/empty/);
    expect(() => wassersteinDistance([1, Infinity], [1])).toThrow(/Infinity at index 1/);
  });
});

describe('wassersteinNormed (Evidently)', () => {
  it('divides by the population std of the reference', () => {
    // std([0,1,3]) = √14/3
    const r = wassersteinNormed([0, 1, 3], [5, 6, 8]);
    expect(r.distance).toBe(5);
    expect(relErr(r.referenceStd, Math.sqrt(14) / 3)).toBeLessThan(1e-15);
    expect(relErr(r.value, 4.0089186286863665)).toBeLessThan(1e-14);
  });

  it('floors the std at 0.001 for a constant reference', () => {
    const r = wassersteinNormed([2, 2, 2], [2, 2, 3]);
    expect(r.referenceStd).toBe(0);
    expect(relErr(r.distance, 1 / 3)).toBeLessThan(1e-15);
    expect(relErr(r.value, 1 / 3 / 0.001)).toBeLessThan(1e-12);
  });

  it('is scale free: a 0.2σ shift scores ≈ 0.2 whatever the units', () => {
    const base = normalSample(20_000, 9);
    const cur = normalSample(20_000, 10, 0.2);
    const a = wassersteinNormed(base, cur).value;
    const b = wassersteinNormed(Array.from(base, (v) => 1000 * v + 5), Array.from(cur, (v) => 1000 * v + 5)).value;
    expect(relErr(b, a)).toBeLessThan(1e-9);
    expect(a).toBeGreaterThan(0.17);
    expect(a).toBeLessThan(0.23);
  });
});
