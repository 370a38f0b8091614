import type { AlertSeverity, NotifyResult } from '../alerts';
import type { DecisionStatus } from '../../core/decision';
import type { CanaryVerdict } from './canary';
import type { ColumnDrift, Correction, DriftMethod } from './drift';
import type { QualityResult } from './quality';
import type { ServiceChecks } from './service';
import type { MonitorWindow } from './window';

export interface MonitorOptions {
  registry: string;
  logs: string;
  report: string;
  model?: string;
  alias?: string;
  lookbackDays?: number;
  /** Last day of the window (UTC, inclusive); default today. */
  endDate?: string;
  method?: DriftMethod;
  threshold?: number;
  distanceThreshold?: number;
  correction?: Correction;
  minEffect?: number;
  nullRateTolerance?: number;
  retrainShare?: number;
  minRows?: number;
  slaP95Ms?: number;
  slaP99Ms?: number;
  maxErrorRate?: number;
  runId?: string;
  tempDir?: string;
  /** Labels file (CSV/Parquet) with `client_request_id` and the actual values. */
  labels?: string;
  /** Column of the labels holding the actual value (default `renewables_share_energy`). */
  labelColumn?: string;
  minR2?: number;
  maxRmse?: number;
  r2Tolerance?: number;
  rmseTolerance?: number;
  /** Labelled rows a daily window needs to be judged. */
  minLabels?: number;
  /** Degradation rule: violated in `degradationK` of the last `degradationN` judged daily windows. */
  degradationK?: number;
  degradationN?: number;
  /** Alias of the canary compared with `champion` (default `challenger`). */
  challengerAlias?: string;
  bootstrapResamples?: number;
  confidence?: number;
  seed?: number;
  canaryMargin?: number;
  minCanaryLabels?: number;
  /** Webhook URL (default `MLOPS_ALERT_WEBHOOK_URL`); never printed. */
  webhookUrl?: string;
  alertRetries?: number;
  alertBaseDelayMs?: number;
  /** Clock for the default end date and record times (tests). */
  now?: Date;
}

export interface AlertOutcome extends NotifyResult {
  /** Whether this run had something to alert about. */
  triggered: boolean;
  severity: AlertSeverity | null;
  title: string | null;
  /** Short reasons that triggered the alert. */
  reasons: string[];
}

export interface ReportUris {
  root: string;
  json: string;
  html: string;
  decision: string;
  latest_decision: string;
  audit: string | null;
}

export interface MonitorResult {
  command: 'monitor';
  run_id: string;
  status: DecisionStatus;
  should_retrain: boolean;
  drift_count: number;
  drift_features: string[];
  drift_share: number;
  retrain_share_threshold: number;
  /** Production rows (non-shadow scored rows of the monitored version) in the window. */
  rows: number;
  min_rows: number;
  window: MonitorWindow;
  model: string;
  alias: string;
  model_version: number;
  settings: {
    method: DriftMethod;
    threshold: number;
    distance_threshold: number | null;
    correction: Correction;
    min_effect: number;
    null_rate_tolerance: number;
  };
  /** One entry per feature (empty when the data was insufficient). */
  features: ColumnDrift[];
  /** Drift of the model's output; reported, not counted in `drift_share`. */
  prediction: ColumnDrift | null;
  service: ServiceChecks;
  /** Label-based quality (null without --labels). */
  quality: QualityResult | null;
  /** Champion vs challenger on labelled traffic (null without --labels or without both aliases). */
  canary: CanaryVerdict | null;
  logs: { uri: string; files: number; records: number; days_with_logs: string[] };
  /** Human-readable findings, most important first. */
  messages: string[];
  report: ReportUris;
  alert: AlertOutcome;
  timings_ms: Record<string, number>;
}
