// Distribution of the one-sample Kolmogorov–Smirnov statistics, as needed by the two-sample test's
// asymptotic branch (scipy's `kstwo.sf(D, round(n1·n2/(n1+n2)))`).
//
// The two-sided statistic D_n = sup|F_n − F| uses the dispatch of
//   R. Simard, P. L'Ecuyer (2011), "Computing the Two-Sided Kolmogorov-Smirnov Distribution",
//   Journal of Statistical Software 39(11),
// with the same cut-offs as scipy.stats.kstwo (scipy/stats/_ksstats.py, scipy ≥ 1.4), so p-values agree:
//   - Ruben–Gambino closed forms near both ends of the support,
//   - 2·Smirnov (exact one-sided tail, Birnbaum–Tingey) where the two one-sided events cannot overlap,
//   - Durbin's matrix method in the Marsaglia–Tsang–Wang formulation (1968 / 2003),
//   - Pomeranz's recursion (1974),
//   - the Pelz–Good (1976) asymptotic series for large n and small n·x².
import { ldexp, logFactorial } from './special';

const E128 = 128;
const EP128 = 2 ** 128;
const EM128 = 2 ** -128;
const SQRT2PI = Math.sqrt(2 * Math.PI);
const LOG_2PI = Math.log(2 * Math.PI);
const MIN_LOG = -708;
const SQRT3 = Math.sqrt(3);
const PI_SQUARED = Math.PI ** 2;
const PI_FOUR = Math.PI ** 4;
const PI_SIX = Math.PI ** 6;
const LOG_DBL_MIN = -708.3964185322641;

// Bernoulli-number coefficients B_{2j}/(2j)/(2j−1) for j = 8 … 1 (highest power first, for Horner).
const STIRLING_COEFFS = [
  -3617 / 122400, 1 / 156, -691 / 360360, 1 / 1188, -1 / 1680, 1 / 1260, -1 / 360, 1 / 12,
];

function clipProb(p: number): number {
  if (Number.isNaN(p)) return p;
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

function select(cdfProb: number, sfProb: number, cdf: boolean): number {
  return clipProb(cdf ? cdfProb : sfProb);
}

/** log(n! / n^n) by Stirling's series with n·log n removed up front to avoid cancellation. */
function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  const r2 = rn / n;
  for (const c of STIRLING_COEFFS) poly = poly * r2 + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/**
 * One-sided Smirnov survival function Pr(D_n⁺ ≥ x), exact, by the Birnbaum–Tingey (1951) sum
 *   x · Σ_{j=0}^{⌊n(1−x)⌋} C(n, j) (x + j/n)^{j−1} (1 − x − j/n)^{n−j}.
 * All terms are positive, so they are summed in log space relative to the largest one (no cancellation,
 * no overflow for any n). Same quantity as scipy.special.smirnov.
 */
export function smirnovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  const jmax = Math.floor(n * (1 - x));
  const logTerms = new Float64Array(jmax + 1);
  const logNFact = logFactorial(n);
  let maxLog = -Infinity;
  for (let j = 0; j <= jmax; j++) {
    const evn = x + j / n;
    const omevn = (n - j) / n - x;
    // j ≤ ⌊n(1−x)⌋ < n, so n − j ≥ 1 and a non-positive 1 − x − j/n (rounding at the last j) means a zero term.
    const t =
      omevn <= 0
        ? -Infinity
        : logNFact - logFactorial(j) - logFactorial(n - j) + (j - 1) * Math.log(evn) + (n - j) * Math.log(omevn);
    logTerms[j] = t;
    if (t > maxLog) maxLog = t;
  }
  if (maxLog === -Infinity) return 0;
  let sum = 0;
  for (let j = 0; j <= jmax; j++) {
    const d = (logTerms[j] as number) - maxLog;
    if (d > -745) sum += Math.exp(d);
  }
  const logP = Math.log(x) + maxLog + Math.log(sum);
  if (logP < LOG_DBL_MIN - 40) return 0;
  return clipProb(Math.exp(logP));
}

/** Square matrix product of m×m row-major matrices. */
function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const rowOut = i * m;
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k] as number;
      if (aik === 0) continue;
      const rowB = k * m;
      for (let j = 0; j < m; j++) out[rowOut + j] = (out[rowOut + j] as number) + aik * (b[rowB + j] as number);
    }
  }
  return out;
}

/**
 * Pr(D_n ≤ d) by Durbin's matrix method as organised by Marsaglia, Tsang & Wang (2003):
 * write d = (k − h)/n, build the (2k−1)² matrix H and take the (k,k) entry of (n!/n^n)·H^n, with explicit
 * power-of-two rescaling so neither H^n nor n!/n^n leaves the double range.
 */
export function kolmogornDurbin(n: number, d: number, cdf = true): number {
  if (d >= 1) return select(1, 0, cdf);
  const nd = n * d;
  if (nd <= 0.5) return select(0, 1, cdf);
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;

  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;

  let H: Float64Array = new Float64Array(m * m);
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1] as number;
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r] as number;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c] as number;

  let Hpwr: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) Hpwr[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let hExpnt = 0;
  const kk = (k - 1) * m + (k - 1);
  while (nn > 0) {
    if (nn % 2) {
      Hpwr = matmul(Hpwr, H, m);
      expnt += hExpnt;
    }
    H = matmul(H, H, m);
    hExpnt *= 2;
    if (Math.abs(H[kk] as number) > EP128) {
      for (let i = 0; i < H.length; i++) H[i] = (H[i] as number) / EP128;
      hExpnt += E128;
    }
    nn = Math.floor(nn / 2);
  }

  let p = Hpwr[kk] as number;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= EP128;
      expnt -= E128;
    }
  }
  if (expnt !== 0) p = ldexp(p, expnt);
  return select(p, 1 - p, cdf);
}

function pomeranzJ1J2(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/**
 * Pr(D_n ≤ x) by Pomeranz's (1974) recursion: each row of the n×(2n+2) table is the previous row
 * convolved with one of three truncated Poisson weight vectors; only the non-zero window of two rows is
 * kept, rescaled by powers of two against underflow; the answer is n! times the last entry.
 */
export function kolmogornPomeranz(n: number, x: number, cdf = true): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = ((gpower[m - 1] as number) * gOverN) / m;
    twogpower[m] = ((twogpower[m - 1] as number) * twoGOverN) / m;
    onem2gpower[m] = ((onem2gpower[m - 1] as number) * oneMinusTwoGOverN) / m;
  }

  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let [j1, j2] = pomeranzJ1J2(0, n, ll, ceilf, roundf);
  const conv = new Float64Array(2 * npwrs);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // Full convolution of V0[k1−V0s … k1−V0s+ln2) with pwrs[0 … ln2), both truncated at the array end.
      const aStart = k1 - V0s;
      if (aStart < 0) throw new Error('kolmogornPomeranz: window start before row start');
      const aLen = Math.max(0, Math.min(ln2, npwrs - aStart));
      const bLen = Math.min(ln2, npwrs);
      const convLen = aLen + bLen - 1;
      const convStart = j1 - k1;
      const useLen = j2 - j1 + 1;
      for (let c = convStart; c < convStart + useLen && c < convLen; c++) {
        let s = 0;
        const lo = Math.max(0, c - bLen + 1);
        const hi = Math.min(c, aLen - 1);
        for (let a = lo; a <= hi; a++) s += (V0[aStart + a] as number) * (pwrs[c - a] as number);
        conv[c - convStart] = s;
      }
      let maxV = -Infinity;
      for (let c = 0; c < useLen; c++) {
        const val = convStart + c < convLen ? (conv[c] as number) : 0;
        V1[c] = val;
        if (val > maxV) maxV = val;
      }
      if (maxV > 0 && maxV < EM128) {
        for (let c = 0; c < npwrs; c++) V1[c] = (V1[c] as number) * EP128;
        expnt -= E128;
      }
      V1s = V0s + j1 - k1;
    }
  }

  let ans = V1[n - V1s] as number;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > EP128) {
      ans *= EM128;
      expnt += E128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans = ldexp(ans, expnt);
  return select(ans, 1 - ans, cdf);
}

/**
 * Pelz–Good (1976) approximation of Pr(D_n ≤ x): the Li-Chien/Korolyuk expansion
 * K0(z) + K1(z)/√n + K2(z)/n + K3(z)/n^{3/2}, z = x√n, with each K_i rewritten through the Jacobi theta
 * functional equation into rapidly converging sums in q = exp(−π²/(8z²)).
 */
export function kolmogornPelzGood(n: number, x: number, cdf = true): number {
  if (x <= 0) return select(0, 1, cdf);
  if (x >= 1) return select(1, 0, cdf);
  const z = Math.sqrt(n) * x;
  const z2 = z ** 2;
  const z3 = z ** 3;
  const z4 = z ** 4;
  const z6 = z ** 6;
  const qlog = -PI_SQUARED / 8 / z2;
  if (qlog < MIN_LOG) return select(0, 1, cdf);
  let q = Math.exp(qlog);

  const k1a = -z2;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * z2)) / 16;
  const k3d = (PI_SIX * (5 - 30 * z2)) / 64;
  const k3c = (PI_FOUR * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI_SQUARED * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;

  // Horner scheme over odd m = 2k−1: successive exponents m² differ by 8k.
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m ** 2;
    const m4 = m ** 4;
    const m6 = m ** 6;
    const qpower = q ** (8 * k);
    const c0 = 1;
    const c1 = k1a + k1b * m2;
    const c2 = k2a + k2b * m2 + k2c * m4;
    const c3 = k3a + k3b * m2 + k3c * m4 + k3d * m6;
    K[0] = (K[0] as number) * qpower + c0;
    K[1] = (K[1] as number) * qpower + c1;
    K[2] = (K[2] as number) * qpower + c2;
    K[3] = (K[3] as number) * qpower + c3;
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (((K[i] as number) * q) * SQRT2PI) / (divisors[i] as number);

  // The remaining sums over all positive integers k in q' = exp(−π²/(2z²)).
  q = Math.exp(-PI_SQUARED / 2 / z2);
  const sqrt3z = SQRT3 * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k > 0; k--) {
    const ksq = k ** 2;
    const kspi = Math.PI * k;
    const qp = q ** ksq;
    k2extra += ksq * qp;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
  }
  k2extra *= (PI_SQUARED * SQRT2PI) / (-36 * z3);
  K[2] = (K[2] as number) + k2extra;
  k3extra *= (PI_SQUARED * SQRT2PI) / (216 * z6);
  K[3] = (K[3] as number) + k3extra;
  for (let i = 0; i < 4; i++) K[i] = (K[i] as number) / n ** (i / 2);

  if (!cdf) {
    for (let i = 0; i < 4; i++) K[i] = -(K[i] as number);
    K[0] = (K[0] as number) + 1;
  }
  return (K[0] as number) + (K[1] as number) + (K[2] as number) + (K[3] as number);
}

/** Pr(D_n ≤ x) (cdf = true) or Pr(D_n > x) for the two-sided one-sample KS statistic; Simard–L'Ecuyer dispatch. */
export function kolmogorovN(n: number, x: number, cdf = true): number {
  if (Number.isNaN(n) || Number.isNaN(x)) return NaN;
  if (!Number.isInteger(n) || n <= 0) return NaN;
  if (x >= 1) return select(1, 0, cdf);
  if (x <= 0) return select(0, 1, cdf);
  const t = n * x;
  if (t <= 1) {
    // Ruben–Gambino: for 1/(2n) ≤ x ≤ 1/n, Pr(D_n ≤ x) = n!/n^n · (2t − 1)^n.
    if (t <= 0.5) return select(0, 1, cdf);
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return select(prob, 1 - prob, cdf);
  }
  if (t >= n - 1) {
    // Ruben–Gambino: for x ≥ 1 − 1/n, Pr(D_n > x) = 2(1 − x)^n.
    const prob = 2 * (1 - x) ** n;
    return select(1 - prob, prob, cdf);
  }
  if (x >= 0.5) {
    // The one-sided events D⁺ ≥ x and D⁻ ≥ x are disjoint here, so the tail is exactly twice Smirnov's.
    const prob = 2 * smirnovSf(n, x);
    return select(1 - prob, prob, cdf);
  }
  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) {
      const prob = kolmogornDurbin(n, x, true);
      return select(prob, 1 - prob, cdf);
    }
    if (nxsquared <= 4) {
      const prob = kolmogornPomeranz(n, x, true);
      return select(prob, 1 - prob, cdf);
    }
    // Miller's approximation: 2·Smirnov, the overlap term is negligible this far in the tail.
    const prob = 2 * smirnovSf(n, x);
    return select(1 - prob, prob, cdf);
  }
  // The CDF and the SF have different cut-offs on n·x².
  if (!cdf) {
    if (nxsquared >= 370) return 0;
    if (nxsquared >= 2.2) return clipProb(2 * smirnovSf(n, x));
  }
  let cdfProb: number;
  if (nxsquared >= 18) cdfProb = 1;
  else if (n <= 100_000 && n * x ** 1.5 <= 1.4) cdfProb = kolmogornDurbin(n, x, true);
  else cdfProb = kolmogornPelzGood(n, x, true);
  return select(cdfProb, 1 - cdfProb, cdf);
}

/** scipy.stats.kstwo.cdf(x, n): support [1/(2n), 1]. */
export function kstwoCdf(x: number, n: number): number {
  if (!Number.isInteger(n) || n < 1 || Number.isNaN(x)) return NaN;
  if (x <= 0.5 / n) return 0;
  if (x >= 1) return 1;
  return kolmogorovN(n, x, true);
}

/** scipy.stats.kstwo.sf(x, n): Pr(D_n > x) for the two-sided one-sample KS statistic. */
export function kstwoSf(x: number, n: number): number {
  if (!Number.isInteger(n) || n < 1 || Number.isNaN(x)) return NaN;
  if (x <= 0.5 / n) return 1;
  if (x >= 1) return 0;
  return kolmogorovN(n, x, false);
}
