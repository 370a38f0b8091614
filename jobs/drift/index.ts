// Drift statistics: one small module per statistic (test vectors beside each), all exported from here,
// plus a registry of stat tests and Evidently's default choice between them.
import { distinctCountUpTo } from './categories';
import { chiSquare } from './chiSquare';
import { jensenShannon } from './jensenShannon';
import { ks2sampSorted } from './ks';
import { psiSorted } from './psi';
import { dropNonFinite, SortedSample } from './sample';
import { wassersteinNormedSorted } from './wasserstein';

export { ks2samp, ks2sampSorted, KS_MAX_AUTO_N, type KsMethod, type KsOptions, type KsResult } from './ks';
export { kstwoCdf, kstwoSf, smirnovSf } from './kolmogorov';
export { psi, psiSorted, type PsiBin, type PsiOptions, type PsiResult } from './psi';
export { wassersteinDistance, wassersteinNormed, wassersteinNormedSorted, wassersteinSorted, type WassersteinNormedResult } from './wasserstein';
export {
  jensenShannon,
  jensenShannonDistance,
  type JensenShannonOptions,
  type JensenShannonResult,
} from './jensenShannon';
export { chi2Sf, chiSquare, chiSquareCounts, type ChiSquareResult } from './chiSquare';
export { categoryCounts, type Category, type CategoryCounts } from './categories';
export { benjaminiHochberg, bonferroni } from './multipleTesting';
export { dropNonFinite, SortedSample } from './sample';

export type StatTestName = 'ks' | 'psi' | 'wasserstein' | 'jensenshannon' | 'chisquare';
export const STAT_TEST_NAMES: readonly StatTestName[] = ['ks', 'psi', 'wasserstein', 'jensenshannon', 'chisquare'];

/** 'pvalue': small scores mean drift; 'distance': large scores mean drift. */
export type StatTestKind = 'pvalue' | 'distance';

export interface StatTestComputeOptions {
  /** Treat the values as category codes (Jensen–Shannon compares category shares instead of binning). */
  categorical?: boolean;
}

export interface StatTest {
  name: StatTestName;
  kind: StatTestKind;
  defaultThreshold: number;
  /** Whether `score` means drift at `threshold` (default: `defaultThreshold`). NaN never counts as drift. */
  drifted(score: number, threshold?: number): boolean;
  /**
   * The score on two samples. NaN and ±Infinity are dropped first (as Evidently does; callers track the
   * missing-value rate separately); an empty side after that is an error. Passing `SortedSample`s made
   * once per column avoids sorting the same data again for every statistic.
   */
  compute(reference: SampleInput, current: SampleInput, opts?: StatTestComputeOptions): { score: number };
}

/** Raw values, or a column already cleaned and sorted with `SortedSample.from`. */
export type SampleInput = ArrayLike<number> | SortedSample;

function finitePair(name: StatTestName, reference: SampleInput, current: SampleInput): [Float64Array, Float64Array] {
  const ref = SortedSample.from(reference);
  const cur = SortedSample.from(current);
  if (ref.length === 0 || cur.length === 0) {
    throw new RangeError(
      `${name}: no finite values left to compare (reference ${ref.length} of ${ref.length + ref.dropped}, current ${cur.length} of ${cur.length + cur.dropped})`,
    );
  }
  return [ref.values, cur.values];
}

function pvalueTest(name: StatTestName, defaultThreshold: number, inclusive: boolean, score: StatTest['compute']): StatTest {
  return {
    name,
    kind: 'pvalue',
    defaultThreshold,
    drifted: (p, threshold = defaultThreshold) => (inclusive ? p <= threshold : p < threshold),
    compute: score,
  };
}

function distanceTest(name: StatTestName, defaultThreshold: number, score: StatTest['compute']): StatTest {
  return {
    name,
    kind: 'distance',
    defaultThreshold,
    drifted: (d, threshold = defaultThreshold) => d >= threshold,
    compute: score,
  };
}

/** The stat tests with Evidently's default thresholds. */
export const statTests: Readonly<Record<StatTestName, StatTest>> = Object.freeze({
  // KS: drift when p ≤ 0.05.
  ks: pvalueTest('ks', 0.05, true, (reference, current) => {
    const [ref, cur] = finitePair('ks', reference, current);
    return { score: ks2sampSorted(ref, cur).pvalue };
  }),
  // PSI on reference deciles: drift when ≥ 0.1.
  psi: distanceTest('psi', 0.1, (reference, current) => {
    const [ref, cur] = finitePair('psi', reference, current);
    return { score: psiSorted(ref, cur).value };
  }),
  // Wasserstein distance over the reference std: drift when ≥ 0.1.
  wasserstein: distanceTest('wasserstein', 0.1, (reference, current) => {
    const [ref, cur] = finitePair('wasserstein', reference, current);
    return { score: wassersteinNormedSorted(ref, cur).value };
  }),
  // Jensen–Shannon distance (natural log): drift when ≥ 0.1.
  jensenshannon: distanceTest('jensenshannon', 0.1, (reference, current, opts) => {
    const [ref, cur] = finitePair('jensenshannon', reference, current);
    return { score: jensenShannon(ref, cur, { categorical: opts?.categorical ?? false }).value };
  }),
  // Chi-square goodness of fit on categories: drift when p < 0.05.
  chisquare: pvalueTest('chisquare', 0.05, false, (reference, current) => {
    const [ref, cur] = finitePair('chisquare', reference, current);
    return { score: chiSquare(ref, cur).pvalue };
  }),
});

/** Looks a stat test up by name (e.g. from configuration), with a readable error for unknown names. */
export function getStatTest(name: string): StatTest {
  if (!(STAT_TEST_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`unknown stat test '${name}' (known: ${STAT_TEST_NAMES.join(', ')})`);
  }
  return statTests[name as StatTestName];
}

/** Reference sizes up to this use the p-value tests; larger ones the distance tests (Evidently). */
export const SMALL_REFERENCE_MAX = 1000;
/** Numeric columns with at most this many distinct reference values are treated as categorical. */
export const CATEGORICAL_MAX_DISTINCT = 5;

export interface PickStatTestOptions {
  /** Force the column's type; by default a column with ≤ 5 distinct reference values is categorical. */
  categorical?: boolean;
}

export interface PickedStatTest extends StatTest {
  /** Whether the column was treated as categorical (the test's compute is bound accordingly). */
  categorical: boolean;
  /** Reference size after dropping NaN and ±Infinity, which decided the choice. */
  referenceSize: number;
}

/**
 * Evidently's default stat test for a column, decided by the reference only (n counted after dropping
 * NaN/±Infinity):
 *   n ≤ 1000: numerical → KS; categorical (or ≤ 5 distinct values) → chi-square;
 *   n > 1000: numerical → normed Wasserstein; categorical (or ≤ 5 distinct values) → Jensen–Shannon.
 * Evidently uses a two-proportion z-test for binary columns with n ≤ 1000; that test is not in this
 * registry, so binary columns get chi-square like other categorical ones.
 */
export function pickStatTest(reference: SampleInput, opts: PickStatTestOptions = {}): PickedStatTest {
  const ref = reference instanceof SortedSample ? reference.values : dropNonFinite(reference);
  const referenceSize = ref.length;
  if (referenceSize === 0) throw new RangeError('pickStatTest: the reference has no finite values');
  const categorical = opts.categorical ?? distinctCountUpTo(ref, CATEGORICAL_MAX_DISTINCT) <= CATEGORICAL_MAX_DISTINCT;
  let name: StatTestName;
  if (referenceSize <= SMALL_REFERENCE_MAX) name = categorical ? 'chisquare' : 'ks';
  else name = categorical ? 'jensenshannon' : 'wasserstein';
  const test = statTests[name];
  return {
    ...test,
    compute: (r, c, o) => test.compute(r, c, { categorical, ...o }),
    categorical,
    referenceSize,
  };
}
