// Population Stability Index, the classic credit-scoring reading:
//   PSI = Σ_bins (cur − ref) · ln(cur / ref)
// over bins cut at the reference deciles (or `bins` quantiles). The outer bins are open-ended so current
// values outside the reference range are counted, and empty bins get a small share `eps` so the index stays
// finite (as Evidently fills zeros with 1e-4). Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift,
// > 0.25 major shift.
import { lowerBound, quantileSorted, sortedFiniteSample } from './sample';

export interface PsiOptions {
  /** Number of reference-quantile bins before duplicate edges are merged (default 10: deciles). */
  bins?: number;
  /** Share used in place of an empty bin's 0, for both samples (default 1e-4). */
  eps?: number;
}

export interface PsiBin {
  /** Inclusive lower edge; −Infinity for the first bin. */
  lower: number;
  /** Exclusive upper edge; +Infinity for the last bin. */
  upper: number;
  refShare: number;
  curShare: number;
}

export interface PsiResult {
  value: number;
  bins: PsiBin[];
}

/** Interior bin edges at the reference quantiles i/bins, duplicates removed (ties in the reference). */
export function referenceQuantileEdges(sortedReference: Float64Array, bins: number): number[] {
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const e = quantileSorted(sortedReference, i / bins);
    if (edges.length === 0 || e > (edges[edges.length - 1] as number)) edges.push(e);
  }
  return edges;
}

/** Counts per bin [e_{i−1}, e_i) of a sorted sample, with open outer bins, for interior edges e. */
function countBins(sorted: Float64Array, edges: number[]): number[] {
  const counts: number[] = [];
  let prev = 0;
  for (const e of edges) {
    const below = lowerBound(sorted, e);
    counts.push(below - prev);
    prev = below;
  }
  counts.push(sorted.length - prev);
  return counts;
}

export function psi(reference: ArrayLike<number>, current: ArrayLike<number>, opts: PsiOptions = {}): PsiResult {
  checkOptions(opts);
  return psiSorted(sortedFiniteSample(reference, 'psi: reference'), sortedFiniteSample(current, 'psi: current'), opts);
}

function checkOptions(opts: PsiOptions): void {
  const nBins = opts.bins ?? 10;
  const eps = opts.eps ?? 1e-4;
  if (!Number.isInteger(nBins) || nBins < 1) throw new RangeError(`psi: bins must be a positive integer (got ${nBins})`);
  if (!(eps > 0 && eps < 1)) throw new RangeError(`psi: eps must be in (0, 1) (got ${eps})`);
}

/** psi on non-empty samples already sorted ascending with only finite values. */
export function psiSorted(ref: Float64Array, cur: Float64Array, opts: PsiOptions = {}): PsiResult {
  checkOptions(opts);
  if (ref.length === 0 || cur.length === 0) throw new RangeError('psi: samples must be non-empty');
  const nBins = opts.bins ?? 10;
  const eps = opts.eps ?? 1e-4;

  const edges = referenceQuantileEdges(ref, nBins);
  const refCounts = countBins(ref, edges);
  const curCounts = countBins(cur, edges);

  const bins: PsiBin[] = [];
  let value = 0;
  for (let i = 0; i < refCounts.length; i++) {
    const r = (refCounts[i] as number) / ref.length || eps;
    const c = (curCounts[i] as number) / cur.length || eps;
    value += (c - r) * Math.log(c / r);
    bins.push({
      lower: i === 0 ? -Infinity : (edges[i - 1] as number),
      upper: i === edges.length ? Infinity : (edges[i] as number),
      refShare: r,
      curShare: c,
    });
  }
  return { value, bins };
}
