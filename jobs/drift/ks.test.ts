import { describe, expect, it } from 'vitest';
import { ks2samp, ksStatisticSorted, outerProbInsideMethod, probOutsideSquare } from './ks';
import { linspace, normalSample, relErr, repeat } from './testSupport';

// Vectors published with scipy's ks_2samp tests (scipy/stats/tests/test_stats.py, TestKSTwoSamples).
// `exact` is the probability recomputed here with exact big-integer lattice-path counting (Python
// fractions): scipy's published values for the 100-vs-110 cases differ from it by ~1e-13 relative.
const tiesA = [...repeat(2, 3), ...repeat(3, 4), ...repeat(5, 5), ...repeat(6, 4)];
const vectors: { name: string; a: number[]; b: number[]; d: number; p: number; exact?: number }[] = [
  { name: '[0] vs [1]', a: [0], b: [1], d: 1, p: 1 },
  { name: '[1.01,2.01] vs [1,2,3]', a: [1.01, 2.01], b: [1, 2, 3], d: 1 / 3, p: 1 },
  { name: '[0.99,1.99] vs [1,2,3]', a: [0.99, 1.99], b: [1, 2, 3], d: 2 / 3, p: 0.6 },
  { name: '[1.01,2.01] vs [1,2,3,4]', a: [1.01, 2.01], b: [1, 2, 3, 4], d: 0.5, p: 14 / 15 },
  { name: '[0.99,1.99] vs [1,2,3,4]', a: [0.99, 1.99], b: [1, 2, 3, 4], d: 0.75, p: 0.4 },
  {
    name: 'linspace(1,100,100) vs +2.1',
    a: linspace(1, 100, 100),
    b: linspace(1, 100, 100).map((x) => x + 2.1),
    d: 0.03,
    p: 0.999999999996206,
    exact: 0.9999999999962055,
  },
  {
    name: 'linspace(1,100,100) vs linspace(1,100,110)+20.1',
    a: linspace(1, 100, 100),
    b: linspace(1, 100, 110).map((x) => x + 20.1),
    d: 232 / 1100,
    p: 0.015739183865607353,
    exact: 0.015739183865606157,
  },
  {
    name: 'linspace(1,100,100) vs linspace(1,100,110)+19.9',
    a: linspace(1, 100, 100),
    b: linspace(1, 100, 110).map((x) => x + 19.9),
    d: 229 / 1100,
    p: 0.017803803861026313,
    exact: 0.017803803861025605,
  },
  { name: 'ties, shifted by 1', a: tiesA, b: tiesA.map((x) => x + 1), d: 5 / 16, p: 0.4262934613454952, exact: 0.4262934613454949 },
  {
    name: 'ties, different supports',
    a: [...repeat(2, 3), ...repeat(3, 4), ...repeat(5, 10), ...repeat(6, 4)],
    b: [...repeat(3, 10), ...repeat(4, 2), ...repeat(6, 10), ...repeat(7, 4)],
    d: 190 / 546,
    p: 0.0919245790168125,
    exact: 0.0919245790168119,
  },
];

describe('ks2samp — scipy vectors (exact branch)', () => {
  for (const v of vectors) {
    it(v.name, () => {
      const r = ks2samp(v.a, v.b);
      expect(r.method).toBe('exact');
      expect(relErr(r.statistic, v.d)).toBeLessThanOrEqual(1e-15);
      expect(relErr(r.pvalue, v.p)).toBeLessThanOrEqual(1e-9);
      if (v.exact !== undefined) expect(relErr(r.pvalue, v.exact)).toBeLessThanOrEqual(1e-14);
    });
  }
});

describe('ks2samp — large samples', () => {
  const n1 = 10_000;
  const n2 = 11_000;
  const a = linspace(1, 200, n1).map((x) => x - 1 / (4 * n1 * n2));
  const b = linspace(2, 200, n2);

  it('auto switches to the asymptotic kstwo distribution above 10000 observations', () => {
    const r = ks2samp(a, b);
    expect(r.method).toBe('asymp');
    expect(relErr(r.statistic, 563 / 110000)).toBeLessThanOrEqual(1e-12);
    expect(relErr(r.pvalue, 0.9990660108966576)).toBeLessThanOrEqual(1e-9);
  });

  it('exact on request', () => {
    const r = ks2samp(a, b, { method: 'exact' });
    expect(r.method).toBe('exact');
    expect(r.statistic).toBe(563 / 110000);
    expect(relErr(r.pvalue, 0.9990456491488628)).toBeLessThanOrEqual(1e-9);
  });

  it('is not the plain Kolmogorov limit', () => {
    // Kolmogorov's limit Q(√en·D) at en = 5238 would give ≈ 0.9999992; the finite-n distribution does not.
    const r = ks2samp(a, b, { method: 'asymp' });
    expect(r.pvalue).toBeLessThan(0.9991);
  });
});

describe('ks2samp — exact building blocks', () => {
  it('probOutsideSquare matches the closed forms for h = n and small n', () => {
    // Pr(D_{n,n} = 1) = 2 / C(2n, n)
    expect(relErr(probOutsideSquare(5, 5), 2 / 252)).toBeLessThan(1e-15);
    // n = 2, h = 1: D ≥ 1/2 always holds for distinct samples
    expect(probOutsideSquare(2, 1)).toBeCloseTo(1, 15);
  });

  it('outerProbInsideMethod is symmetric in the sample sizes', () => {
    expect(outerProbInsideMethod(100, 110, 10, 232)).toBe(outerProbInsideMethod(110, 100, 10, 232));
  });

  it('ECDF gap is evaluated after all tied values', () => {
    const a = Float64Array.from([1, 1, 2]);
    const b = Float64Array.from([1, 2, 2]);
    // after 1: 2/3 − 1/3 = 1/3; after 2: 0
    expect(ksStatisticSorted(a, b)).toBeCloseTo(1 / 3, 15);
  });
});

describe('ks2samp — fallback from exact to asymptotic (scipy behaviour)', () => {
  it('an exact probability rounding above 1 is rejected and the asymptotic branch answers', () => {
    // n1 = n2 = 5 with D = 1/5 (h = 1): the Horner series gives 1.0000000000000002, which scipy's
    // _attempt_exact_2kssamp refuses; kstwo.sf(0.2, round(2.5) = 2) is then 1.
    expect(probOutsideSquare(5, 1)).toBeGreaterThan(1);
    const r = ks2samp([1, 2, 3, 4, 5], [1.5, 2.5, 3.5, 4.5, 5.5]);
    expect(r.statistic).toBeCloseTo(0.2, 15);
    expect(r.method).toBe('asymp');
    expect(r.pvalue).toBe(1);
  });

  it("method 'exact' switches to asymptotic when lcm(n1, n2) does not fit in int32", () => {
    const a = Array.from({ length: 65_537 }, (_, i) => i / 65_537);
    const b = Array.from({ length: 65_536 }, (_, i) => (i + 0.5) / 65_536);
    const r = ks2samp(a, b, { method: 'exact' });
    expect(r.method).toBe('asymp');
    expect(r.pvalue).toBe(1);
  });
});

describe('ks2samp — properties', () => {
  const ref = normalSample(800, 11);
  const cur = normalSample(650, 12, 0.1);

  it('is symmetric in its two samples', () => {
    for (const method of ['exact', 'asymp'] as const) {
      const ab = ks2samp(ref, cur, { method });
      const ba = ks2samp(cur, ref, { method });
      expect(ba.statistic).toBe(ab.statistic);
      expect(ba.pvalue).toBe(ab.pvalue);
    }
  });

  it('does not depend on input order', () => {
    const reversed = Array.from(cur).reverse();
    const shuffled = Array.from(cur).sort((x, y) => Math.sin(x * 1e4) - Math.sin(y * 1e4));
    const base = ks2samp(ref, cur);
    expect(ks2samp(ref, reversed)).toEqual(base);
    expect(ks2samp(ref, shuffled)).toEqual(base);
  });

  it('p-value decreases as the shift grows', () => {
    const base = normalSample(500, 21);
    const other = normalSample(500, 22);
    let last = 2;
    for (const shift of [0, 0.1, 0.2, 0.3, 0.5, 0.8]) {
      const r = ks2samp(base, Array.from(other, (x) => x + shift));
      expect(r.pvalue).toBeLessThanOrEqual(last);
      last = r.pvalue;
    }
    expect(last).toBeLessThan(1e-10);
  });

  it('exact and asymptotic agree roughly in the middle of the range', () => {
    const e = ks2samp(ref, cur, { method: 'exact' });
    const s = ks2samp(ref, cur, { method: 'asymp' });
    expect(Math.abs(e.pvalue - s.pvalue)).toBeLessThan(0.02);
  });

  it('identical samples give D = 0 and p = 1', () => {
    const r = ks2samp(ref, ref);
    expect(r.statistic).toBe(0);
    expect(r.pvalue).toBe(1);
  });

  it('handles infinities like any other ordered value', () => {
    const r = ks2samp([-Infinity, 1, 2], [1, 2, Infinity]);
    expect(r.statistic).toBeCloseTo(1 / 3, 15);
    expect(r.pvalue).toBe(1);
  });

  it('1M-row samples take the asymptotic branch and give a probability', () => {
    const big1 = normalSample(1_000_000, 5);
    const big2 = normalSample(1_000_000, 6, 0.003);
    const r = ks2samp(big1, big2);
    expect(r.method).toBe('asymp');
    expect(r.pvalue).toBeGreaterThanOrEqual(0);
    expect(r.pvalue).toBeLessThanOrEqual(1);
  }, 60_000);
});

describe('ks2samp — input validation', () => {
  it('rejects empty samples with a readable error', () => {
    expect(() => ks2samp([], [1])).toThrow(/non-empty/);
    expect(() => ks2samp([1], [])).toThrow(/non-empty/);
  });

  it('rejects NaN', () => {
    expect(() => ks2samp([1, NaN], [1])).toThrow(/NaN at index 1/);
  });

  it('rejects unknown methods', () => {
    expect(() => ks2samp([1], [2], { method: 'fast' as never })).toThrow(/unknown method/);
  });

  it('effective n of 0 in the asymptotic branch gives NaN, as scipy does', () => {
    // round(1·1/2) = 0 (half to even) is outside kstwo's parameter domain.
    expect(ks2samp([0], [1], { method: 'asymp' }).pvalue).toBeNaN();
  });
});
