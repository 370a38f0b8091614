// Measured utilisation: when was the endpoint up, judged from the prediction log.
//
// A scale-to-zero platform keeps capacity for a scale-down window after the last request (Container Apps:
// cooldownPeriod 300 s; Databricks Model Serving: about 30 min without traffic). So every request at time t keeps the
// endpoint busy over [t, t + window); the union of those intervals is the billed active time, and every request that
// arrives outside the union finds the endpoint at zero: a cold start.
import { UserError } from '../../core/errors';
import { PREDICTIONS_PREFIX } from '../../core/logRecord';
import { openStorage } from '../../core/storage/index';

export interface RequestSample {
  /** Epoch milliseconds the request was received. */
  t: number;
  /** Whole-request latency in milliseconds. */
  latencyMs: number;
}

export interface BusyMeasurement {
  requests: number;
  observedSeconds: number;
  windowSeconds: number;
  /** Merged busy intervals (each one starts with a cold start). */
  busyBlocks: number;
  busySeconds: number;
  coldStarts: number;
  /** busySeconds / observedSeconds. */
  activeShare: number;
  /** Mean concurrent requests in each minute that saw traffic (Little's law: Σ latency / 60 s). */
  minuteConcurrency: number[];
}

/**
 * Buckets requests into the scale-down window. `observedStart`/`observedEnd` (epoch ms) bound the period the log
 * covers; busy time past its end is not counted. Requests need not be sorted.
 */
export function measureBusy(samples: readonly RequestSample[], windowSeconds: number, observedStart: number, observedEnd: number): BusyMeasurement {
  if (!(observedEnd > observedStart)) throw new UserError('the observed log period is empty');
  const windowMs = windowSeconds * 1000;
  const times = samples.map((s) => s.t).sort((a, b) => a - b);
  let busyMs = 0;
  let blocks = 0;
  let blockStart = Number.NaN;
  let blockEnd = Number.NEGATIVE_INFINITY;
  const close = () => {
    if (blocks > 0) busyMs += Math.max(0, Math.min(blockEnd, observedEnd) - Math.max(blockStart, observedStart));
  };
  for (const t of times) {
    if (t >= blockEnd) {
      close();
      blocks += 1;
      blockStart = t;
    }
    blockEnd = t + windowMs;
  }
  close();
  const minutes = new Map<number, number>();
  for (const s of samples) {
    const minute = Math.floor(s.t / 60_000);
    minutes.set(minute, (minutes.get(minute) ?? 0) + Math.max(0, s.latencyMs));
  }
  const observedSeconds = (observedEnd - observedStart) / 1000;
  const busySeconds = busyMs / 1000;
  return {
    requests: times.length,
    observedSeconds,
    windowSeconds,
    busyBlocks: blocks,
    busySeconds,
    coldStarts: blocks,
    activeShare: Math.min(1, busySeconds / observedSeconds),
    minuteConcurrency: [...minutes.values()].map((ms) => ms / 60_000),
  };
}

export interface LogSample {
  requests: RequestSample[];
  /** First and last partition day found (UTC), inclusive. */
  firstDay: string;
  lastDay: string;
  /** Epoch ms: start of the first day, end of the last day. */
  observedStart: number;
  observedEnd: number;
  logFiles: number;
  logBytes: number;
  /** Log files that were not JSON lines (e.g. Parquet) and were skipped. */
  skippedFiles: number;
}

const PARTITION_FILE = new RegExp(`^${PREDICTIONS_PREFIX}/date=(\\d{4}-\\d{2}-\\d{2})/([^/]+)$`);

/**
 * Reads request arrival times from `predictions/date=YYYY-MM-DD/*.jsonl` (local directory or Azure Blob). One request
 * writes one record per row (and per shadow row): records are reduced to one sample per `request_id`, shadow
 * records ignored. `since` (YYYY-MM-DD) skips older partitions.
 */
export async function readLogSample(logsUri: string, since?: string): Promise<LogSample> {
  const storage = openStorage(logsUri);
  await storage.check();
  const objects = (await storage.list(`${PREDICTIONS_PREFIX}/`))
    .map((o) => ({ ...o, match: PARTITION_FILE.exec(o.key) }))
    .filter((o) => o.match !== null && (since === undefined || o.match[1]! >= since));
  const jsonl = objects.filter((o) => o.key.endsWith('.jsonl'));
  if (jsonl.length === 0) {
    throw new UserError(`--logs ${logsUri}: no prediction logs under ${PREDICTIONS_PREFIX}/date=YYYY-MM-DD/*.jsonl${since ? ` since ${since}` : ''}`);
  }
  const days = jsonl.map((o) => o.match![1]!).sort();
  const firstDay = days[0]!;
  const lastDay = days[days.length - 1]!;
  const byRequest = new Map<string, RequestSample>();
  let logBytes = 0;
  let anonymous = 0;
  for (const object of jsonl) {
    const text = (await storage.get(object.key)).toString('utf8');
    logBytes += object.size;
    let lineNo = 0;
    for (const line of text.split('\n')) {
      lineNo += 1;
      if (line.trim() === '') continue;
      let record: { timestamp?: unknown; latency_ms?: unknown; request_id?: unknown; shadow?: unknown };
      try {
        record = JSON.parse(line);
      } catch {
        throw new UserError(`--logs: ${object.key} line ${lineNo} is not JSON`);
      }
      if (record.shadow === true) continue;
      const t = typeof record.timestamp === 'string' ? Date.parse(record.timestamp) : Number.NaN;
      if (!Number.isFinite(t)) throw new UserError(`--logs: ${object.key} line ${lineNo} has no valid timestamp`);
      const latencyMs = typeof record.latency_ms === 'number' && Number.isFinite(record.latency_ms) ? record.latency_ms : 0;
      const id = typeof record.request_id === 'string' && record.request_id !== '' ? record.request_id : `#${anonymous++}`;
      const seen = byRequest.get(id);
      if (seen === undefined) byRequest.set(id, { t, latencyMs });
      else if (t < seen.t) seen.t = t;
    }
  }
  return {
    requests: [...byRequest.values()],
    firstDay,
    lastDay,
    observedStart: Date.parse(`${firstDay}T00:00:00Z`),
    observedEnd: Date.parse(`${lastDay}T00:00:00Z`) + 86_400_000,
    logFiles: jsonl.length,
    logBytes,
    skippedFiles: objects.length - jsonl.length,
  };
}
