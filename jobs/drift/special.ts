// Special functions the drift statistics need, written from the textbook formulas.
// Only positive real arguments occur here, so the implementations are restricted to them.

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

// Stirling series coefficients B_{2j} / (2j (2j-1)) for j = 1..8 (Bernoulli numbers B_2..B_16).
const STIRLING = [
  1 / 12,
  -1 / 360,
  1 / 1260,
  -1 / 1680,
  1 / 1188,
  -691 / 360360,
  1 / 156,
  -3617 / 122400,
];

/** Stirling's correction log Γ(x) − [(x − ½)·ln x − x + ½·ln 2π], accurate to double precision for x ≥ 15. */
function stirlingTail(x: number): number {
  const r = 1 / x;
  const r2 = r * r;
  let s = 0;
  for (let j = STIRLING.length - 1; j >= 0; j--) s = s * r2 + (STIRLING[j] as number);
  return s * r;
}

/**
 * ln Γ(x) for x > 0. Arguments below 15 are shifted up with Γ(x) = Γ(x + k) / (x (x+1) … (x+k−1)) so that
 * the truncated Stirling series (error < 1e-17 relative at x ≥ 15) can be used.
 */
export function logGamma(x: number): number {
  if (!(x > 0)) {
    if (Number.isNaN(x)) return NaN;
    throw new RangeError(`logGamma is only implemented for x > 0 (got ${x})`);
  }
  if (x === Infinity) return Infinity;
  let shiftLog = 0;
  let y = x;
  if (y < 15) {
    let prod = 1;
    while (y < 15) {
      prod *= y;
      y += 1;
    }
    shiftLog = Math.log(prod);
  }
  return (y - 0.5) * Math.log(y) - y + HALF_LOG_2PI + stirlingTail(y) - shiftLog;
}

/** ln(n!) for a non-negative integer n. Small n use an exact product to keep full precision. */
export function logFactorial(n: number): number {
  if (n < 2) return 0;
  if (n <= 20) {
    let p = 1;
    for (let i = 2; i <= n; i++) p *= i; // exact in double up to 18!, correctly rounded beyond
    return Math.log(p);
  }
  return logGamma(n + 1);
}

const GAMMA_EPS = 1e-16;
const GAMMA_MAX_ITER = 10_000;
const TINY = 1e-300;

/** e^{−x} x^a / Γ(a), the common prefactor of the series and the continued fraction. */
function gammaPrefactor(a: number, x: number): number {
  return Math.exp(a * Math.log(x) - x - logGamma(a));
}

/** P(a, x) by the power series Σ x^n / (a (a+1) … (a+n)); converges fast for x < a + 1. */
function lowerGammaSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  let ap = a;
  for (let i = 0; i < GAMMA_MAX_ITER; i++) {
    ap += 1;
    term *= x / ap;
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * GAMMA_EPS) break;
  }
  return sum * gammaPrefactor(a, x);
}

/**
 * Q(a, x) by the Legendre continued fraction 1/(x+1−a− 1·(1−a)/(x+3−a− 2·(2−a)/(x+5−a− …))),
 * evaluated with the modified Lentz method; converges fast for x ≥ a + 1.
 */
function upperGammaContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < GAMMA_MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < GAMMA_EPS) break;
  }
  return h * gammaPrefactor(a, x);
}

/** Regularised upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a), a > 0, x ≥ 0. */
export function gammaQ(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x)) return NaN;
  if (!(a > 0)) throw new RangeError(`gammaQ needs a > 0 (got ${a})`);
  if (x < 0) throw new RangeError(`gammaQ needs x >= 0 (got ${x})`);
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  if (x < a + 1) return 1 - lowerGammaSeries(a, x);
  return upperGammaContinuedFraction(a, x);
}

/** Regularised lower incomplete gamma P(a, x) = 1 − Q(a, x), computed on the side that avoids cancellation. */
export function gammaP(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x)) return NaN;
  if (!(a > 0)) throw new RangeError(`gammaP needs a > 0 (got ${a})`);
  if (x < 0) throw new RangeError(`gammaP needs x >= 0 (got ${x})`);
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  if (x < a + 1) return lowerGammaSeries(a, x);
  return 1 - upperGammaContinuedFraction(a, x);
}

/** x · 2^e without overflowing the intermediate power of two (the C library's ldexp). */
export function ldexp(x: number, e: number): number {
  let v = x;
  let k = e;
  while (k > 1000) {
    v *= 2 ** 1000;
    k -= 1000;
    if (!Number.isFinite(v)) return v;
  }
  while (k < -1000) {
    v *= 2 ** -1000;
    k += 1000;
    if (v === 0) return v;
  }
  return v * 2 ** k;
}

/** Round half to even, as numpy's np.round does for scalars. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // rounds .5 up
  if (Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}
