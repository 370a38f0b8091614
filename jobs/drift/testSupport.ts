// Small deterministic helpers shared by the drift statistics' tests.

/** numpy.linspace(start, stop, num) with the endpoint included. */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => start + i * step);
}

/** [v] * k in Python. */
export function repeat(v: number, k: number): number[] {
  return new Array<number>(k).fill(v);
}

/** Seeded uniform generator (mulberry32) so sampled test data is reproducible. */
export function uniformRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n standard normal draws by Box–Muller from a seeded uniform generator. */
export function normalSample(n: number, seed: number, mean = 0, sd = 1): Float64Array {
  const u = uniformRng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - u();
    const u2 = u();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = mean + sd * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = mean + sd * r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** |actual − expected| / |expected| (absolute error when expected is 0). */
export function relErr(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}
