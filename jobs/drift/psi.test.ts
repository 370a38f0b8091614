import { describe, expect, it } from 'vitest';
import { psi, referenceQuantileEdges } from './psi';
import { normalSample, relErr } from './testSupport';

describe('psi', () => {
  it('is 0 for identical samples', () => {
    const x = normalSample(5000, 1);
    const r = psi(x, x);
    expect(r.value).toBe(0);
    expect(r.bins).toHaveLength(10);
    for (const b of r.bins) expect(b.refShare).toBeCloseTo(0.1, 3);
  });

  it('two-bin example by hand: 0.25·ln 1.5 + 0.25·ln 2 = 0.25·ln 3', () => {
    // reference median 2.5 → bins (−∞, 2.5) and [2.5, ∞) with shares 0.5 / 0.5; current 0.75 / 0.25
    const r = psi([1, 2, 3, 4], [1, 1, 1, 4], { bins: 2 });
    expect(relErr(r.value, 0.25 * Math.log(3))).toBeLessThan(1e-15);
    expect(r.bins).toEqual([
      { lower: -Infinity, upper: 2.5, refShare: 0.5, curShare: 0.75 },
      { lower: 2.5, upper: Infinity, refShare: 0.5, curShare: 0.25 },
    ]);
  });

  it('counts current values beyond the reference range in the open outer bins', () => {
    const r = psi([1, 2, 3, 4], [-100, 100, 100, 100], { bins: 2 });
    expect(r.bins[0]?.curShare).toBe(0.25);
    expect(r.bins[1]?.curShare).toBe(0.75);
    expect(relErr(r.value, 0.25 * Math.log(3))).toBeLessThan(1e-15);
  });

  it('fills empty bins with eps so the index stays finite', () => {
    const r = psi([1, 2, 3, 4], [5, 6, 7, 8], { bins: 2 });
    const expected = (1e-4 - 0.5) * Math.log(1e-4 / 0.5) + (1 - 0.5) * Math.log(1 / 0.5);
    expect(Number.isFinite(r.value)).toBe(true);
    expect(relErr(r.value, expected)).toBeLessThan(1e-14);
    expect(psi([1, 2, 3, 4], [5, 6, 7, 8], { bins: 2, eps: 1e-3 }).value).toBeLessThan(r.value);
  });

  it('merges duplicate quantile edges from tied reference values', () => {
    const ref = [...new Array<number>(80).fill(0), ...Array.from({ length: 20 }, (_, i) => i + 1)];
    const edges = referenceQuantileEdges(Float64Array.from(ref).sort(), 10);
    expect(new Set(edges).size).toBe(edges.length);
    const r = psi(ref, ref);
    expect(r.bins.length).toBe(edges.length + 1);
    expect(r.value).toBe(0);
  });

  it('grows with the shift and is roughly symmetric for mirrored shifts', () => {
    const ref = normalSample(20_000, 3);
    const small = psi(ref, normalSample(20_000, 4, 0.1)).value;
    const large = psi(ref, normalSample(20_000, 4, 0.5)).value;
    const largeNeg = psi(ref, normalSample(20_000, 4, -0.5)).value;
    expect(small).toBeLessThan(0.1);
    expect(large).toBeGreaterThan(0.1);
    expect(large).toBeGreaterThan(small);
    expect(Math.abs(large - largeNeg) / large).toBeLessThan(0.2);
    // For a normal mean shift δ, PSI ≈ δ² (the symmetrised KL divergence), up to binning loss.
    expect(large).toBeGreaterThan(0.2);
    expect(large).toBeLessThan(0.25);
  });

  it('validates its input', () => {
    expect(() => psi([], [1])).toThrow(/empty/);
    expect(() => psi([1, NaN], [1])).toThrow(/NaN at index 1/);
    expect(() => psi([1], [1], { bins: 0 })).toThrow(/bins/);
    expect(() => psi([1], [1], { eps: 0 })).toThrow(/eps/);
  });
});
