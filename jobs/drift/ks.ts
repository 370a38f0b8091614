// Two-sample Kolmogorov–Smirnov test, two-sided, with the semantics of scipy.stats.ks_2samp (scipy ≥ 1.8):
//   - D = max over pooled points of |ECDF_a − ECDF_b| (ECDFs right-continuous, so ties are handled);
//   - method 'auto' is exact when max(n1, n2) ≤ 10000, otherwise asymptotic;
//   - exact: D is snapped to h / lcm(n1, n2); equal sizes use the alternating "outside the square"
//     series, unequal sizes Hodges' (1958) lattice-path "inside" recursion in the 1 − p form of
//     T. Viehmann (2021), "Numerically more stable computation of the p-values for the two-sample
//     Kolmogorov-Smirnov test", arXiv:2102.08037; if that does not give a probability the test falls back
//     to the asymptotic method (scipy warns; here `method` in the result says which one was used);
//   - asymptotic: kstwo.sf(D, round(n1·n2/(n1+n2))), the exact one-sample distribution at the effective n.
import { kstwoSf } from './kolmogorov';
import { roundHalfEven } from './special';

export type KsMethod = 'auto' | 'exact' | 'asymp';

export interface KsOptions {
  method?: KsMethod;
}

export interface KsResult {
  statistic: number;
  pvalue: number;
  method: 'exact' | 'asymp';
}

/** scipy's MAX_AUTO_N: 'auto' is exact up to this many observations in the larger sample. */
export const KS_MAX_AUTO_N = 10_000;
const INT32_MAX = 2 ** 31 - 1;

/** Copies a sample into a sorted Float64Array; NaN is rejected because it has no place in an ECDF. */
export function sortedSample(x: ArrayLike<number>, label: string): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (Number.isNaN(v)) {
      throw new RangeError(`${label} contains NaN at index ${i}; drop missing values first (and track the null rate separately)`);
    }
    out[i] = v;
  }
  return out.sort();
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/**
 * D = max |F_a(v) − F_b(v)| over every pooled value v, for sorted samples, in one merge pass.
 * Each ECDF difference is formed as i/n1 − j/n2 like scipy's searchsorted(…, 'right')/n, so the floating
 * point value of D is the same.
 */
export function ksStatisticSorted(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxDiff = 0;
  let minDiff = 0;
  while (i < n1 || j < n2) {
    const va = i < n1 ? (a[i] as number) : Infinity;
    const vb = j < n2 ? (b[j] as number) : Infinity;
    const v = va <= vb ? va : vb;
    while (i < n1 && (a[i] as number) <= v) i++;
    while (j < n2 && (b[j] as number) <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxDiff) maxDiff = diff;
    if (diff < minDiff) minDiff = diff;
    if (v === Infinity) break; // both remaining tails are +∞ and were consumed together
  }
  return Math.max(Math.min(-minDiff, 1), maxDiff);
}

/**
 * Pr(D_{n,n} ≥ h/n) = 2 Σ_{k≥1} (−1)^{k−1} C(2n, n − kh) / C(2n, n), evaluated Horner-style as
 * 2·A1·(1 − A2·(1 − A3·(…))) where every ratio A_k is a product of h simple factors, avoiding the
 * cancellation of the alternating sum.
 */
export function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k -= 1;
  }
  return 2 * P;
}

/**
 * 1 − (number of lattice paths from (0,0) to (m,n) staying strictly inside |x/m − y/n| < h/lcm) / C(m+n, n),
 * computed directly as a probability column by column (Viehmann's recursion for 1 − p, on Hodges' inside
 * method). Only the sliding window of the current column that lies inside the band is stored.
 */
export function outerProbInsideMethod(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
    minj = Math.min(minj, n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    const width = maxj - minj;
    const offset = minj - lastminj;
    for (let jj = 0; jj < width; jj++) {
      const j = jj + minj;
      val = ((A[jj + offset] as number) * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = width;
    if (lastlen > curlen) A.fill(1, width, width + (lastlen - curlen));
  }
  return A[maxj - minj - 1] as number;
}

/**
 * scipy's _attempt_exact_2kssamp for the two-sided alternative: snap D to h/lcm and compute the exact
 * tail probability; `ok` is false when the computation did not produce a probability.
 */
function attemptExact(n1: number, n2: number, g: number, d: number): { ok: boolean; d: number; p: number } {
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const dSnapped = h / lcm;
  if (h === 0) return { ok: true, d: dSnapped, p: 1 };
  const p = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInsideMethod(n1, n2, g, h);
  if (!Number.isFinite(p) || !(p >= 0 && p <= 1)) return { ok: false, d: dSnapped, p };
  return { ok: true, d: dSnapped, p };
}

/** Two-sided two-sample Kolmogorov–Smirnov test (scipy.stats.ks_2samp, alternative='two-sided'). */
export function ks2samp(a: ArrayLike<number>, b: ArrayLike<number>, opts: KsOptions = {}): KsResult {
  const requested = opts.method ?? 'auto';
  if (requested !== 'auto' && requested !== 'exact' && requested !== 'asymp') {
    throw new RangeError(`ks2samp: unknown method '${String(requested)}' (expected 'auto', 'exact' or 'asymp')`);
  }
  if (a.length === 0 || b.length === 0) {
    throw new RangeError(`ks2samp: both samples must be non-empty (got sizes ${a.length} and ${b.length})`);
  }
  const sa = sortedSample(a, 'ks2samp: first sample');
  const sb = sortedSample(b, 'ks2samp: second sample');
  return ks2sampSorted(sa, sb, requested);
}

/** ks2samp on samples already sorted ascending (no NaN); lets callers that sort once reuse the arrays. */
export function ks2sampSorted(sa: Float64Array, sb: Float64Array, requested: KsMethod = 'auto'): KsResult {
  const n1 = sa.length;
  const n2 = sb.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ks2samp: both samples must be non-empty');
  let d = ksStatisticSorted(sa, sb);
  const g = gcd(n1, n2);
  const n1g = n1 / g;
  const n2g = n2 / g;

  let mode: 'exact' | 'asymp';
  if (requested === 'auto') mode = Math.max(n1, n2) <= KS_MAX_AUTO_N ? 'exact' : 'asymp';
  else if (requested === 'exact') mode = n1g >= INT32_MAX / n2g ? 'asymp' : 'exact'; // lcm too large
  else mode = 'asymp';

  let p = NaN;
  if (mode === 'exact') {
    const exact = attemptExact(n1, n2, g, d);
    d = exact.d;
    if (exact.ok) p = exact.p;
    else mode = 'asymp';
  }
  if (mode === 'asymp') {
    const big = Math.max(n1, n2);
    const small = Math.min(n1, n2);
    const en = (big * small) / (big + small);
    p = kstwoSf(d, roundHalfEven(en));
  }
  const pvalue = Number.isNaN(p) ? p : Math.min(1, Math.max(0, p));
  return { statistic: d, pvalue, method: mode };
}
