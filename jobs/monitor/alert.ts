/**
 * What the monitor alerts about, and how loudly. One alert per run, carrying every finding; its severity is the
 * highest of the findings':
 * - SLA breach (latency percentile or error rate): critical — clients are affected now;
 * - should_retrain (drift share at or above the retrain share): warning — the retraining job will act on it;
 * - drift below the retrain share: info;
 * - PERFORMANCE_DEGRADATION (labels): critical when the k-of-n rule fired (retraining is triggered), warning when
 *   only the latest judged window violated a threshold;
 * - a decisive canary verdict (promote challenger / keep champion): info.
 * Insufficient data and clean runs send nothing. A failed delivery is reported in the result, never fatal.
 */
import { notify, type AlertEvent, type AlertSeverity } from '../alerts';
import type { CanaryVerdict } from './canary';
import type { QualityResult } from './quality';
import type { AlertOutcome, MonitorResult } from './types';

const RANK: Record<AlertSeverity, number> = { info: 0, warning: 1, critical: 2 };

export interface AlertFinding {
  severity: AlertSeverity;
  reason: string;
}

export function monitorFindings(result: Pick<MonitorResult, 'status' | 'should_retrain' | 'drift_features' | 'drift_share' | 'retrain_share_threshold' | 'service'>): AlertFinding[] {
  const findings: AlertFinding[] = [];
  for (const breach of result.service.sla.breaches) findings.push({ severity: 'critical', reason: `SLA breach: ${breach}` });
  if (result.should_retrain) {
    findings.push({
      severity: 'warning',
      reason: `retraining recommended: ${result.drift_features.length} drifted feature(s) (${result.drift_features.join(', ')}), share ${result.drift_share.toFixed(2)} ≥ ${result.retrain_share_threshold}`,
    });
  } else if (result.drift_features.length > 0) {
    findings.push({ severity: 'info', reason: `drift in ${result.drift_features.join(', ')} (share ${result.drift_share.toFixed(2)}, below the retrain share ${result.retrain_share_threshold})` });
  }
  return findings;
}

/** Findings from the label-based quality checks and the canary verdict. */
export function qualityFindings(quality: QualityResult | null, canary: CanaryVerdict | null): AlertFinding[] {
  const findings: AlertFinding[] = [];
  if (quality) {
    const latest = quality.daily.filter((d) => d.judged).at(-1);
    const detail = latest?.metrics ? `latest ${latest.day}: R² ${latest.metrics.r2.toFixed(4)}, RMSE ${latest.metrics.rmse.toFixed(4)} (n ${latest.n})` : '';
    const violated = latest?.metrics?.violations.join(', ');
    if (quality.degraded) {
      findings.push({
        severity: 'critical',
        reason: `PERFORMANCE_DEGRADATION: thresholds violated in ${quality.violations_in_window} of the last ${quality.windows_considered.length} daily windows (rule ${quality.settings.k} of ${quality.settings.n}); ${detail}${violated ? ` — ${violated}` : ''}; retraining recommended`,
      });
    } else if (quality.latest_violated) {
      findings.push({ severity: 'warning', reason: `PERFORMANCE_DEGRADATION (not yet ${quality.settings.k} of ${quality.settings.n}): ${detail} — ${violated}` });
    }
  }
  if (canary && canary.decision !== 'not enough evidence yet') findings.push({ severity: 'info', reason: `canary: ${canary.summary}` });
  return findings;
}

export function highestSeverity(findings: readonly AlertFinding[]): AlertSeverity | null {
  let best: AlertSeverity | null = null;
  for (const f of findings) if (best === null || RANK[f.severity] > RANK[best]) best = f.severity;
  return best;
}

export interface SendAlertInput {
  findings: AlertFinding[];
  title: string;
  fields: Record<string, string | number>;
  webhookUrl?: string | undefined;
  retries?: number | undefined;
  baseDelayMs?: number | undefined;
}

export async function sendMonitorAlert(input: SendAlertInput): Promise<AlertOutcome> {
  const severity = highestSeverity(input.findings);
  const reasons = input.findings.map((f) => f.reason);
  if (severity === null) return { triggered: false, severity: null, title: null, reasons, delivered: false, attempts: 0, skipped: true };
  const event: AlertEvent = { title: input.title, severity, text: reasons.join('\n'), fields: input.fields };
  const result = await notify(event, {
    ...(input.webhookUrl !== undefined ? { url: input.webhookUrl } : {}),
    ...(input.retries !== undefined ? { retries: input.retries } : {}),
    ...(input.baseDelayMs !== undefined ? { baseDelayMs: input.baseDelayMs } : {}),
  });
  return { triggered: true, severity, title: input.title, reasons, ...result };
}
