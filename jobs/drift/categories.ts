// Category counts for categorical drift statistics (chi-square, Jensen–Shannon on categories).

export type Category = number | string;

/** Counts per category, in first-seen order. */
export type CategoryCounts = Map<Category, number>;

/**
 * Counts each distinct value of a sample. NaN is rejected (drop missing values first); numbers and strings
 * are distinct categories (1 and "1" are different), as in a pandas value_counts on an object column.
 */
export function categoryCounts(sample: ArrayLike<Category>): CategoryCounts {
  const counts: CategoryCounts = new Map();
  for (let i = 0; i < sample.length; i++) {
    const v = sample[i] as Category;
    if (typeof v === 'number' && Number.isNaN(v)) {
      throw new RangeError(`categoryCounts: NaN at index ${i}; drop missing values first (and track the null rate separately)`);
    }
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return counts;
}

/** The union of the categories of both count maps: reference order first, then new current categories. */
export function unionCategories(reference: CategoryCounts, current: CategoryCounts): Category[] {
  const keys: Category[] = [...reference.keys()];
  for (const k of current.keys()) if (!reference.has(k)) keys.push(k);
  return keys;
}

/** Total of the counts; rejects negative or non-finite counts. */
export function totalCount(counts: CategoryCounts, label: string): number {
  let total = 0;
  for (const [k, c] of counts) {
    if (!(c >= 0) || !Number.isFinite(c)) throw new RangeError(`${label}: count for category ${String(k)} must be a finite number ≥ 0 (got ${c})`);
    total += c;
  }
  return total;
}

/** Number of distinct values in a sample, counting at most `limit + 1` (enough to decide "≤ limit"). */
export function distinctCountUpTo(sample: ArrayLike<number>, limit: number): number {
  const seen = new Set<number>();
  for (let i = 0; i < sample.length; i++) {
    seen.add(sample[i] as number);
    if (seen.size > limit) break;
  }
  return seen.size;
}
