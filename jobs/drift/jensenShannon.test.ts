import { describe, expect, it } from 'vitest';
import { histogramBinEdges, histogramCounts, jensenShannon, jensenShannonDistance } from './jensenShannon';
import { normalSample, relErr } from './testSupport';

describe('jensenShannonDistance (scipy.spatial.distance.jensenshannon)', () => {
  it('scipy vectors', () => {
    expect(jensenShannonDistance([1, 0, 0], [0, 1, 0], 2)).toBe(1);
    expect(relErr(jensenShannonDistance([1, 0], [0.5, 0.5]), 0.46450140402245893)).toBeLessThan(1e-15);
    expect(jensenShannonDistance([1, 0, 0], [1, 0, 0])).toBe(0);
  });

  it('normalises its inputs and is symmetric', () => {
    expect(jensenShannonDistance([2, 0], [3, 3])).toBe(jensenShannonDistance([1, 0], [0.5, 0.5]));
    expect(jensenShannonDistance([0.2, 0.8], [0.6, 0.4])).toBeCloseTo(jensenShannonDistance([0.6, 0.4], [0.2, 0.8]), 15);
  });

  it('disjoint supports give √ln 2 in natural log', () => {
    expect(relErr(jensenShannonDistance([1, 0], [0, 1]), Math.sqrt(Math.LN2))).toBeLessThan(1e-15);
  });

  it('validates input', () => {
    expect(() => jensenShannonDistance([1], [1, 2])).toThrow(/lengths differ/);
    expect(() => jensenShannonDistance([0, 0], [1, 2])).toThrow(/sums to 0/);
    expect(() => jensenShannonDistance([-1, 2], [1, 2])).toThrow(/≥ 0/);
  });
});

describe('histogram helpers (numpy semantics)', () => {
  it('equal-width edges with the last bin closed', () => {
    const edges = histogramBinEdges(0, 1, 4);
    expect(Array.from(edges)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(Array.from(histogramCounts(Float64Array.from([0, 0.25, 0.3, 0.999, 1]), edges))).toEqual([1, 2, 0, 2]);
  });

  it('a constant pooled sample gets the range min ± 0.5', () => {
    expect(Array.from(histogramBinEdges(3, 3, 2))).toEqual([2.5, 3, 3.5]);
  });
});

describe('jensenShannon (Evidently stattest)', () => {
  it('identical samples → 0', () => {
    const x = normalSample(2000, 1);
    expect(jensenShannon(x, x).value).toBe(0);
  });

  it('numeric samples on shared bins: two point masses in disjoint bins give √ln 2', () => {
    expect(relErr(jensenShannon([0, 0, 0], [1, 1]).value, Math.sqrt(Math.LN2))).toBeLessThan(1e-15);
  });

  it('categorical shares, numbers or strings', () => {
    // shares (1, 0) vs (½, ½) → the scipy vector above
    expect(relErr(jensenShannon([1, 1], [1, 2], { categorical: true }).value, 0.46450140402245893)).toBeLessThan(1e-15);
    expect(relErr(jensenShannon(['a', 'a'], ['a', 'b']).value, 0.46450140402245893)).toBeLessThan(1e-15);
  });

  it('grows with the shift', () => {
    const ref = normalSample(5000, 2);
    const small = jensenShannon(ref, normalSample(5000, 3, 0.05)).value;
    const large = jensenShannon(ref, normalSample(5000, 3, 1)).value;
    expect(small).toBeLessThan(0.1);
    expect(large).toBeGreaterThan(0.1);
  });

  it('rejects empty or NaN input', () => {
    expect(() => jensenShannon([], [1])).toThrow(/non-empty/);
    expect(() => jensenShannon([1, NaN], [1])).toThrow(/NaN at index 1/);
  });
});
