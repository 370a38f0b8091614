/**
 * `mlops promote`: validates a candidate version and moves registry aliases.
 *
 * 1. Smoke tests on the candidate: it loads in onnxruntime with the schema's input/output, declares the schema's
 *    features (and the champion's), reproduces the golden rows of its own reference profile with finite outputs,
 *    and scores a batch within the latency budget. A failure is a PolicyFailure (exit 3).
 * 2. Candidate and champion are scored ON THE SAME HOLDOUT ROWS (`--data`), never compared through metrics that
 *    were computed on different test sets. Promote when R² improves by ≥ min_r2_improvement or RMSE drops by more
 *    than min_rmse_drop. Without a champion a passing candidate becomes champion.
 * 3. Aliases move in one compare-and-swap (`champion` → candidate, old champion → `previous`; or `challenger` →
 *    candidate). `--rollback` restores `previous` as champion and marks the demoted version `rolled_back`.
 * Every decision is tagged on the version, appended to the registry's audit log and sent to the webhook.
 * A rejection is a normal outcome (exit 0, `promoted: false`).
 */
import { loadTable, toFloat32 } from '../core/data';
import { appendAudit } from '../core/audit';
import type { RegressionMetrics } from '../core/card';
import { UserError } from '../core/errors';
import { regressionMetrics } from '../core/metrics';
import { readOnnxMetadata } from '../core/model/onnx';
import { OnnxModel } from '../core/model/runtime';
import type { ReferenceProfile } from '../core/profile';
import { ModelRegistry, type Aliases } from '../core/registry';
import { FEATURES, MODEL_NAME, N_FEATURES } from '../core/schema';
import { syntheticTable } from '../core/synthetic';
import { notify, type NotifyOptions, type NotifyResult } from './alerts';
import { PolicyFailure } from './cliSupport';

export type PromotionStage = 'challenger' | 'champion';

export interface PromoteOptions {
  registry: string;
  model?: string;
  /** Required unless `rollback`. */
  candidate?: number;
  stage?: PromotionStage;
  rollback?: boolean;
  /** Holdout table (CSV/Parquet URI or 'synthetic'); required when a champion exists. */
  data?: string;
  minR2Improvement?: number;
  minRmseDrop?: number;
  /** Budget for scoring `latencyBatchRows` rows once (median of several runs); unchecked when absent. */
  latencyBudgetMs?: number;
  latencyBatchRows?: number;
  /** Allowed |difference| between the candidate's output and its recorded golden predictions. */
  goldenTolerance?: number;
  alert?: NotifyOptions;
}

export interface SmokeTest {
  name: string;
  passed: boolean;
  detail: string;
}

export interface Comparison {
  holdout: { uri: string; sha256: string; rows: number };
  candidate: RegressionMetrics;
  champion: RegressionMetrics | null;
  r2_improvement: number | null;
  rmse_drop: number | null;
  thresholds: { min_r2_improvement: number; min_rmse_drop: number };
}

export interface PromoteResult {
  command: 'promote';
  action: 'promote' | 'rollback';
  model: string;
  registry: string;
  candidate_version: number | null;
  stage: PromotionStage | null;
  promoted: boolean;
  decision: 'promoted' | 'rejected' | 'smoke_failed' | 'rolled_back';
  reasons: string[];
  champion_version: number | null;
  smoke_tests: SmokeTest[];
  latency: { batch_rows: number; median_ms: number } | null;
  comparison: Comparison | null;
  aliases_before: Aliases;
  aliases_after: Aliases;
  audit_uri: string;
  alert: NotifyResult;
}

const DEFAULTS = { minR2Improvement: 0.01, minRmseDrop: 0.5, latencyBatchRows: 1_000, goldenTolerance: 1e-4 };

function modelStorageUri(registry: ModelRegistry, model: string): string {
  return `${registry.uri.replace(/\/+$/, '')}/${model}`;
}

async function medianLatencyMs(model: OnnxModel, rows: Float32Array, runs = 5): Promise<number> {
  await model.predict(rows); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await model.predict(rows);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Runs the smoke tests; the loaded model is returned for the comparison when it loaded. */
async function smokeTests(
  registry: ModelRegistry,
  model: string,
  version: number,
  champion: number | null,
  options: Required<Pick<PromoteOptions, 'latencyBatchRows' | 'goldenTolerance'>> & { latencyBudgetMs?: number },
): Promise<{ tests: SmokeTest[]; session: OnnxModel | null; latency: PromoteResult['latency'] }> {
  const tests: SmokeTest[] = [];
  const bytes = await registry.getModelBytes(model, version);
  let session: OnnxModel | null = null;
  try {
    session = await OnnxModel.load(bytes);
    tests.push({ name: 'loads', passed: true, detail: 'onnxruntime loaded it with input "input" and output "variable"' });
  } catch (err) {
    tests.push({ name: 'loads', passed: false, detail: (err as Error).message });
    return { tests, session: null, latency: null };
  }

  let meta: Record<string, string> = {};
  try {
    meta = readOnnxMetadata(bytes);
  } catch (err) {
    tests.push({ name: 'input_schema', passed: false, detail: (err as Error).message });
  }
  const expected = FEATURES.join(',');
  if (meta.feature_names !== expected) {
    tests.push({ name: 'input_schema', passed: false, detail: `feature_names metadata is '${meta.feature_names ?? '(absent)'}', expected '${expected}'` });
  } else if (champion !== null) {
    const championMeta = readOnnxMetadata(await registry.getModelBytes(model, champion));
    const same = championMeta.feature_names === meta.feature_names && (championMeta.target ?? '') === (meta.target ?? '');
    tests.push({
      name: 'input_schema',
      passed: same,
      detail: same
        ? `same features and target as champion version ${champion}`
        : `champion version ${champion} has features '${championMeta.feature_names}' / target '${championMeta.target}', candidate '${meta.feature_names}' / '${meta.target}'`,
    });
  } else {
    tests.push({ name: 'input_schema', passed: true, detail: 'features follow the schema (no champion to compare with)' });
  }

  const reference = await registry.getReference<ReferenceProfile>(model, version);
  const golden = reference.goldenRows;
  if (!golden || golden.features.length === 0) {
    tests.push({ name: 'golden_rows', passed: false, detail: 'the reference profile has no golden rows' });
  } else {
    const got = await session.predict(golden.features);
    let worst = 0;
    let nonFinite = 0;
    for (let i = 0; i < golden.predictions.length; i++) {
      if (!Number.isFinite(got[i]!)) nonFinite++;
      else worst = Math.max(worst, Math.abs(got[i]! - golden.predictions[i]!));
    }
    tests.push({
      name: 'finite_outputs',
      passed: nonFinite === 0 && got.length === golden.predictions.length,
      detail: `${got.length} outputs for ${golden.predictions.length} golden rows, ${nonFinite} not finite`,
    });
    tests.push({
      name: 'golden_rows',
      passed: nonFinite === 0 && worst <= options.goldenTolerance,
      detail: `max |difference| to the recorded predictions ${worst.toExponential(2)} (tolerance ${options.goldenTolerance})`,
    });
  }

  let latency: PromoteResult['latency'] = null;
  if (golden && golden.features.length > 0) {
    const rows = new Float32Array(options.latencyBatchRows * N_FEATURES);
    for (let i = 0; i < options.latencyBatchRows; i++) rows.set(golden.features[i % golden.features.length]!, i * N_FEATURES);
    const median = await medianLatencyMs(session, rows);
    latency = { batch_rows: options.latencyBatchRows, median_ms: median };
    if (options.latencyBudgetMs !== undefined) {
      tests.push({
        name: 'latency',
        passed: median <= options.latencyBudgetMs,
        detail: `median ${median.toFixed(3)} ms for ${options.latencyBatchRows} rows (budget ${options.latencyBudgetMs} ms)`,
      });
    }
  }
  return { tests, session, latency };
}

async function scoreHoldout(model: OnnxModel, X32: Float32Array, y: Float64Array): Promise<RegressionMetrics> {
  return regressionMetrics(y, await model.predict(X32));
}

function tagValue(value: string): string {
  return value.length <= 1000 ? value : value.slice(0, 999) + '…';
}

export async function runPromote(options: PromoteOptions): Promise<PromoteResult> {
  const model = options.model ?? MODEL_NAME;
  const registry = ModelRegistry.open(options.registry);
  await registry.check();
  if (options.rollback) return rollback(registry, model, options);

  if (options.candidate === undefined) throw new UserError('promote needs --candidate <version> (or --rollback)');
  const candidate = await registry.resolve(model, options.candidate);
  const requestedStage = options.stage ?? 'champion';
  const minR2Improvement = options.minR2Improvement ?? DEFAULTS.minR2Improvement;
  const minRmseDrop = options.minRmseDrop ?? DEFAULTS.minRmseDrop;
  const aliasesBefore = await registry.getAliases(model);
  const champion = aliasesBefore.champion ?? null;
  if (champion === candidate) throw new UserError(`version ${candidate} of '${model}' is already the champion`);
  if (champion !== null && !options.data) {
    throw new UserError(
      `promote needs --data <holdout table> to compare candidate ${candidate} with champion ${champion} on the same rows ` +
        '(the metrics in the model cards come from different test sets)',
    );
  }

  const smoke = await smokeTests(registry, model, candidate, champion, {
    latencyBatchRows: options.latencyBatchRows ?? DEFAULTS.latencyBatchRows,
    goldenTolerance: options.goldenTolerance ?? DEFAULTS.goldenTolerance,
    ...(options.latencyBudgetMs !== undefined ? { latencyBudgetMs: options.latencyBudgetMs } : {}),
  });
  const failed = smoke.tests.filter((t) => !t.passed);

  const reasons: string[] = [];
  let comparison: Comparison | null = null;
  let promote = false;
  let stage: PromotionStage = requestedStage;
  try {
    if (failed.length > 0) {
      reasons.push(...failed.map((t) => `smoke test '${t.name}' failed: ${t.detail}`));
    } else {
      if (options.data) {
        const table = options.data === 'synthetic' ? syntheticTable({ seed: 7 }) : await loadTable(options.data);
        const X32 = toFloat32(table.X);
        const candidateMetrics = await scoreHoldout(smoke.session!, X32, table.y);
        let championMetrics: RegressionMetrics | null = null;
        if (champion !== null) {
          const championModel = await OnnxModel.load(await registry.getModelBytes(model, champion));
          try {
            championMetrics = await scoreHoldout(championModel, X32, table.y);
          } finally {
            await championModel.release();
          }
        }
        comparison = {
          holdout: { uri: options.data, sha256: table.source.sha256, rows: table.usedRows },
          candidate: candidateMetrics,
          champion: championMetrics,
          r2_improvement: championMetrics ? candidateMetrics.r2 - championMetrics.r2 : null,
          rmse_drop: championMetrics ? championMetrics.rmse - candidateMetrics.rmse : null,
          thresholds: { min_r2_improvement: minR2Improvement, min_rmse_drop: minRmseDrop },
        };
      }
      if (champion === null) {
        promote = true;
        stage = 'champion';
        reasons.push(
          `no champion yet: the candidate passed its smoke tests and becomes champion${requestedStage === 'challenger' ? ' (a challenger needs a champion)' : ''}`,
        );
      } else {
        const r2Gain = comparison!.r2_improvement!;
        const rmseDrop = comparison!.rmse_drop!;
        const r2Ok = r2Gain >= minR2Improvement;
        const rmseOk = rmseDrop > minRmseDrop;
        promote = r2Ok || rmseOk;
        const facts = `R² ${comparison!.candidate.r2.toFixed(4)} vs ${comparison!.champion!.r2.toFixed(4)} (${r2Gain >= 0 ? '+' : ''}${r2Gain.toFixed(4)}, need ≥ ${minR2Improvement}); RMSE ${comparison!.candidate.rmse.toFixed(3)} vs ${comparison!.champion!.rmse.toFixed(3)} (drop ${rmseDrop.toFixed(3)}, need > ${minRmseDrop}) on the same ${comparison!.holdout.rows} holdout rows`;
        reasons.push(promote ? `better than champion ${champion}: ${facts}` : `not better than champion ${champion}: ${facts}`);
      }
    }
  } finally {
    await smoke.session?.release();
  }

  const decision: PromoteResult['decision'] = failed.length > 0 ? 'smoke_failed' : promote ? 'promoted' : 'rejected';
  let aliasesAfter = aliasesBefore;
  if (promote) {
    aliasesAfter = await registry.updateAliases(model, (current) => {
      if ((current.champion ?? null) !== champion) {
        throw new UserError(`the champion of '${model}' changed to ${current.champion ?? 'none'} during validation (was ${champion ?? 'none'}); run promote again`);
      }
      const next: Aliases = { ...current };
      if (stage === 'champion') {
        next.champion = candidate;
        if (champion !== null) next.previous = champion;
        if (next.challenger === candidate) delete next.challenger;
      } else {
        next.challenger = candidate;
      }
      return next;
    });
  }

  const now = new Date().toISOString();
  const tags: Record<string, string> = {
    promotion_decision: decision,
    promotion_stage: stage,
    promotion_at: now,
    promotion_reasons: tagValue(reasons.join(' | ')),
    promotion_vs_champion: champion === null ? 'none' : String(champion),
  };
  if (comparison) {
    tags.promotion_holdout_sha256 = comparison.holdout.sha256;
    tags.holdout_r2 = String(comparison.candidate.r2);
    tags.holdout_rmse = String(comparison.candidate.rmse);
    if (comparison.champion) {
      tags.champion_holdout_r2 = String(comparison.champion.r2);
      tags.champion_holdout_rmse = String(comparison.champion.rmse);
    }
  }
  await registry.setTags(model, candidate, tags);

  const audit = await appendAudit(modelStorageUri(registry, model), {
    kind: 'promotion',
    model,
    candidate_version: candidate,
    champion_version: champion,
    stage,
    decision,
    promoted: promote,
    reasons,
    smoke_tests: smoke.tests,
    latency: smoke.latency,
    comparison,
    aliases_before: aliasesBefore,
    aliases_after: aliasesAfter,
  });

  const alert = await notify(
    {
      title: `${model}: candidate ${candidate} ${decision === 'promoted' ? `promoted to ${stage}` : decision === 'rejected' ? 'not promoted' : 'failed its smoke tests'}`,
      severity: decision === 'promoted' ? 'info' : decision === 'rejected' ? 'warning' : 'critical',
      text: reasons.join('\n'),
      fields: {
        model,
        candidate: candidate,
        champion_before: champion ?? 'none',
        champion_after: aliasesAfter.champion ?? 'none',
        ...(comparison ? { candidate_r2: comparison.candidate.r2.toFixed(4), candidate_rmse: comparison.candidate.rmse.toFixed(3) } : {}),
      },
    },
    options.alert,
  );

  const result: PromoteResult = {
    command: 'promote',
    action: 'promote',
    model,
    registry: registry.uri,
    candidate_version: candidate,
    stage,
    promoted: promote,
    decision,
    reasons,
    champion_version: champion,
    smoke_tests: smoke.tests,
    latency: smoke.latency,
    comparison,
    aliases_before: aliasesBefore,
    aliases_after: aliasesAfter,
    audit_uri: audit.uri,
    alert,
  };
  if (decision === 'smoke_failed') {
    throw new PolicyFailure(`candidate ${candidate} failed its smoke tests: ${failed.map((t) => t.name).join(', ')}`, result);
  }
  return result;
}

async function rollback(registry: ModelRegistry, model: string, options: PromoteOptions): Promise<PromoteResult> {
  const aliasesBefore = await registry.getAliases(model);
  const previous = aliasesBefore.previous;
  const demoted = aliasesBefore.champion;
  if (previous === undefined) throw new UserError(`model '${model}' has no 'previous' alias in ${registry.uri}: nothing to roll back to`);
  if (options.candidate !== undefined && options.candidate !== demoted) {
    throw new UserError(`--candidate ${options.candidate} is not the current champion (${demoted ?? 'none'}); rollback demotes the champion`);
  }
  const aliasesAfter = await registry.updateAliases(model, (current) => {
    if (current.previous !== previous || current.champion !== demoted) {
      throw new UserError(`the aliases of '${model}' changed during the rollback; run it again`);
    }
    const next: Aliases = { ...current, champion: previous };
    delete next.previous;
    if (demoted !== undefined) next.rolled_back = demoted;
    return next;
  });
  const reasons = [`rolled back: champion ${demoted ?? 'none'} → ${previous} (the previous champion)`];
  const now = new Date().toISOString();
  if (demoted !== undefined) await registry.setTags(model, demoted, { rolled_back_at: now, rolled_back_to: String(previous) });
  await registry.setTags(model, previous, { restored_at: now });
  const audit = await appendAudit(modelStorageUri(registry, model), {
    kind: 'rollback',
    model,
    demoted_version: demoted ?? null,
    restored_version: previous,
    reasons,
    aliases_before: aliasesBefore,
    aliases_after: aliasesAfter,
  });
  const alert = await notify(
    { title: `${model}: rolled back to version ${previous}`, severity: 'warning', text: reasons[0]!, fields: { model, demoted: demoted ?? 'none', restored: previous } },
    options.alert,
  );
  return {
    command: 'promote',
    action: 'rollback',
    model,
    registry: registry.uri,
    candidate_version: demoted ?? null,
    stage: 'champion',
    promoted: false,
    decision: 'rolled_back',
    reasons,
    champion_version: previous,
    smoke_tests: [],
    latency: null,
    comparison: null,
    aliases_before: aliasesBefore,
    aliases_after: aliasesAfter,
    audit_uri: audit.uri,
    alert,
  };
}

export function describePromoteResult(r: PromoteResult): string[] {
  const lines =
    r.action === 'rollback'
      ? [`${r.model}: ${r.reasons[0]}`]
      : [`${r.model}: candidate ${r.candidate_version} → ${r.decision}${r.promoted ? ` as ${r.stage}` : ''}`, ...r.reasons.map((x) => `  ${x}`)];
  for (const t of r.smoke_tests) lines.push(`  smoke ${t.passed ? 'ok  ' : 'FAIL'} ${t.name}: ${t.detail}`);
  lines.push(`aliases: ${JSON.stringify(r.aliases_before)} → ${JSON.stringify(r.aliases_after)}`);
  lines.push(`audit: ${r.audit_uri}`);
  lines.push(`alert: ${r.alert.delivered ? `delivered (${r.alert.attempts} attempt${r.alert.attempts === 1 ? '' : 's'})` : r.alert.skipped ? 'skipped (no webhook configured)' : `not delivered: ${r.alert.error}`}`);
  return lines;
}
