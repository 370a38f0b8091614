// Adjusting per-feature p-values when several features are tested in one report, so a report over many
// features does not flag drift by chance (alibi-detect applies Bonferroni across features by default).

function checkPvalues(pvalues: ArrayLike<number>, label: string): void {
  for (let i = 0; i < pvalues.length; i++) {
    const p = pvalues[i] as number;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`${label}: p-value at index ${i} must be in [0, 1] (got ${p})`);
  }
}

/** Bonferroni: p · m, capped at 1 (controls the family-wise error rate). */
export function bonferroni(pvalues: ArrayLike<number>): number[] {
  checkPvalues(pvalues, 'bonferroni');
  const m = pvalues.length;
  return Array.from(pvalues, (p) => Math.min(1, p * m));
}

/**
 * Benjamini–Hochberg step-up adjusted p-values (controls the false discovery rate), as statsmodels'
 * multipletests(method='fdr_bh'): sort ascending, p_(i) · m / i, then a running minimum from the largest
 * p-value down so the adjusted values are monotone, capped at 1, returned in the input order.
 */
export function benjaminiHochberg(pvalues: ArrayLike<number>): number[] {
  checkPvalues(pvalues, 'benjaminiHochberg');
  const m = pvalues.length;
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => (pvalues[a] as number) - (pvalues[b] as number));
  const adjusted = new Array<number>(m);
  let running = 1;
  for (let rank = m; rank >= 1; rank--) {
    const idx = order[rank - 1] as number;
    running = Math.min(running, ((pvalues[idx] as number) * m) / rank);
    adjusted[idx] = running;
  }
  return adjusted;
}
