/**
 * `mlops retrain`: trains a candidate version when the monitor's latest decision says so (or when forced), on a
 * fresh window of years, and registers it with tags that say why. It never moves an alias: putting a candidate in
 * front of traffic is `mlops promote`'s job, after its smoke tests and the holdout comparison.
 */
import { loadTable, years, type TrainingTable } from '../core/data';
import { readDecision, type MonitorDecision } from '../core/decision';
import { UserError } from '../core/errors';
import type { GbdtParams } from '../core/model/gbdt';
import { ModelRegistry } from '../core/registry';
import { MODEL_NAME } from '../core/schema';
import { syntheticTable } from '../core/synthetic';
import { runTrain, type TrainResult } from './train';

export type RetrainTrigger = 'drift' | 'forced' | 'performance';

export interface RetrainOptions {
  data: string;
  registry: string;
  model?: string;
  /** A decision JSON URI or a reports root holding `latest-decision.json`. */
  decision?: string;
  force?: boolean;
  /** Train on rows from this year on. */
  fromYear?: number;
  /** Train on the most recent N distinct years of the data (ignored when fromYear is given). */
  windowYears?: number;
  seed?: number;
  params?: Partial<GbdtParams>;
}

export interface RetrainDecisionSummary {
  source_uri: string;
  created_at: string;
  status: MonitorDecision['status'];
  should_retrain: boolean;
  drift_features: string[];
  drift_share: number;
  model_version: number | null;
}

export interface RetrainResult {
  command: 'retrain';
  retrained: boolean;
  reason: string;
  model: string;
  registry: string;
  trigger: RetrainTrigger | null;
  candidate_version?: number;
  decision: RetrainDecisionSummary | null;
  window?: { from_year: number | null; to_year: number | null; rows: number };
  metrics?: TrainResult['metrics'];
  data_sha256?: string;
  tags?: Record<string, string>;
}

function summarise(d: MonitorDecision & { source_uri: string }): RetrainDecisionSummary {
  return {
    source_uri: d.source_uri,
    created_at: d.created_at,
    status: d.status,
    should_retrain: d.should_retrain,
    drift_features: d.drift_features,
    drift_share: d.drift_share,
    model_version: d.model_version,
  };
}

function yearRange(table: TrainingTable): { min: number; max: number; distinct: number[] } {
  const distinct = [...new Set(Array.from(years(table)))].sort((a, b) => a - b);
  return { min: distinct[0]!, max: distinct[distinct.length - 1]!, distinct };
}

export async function runRetrain(options: RetrainOptions): Promise<RetrainResult> {
  const model = options.model ?? MODEL_NAME;
  if (!options.force && !options.decision) {
    throw new UserError('retrain needs --decision <uri> (the monitor decision or reports root) or --force');
  }
  if (options.fromYear !== undefined && options.windowYears !== undefined) {
    throw new UserError('give either --from-year or --window-years, not both');
  }
  const decision = options.decision ? await readDecision(options.decision) : null;
  if (decision && decision.model !== model) {
    throw new UserError(`decision ${decision.source_uri} is about model '${decision.model}', not '${model}'`);
  }
  const base: Omit<RetrainResult, 'retrained' | 'reason' | 'trigger'> = {
    command: 'retrain',
    model,
    registry: options.registry,
    decision: decision ? summarise(decision) : null,
  };

  let trigger: RetrainTrigger;
  if (options.force) {
    trigger = 'forced';
  } else if (decision!.should_retrain) {
    trigger = decision!.status === 'degraded' ? 'performance' : 'drift';
  } else {
    const why = decision!.reasons.length > 0 ? `: ${decision!.reasons.join('; ')}` : '';
    return {
      ...base,
      retrained: false,
      trigger: null,
      reason: `the decision of ${decision!.created_at} (status ${decision!.status}, drift share ${decision!.drift_share.toFixed(3)} vs threshold ${decision!.retrain_share_threshold}) does not ask for retraining${why}`,
    };
  }

  const seed = options.seed ?? 42;
  const table = options.data === 'synthetic' ? syntheticTable({ seed }) : await loadTable(options.data);
  let fromYear = options.fromYear;
  if (options.windowYears !== undefined) {
    const range = yearRange(table);
    const n = Math.min(options.windowYears, range.distinct.length);
    fromYear = range.distinct[range.distinct.length - n]!;
  }

  const tags: Record<string, string> = {
    trigger,
    retrained_at: new Date().toISOString(),
    data_sha256: table.source.sha256,
    data_uri: options.data,
    window_from_year: fromYear === undefined ? 'all' : String(fromYear),
  };
  if (decision) {
    tags.decision_created_at = decision.created_at;
    tags.decision_uri = decision.source_uri;
    tags.decision_status = decision.status;
    tags.drifted_features = decision.drift_features.join(',');
    tags.drift_share = String(decision.drift_share);
    if (decision.model_version !== null) tags.monitored_version = String(decision.model_version);
  }

  const trained = await runTrain({
    data: options.data,
    registry: options.registry,
    model,
    seed,
    table,
    ...(fromYear !== undefined ? { fromYear } : {}),
    ...(options.params ? { params: options.params } : {}),
    tags,
  });

  // Metrics are known only after training: add them as tags of the new version.
  const registry = ModelRegistry.open(options.registry);
  const metricTags: Record<string, string> = {};
  for (const [set, m] of Object.entries(trained.metrics)) {
    metricTags[`metric_${set}_r2`] = String(m.r2);
    metricTags[`metric_${set}_rmse`] = String(m.rmse);
  }
  const finalTags = await registry.setTags(model, trained.version, metricTags);

  return {
    ...base,
    retrained: true,
    trigger,
    reason:
      trigger === 'forced'
        ? 'forced with --force'
        : `decision of ${decision!.created_at}: ${decision!.status}${decision!.drift_features.length ? ` (${decision!.drift_features.join(', ')})` : ''}`,
    candidate_version: trained.version,
    window: { from_year: fromYear ?? null, to_year: null, rows: trained.data.usedRows },
    metrics: trained.metrics,
    data_sha256: trained.data.sha256,
    tags: finalTags,
  };
}

export function describeRetrainResult(r: RetrainResult): string[] {
  if (!r.retrained) return [`no retraining: ${r.reason}`];
  const lines = [
    `registered candidate ${r.model} version ${r.candidate_version} (trigger: ${r.trigger}; ${r.reason}); aliases unchanged`,
    `window: ${r.window?.from_year ?? 'all years'}…, ${r.window?.rows} rows; data sha256 ${r.data_sha256?.slice(0, 12)}…`,
  ];
  for (const [name, m] of Object.entries(r.metrics ?? {})) lines.push(`${name.padEnd(30)} R² ${m.r2.toFixed(4)}  RMSE ${m.rmse.toFixed(3)}  n ${m.n}`);
  lines.push(`next: mlops promote --registry ${r.registry} --candidate ${r.candidate_version} --data <holdout table>`);
  return lines;
}
