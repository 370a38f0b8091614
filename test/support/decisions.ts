import type { MonitorDecision } from '../../core/decision';

/** A valid drift decision (2 of 6 features drifted) for tests; override any field. */
export function sampleDecision(overrides: Partial<MonitorDecision> = {}): MonitorDecision {
  return {
    kind: 'monitor_decision',
    schema_version: 1,
    created_at: '2025-03-01T06:00:00.000Z',
    model: 'renewable_energy_predictor',
    alias: 'champion',
    model_version: 3,
    window: { from: '2025-02-22T00:00:00.000Z', to: '2025-03-01T00:00:00.000Z' },
    status: 'drift',
    should_retrain: true,
    drift_count: 2,
    drift_features: ['gdp', 'population'],
    drift_share: 2 / 6,
    retrain_share_threshold: 0.3,
    rows: 5000,
    report_uri: null,
    reasons: ['2 of 6 features drifted (share 0.33 ≥ 0.3)'],
    ...overrides,
  };
}
