import { describe, expect, it } from 'vitest';
import { regressionMetrics } from './metrics';
import { randomSplit, timeSplit } from './split';

describe('regressionMetrics', () => {
  it('matches hand-computed values', () => {
    // y = [0, 2, 4, 6], pred = [1, 2, 3, 8]: errors [-1, 0, 1, -2]
    const m = regressionMetrics([0, 2, 4, 6], [1, 2, 3, 8]);
    expect(m.n).toBe(4);
    expect(m.rmse).toBeCloseTo(Math.sqrt(6 / 4), 12);
    expect(m.mae).toBeCloseTo(4 / 4, 12);
    // SS_tot = 9 + 1 + 1 + 9 = 20, SS_res = 6
    expect(m.r2).toBeCloseTo(1 - 6 / 20, 12);
    // MAPE over the three non-zero targets: (0/2 + 1/4 + 2/6) / 3 × 100
    expect(m.mape).toBeCloseTo(((0 + 0.25 + 1 / 3) / 3) * 100, 10);
    expect(m.mapeExcluded).toBe(1);
  });

  it('handles a constant target like scikit-learn and all-zero targets', () => {
    expect(regressionMetrics([3, 3], [3, 3]).r2).toBe(1);
    expect(regressionMetrics([3, 3], [2, 3]).r2).toBe(0);
    const zeros = regressionMetrics([0, 0], [1, 1]);
    expect(zeros.mape).toBeNull();
    expect(zeros.mapeExcluded).toBe(2);
  });

  it('rejects mismatched and empty inputs', () => {
    expect(() => regressionMetrics([1, 2], [1])).toThrow(/2 values but yPred has 1/);
    expect(() => regressionMetrics([], [])).toThrow(/zero rows/);
  });
});

describe('splits', () => {
  it('randomSplit is seeded, disjoint, complete and 80/20', () => {
    const a = randomSplit(1000, 0.2, 42);
    const b = randomSplit(1000, 0.2, 42);
    const c = randomSplit(1000, 0.2, 43);
    expect(Array.from(a.test)).toEqual(Array.from(b.test));
    expect(Array.from(a.test)).not.toEqual(Array.from(c.test));
    expect(a.test.length).toBe(200);
    expect(a.train.length).toBe(800);
    const all = new Set([...a.train, ...a.test]);
    expect(all.size).toBe(1000);
    expect(() => randomSplit(1, 0.2)).toThrow(/at least 2 rows/);
    expect(() => randomSplit(10, 1.2)).toThrow(/testFraction/);
  });

  it('timeSplit holds out the last K distinct years', () => {
    const years = [2001, 2003, 2002, 2005, 2004, 2005, 2001];
    const s = timeSplit(years, 2);
    expect(s.firstTestYear).toBe(2004);
    expect(Array.from(s.test)).toEqual([3, 4, 5]);
    expect(Array.from(s.train)).toEqual([0, 1, 2, 6]);
    expect(() => timeSplit([2000, 2001], 2)).toThrow(/more than 2 distinct years/);
  });
});
