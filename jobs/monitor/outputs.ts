/**
 * Writing a monitor run's outputs to the report storage (local directory or Azure container):
 *   monitor/<run id>/report.json     the full result
 *   monitor/<run id>/report.html     self-contained HTML report
 *   monitor/<run id>/decision.json   the decision record (core/decision.ts), immutable per run
 *   latest-decision.json             the same decision, replaced atomically: what `mlops retrain` reads
 *   audit/date=…/…-monitor_decision-….json   the append-only audit record
 */
import { appendAudit } from '../../core/audit';
import { DECISION_KIND, DECISION_SCHEMA_VERSION, LATEST_DECISION_KEY, parseDecision, writeLatestDecision, type MonitorDecision } from '../../core/decision';
import { openStorage } from '../../core/storage/index';
import type { MonitorResult, ReportUris } from './types';

export const MONITOR_PREFIX = 'monitor';

export function reportUris(reportRoot: string, runId: string): ReportUris {
  const root = reportRoot.replace(/\/+$/, '');
  const dir = `${root}/${MONITOR_PREFIX}/${runId}`;
  return { root, json: `${dir}/report.json`, html: `${dir}/report.html`, decision: `${dir}/decision.json`, latest_decision: `${root}/${LATEST_DECISION_KEY}`, audit: null };
}

export function buildDecision(result: MonitorResult, createdAt: Date, reasons: string[]): MonitorDecision {
  return parseDecision({
    kind: DECISION_KIND,
    schema_version: DECISION_SCHEMA_VERSION,
    created_at: createdAt.toISOString(),
    model: result.model,
    alias: result.alias,
    model_version: result.model_version,
    window: { from: result.window.from, to: result.window.to },
    status: result.status,
    should_retrain: result.should_retrain,
    drift_count: result.drift_count,
    drift_features: result.drift_features,
    drift_share: result.drift_share,
    retrain_share_threshold: result.retrain_share_threshold,
    rows: result.rows,
    report_uri: result.report.html,
    reasons,
    run_id: result.run_id,
    sla_breached: result.service.sla.breached,
    quality_degraded: result.quality?.degraded ?? null,
    canary_decision: result.canary?.decision ?? null,
  });
}

/** Writes report.json, report.html, decision.json, latest-decision.json and the audit record; fills `report.audit`. */
export async function writeOutputs(reportRoot: string, result: MonitorResult, html: string, decision: MonitorDecision, now: Date): Promise<void> {
  const storage = openStorage(reportRoot);
  const dir = `${MONITOR_PREFIX}/${result.run_id}`;
  const audit = await appendAudit(storage, { ...decision, kind: 'monitor_decision', report_json: result.report.json }, now);
  result.report.audit = audit.uri;
  await storage.put(`${dir}/decision.json`, JSON.stringify(decision, null, 2) + '\n', { contentType: 'application/json' });
  await storage.put(`${dir}/report.html`, html, { contentType: 'text/html; charset=utf-8' });
  await storage.put(`${dir}/report.json`, JSON.stringify(result, null, 2) + '\n', { contentType: 'application/json' });
  // Last: `latest-decision.json` only ever points at a run whose files are all in place.
  await writeLatestDecision(reportRoot, decision);
}
