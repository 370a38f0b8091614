import { describe, expect, it } from 'vitest';
import { categoryCounts, chi2Sf, chiSquare, chiSquareCounts } from './chiSquare';
import { relErr } from './testSupport';

describe('chi2Sf', () => {
  it('known values', () => {
    // chi2.ppf(0.95, 1) = 3.84145882069412 → sf 0.05
    expect(relErr(chi2Sf(3.84145882069412, 1), 0.05)).toBeLessThan(1e-12);
    // even dof closed form: sf(10, 4) = e^{−5}(1 + 5)
    expect(relErr(chi2Sf(10, 4), 0.040427681994512805)).toBeLessThan(5e-14);
    // dof 2 is an exponential: sf(x, 2) = e^{−x/2}
    expect(relErr(chi2Sf(3, 2), Math.exp(-1.5))).toBeLessThan(5e-14);
    expect(relErr(chi2Sf(200, 2), Math.exp(-100))).toBeLessThan(1e-13);
  });

  it('edges', () => {
    expect(chi2Sf(0, 3)).toBe(1);
    expect(chi2Sf(-1, 3)).toBe(1);
    expect(chi2Sf(Infinity, 3)).toBe(0);
    expect(chi2Sf(1, 0)).toBeNaN();
  });
});

describe('chiSquare (expected = reference share × current total)', () => {
  it('reference counts [16,18,16,14,12,12] vs current [16,16,16,16,16,8]', () => {
    const r = chiSquareCounts([16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8]);
    // χ² = 200/63 exactly; p = Q(5/2, 100/63) = erfc(√y) + e^{−y}(√y/Γ(3/2) + y^{3/2}/Γ(5/2))
    expect(relErr(r.statistic, 200 / 63)).toBeLessThan(1e-15);
    expect(r.dof).toBe(5);
    expect(relErr(r.pvalue, 0.6730876006966299)).toBeLessThan(1e-13);
    expect(Math.abs(r.pvalue - 0.67309)).toBeLessThan(1e-5);
  });

  it('scales the expected counts to the current total', () => {
    // reference shares ½ ½, current 30 / 10 → expected 20 / 20 → χ² = 10, dof 1
    const r = chiSquareCounts([5, 5], [30, 10]);
    expect(r.expected).toEqual([20, 20]);
    expect(r.statistic).toBe(10);
    expect(relErr(r.pvalue, chi2Sf(10, 1))).toBeLessThan(1e-15);
  });

  it('works on raw samples, numbers or strings, via category counts', () => {
    const ref = [1, 1, 2, 2, 3, 3];
    expect(categoryCounts(ref)).toEqual(
      new Map([
        [1, 2],
        [2, 2],
        [3, 2],
      ]),
    );
    const same = chiSquare(ref, [3, 2, 1]);
    expect(same.statistic).toBe(0);
    expect(same.pvalue).toBe(1);
    const strings = chiSquare(['a', 'a', 'b', 'b'], ['a', 'a', 'a', 'b']);
    // expected 2 / 2, observed 3 / 1 → χ² = 1
    expect(strings.statistic).toBe(1);
    expect(strings.categories).toEqual(['a', 'b']);
  });

  it('accepts precomputed count maps', () => {
    const r = chiSquare(
      new Map([
        ['x', 50],
        ['y', 50],
      ]),
      categoryCounts(['x', 'x', 'x', 'y']),
    );
    expect(r.statistic).toBe(1);
  });

  it('a category unseen in the reference is drift (χ² = ∞, p = 0)', () => {
    const r = chiSquare([1, 1, 2], [1, 2, 3]);
    expect(r.statistic).toBe(Infinity);
    expect(r.pvalue).toBe(0);
  });

  it('a single category gives no evidence of drift', () => {
    expect(chiSquare([1, 1], [1]).pvalue).toBe(1);
  });

  it('validates input', () => {
    expect(() => chiSquareCounts([1, 2], [1])).toThrow(/differ in length/);
    expect(() => chiSquareCounts([0, 0], [1, 1])).toThrow(/at least one observation/);
    expect(() => chiSquareCounts([1, -1], [1, 1])).toThrow(/≥ 0/);
    expect(() => categoryCounts([1, NaN])).toThrow(/NaN at index 1/);
  });
});
