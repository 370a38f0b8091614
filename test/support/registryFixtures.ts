/** Small, valid inputs for ModelRegistry.register in tests (the bytes are not a real ONNX model). */
import type { ModelCard } from '../../core/card';
import type { RegisterInput } from '../../core/registry';
import { FEATURES, TARGET } from '../../core/schema';

export function sampleCard(name: string, label = 'sample'): Omit<ModelCard, 'version'> {
  return {
    name,
    createdAt: new Date().toISOString(),
    framework: 'test',
    features: FEATURES,
    target: TARGET,
    params: { label },
    metrics: { test: { n: 10, r2: 0.9, rmse: 1.5, mae: 1.1, mape: 0.05, mapeExcluded: 0 } },
    featureImportances: { year: 0.5, gdp: 0.5 },
    data: { uri: 'memory://test', sha256: '0'.repeat(64), synthetic: true, rows: 10, usedRows: 10, excluded: {} },
    lineage: { gitCommit: null, trainer: 'test', nodeVersion: process.version },
    timings: { trainMs: 1 },
    tags: { origin: 'fixture' },
  };
}

/** A registration whose model bytes and reference carry `label`, so tests can tell registrations apart. */
export function sampleInput(name: string, label = 'sample', tags?: Record<string, string>): RegisterInput {
  return {
    onnx: new TextEncoder().encode(`onnx bytes of ${label}`),
    card: sampleCard(name, label),
    reference: { label, quantiles: [0, 0.5, 1] },
    cardMarkdown: (card) => `# ${card.name} v${card.version}\n\nlabel: ${label}\n`,
    ...(tags ? { tags } : {}),
  };
}
