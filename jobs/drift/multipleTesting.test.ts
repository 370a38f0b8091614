import { describe, expect, it } from 'vitest';
import { benjaminiHochberg, bonferroni } from './multipleTesting';

describe('bonferroni', () => {
  it('multiplies by the number of tests and caps at 1', () => {
    expect(bonferroni([0.01, 0.2, 0.5])).toEqual([0.03, 0.6000000000000001, 1]);
    expect(bonferroni([])).toEqual([]);
  });
});

describe('benjaminiHochberg (statsmodels fdr_bh)', () => {
  it('hand-computed: ranks 1..4 of [0.005, 0.01, 0.03, 0.04]', () => {
    // sorted p·m/rank: 0.02, 0.02, 0.04, 0.04 — already monotone
    const adj = benjaminiHochberg([0.01, 0.04, 0.03, 0.005]);
    expect(adj.map((x) => Number(x.toFixed(15)))).toEqual([0.02, 0.04, 0.04, 0.02]);
  });

  it('enforces monotonicity by the running minimum from the top (step-up)', () => {
    // raw p·m/rank: 0.04, 0.04, 0.028, 0.5 → minimum from the largest down: 0.028, 0.028, 0.028, 0.5
    const adj = benjaminiHochberg([0.5, 0.021, 0.01, 0.02]);
    expect(adj.map((x) => Number(x.toFixed(15)))).toEqual([0.5, 0.028, 0.028, 0.028]);
  });

  it('caps at 1 and keeps ties together', () => {
    expect(benjaminiHochberg([0.9, 0.9, 1])).toEqual([1, 1, 1]);
    expect(benjaminiHochberg([0.02, 0.02])).toEqual([0.02, 0.02]);
  });

  it('rejects values outside [0, 1]', () => {
    expect(() => benjaminiHochberg([0.1, NaN])).toThrow(/index 1/);
    expect(() => bonferroni([1.5])).toThrow(/index 0/);
  });
});
