import { describe, expect, it } from 'vitest';
import * as drift from './index';
import { getStatTest, pickStatTest, STAT_TEST_NAMES, statTests } from './index';
import { normalSample, uniformRng } from './testSupport';

function categorical(n: number, seed: number, k: number, shift = 0): number[] {
  const u = uniformRng(seed);
  return Array.from({ length: n }, () => Math.min(k - 1, Math.floor((u() + shift) * k)));
}

describe('drift module exports', () => {
  it('exposes every statistic from one module', () => {
    for (const fn of ['ks2samp', 'psi', 'wassersteinNormed', 'wassersteinDistance', 'jensenShannon', 'jensenShannonDistance', 'chiSquare', 'chi2Sf', 'bonferroni', 'benjaminiHochberg', 'pickStatTest'] as const) {
      expect(typeof drift[fn]).toBe('function');
    }
  });
});

describe('stat test registry', () => {
  it('has the documented kinds and default thresholds', () => {
    expect(STAT_TEST_NAMES).toEqual(['ks', 'psi', 'wasserstein', 'jensenshannon', 'chisquare']);
    const summary = Object.fromEntries(STAT_TEST_NAMES.map((n) => [n, [statTests[n].kind, statTests[n].defaultThreshold]]));
    expect(summary).toEqual({
      ks: ['pvalue', 0.05],
      psi: ['distance', 0.1],
      wasserstein: ['distance', 0.1],
      jensenshannon: ['distance', 0.1],
      chisquare: ['pvalue', 0.05],
    });
  });

  it('drift decisions at the threshold follow Evidently (KS p ≤ t, chi-square p < t, distances ≥ t)', () => {
    expect(statTests.ks.drifted(0.05)).toBe(true);
    expect(statTests.ks.drifted(0.0500001)).toBe(false);
    expect(statTests.chisquare.drifted(0.05)).toBe(false);
    expect(statTests.chisquare.drifted(0.0499)).toBe(true);
    for (const n of ['psi', 'wasserstein', 'jensenshannon'] as const) {
      expect(statTests[n].drifted(0.1)).toBe(true);
      expect(statTests[n].drifted(0.0999)).toBe(false);
      expect(statTests[n].drifted(0.3, 0.5)).toBe(false);
    }
    expect(statTests.ks.drifted(NaN)).toBe(false);
    expect(statTests.psi.drifted(NaN)).toBe(false);
  });

  it('every test separates "same distribution" from "shifted by one σ"', () => {
    const ref = normalSample(800, 31);
    const same = normalSample(800, 32);
    const shifted = normalSample(800, 33, 1);
    for (const name of STAT_TEST_NAMES) {
      if (name === 'chisquare') continue;
      const t = statTests[name];
      expect(t.drifted(t.compute(ref, same).score), `${name} on same`).toBe(false);
      expect(t.drifted(t.compute(ref, shifted).score), `${name} on shifted`).toBe(true);
    }
    const cref = categorical(800, 1, 4);
    expect(statTests.chisquare.drifted(statTests.chisquare.compute(cref, categorical(800, 2, 4)).score)).toBe(false);
    expect(statTests.chisquare.drifted(statTests.chisquare.compute(cref, categorical(800, 2, 4, 0.3)).score)).toBe(true);
  });

  it('compute drops NaN and ±Infinity and matches the underlying statistic', () => {
    const ref = [1, 2, NaN, 3, Infinity, 4];
    const cur = [2, 3, -Infinity, 4, 5];
    expect(statTests.ks.compute(ref, cur).score).toBe(drift.ks2samp([1, 2, 3, 4], [2, 3, 4, 5]).pvalue);
    expect(statTests.wasserstein.compute(ref, cur).score).toBe(drift.wassersteinNormed([1, 2, 3, 4], [2, 3, 4, 5]).value);
    expect(() => statTests.ks.compute([NaN], [1])).toThrow(/no finite values/);
  });

  it('getStatTest resolves names and rejects unknown ones', () => {
    expect(getStatTest('psi')).toBe(statTests.psi);
    expect(() => getStatTest('anderson')).toThrow(/unknown stat test 'anderson'/);
  });
});

describe('pickStatTest (Evidently defaults)', () => {
  it('n ≤ 1000 numeric → KS; ≤ 5 distinct values → chi-square', () => {
    expect(pickStatTest(normalSample(1000, 1)).name).toBe('ks');
    const p = pickStatTest([1, 2, 3, 4, 5, 1, 2, 3]);
    expect(p.name).toBe('chisquare');
    expect(p.categorical).toBe(true);
    expect(pickStatTest([1, 2, 3, 4, 5, 6]).name).toBe('ks');
  });

  it('n > 1000 numeric → normed Wasserstein; categorical → Jensen–Shannon', () => {
    expect(pickStatTest(normalSample(1001, 1)).name).toBe('wasserstein');
    const js = pickStatTest(categorical(5000, 3, 3));
    expect(js.name).toBe('jensenshannon');
    expect(js.categorical).toBe(true);
  });

  it('counts the reference after dropping NaN and ±Infinity', () => {
    const ref = [...Array.from(normalSample(1000, 2)), NaN, Infinity, -Infinity];
    const p = pickStatTest(ref);
    expect(p.referenceSize).toBe(1000);
    expect(p.name).toBe('ks');
  });

  it('honours an explicit column type', () => {
    expect(pickStatTest(normalSample(200, 4), { categorical: true }).name).toBe('chisquare');
    expect(pickStatTest([0, 1, 0, 1], { categorical: false }).name).toBe('ks');
  });

  it('binds the categorical reading into compute for Jensen–Shannon', () => {
    // codes 0 and 100 vs 0 and 1: binned on the pooled range 0 and 1 share a bin; as categories they differ.
    const ref = Array.from({ length: 2000 }, (_, i) => (i % 2 ? 100 : 0));
    const cur = Array.from({ length: 2000 }, (_, i) => (i % 2 ? 1 : 0));
    const picked = pickStatTest(ref);
    expect(picked.name).toBe('jensenshannon');
    expect(picked.compute(ref, cur).score).toBeCloseTo(drift.jensenShannon(ref, cur, { categorical: true }).value, 15);
    expect(picked.compute(ref, cur).score).not.toBeCloseTo(statTests.jensenshannon.compute(ref, cur).score, 3);
  });

  it('rejects a reference without finite values', () => {
    expect(() => pickStatTest([NaN, Infinity])).toThrow(/no finite values/);
  });
});

describe('SortedSample reuse', () => {
  it('gives the same scores as raw arrays and records dropped values', () => {
    const ref = [...Array.from(normalSample(3000, 40)), NaN, Infinity];
    const cur = Array.from(normalSample(2500, 41, 0.2));
    const sref = drift.SortedSample.from(ref);
    const scur = drift.SortedSample.from(cur);
    expect(sref.dropped).toBe(2);
    expect(sref.length).toBe(3000);
    expect(drift.SortedSample.from(sref)).toBe(sref);
    for (const name of STAT_TEST_NAMES) {
      expect(statTests[name].compute(sref, scur).score, name).toBe(statTests[name].compute(ref, cur).score);
    }
    expect(pickStatTest(sref).name).toBe(pickStatTest(ref).name);
  });
});
