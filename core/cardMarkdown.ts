import type { ModelCard, RegressionMetrics } from './card';
import type { ReferenceProfile } from './profile';

const fmt = (v: number | null | undefined, digits = 4): string =>
  v === null || v === undefined || Number.isNaN(v) ? '–' : Math.abs(v) >= 1e6 ? v.toExponential(3) : Number(v.toFixed(digits)).toString();

function metricsTable(metrics: Record<string, RegressionMetrics>): string[] {
  const lines = ['| evaluation | n | R² | RMSE | MAE | MAPE % | MAPE rows excluded (target 0) |', '|---|---:|---:|---:|---:|---:|---:|'];
  for (const [name, m] of Object.entries(metrics)) {
    lines.push(`| ${name} | ${m.n} | ${fmt(m.r2)} | ${fmt(m.rmse)} | ${fmt(m.mae)} | ${fmt(m.mape, 2)} | ${m.mapeExcluded} |`);
  }
  return lines;
}

/** The auto-generated model documentation (`card.md`) of one version. */
export function renderModelCard(card: ModelCard, reference?: ReferenceProfile): string {
  const out: string[] = [];
  out.push(`# ${card.name} — version ${card.version}`, '');
  if (card.data.synthetic) {
    out.push('> **Trained on SYNTHETIC data** — generated for demos and tests; not fit for real decisions.', '');
  }
  out.push(
    `Regression of \`${card.target}\` (% of primary energy from renewables) from ${card.features.length} OWID features, `,
    `trained with ${card.framework}; served as ONNX \`TreeEnsembleRegressor\` with float32 input \`[N, ${card.features.length}]\` in this column order:`,
    '',
    ...card.features.map((f, i) => `${i + 1}. \`${f}\``),
    '',
    '## Metrics',
    '',
    ...metricsTable(card.metrics),
    '',
    '## Feature importance (gain share)',
    '',
    '| feature | importance |',
    '|---|---:|',
    ...Object.entries(card.featureImportances)
      .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
      .map(([f, v]) => `| ${f} | ${fmt(v, 4)} |`),
    '',
    '## Parameters',
    '',
    '| parameter | value |',
    '|---|---|',
    ...Object.entries(card.params).map(([k, v]) => `| ${k} | \`${JSON.stringify(v)}\` |`),
    '',
    '## Data and lineage',
    '',
    `- Source: \`${card.data.uri}\`${card.data.synthetic ? ' (synthetic)' : ''}`,
    `- SHA-256: \`${card.data.sha256}\``,
    `- Rows read: ${card.data.rows}; rows used: ${card.data.usedRows}; left out: ${
      Object.entries(card.data.excluded)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
    `- Created: ${card.createdAt}`,
    `- Git commit: ${card.lineage.gitCommit ?? 'unknown (not built from a git checkout)'}`,
    `- Trainer: ${card.lineage.trainer}; Node ${card.lineage.nodeVersion}`,
    `- Timings (ms): ${Object.entries(card.timings)
      .map(([k, v]) => `${k} ${Math.round(v)}`)
      .join(', ')}`,
  );
  const tags = Object.entries(card.tags);
  out.push('', '## Tags', '', ...(tags.length ? tags.map(([k, v]) => `- \`${k}\`: ${v}`) : ['none at registration']));
  if (reference) {
    out.push(
      '',
      '## Reference data profile',
      '',
      `${reference.rows} rows; ${reference.sampleSize}-row sample kept for drift tests.`,
      '',
      '| column | null rate | mean | std | min | median | max |',
      '|---|---:|---:|---:|---:|---:|---:|',
    );
    const cols = { ...reference.features, prediction: reference.prediction };
    for (const [name, c] of Object.entries(cols)) {
      const median = c.quantiles.values[c.quantiles.probs.indexOf(0.5)];
      out.push(`| ${name} | ${fmt(c.nullRate, 4)} | ${fmt(c.mean)} | ${fmt(c.std)} | ${fmt(c.min)} | ${fmt(median)} | ${fmt(c.max)} |`);
    }
  }
  out.push('');
  return out.join('\n');
}
