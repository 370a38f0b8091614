/**
 * A small seeded pseudo-random generator shared by training, splitting and synthetic data.
 *
 * xoshiro128** (Blackman & Vigna) seeded through splitmix32: 32-bit integer arithmetic only, so the
 * stream is identical on every platform and Node version. Not for cryptography.
 */

/** Anything indexable and writable: plain arrays and typed arrays. */
export interface MutableArrayLike {
  length: number;
  [index: number]: unknown;
}

export interface Rng {
  /** Uniform float in [0, 1) with 53 random bits. */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform integer in [0, n) without modulo bias; n must be a positive safe integer ≤ 2^32. */
  nextInt(n: number): number;
  /** Standard normal deviate (Box–Muller). */
  normal(): number;
  /** Fisher–Yates shuffle of `items` in place; returns the same array. */
  shuffle<A extends MutableArrayLike>(items: A): A;
  /** `k` distinct indices drawn uniformly from [0, n), in the order drawn. */
  sample(n: number, k: number): Uint32Array;
  /** A permutation of 0..n-1. */
  permutation(n: number): Uint32Array;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * The raw xoshiro128** generator from a 128-bit state (four uint32 words, not all zero); returns a
 * function yielding successive uint32 outputs. Exposed for reference test vectors.
 */
export function xoshiro128ss(state: readonly [number, number, number, number]): () => number {
  let [s0, s1, s2, s3] = state.map((w) => w >>> 0) as [number, number, number, number];
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 = (s2 ^ s0) >>> 0;
    s3 = (s3 ^ s1) >>> 0;
    s1 = (s1 ^ s2) >>> 0;
    s0 = (s0 ^ s3) >>> 0;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    return result;
  };
}

/**
 * Create a generator from an integer seed. Seeds are integers in the safe range; both the low and the
 * high 32 bits take part, so 1 and 2^32 + 1 give different streams.
 */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`seed must be a safe integer, got ${String(seed)}`);
  }
  const low = seed >>> 0;
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  const mix = splitmix32(low ^ Math.imul(high, 0x632be5ab));
  const nextUint32 = xoshiro128ss([mix(), mix(), mix(), mix()]);

  const next = (): number => {
    const hi = nextUint32() >>> 6; // 26 bits
    const lo = nextUint32() >>> 5; // 27 bits
    return (hi * 134217728 + lo) / 9007199254740992;
  };

  const nextInt = (n: number): number => {
    if (!Number.isSafeInteger(n) || n <= 0 || n > 2 ** 32) {
      throw new RangeError(`nextInt bound must be an integer in [1, 2^32], got ${String(n)}`);
    }
    // Rejection sampling: accept only draws below the largest multiple of n.
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const r = nextUint32();
      if (r < limit) return r % n;
    }
  };

  let spareNormal: number | null = null;
  const normal = (): number => {
    if (spareNormal !== null) {
      const v = spareNormal;
      spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = next();
    const v = next();
    const radius = Math.sqrt(-2 * Math.log(u));
    spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  };

  const shuffle = <A extends MutableArrayLike>(items: A): A => {
    for (let i = items.length - 1; i > 0; i--) {
      const j = nextInt(i + 1);
      const tmp = items[i] as A[number];
      items[i] = items[j] as A[number];
      items[j] = tmp;
    }
    return items;
  };

  const permutation = (n: number): Uint32Array => {
    checkCount('n', n);
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    return shuffle(out);
  };

  const sample = (n: number, k: number): Uint32Array => {
    checkCount('n', n);
    checkCount('k', k);
    if (k > n) throw new RangeError(`cannot sample ${k} distinct items from ${n}`);
    // Partial Fisher–Yates over a full index array: O(n) memory, O(k) swaps.
    const pool = new Uint32Array(n);
    for (let i = 0; i < n; i++) pool[i] = i;
    for (let i = 0; i < k; i++) {
      const j = i + nextInt(n - i);
      const tmp = pool[i] as number;
      pool[i] = pool[j] as number;
      pool[j] = tmp;
    }
    return pool.slice(0, k);
  };

  return { next, nextUint32, nextInt, normal, shuffle, sample, permutation };
}

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
}
