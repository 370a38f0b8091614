import { describe, expect, it } from 'vitest';
import {
  kolmogornDurbin,
  kolmogornPelzGood,
  kolmogornPomeranz,
  kolmogorovN,
  kstwoCdf,
  kstwoSf,
  smirnovSf,
} from './kolmogorov';
import { relErr } from './testSupport';

// Pr(D_n ≤ d) computed exactly in rational arithmetic (Python fractions) with Steck's (1971) determinant
// n!·det[(v_i − u_j)_+^{j−i+1} / (j−i+1)!] — an algorithm independent of Durbin's and Pomeranz's.
const steck: [n: number, d: number, cdf: number][] = [
  [10, 0.15, 0.04603473],
  [10, 0.3, 0.7294644252],
  [10, 0.6, 0.9994318328],
  [20, 0.2, 0.647279826376584],
  [25, 0.14, 0.3396675883014441],
  [30, 0.3, 0.9931477566370874],
  [5, 1 / 3, 0.46714732510288065],
  [40, 0.1, 0.21818902928170972],
];

describe('kstwo (two-sided one-sample KS distribution)', () => {
  for (const [n, d, cdf] of steck) {
    it(`n=${n}, d=${d}: dispatch, Durbin and Pomeranz agree with the exact value`, () => {
      expect(relErr(kolmogorovN(n, d, true), cdf)).toBeLessThan(1e-14);
      expect(relErr(kolmogornDurbin(n, d), cdf)).toBeLessThan(1e-14);
      expect(relErr(kolmogornPomeranz(n, d), cdf)).toBeLessThan(1e-14);
      expect(Math.abs(kstwoSf(d, n) - (1 - cdf))).toBeLessThan(1e-14);
      expect(relErr(kstwoCdf(d, n), cdf)).toBeLessThan(1e-14);
    });
  }

  it('Ruben–Gambino closed forms at both ends of the support', () => {
    // n = 1: D_1 = max(U, 1 − U) so Pr(D_1 ≤ x) = 2x − 1.
    expect(kstwoCdf(0.8, 1)).toBeCloseTo(0.6, 15);
    // 1/(2n) ≤ x ≤ 1/n: n!/n^n (2nx − 1)^n
    expect(relErr(kstwoCdf(0.08, 10), (3628800 / 1e10) * 0.6 ** 10)).toBeLessThan(1e-14);
    // x ≥ 1 − 1/n: Pr(D_n > x) = 2 (1 − x)^n
    expect(relErr(kstwoSf(0.95, 10), 2 * 0.05 ** 10)).toBeLessThan(1e-12);
    expect(kstwoSf(0.01, 10)).toBe(1);
    expect(kstwoSf(1, 10)).toBe(0);
  });

  it('Pelz–Good approaches the exact Durbin value as n grows', () => {
    const cases: [number, number, number][] = [
      [1000, 0.02, 1e-6],
      [5000, 0.01, 5e-9],
      [20_000, 0.005, 5e-10],
    ];
    for (const [n, x, tol] of cases) {
      expect(relErr(kolmogornPelzGood(n, x), kolmogornDurbin(n, x))).toBeLessThan(tol);
    }
  });

  it('rejects invalid n like scipy (NaN)', () => {
    expect(kstwoSf(0.1, 0)).toBeNaN();
    expect(kstwoSf(0.1, 2.5)).toBeNaN();
  });
});

describe('smirnovSf (one-sided, Birnbaum–Tingey)', () => {
  // Exact rational evaluation of the Birnbaum–Tingey sum (Python fractions).
  const exact: [number, number, number][] = [
    [10, 0.3, 0.1354635556],
    [150, 0.1, 0.04646491904856965],
    [1000, 0.05, 0.006506037390545169],
    [2000, 0.04, 0.0016152840480628077],
  ];
  for (const [n, x, p] of exact) {
    it(`n=${n}, x=${x}`, () => {
      expect(relErr(smirnovSf(n, x), p)).toBeLessThan(1e-11);
    });
  }

  it('edges', () => {
    expect(smirnovSf(10, 0)).toBe(1);
    expect(smirnovSf(10, 1)).toBe(0);
    // x ≥ 1 − 1/n leaves the single term (1 − x)^n
    expect(relErr(smirnovSf(4, 0.9), 0.1 ** 4)).toBeLessThan(1e-12);
  });

  it('stays close to the Kolmogorov limit exp(−2nx²) for very large n', () => {
    const n = 500_000;
    const x = 0.003;
    const p = smirnovSf(n, x);
    expect(p).toBeGreaterThan(0.95 * Math.exp(-2 * n * x * x));
    expect(p).toBeLessThan(Math.exp(-2 * n * x * x));
  });
});
