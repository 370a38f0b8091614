// First Wasserstein (earth mover's) distance between two 1-D empirical distributions,
//   W1(u, v) = ∫ |F_u(x) − F_v(x)| dx,
// as scipy.stats.wasserstein_distance with unit weights, and Evidently's normed variant that divides by
// the reference's population standard deviation (floored at 0.001) so one threshold (0.1) fits any scale.
import { meanAndStd, sortedFiniteSample } from './sample';

/** W1 between sorted samples: one merge pass over the pooled values, integrating the ECDF gap. */
export function wassersteinSorted(u: Float64Array, v: Float64Array): number {
  const nu = u.length;
  const nv = v.length;
  let i = 0;
  let j = 0;
  let total = 0;
  let x = Math.min(u[0] as number, v[0] as number);
  while (i < nu || j < nv) {
    while (i < nu && (u[i] as number) <= x) i++;
    while (j < nv && (v[j] as number) <= x) j++;
    if (i === nu && j === nv) break;
    const next = Math.min(i < nu ? (u[i] as number) : Infinity, j < nv ? (v[j] as number) : Infinity);
    total += Math.abs(i / nu - j / nv) * (next - x);
    x = next;
  }
  return total;
}

/** scipy.stats.wasserstein_distance(u, v) with unit weights. */
export function wassersteinDistance(u: ArrayLike<number>, v: ArrayLike<number>): number {
  return wassersteinSorted(sortedFiniteSample(u, 'wasserstein: first sample'), sortedFiniteSample(v, 'wasserstein: second sample'));
}

export interface WassersteinNormedResult {
  /** distance / max(referenceStd, 0.001) — the drift score (drift when ≥ 0.1 by default). */
  value: number;
  distance: number;
  /** Population standard deviation of the reference (ddof = 0), before the floor is applied. */
  referenceStd: number;
}

/** Evidently's `wasserstein` stattest: W1 normalised by the reference's population std (floor 0.001). */
export function wassersteinNormed(reference: ArrayLike<number>, current: ArrayLike<number>): WassersteinNormedResult {
  return wassersteinNormedSorted(
    sortedFiniteSample(reference, 'wasserstein: reference'),
    sortedFiniteSample(current, 'wasserstein: current'),
  );
}

/** wassersteinNormed on non-empty samples already sorted ascending with only finite values. */
export function wassersteinNormedSorted(ref: Float64Array, cur: Float64Array): WassersteinNormedResult {
  if (ref.length === 0 || cur.length === 0) throw new RangeError('wasserstein: samples must be non-empty');
  const distance = wassersteinSorted(ref, cur);
  const referenceStd = meanAndStd(ref).std;
  return { value: distance / Math.max(referenceStd, 0.001), distance, referenceStd };
}
