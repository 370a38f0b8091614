import { describe, expect, it } from 'vitest';
import { gammaP, gammaQ, ldexp, logFactorial, logGamma, roundHalfEven } from './special';
import { relErr } from './testSupport';

describe('logGamma', () => {
  it('matches factorials and Γ(1/2) = √π', () => {
    // Arguments below 15 are shifted, so the absolute error near the zeros of ln Γ is a few ulps of ln(14!).
    expect(Math.abs(logGamma(1))).toBeLessThan(1e-14);
    expect(Math.abs(logGamma(2))).toBeLessThan(1e-14);
    expect(relErr(logGamma(5), Math.log(24))).toBeLessThan(1e-15);
    expect(relErr(logGamma(0.5), 0.5 * Math.log(Math.PI))).toBeLessThan(1e-14);
    // ln(170!) from the exact product, which is representable in double precision
    let f = 1;
    for (let i = 2; i <= 170; i++) f *= i;
    expect(relErr(logGamma(171), Math.log(f))).toBeLessThan(1e-14);
    expect(relErr(logFactorial(170), Math.log(f))).toBeLessThan(1e-14);
  });

  it('handles tiny arguments through Γ(x) ≈ 1/x', () => {
    expect(relErr(logGamma(1e-10), -Math.log(1e-10))).toBeLessThan(1e-9);
  });

  it('rejects non-positive arguments', () => {
    expect(() => logGamma(0)).toThrow(RangeError);
    expect(() => logGamma(-1)).toThrow(RangeError);
  });
});

describe('regularised incomplete gamma', () => {
  it('Q(1, x) = e^{−x} on both sides of the series/continued-fraction switch', () => {
    for (const x of [0.1, 1, 1.999, 2.001, 10, 50]) expect(relErr(gammaQ(1, x), Math.exp(-x))).toBeLessThan(5e-14);
  });

  it('Q(m, x) = e^{−x} Σ_{k<m} x^k/k! for integer m', () => {
    const closed = (m: number, x: number): number => {
      let s = 0;
      let t = 1;
      for (let k = 0; k < m; k++) {
        s += t;
        t *= x / (k + 1);
      }
      return Math.exp(-x) * s;
    };
    for (const [m, x] of [
      [3, 0.5],
      [3, 7],
      [10, 4],
      [10, 15],
      [25, 30],
    ] as const) {
      expect(relErr(gammaQ(m, x), closed(m, x))).toBeLessThan(1e-13);
      expect(Math.abs(gammaP(m, x) + gammaQ(m, x) - 1)).toBeLessThan(1e-15);
    }
  });

  it('edges', () => {
    expect(gammaQ(2, 0)).toBe(1);
    expect(gammaP(2, 0)).toBe(0);
    expect(gammaQ(2, Infinity)).toBe(0);
    expect(() => gammaQ(0, 1)).toThrow(RangeError);
  });
});

describe('numeric helpers', () => {
  it('ldexp reaches the extreme exponents without intermediate overflow', () => {
    expect(ldexp(1, 0)).toBe(1);
    expect(ldexp(2 ** 600, -1500)).toBe(2 ** -900);
    expect(ldexp(2 ** -600, 1500)).toBe(2 ** 900);
  });

  it('roundHalfEven follows numpy', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 3]);
  });
});
