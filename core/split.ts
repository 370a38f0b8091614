import { createRng } from './random';

export interface Split {
  train: Uint32Array;
  test: Uint32Array;
}

/** Seeded random split: `testFraction` of the rows (rounded, at least 1) go to test. Indices come back sorted. */
export function randomSplit(n: number, testFraction = 0.2, seed = 42): Split {
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`testFraction must be in (0, 1), got ${testFraction}`);
  if (n < 2) throw new RangeError(`need at least 2 rows to split, got ${n}`);
  const nTest = Math.min(n - 1, Math.max(1, Math.round(n * testFraction)));
  const perm = createRng(seed).permutation(n);
  return { test: perm.slice(0, nTest).sort(), train: perm.slice(nTest).sort() };
}

/**
 * Time-based split: the last `holdoutYears` distinct years present are the test set, everything before is
 * training — how the model is used (trained on the past, scoring later years).
 */
export function timeSplit(years: ArrayLike<number>, holdoutYears = 5): Split & { firstTestYear: number } {
  const distinct = [...new Set(Array.from(years))].sort((a, b) => a - b);
  if (!Number.isInteger(holdoutYears) || holdoutYears < 1) throw new RangeError(`holdoutYears must be a positive integer, got ${holdoutYears}`);
  if (distinct.length <= holdoutYears) {
    throw new RangeError(`time split needs more than ${holdoutYears} distinct years, the data has ${distinct.length}`);
  }
  const firstTestYear = distinct[distinct.length - holdoutYears] as number;
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < years.length; i++) ((years[i] as number) >= firstTestYear ? test : train).push(i);
  return { train: Uint32Array.from(train), test: Uint32Array.from(test), firstTestYear };
}
