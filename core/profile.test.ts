import { describe, expect, it } from 'vitest';
import { buildReferenceProfile, profileColumn, quantileSorted } from './profile';
import { FEATURES } from './schema';

describe('reference profile', () => {
  it('quantiles interpolate linearly like numpy', () => {
    const s = [1, 2, 3, 4];
    expect(quantileSorted(s, 0.5)).toBe(2.5);
    expect(quantileSorted(s, 0.25)).toBe(1.75);
    expect(quantileSorted(s, 1)).toBe(4);
  });

  it('profiles a column with nulls: counts, moments, histogram, sample', () => {
    const p = profileColumn([1, 2, null, 3, NaN, 4], [0, 1, 2, 3]);
    expect(p.count).toBe(4);
    expect(p.nullCount).toBe(2);
    expect(p.nullRate).toBeCloseTo(2 / 6, 12);
    expect(p.mean).toBe(2.5);
    expect(p.std).toBeCloseTo(Math.sqrt(1.25), 12);
    expect(p.min).toBe(1);
    expect(p.max).toBe(4);
    expect(p.histogram.counts.reduce((a, b) => a + b, 0)).toBe(4);
    expect(p.histogram.edges[0]).toBe(1);
    expect(p.histogram.edges.at(-1)).toBe(4);
    expect(p.sample).toEqual([1, 2, 3]);
    const empty = profileColumn([null, NaN], [0]);
    expect(empty.mean).toBeNull();
    expect(empty.nullRate).toBe(1);
  });

  it('caps the sample, keeps golden rows with their predictions, and is seeded', () => {
    const n = 25_000;
    const X = new Float64Array(n * 6).map((_, k) => (k % 6) * 1000 + Math.floor(k / 6));
    const predictions = Float64Array.from({ length: n }, (_, i) => i / 10);
    const a = buildReferenceProfile({ X, predictions, target: predictions, seed: 1 });
    const b = buildReferenceProfile({ X, predictions, seed: 1 });
    expect(a.sampleSize).toBe(10_000);
    expect(a.features.year.sample).toHaveLength(10_000);
    expect(Object.keys(a.features)).toEqual([...FEATURES]);
    expect(a.features.gdp.sample).toEqual(b.features.gdp.sample);
    expect(a.goldenRows.features).toHaveLength(32);
    const g = a.goldenRows.features[0]!;
    const i = g[0]!; // year column holds the row index here
    expect(a.goldenRows.predictions[0]).toBe(i / 10);
    expect(g[2]).toBe(2000 + i);
    expect(a.target?.count).toBe(n);
    expect(b.target).toBeNull();
    expect(() => buildReferenceProfile({ X: new Float64Array(5), predictions: [1] })).toThrow(/expected 1 × 6/);
  });
});
