import type { RegressionMetrics } from './card';

/**
 * R², RMSE, MAE and MAPE (in percent). MAPE leaves out rows whose true value is 0 — a share of 0 % would make
 * it infinite — and reports how many were left out; it is null when every row was.
 */
export function regressionMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionMetrics {
  const n = yTrue.length;
  if (n !== yPred.length) throw new RangeError(`yTrue has ${n} values but yPred has ${yPred.length}`);
  if (n === 0) throw new RangeError('cannot compute metrics on zero rows');
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i] as number;
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  let absSum = 0;
  let apeSum = 0;
  let apeN = 0;
  for (let i = 0; i < n; i++) {
    const t = yTrue[i] as number;
    const e = t - (yPred[i] as number);
    ssRes += e * e;
    ssTot += (t - mean) * (t - mean);
    absSum += Math.abs(e);
    if (t !== 0) {
      apeSum += Math.abs(e / t);
      apeN++;
    }
  }
  // As scikit-learn: a constant target gives R² 1 for a perfect fit and 0 otherwise.
  const r2 = ssTot === 0 ? (ssRes === 0 ? 1 : 0) : 1 - ssRes / ssTot;
  return {
    n,
    r2,
    rmse: Math.sqrt(ssRes / n),
    mae: absSum / n,
    mape: apeN > 0 ? (100 * apeSum) / apeN : null,
    mapeExcluded: n - apeN,
  };
}
