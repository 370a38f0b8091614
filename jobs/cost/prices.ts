// The price table: a dated default (`prices.json`, public list prices for one region) that users override with
// `--prices <file>`. The override has the same shape and may be partial: it is merged over the default key by key,
// then the merged table is validated as a whole, so a misspelt key fails with its dotted path instead of being
// silently ignored.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { UserError } from '../../core/errors';
import defaultTable from './prices.json';

const nonNegative = z.number({ error: (issue) => `expected a number, got ${JSON.stringify(issue.input)}` }).min(0, { error: 'must be ≥ 0' });
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected a date YYYY-MM-DD' });

const price = z.strictObject({ value: nonNegative, unit: z.string().min(1), note: z.string().optional() });
const source = z.strictObject({ page: z.string().min(1), url: z.url(), read_on: isoDate });

export const priceTableSchema = z.strictObject({
  currency: z.string().regex(/^[A-Z]{3}$/, { error: 'expected an ISO currency code such as USD' }),
  region: z.string().min(1),
  as_of: isoDate,
  notice: z.string(),
  container_apps: z.strictObject({
    source,
    active_vcpu_second: price,
    active_gib_second: price,
    idle_vcpu_second: price,
    idle_gib_second: price,
    requests_per_million: price,
    free_vcpu_seconds: price,
    free_gib_seconds: price,
    free_requests: price,
  }),
  model_serving: z.strictObject({
    source,
    dbu_price: price,
    /** Keyed by `serving.databricks.workloadType`; only the types a stack uses need a price. */
    dbu_per_concurrency_hour: z.record(z.string(), price),
    launch_dbu: price,
    workload_sizes: z.record(
      z.string(),
      z.strictObject({ min_concurrency: z.number().int().min(1), max_concurrency: z.number().int().min(1), note: z.string().optional() }),
    ),
  }),
  databricks_jobs: z.strictObject({
    source,
    vm_source: source,
    dbu_price: price,
    /** Keyed by `databricks.nodeTypeId`. */
    node_types: z.record(z.string(), z.strictObject({ dbu_per_hour: nonNegative, vm_per_hour: nonNegative, note: z.string().optional() })),
  }),
  storage: z.strictObject({
    source,
    /** Keyed by `storage.replication`. */
    gb_month: z.record(z.string(), price),
    write_ops_per_10k: price,
    read_ops_per_10k: price,
  }),
  log_analytics: z.strictObject({
    source,
    ingestion_per_gb: price,
    free_gb_month: price,
    included_retention_days: price,
    retention_per_gb_month: price,
  }),
  key_vault: z.strictObject({ source, operations_per_10k: price }),
  container_registry: z.strictObject({
    source,
    /** Keyed by `images.registrySku`. */
    per_day: z.record(z.string(), price),
  }),
});

export type PriceTable = z.output<typeof priceTableSchema>;

export interface LoadedPrices {
  table: PriceTable;
  /** `default (jobs/cost/prices.json)` or `<file> over default`. */
  source: string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep merge of plain objects; anything else in the override replaces the base value. */
export function mergeOver(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = key in base ? mergeOver(base[key], value) : value;
  return merged;
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `unknown key ${at ? `${at}.` : ''}${k}`);
  return [`${at || '(top level)'}: ${issue.message}`];
}

/** Validates a complete table; the error names every bad key with its dotted path. */
export function parsePriceTable(raw: unknown, origin: string): PriceTable {
  const result = priceTableSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = [...new Set(result.error.issues.flatMap(describeIssue))];
  throw new UserError(`${origin}: invalid price table: ${problems.join('; ')}`);
}

export function defaultPrices(): LoadedPrices {
  return { table: parsePriceTable(defaultTable, 'jobs/cost/prices.json'), source: 'default (jobs/cost/prices.json)' };
}

/** The default table, or `file` merged over it (a partial override is enough). */
export function loadPrices(file?: string): LoadedPrices {
  const base = defaultPrices();
  if (file === undefined) return base;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`--prices ${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let override: unknown;
  try {
    override = JSON.parse(text);
  } catch (err) {
    throw new UserError(`--prices ${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(override)) throw new UserError(`--prices ${file}: expected a JSON object with the shape of jobs/cost/prices.json`);
  return { table: parsePriceTable(mergeOver(base.table, override), `--prices ${file}`), source: `${file} over default (jobs/cost/prices.json)` };
}
