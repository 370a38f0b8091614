/**
 * An append-only audit log on a Storage: one immutable JSON object per record under
 * `audit/date=YYYY-MM-DD/<timestamp>-<kind>-<random>.json`, created with `ifNoneMatch: '*'` and never rewritten,
 * so concurrent writers cannot lose each other's records and history cannot be edited through this module.
 *
 * Promotion and rollback decisions go to the registry's storage under `<model>/audit/…`; monitor decisions go to
 * the reports storage. The timestamp in the key is ISO 8601 *basic* format (`20250102T030405.678Z`): it sorts
 * like the extended form but has no `:`, which Hadoop/Spark paths (and Windows) reject.
 */
import { randomBytes } from 'node:crypto';
import { PreconditionFailedError, UserError } from './errors';
import { openStorage, type Storage } from './storage/index';

export const AUDIT_PREFIX = 'audit/';

export interface AuditInput {
  kind: string;
  [field: string]: unknown;
}

export type AuditRecord = AuditInput & {
  /** When the record was appended (ISO-8601 UTC). */
  recorded_at: string;
  /** Unique id, also the file name without `.json`. */
  audit_id: string;
};

export interface AppendedAudit {
  key: string;
  uri: string;
  record: AuditRecord;
}

function storageOf(target: string | Storage): Storage {
  return typeof target === 'string' ? openStorage(target) : target;
}

function basicIso(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '');
}

const KIND = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Appends one record; `kind` (lowercase letters, digits, `_`, `-`) names what happened. */
export async function appendAudit(target: string | Storage, record: AuditInput, now: Date = new Date()): Promise<AppendedAudit> {
  if (typeof record.kind !== 'string' || !KIND.test(record.kind)) {
    throw new UserError(`audit record kind must match ${KIND.source}, got ${JSON.stringify(record.kind)}`);
  }
  const storage = storageOf(target);
  const date = now.toISOString().slice(0, 10);
  // A collision of 48 random bits within the same millisecond is practically impossible; retry anyway.
  for (let attempt = 0; ; attempt++) {
    const auditId = `${basicIso(now)}-${record.kind}-${randomBytes(6).toString('hex')}`;
    const key = `${AUDIT_PREFIX}date=${date}/${auditId}.json`;
    const full: AuditRecord = { ...record, recorded_at: now.toISOString(), audit_id: auditId };
    try {
      await storage.put(key, JSON.stringify(full) + '\n', { ifNoneMatch: '*', contentType: 'application/json' });
      return { key, uri: `${storage.uri.replace(/\/+$/, '')}/${key}`, record: full };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= 3) throw err;
    }
  }
}

export interface ReadAuditOptions {
  /** Only records appended at or after this time. */
  since?: Date | string;
  /** Only records of this kind. */
  kind?: string;
}

/** Reads the audit log, oldest first. Partitions before `since` are skipped without being read. */
export async function readAudit(target: string | Storage, options: ReadAuditOptions = {}): Promise<AuditRecord[]> {
  const storage = storageOf(target);
  const since = options.since === undefined ? null : new Date(options.since);
  if (since !== null && Number.isNaN(since.getTime())) throw new UserError(`audit: invalid 'since' time ${String(options.since)}`);
  const sinceDate = since?.toISOString().slice(0, 10) ?? null;
  const objects = await storage.list(AUDIT_PREFIX);
  const out: { record: AuditRecord; key: string }[] = [];
  for (const object of objects) {
    const match = /^audit\/date=(\d{4}-\d{2}-\d{2})\/([^/]+)\.json$/.exec(object.key);
    if (!match) continue;
    if (sinceDate !== null && match[1]! < sinceDate) continue;
    if (options.kind !== undefined && !match[2]!.includes(`-${options.kind}-`)) continue;
    let record: AuditRecord;
    try {
      record = JSON.parse((await storage.get(object.key)).toString('utf8')) as AuditRecord;
    } catch (err) {
      throw new UserError(`audit record ${object.key} in ${storage.uri} cannot be read: ${(err as Error).message}`);
    }
    if (options.kind !== undefined && record.kind !== options.kind) continue;
    if (since !== null && !(Date.parse(record.recorded_at) >= since.getTime())) continue;
    out.push({ record, key: object.key });
  }
  out.sort((a, b) => {
    const ta = Date.parse(a.record.recorded_at);
    const tb = Date.parse(b.record.recorded_at);
    return ta !== tb ? ta - tb : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
  return out.map((o) => o.record);
}
