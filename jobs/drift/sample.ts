// Sample preparation shared by the drift statistics: typed copies, sorting once, and the binary searches
// that turn a sorted sample into ECDF values or bin counts without O(n²) work.

/**
 * Copies a sample into a Float64Array, rejecting NaN and ±Infinity with a message that names the input.
 * Statistics built on quantiles, means or bin widths have no meaning for non-finite values.
 */
export function finiteSample(x: ArrayLike<number>, label: string): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (!Number.isFinite(v)) {
      throw new RangeError(
        `${label} contains ${String(v)} at index ${i}; drop missing and non-finite values first (and track the null rate separately)`,
      );
    }
    out[i] = v;
  }
  return out;
}

/** finiteSample, sorted ascending; throws when empty. */
export function sortedFiniteSample(x: ArrayLike<number>, label: string): Float64Array {
  if (x.length === 0) throw new RangeError(`${label} is empty`);
  return finiteSample(x, label).sort();
}

/** Keeps only the finite values (NaN and ±Infinity dropped), as Evidently does before testing a column. */
export function dropNonFinite(x: ArrayLike<number>): Float64Array {
  let count = 0;
  for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i] as number)) count++;
  const out = new Float64Array(count);
  let k = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (Number.isFinite(v)) out[k++] = v;
  }
  return out;
}

function isSortedAscending(x: Float64Array): boolean {
  for (let i = 1; i < x.length; i++) if ((x[i] as number) < (x[i - 1] as number)) return false;
  return true;
}

/**
 * A sample with NaN and ±Infinity removed and sorted ascending, made once and reused by every statistic
 * (sorting is the dominant cost on large samples). `dropped` is how many non-finite values were removed,
 * for callers that report missing-value rates.
 */
export class SortedSample {
  private constructor(
    readonly values: Float64Array,
    readonly dropped: number,
  ) {}

  static from(x: ArrayLike<number> | SortedSample): SortedSample {
    if (x instanceof SortedSample) return x;
    const finite = dropNonFinite(x);
    // Callers that can sort elsewhere (the monitor lets DuckDB sort on every core) pass sorted input: one O(n) check.
    return new SortedSample(isSortedAscending(finite) ? finite : finite.sort(), x.length - finite.length);
  }

  get length(): number {
    return this.values.length;
  }
}

/** Number of elements of the sorted array that are < v (numpy searchsorted side='left'). */
export function lowerBound(sorted: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of elements of the sorted array that are ≤ v (numpy searchsorted side='right'). */
export function upperBound(sorted: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** numpy.quantile(sorted, p) with the default 'linear' method (Hyndman–Fan type 7). */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('quantile of an empty sample');
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (h - lo) * (b - a);
}

/** Population mean and standard deviation (numpy.std with ddof = 0), two-pass for accuracy. */
export function meanAndStd(x: ArrayLike<number>): { mean: number; std: number } {
  const n = x.length;
  if (n === 0) throw new RangeError('mean of an empty sample');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i] as number;
  const mean = sum / n;
  let ss = 0;
  let comp = 0;
  for (let i = 0; i < n; i++) {
    const d = (x[i] as number) - mean;
    ss += d * d;
    comp += d;
  }
  // Corrected two-pass formula (Chan, Golub & LeVeque 1983) removes the rounding error left in `mean`.
  const variance = Math.max(0, (ss - (comp * comp) / n) / n);
  return { mean, std: Math.sqrt(variance) };
}
