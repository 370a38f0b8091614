/**
 * Service checks from the prediction logs: request latency percentiles against the SLA, error rate by status and
 * error code, per-route statistics (champion vs challenger vs shadow) and daily counts.
 *
 * Latency is a property of a request, not of a row: every row of a request carries the same whole-request
 * latency, so percentiles are taken over requests (one value per `request_id`), never weighted by batch size.
 * Shadow rows are excluded from the SLA and error figures (clients never wait for them) and reported as their own
 * route with the shadow model's scoring time.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows } from './logs';

export interface SlaOptions {
  /** Request latency p95 limit in milliseconds. */
  p95Ms: number;
  /** Optional p99 limit. */
  p99Ms?: number | undefined;
  /** Largest acceptable share of failed requests. */
  maxErrorRate: number;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
}

export interface RouteStats {
  /** `<alias>/<version>`, with ` (shadow)` for shadow rows. */
  route: string;
  alias: string | null;
  model_version: number | null;
  shadow: boolean;
  requests: number;
  rows: number;
  error_requests: number;
  /** Share of all (non-shadow) requests that this route served; null for shadow routes. */
  traffic_share: number | null;
  prediction_mean: number | null;
  prediction_std: number | null;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
}

export interface DailyCount {
  day: string;
  requests: number;
  prediction_rows: number;
  shadow_rows: number;
  error_requests: number;
}

export interface ServiceChecks {
  requests: number;
  prediction_rows: number;
  shadow_rows: number;
  error_requests: number;
  /** error requests / requests; null without requests. */
  error_rate: number | null;
  errors_by_code: Array<{ status_code: number | null; error_code: string | null; requests: number }>;
  latency_ms: LatencySummary | null;
  sla: {
    p95_ms: number;
    p99_ms: number | null;
    max_error_rate: number;
    breached: boolean;
    breaches: string[];
  };
  routes: RouteStats[];
  daily: DailyCount[];
  daily_by_route: Array<{ day: string; route: string; rows: number }>;
  /** Request latency histogram (equal-width bins up to the 99.5th percentile; the last bin takes the rest). */
  latency_histogram: Array<{ from_ms: number; to_ms: number; requests: number }>;
}

function routeName(alias: string | null, version: number | null, shadow: boolean): string {
  return `${alias ?? '(unrouted)'}/${version ?? '?'}${shadow ? ' (shadow)' : ''}`;
}

const num = (v: unknown): number | null => (v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v));

/** Computes the service checks from the `logs` table (see logs.ts). */
export async function serviceChecks(conn: DuckDBConnection, sla: SlaOptions): Promise<ServiceChecks> {
  // One row per request and route (the shadow copy of a request is its own row). The server writes rows 0..n-1
  // of a scored request, all with the same whole-request latency, or one error record: so row 0 or the error record
  // *is* the request, and a filter replaces a hash aggregation over a million request ids.
  await conn.run(`
    CREATE TEMP TABLE requests AS
    SELECT coalesce(shadow, false) AS shadow, alias, model_version, day, latency_ms,
           record_type = 'error' AS is_error,
           CASE WHEN record_type = 'error' THEN status_code END AS status_code,
           CASE WHEN record_type = 'error' THEN error_code END AS error_code
    FROM logs WHERE record_type = 'error' OR row_index = 0`);

  // Several quantiles of one column in one aggregate: DuckDB orders the values once for all of them.
  const [totals] = await queryRows<{ requests: number; errors: number; q: Array<number | null> | null; mean: number | null; max: number | null }>(
    conn,
    `SELECT count(*)::DOUBLE AS requests, count(*) FILTER (WHERE is_error)::DOUBLE AS errors,
            quantile_cont(latency_ms, [0.5, 0.95, 0.99, 0.995]) AS q,
            avg(latency_ms) AS mean, max(latency_ms) AS max
     FROM requests WHERE NOT shadow`,
  );
  const [rowTotals] = await queryRows<{ prediction_rows: number; shadow_rows: number }>(
    conn,
    `SELECT count(*) FILTER (WHERE record_type = 'prediction' AND NOT coalesce(shadow, false))::DOUBLE AS prediction_rows,
            count(*) FILTER (WHERE record_type = 'prediction' AND coalesce(shadow, false))::DOUBLE AS shadow_rows
     FROM logs`,
  );
  const requests = totals?.requests ?? 0;
  const errorRequests = totals?.errors ?? 0;
  const q = totals?.q ?? null;
  const latency: LatencySummary | null =
    requests > 0 && q !== null && num(q[0]) !== null
      ? { p50: num(q[0])!, p95: num(q[1])!, p99: num(q[2])!, mean: num(totals!.mean)!, max: num(totals!.max)! }
      : null;

  const errorsByCode = await queryRows<{ status_code: number | null; error_code: string | null; requests: number }>(
    conn,
    `SELECT status_code, error_code, count(*)::DOUBLE AS requests FROM requests WHERE is_error AND NOT shadow
     GROUP BY ALL ORDER BY requests DESC, status_code, error_code`,
  );

  const routeRows = await queryRows<{
    alias: string | null;
    model_version: number | null;
    shadow: boolean;
    requests: number;
    errors: number;
    q: Array<number | null> | null;
  }>(
    conn,
    `SELECT alias, model_version, shadow, count(*)::DOUBLE AS requests, count(*) FILTER (WHERE is_error)::DOUBLE AS errors,
            quantile_cont(latency_ms, [0.5, 0.95]) AS q
     FROM requests GROUP BY ALL`,
  );
  const predictionRows = await queryRows<{ alias: string | null; model_version: number | null; shadow: boolean; rows: number; mean: number | null; std: number | null }>(
    conn,
    `SELECT alias, model_version, coalesce(shadow, false) AS shadow, count(*)::DOUBLE AS rows, avg(prediction) AS mean, stddev_pop(prediction) AS std
     FROM logs WHERE record_type = 'prediction' GROUP BY ALL`,
  );
  const key = (a: string | null, v: number | null, s: boolean) => `${a ?? ''}\u0000${v ?? ''}\u0000${s}`;
  const predictionByRoute = new Map(predictionRows.map((r) => [key(r.alias, r.model_version, r.shadow), r]));
  const routes: RouteStats[] = routeRows
    .map((r) => {
      const p = predictionByRoute.get(key(r.alias, r.model_version, r.shadow));
      return {
        route: routeName(r.alias, r.model_version, r.shadow),
        alias: r.alias,
        model_version: r.model_version,
        shadow: r.shadow,
        requests: r.requests,
        rows: p?.rows ?? 0,
        error_requests: r.errors,
        traffic_share: r.shadow || requests === 0 ? null : r.requests / requests,
        prediction_mean: num(p?.mean),
        prediction_std: num(p?.std),
        latency_p50_ms: num(r.q?.[0]),
        latency_p95_ms: num(r.q?.[1]),
      };
    })
    .sort((a, b) => Number(a.shadow) - Number(b.shadow) || b.requests - a.requests || a.route.localeCompare(b.route));

  const daily = await queryRows<DailyCount>(
    conn,
    `SELECT day,
            count(*) FILTER (WHERE (record_type = 'error' OR row_index = 0) AND NOT coalesce(shadow, false))::DOUBLE AS requests,
            count(*) FILTER (WHERE record_type = 'prediction' AND NOT coalesce(shadow, false))::DOUBLE AS prediction_rows,
            count(*) FILTER (WHERE record_type = 'prediction' AND coalesce(shadow, false))::DOUBLE AS shadow_rows,
            count(*) FILTER (WHERE record_type = 'error')::DOUBLE AS error_requests
     FROM logs GROUP BY day ORDER BY day`,
  );
  const dailyByRoute = (
    await queryRows<{ day: string; alias: string | null; model_version: number | null; shadow: boolean; rows: number }>(
      conn,
      `SELECT day, alias, model_version, coalesce(shadow, false) AS shadow, count(*)::DOUBLE AS rows
       FROM logs WHERE record_type = 'prediction' GROUP BY ALL ORDER BY day, alias, model_version, shadow`,
    )
  ).map((r) => ({ day: r.day, route: routeName(r.alias, r.model_version, r.shadow), rows: r.rows }));

  const histogram: ServiceChecks['latency_histogram'] = [];
  if (latency) {
    const top = Math.max(num(q?.[3]) ?? 0, sla.p95Ms * 1.1, 1e-9);
    const bins = 40;
    const width = top / bins;
    const counts = await queryRows<{ bin: number; requests: number }>(
      conn,
      `SELECT least(${bins}, greatest(0, floor(latency_ms / ${width})))::INTEGER AS bin, count(*)::DOUBLE AS requests
       FROM requests WHERE NOT shadow AND latency_ms IS NOT NULL GROUP BY bin ORDER BY bin`,
    );
    const byBin = new Map(counts.map((c) => [c.bin, c.requests]));
    for (let b = 0; b <= bins; b++) {
      histogram.push({ from_ms: b * width, to_ms: b === bins ? Math.max(latency.max, (b + 1) * width) : (b + 1) * width, requests: byBin.get(b) ?? 0 });
    }
  }

  const errorRate = requests > 0 ? errorRequests / requests : null;
  const breaches: string[] = [];
  if (latency && latency.p95 > sla.p95Ms) breaches.push(`latency p95 ${latency.p95.toFixed(1)} ms > SLA ${sla.p95Ms} ms`);
  if (latency && sla.p99Ms !== undefined && latency.p99 > sla.p99Ms) breaches.push(`latency p99 ${latency.p99.toFixed(1)} ms > SLA ${sla.p99Ms} ms`);
  if (errorRate !== null && errorRate > sla.maxErrorRate) {
    breaches.push(`error rate ${(100 * errorRate).toFixed(2)} % > ${(100 * sla.maxErrorRate).toFixed(2)} % (${errorRequests} of ${requests} requests)`);
  }
  return {
    requests,
    prediction_rows: rowTotals?.prediction_rows ?? 0,
    shadow_rows: rowTotals?.shadow_rows ?? 0,
    error_requests: errorRequests,
    error_rate: errorRate,
    errors_by_code: errorsByCode,
    latency_ms: latency,
    sla: { p95_ms: sla.p95Ms, p99_ms: sla.p99Ms ?? null, max_error_rate: sla.maxErrorRate, breached: breaches.length > 0, breaches },
    routes,
    daily,
    daily_by_route: dailyByRoute,
    latency_histogram: histogram,
  };
}
