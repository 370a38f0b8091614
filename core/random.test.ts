import { describe, expect, it } from 'vitest';
import { createRng, xoshiro128ss } from './random';

describe('xoshiro128ss', () => {
  it('matches the reference output for state {1, 2, 3, 4}', () => {
    const next = xoshiro128ss([1, 2, 3, 4]);
    expect(Array.from({ length: 6 }, next)).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });
});

describe('createRng', () => {
  it('gives the same stream for the same seed and different streams for different seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const d = createRng(42 + 2 ** 32);
    const sa = Array.from({ length: 20 }, () => a.nextUint32());
    const sb = Array.from({ length: 20 }, () => b.nextUint32());
    const sc = Array.from({ length: 20 }, () => c.nextUint32());
    const sd = Array.from({ length: 20 }, () => d.nextUint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    expect(sa).not.toEqual(sd);
  });

  it('keeps a stable stream across versions (splits and models depend on it)', () => {
    // Pinned output of seed 42; a change here silently changes every seeded split and model.
    const rng = createRng(42);
    const first = Array.from({ length: 4 }, () => rng.nextUint32());
    const again = createRng(42);
    expect(first).toEqual(Array.from({ length: 4 }, () => again.nextUint32()));
    expect(first).toMatchInlineSnapshot(`
      [
        2837322924,
        544945897,
        479756282,
        3500138142,
      ]
    `);
  });

  it('next() is uniform in [0, 1)', () => {
    const rng = createRng(7);
    const bins = new Array<number>(10).fill(0);
    const n = 100_000;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const v = rng.next();
      min = Math.min(min, v);
      max = Math.max(max, v);
      bins[Math.floor(v * 10)]! += 1;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    // Chi-square with 9 degrees of freedom; 27.9 is the 0.999 quantile.
    const expected = n / 10;
    const chi2 = bins.reduce((s, o) => s + ((o - expected) ** 2) / expected, 0);
    expect(chi2).toBeLessThan(27.9);
  });

  it('nextInt covers [0, n) evenly and rejects bad bounds', () => {
    const rng = createRng(1);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[rng.nextInt(7)]! += 1;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(() => rng.nextInt(0)).toThrow(RangeError);
    expect(() => rng.nextInt(1.5)).toThrow(RangeError);
    expect(() => createRng(Number.NaN)).toThrow(/safe integer/);
    expect(() => createRng(0.5)).toThrow(/safe integer/);
  });

  it('normal() has mean 0 and variance 1', () => {
    const rng = createRng(3);
    const n = 50_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = rng.normal();
      s += v;
      s2 += v * v;
    }
    const mean = s / n;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - mean * mean - 1)).toBeLessThan(0.03);
  });

  it('shuffle and permutation return permutations, deterministically', () => {
    const arr = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = createRng(5).shuffle([...arr]);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(arr);
    expect(shuffled).not.toEqual(arr);
    expect(createRng(5).shuffle([...arr])).toEqual(shuffled);
    const perm = createRng(9).permutation(1000);
    expect(new Set(perm).size).toBe(1000);
    expect(Math.max(...perm)).toBe(999);
    const typed = createRng(5).shuffle(Float64Array.from(arr));
    expect(Array.from(typed)).toEqual(shuffled);
  });

  it('sample draws k distinct indices in range and rejects k > n', () => {
    const rng = createRng(11);
    const s = rng.sample(100, 30);
    expect(s.length).toBe(30);
    expect(new Set(s).size).toBe(30);
    for (const i of s) expect(i).toBeLessThan(100);
    expect(rng.sample(5, 0).length).toBe(0);
    expect(() => rng.sample(3, 4)).toThrow(/cannot sample 4/);
    expect(() => rng.sample(-1, 0)).toThrow(RangeError);
    // Every index is reachable: over many draws of 1 from 10, all appear.
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(rng.sample(10, 1)[0]!);
    expect(seen.size).toBe(10);
  });
});
