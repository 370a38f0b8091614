// Jensen–Shannon distance (the square root of the JS divergence), as scipy.spatial.distance.jensenshannon,
// and Evidently's `jensenshannon` stattest: numeric samples are histogrammed on shared equal-width bins
// over the pooled range (numpy.histogram_bin_edges(pooled, bins)), categorical samples compared by category
// shares; drift when the distance is ≥ 0.1.
import { type Category, categoryCounts, totalCount, unionCategories } from './categories';
import { finiteSample } from './sample';

/** x·ln(x/y) with scipy.special.rel_entr's conventions (0 when x = 0, +∞ when y = 0 < x). */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

/**
 * scipy.spatial.distance.jensenshannon(p, q, base): both vectors are normalised to sum 1, the divergence
 * uses the natural log unless `base` is given, and the distance √(JS/2) is returned.
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>, base?: number): number {
  if (p.length !== q.length) throw new RangeError(`jensenShannonDistance: lengths differ (${p.length} vs ${q.length})`);
  if (p.length === 0) throw new RangeError('jensenShannonDistance: empty vectors');
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] as number;
    const b = q[i] as number;
    if (!(a >= 0) || !(b >= 0) || !Number.isFinite(a) || !Number.isFinite(b)) {
      throw new RangeError(`jensenShannonDistance: entries must be finite and ≥ 0 (index ${i}: ${a}, ${b})`);
    }
    sp += a;
    sq += b;
  }
  if (sp === 0 || sq === 0) throw new RangeError('jensenShannonDistance: a vector sums to 0');
  let left = 0;
  let right = 0;
  for (let i = 0; i < p.length; i++) {
    const a = (p[i] as number) / sp;
    const b = (q[i] as number) / sq;
    const m = (a + b) / 2;
    left += relEntr(a, m);
    right += relEntr(b, m);
  }
  let js = left + right;
  if (base !== undefined) js /= Math.log(base);
  // Rounding can leave a divergence of −1e-17 for identical inputs.
  return Math.sqrt(Math.max(js, 0) / 2);
}

/** numpy.histogram_bin_edges(x, bins) for an integer bin count: equal widths over [min, max]. */
export function histogramBinEdges(min: number, max: number, bins: number): Float64Array {
  let lo = min;
  let hi = max;
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const edges = new Float64Array(bins + 1);
  const step = (hi - lo) / bins;
  for (let i = 0; i <= bins; i++) edges[i] = lo + i * step;
  edges[bins] = hi;
  return edges;
}

/** numpy.histogram counts on given equal-width edges: [e_i, e_{i+1}), the last bin closed. */
export function histogramCounts(x: Float64Array, edges: Float64Array): Float64Array {
  const bins = edges.length - 1;
  const lo = edges[0] as number;
  const hi = edges[bins] as number;
  const counts = new Float64Array(bins);
  const scale = bins / (hi - lo);
  for (let k = 0; k < x.length; k++) {
    const v = x[k] as number;
    if (v < lo || v > hi) continue;
    let i = Math.floor((v - lo) * scale);
    if (i >= bins) i = bins - 1;
    // The scaled index can be off by one next to an edge; the edges themselves decide.
    if (v < (edges[i] as number)) i--;
    else if (i < bins - 1 && v >= (edges[i + 1] as number)) i++;
    counts[i] = (counts[i] as number) + 1;
  }
  return counts;
}

export interface JensenShannonOptions {
  /** Number of shared equal-width bins for numeric samples (default 30, Evidently's). */
  bins?: number;
  /** Compare category shares instead of binning (for categorical columns encoded as numbers or strings). */
  categorical?: boolean;
}

export interface JensenShannonResult {
  value: number;
}

/** Evidently's `jensenshannon` stattest on raw samples. */
export function jensenShannon(
  reference: ArrayLike<number> | ArrayLike<string>,
  current: ArrayLike<number> | ArrayLike<string>,
  opts: JensenShannonOptions = {},
): JensenShannonResult {
  if (reference.length === 0 || current.length === 0) {
    throw new RangeError(`jensenShannon: samples must be non-empty (got sizes ${reference.length} and ${current.length})`);
  }
  const isStrings = typeof reference[0] === 'string' || typeof current[0] === 'string';
  if (opts.categorical || isStrings) {
    const ref = categoryCounts(reference as ArrayLike<Category>);
    const cur = categoryCounts(current as ArrayLike<Category>);
    const keys = unionCategories(ref, cur);
    const nr = totalCount(ref, 'jensenShannon: reference');
    const nc = totalCount(cur, 'jensenShannon: current');
    const p = keys.map((k) => (ref.get(k) ?? 0) / nr);
    const q = keys.map((k) => (cur.get(k) ?? 0) / nc);
    return { value: jensenShannonDistance(p, q) };
  }
  const bins = opts.bins ?? 30;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`jensenShannon: bins must be a positive integer (got ${bins})`);
  const ref = finiteSample(reference as ArrayLike<number>, 'jensenShannon: reference');
  const cur = finiteSample(current as ArrayLike<number>, 'jensenShannon: current');
  let min = Infinity;
  let max = -Infinity;
  for (const s of [ref, cur]) {
    for (let i = 0; i < s.length; i++) {
      const v = s[i] as number;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const edges = histogramBinEdges(min, max, bins);
  const p = histogramCounts(ref, edges).map((c) => c / ref.length);
  const q = histogramCounts(cur, edges).map((c) => c / cur.length);
  return { value: jensenShannonDistance(p, q) };
}
