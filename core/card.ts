import type { Feature } from './schema';

/** Regression metrics on one evaluation set. MAPE excludes rows whose target is 0 (counted in `mapeExcluded`). */
export interface RegressionMetrics {
  n: number;
  r2: number;
  rmse: number;
  mae: number;
  mape: number | null;
  mapeExcluded: number;
}

/** The immutable description of one registered version (`versions/<n>/card.json`). */
export interface ModelCard {
  name: string;
  version: number;
  createdAt: string;
  framework: string;
  features: readonly Feature[];
  target: string;
  params: Record<string, unknown>;
  metrics: Record<string, RegressionMetrics>;
  featureImportances: Partial<Record<Feature, number>>;
  data: {
    uri: string;
    sha256: string;
    synthetic: boolean;
    rows: number;
    usedRows: number;
    excluded: Record<string, number>;
  };
  lineage: {
    gitCommit: string | null;
    trainer: string;
    nodeVersion: string;
    [key: string]: unknown;
  };
  timings: Record<string, number>;
  /** Tags given at registration; later tags live in `tags.json` beside the card. */
  tags: Record<string, string>;
}
