// Pearson chi-square goodness of fit of the current category counts against the reference's shares:
//   expected_k = refShare_k · currentTotal,  χ² = Σ (observed_k − expected_k)² / expected_k,
// with k − 1 degrees of freedom over the union of categories (Evidently's categorical `chisquare`
// stattest, oriented as scipy.stats.chisquare(f_obs=current, f_exp=expected)); drift when p < 0.05.
// A category the reference never saw but the current sample has gets expected 0 and makes χ² infinite
// (p = 0): a brand-new category is drift.
import { type Category, type CategoryCounts, categoryCounts, totalCount, unionCategories } from './categories';
import { gammaQ } from './special';

export { categoryCounts, type Category, type CategoryCounts } from './categories';

/**
 * Survival function of the chi-square distribution, Pr(X > x) for `dof` degrees of freedom:
 * the regularised upper incomplete gamma Q(dof/2, x/2).
 */
export function chi2Sf(x: number, dof: number): number {
  if (Number.isNaN(x) || Number.isNaN(dof)) return NaN;
  if (!(dof > 0)) return NaN;
  if (x <= 0) return 1;
  return gammaQ(dof / 2, x / 2);
}

export interface ChiSquareResult {
  statistic: number;
  pvalue: number;
  dof: number;
  categories: Category[];
  observed: number[];
  expected: number[];
}

/**
 * χ² test on count vectors aligned by index (reference counts, current counts). With fewer than two
 * categories there is nothing to compare: statistic 0, p 1.
 */
export function chiSquareCounts(referenceCounts: ArrayLike<number>, currentCounts: ArrayLike<number>): ChiSquareResult {
  if (referenceCounts.length !== currentCounts.length) {
    throw new RangeError(`chiSquareCounts: count vectors differ in length (${referenceCounts.length} vs ${currentCounts.length})`);
  }
  const ref = new Map<Category, number>();
  const cur = new Map<Category, number>();
  for (let i = 0; i < referenceCounts.length; i++) {
    ref.set(i, referenceCounts[i] as number);
    cur.set(i, currentCounts[i] as number);
  }
  return chiSquareFromCounts(ref, cur);
}

function chiSquareFromCounts(ref: CategoryCounts, cur: CategoryCounts): ChiSquareResult {
  const refTotal = totalCount(ref, 'chiSquare: reference');
  const curTotal = totalCount(cur, 'chiSquare: current');
  if (refTotal === 0 || curTotal === 0) {
    throw new RangeError(`chiSquare: both samples need at least one observation (totals ${refTotal} and ${curTotal})`);
  }
  // Categories absent from both sides carry no information and would give 0/0.
  const categories = unionCategories(ref, cur).filter((k) => (ref.get(k) ?? 0) > 0 || (cur.get(k) ?? 0) > 0);
  const observed = categories.map((k) => cur.get(k) ?? 0);
  const expected = categories.map((k) => ((ref.get(k) ?? 0) / refTotal) * curTotal);
  const dof = categories.length - 1;
  if (dof < 1) return { statistic: 0, pvalue: 1, dof: Math.max(dof, 0), categories, observed, expected };
  let statistic = 0;
  for (let i = 0; i < categories.length; i++) {
    const o = observed[i] as number;
    const e = expected[i] as number;
    statistic += e === 0 ? Infinity : ((o - e) * (o - e)) / e;
  }
  const pvalue = statistic === Infinity ? 0 : chi2Sf(statistic, dof);
  return { statistic, pvalue, dof, categories, observed, expected };
}

/**
 * χ² drift test. Each side is either a raw sample of category values (numbers or strings) or
 * precomputed counts (a Map from category to count, e.g. from `categoryCounts`).
 */
export function chiSquare(
  reference: CategoryCounts | ArrayLike<Category>,
  current: CategoryCounts | ArrayLike<Category>,
): ChiSquareResult {
  const ref = reference instanceof Map ? reference : categoryCounts(reference);
  const cur = current instanceof Map ? current : categoryCounts(current);
  return chiSquareFromCounts(ref, cur);
}
