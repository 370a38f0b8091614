/**
 * The drift/retrain decision record: written by `mlops monitor`, read by `mlops retrain --decision <uri>` and
 * published by the Databricks launcher as task values (`should_retrain`, `drift_count`, `drift_features`).
 *
 * The monitor writes each decision to the reports storage twice: immutably into the audit log
 * (`core/audit.ts`) and as `latest-decision.json` at the reports root, which is what `retrain` reads by default.
 */
import { z } from 'zod';
import { NotFoundError, UserError } from './errors';
import { openStorage } from './storage/index';
import { openStorageForObject } from './storage/objectUri';

export const DECISION_KIND = 'monitor_decision';
export const DECISION_SCHEMA_VERSION = 1;
/** Key of the most recent decision inside a reports storage. */
export const LATEST_DECISION_KEY = 'latest-decision.json';

const isoTimestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'not an ISO-8601 timestamp' });

export const decisionStatusSchema = z.enum(['ok', 'drift', 'insufficient_data', 'degraded']);
export type DecisionStatus = z.infer<typeof decisionStatusSchema>;

export const monitorDecisionSchema = z
  .object({
    kind: z.literal(DECISION_KIND),
    schema_version: z.literal(DECISION_SCHEMA_VERSION),
    created_at: isoTimestamp,
    model: z.string().min(1),
    alias: z.string().min(1),
    model_version: z.number().int().positive().nullable(),
    window: z.object({ from: isoTimestamp, to: isoTimestamp }),
    status: decisionStatusSchema,
    should_retrain: z.boolean(),
    drift_count: z.number().int().nonnegative(),
    drift_features: z.array(z.string()),
    drift_share: z.number().min(0).max(1),
    retrain_share_threshold: z.number().min(0).max(1),
    rows: z.number().int().nonnegative(),
    report_uri: z.string().nullable(),
    reasons: z.array(z.string()),
  })
  // Unknown extra fields are kept: later monitors may add detail without breaking older readers.
  .loose();

export type MonitorDecision = z.infer<typeof monitorDecisionSchema>;

/** Checks a decision object; the error names every offending field. */
export function parseDecision(value: unknown, source = 'decision'): MonitorDecision {
  const parsed = monitorDecisionSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 6)
      .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
      .join('; ');
    throw new UserError(`${source} is not a valid monitor decision (${problems})`);
  }
  if (parsed.data.drift_count !== parsed.data.drift_features.length) {
    throw new UserError(
      `${source} is not a valid monitor decision (drift_count ${parsed.data.drift_count} but ${parsed.data.drift_features.length} drift_features)`,
    );
  }
  return parsed.data;
}

/**
 * Reads a decision from a JSON object URI (`…/decision.json`, local or Azure) or from a reports root/directory
 * holding `latest-decision.json`. Missing, unreadable or invalid files are UserErrors naming the URI.
 */
export async function readDecision(uri: string): Promise<MonitorDecision & { source_uri: string }> {
  if (typeof uri !== 'string' || uri.trim() === '') throw new UserError('--decision: empty URI');
  const isObject = /\.json$/i.test(uri.replace(/\/+$/, ''));
  const { storage, key } = isObject ? openStorageForObject(uri) : { storage: openStorage(uri), key: LATEST_DECISION_KEY };
  const sourceUri = isObject ? uri : `${uri.replace(/\/+$/, '')}/${LATEST_DECISION_KEY}`;
  let bytes: Buffer;
  try {
    bytes = await storage.get(key);
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new UserError(
        isObject
          ? `decision file not found: ${uri}`
          : `no ${LATEST_DECISION_KEY} in ${uri}: run 'mlops monitor --report ${uri}' first or pass the decision file itself`,
      );
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new UserError(`decision ${sourceUri} is not valid JSON: ${(err as Error).message}`);
  }
  return { ...parseDecision(json, `decision ${sourceUri}`), source_uri: sourceUri };
}

/**
 * Writes `decision` as `latest-decision.json` at the root of a reports storage (replacing the previous one
 * atomically) and returns the object's URI. The immutable history belongs in the audit log (`appendAudit`).
 */
export async function writeLatestDecision(reportsUri: string, decision: MonitorDecision): Promise<string> {
  const checked = parseDecision(decision);
  await openStorage(reportsUri).put(LATEST_DECISION_KEY, JSON.stringify(checked, null, 2) + '\n', { contentType: 'application/json' });
  return `${reportsUri.replace(/\/+$/, '')}/${LATEST_DECISION_KEY}`;
}
