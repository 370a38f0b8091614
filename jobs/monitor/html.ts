/**
 * The self-contained HTML report: inline CSS and inline SVG charts, no scripts, no external resources, so it can
 * be opened from blob storage, attached to a ticket or read offline.
 */
import { dailySpec, histogramSpec, latencySpec, pvalueSpec, renderSvg, shiftSpec } from './charts';
import type { ColumnDrift } from './drift';
import type { MonitorResult } from './types';

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

export function fmtNumber(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (x !== 0 && (Math.abs(x) < 10 ** -digits || Math.abs(x) >= 1e7)) return x.toExponential(2);
  return x.toFixed(digits).replace(/\.?0+$/, (m) => (m.startsWith('.') ? '' : m));
}

function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(2)} %`;
}

function table(headers: string[], rows: string[][], cls = ''): string {
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const td = (v: unknown, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(v)}</td>`;

function columnRow(c: ColumnDrift): string[] {
  return [
    td(c.column),
    td(c.drifted ? 'DRIFT' : 'ok', c.drifted ? 'bad' : 'good'),
    td(c.test ?? '–'),
    td(fmtNumber(c.adjusted_score)),
    td(fmtNumber(c.threshold)),
    td(fmtNumber(c.ks_pvalue)),
    td(fmtNumber(c.psi)),
    td(fmtNumber(c.wasserstein)),
    td(fmtNumber(c.jensenshannon)),
    td(fmtNumber(c.mean_shift)),
    td(fmtNumber(c.std_ratio)),
    td(`${pct(c.reference_null_rate)} → ${pct(c.production_null_rate)}`, c.null_rate_drift ? 'bad' : ''),
    td(c.effect_gate_passed === null ? '–' : c.effect_gate_passed ? 'passed' : 'suppressed'),
    td(c.reasons.join('; ') || '–'),
  ];
}

const COLUMN_HEADERS = ['column', 'decision', 'test', 'score', 'threshold', 'KS p', 'PSI', 'Wasserstein (σ)', 'JS', 'mean shift (σ)', 'std ratio', 'null rate ref → prod', 'effect gate', 'reasons'];

/** Extra sections (label-based quality, canary verdict) rendered by other modules. */
export interface ExtraSection {
  title: string;
  html: string;
}

export async function renderHtml(result: MonitorResult, extra: ExtraSection[] = []): Promise<string> {
  const charts: string[] = [];
  const chart = async (spec: Record<string, unknown> | null): Promise<void> => {
    if (spec) charts.push(`<figure>${await renderSvg(spec)}</figure>`);
  };
  const columns = result.prediction ? [...result.features, result.prediction] : result.features;
  const driftCharts: string[] = [];
  {
    const before = charts.length;
    await chart(pvalueSpec(columns, result.settings.threshold));
    await chart(shiftSpec(columns, result.settings.min_effect));
    for (const c of columns) await chart(histogramSpec(c));
    driftCharts.push(...charts.splice(before));
  }
  const serviceCharts: string[] = [];
  {
    const before = charts.length;
    await chart(dailySpec(result.service));
    await chart(latencySpec(result.service));
    serviceCharts.push(...charts.splice(before));
  }

  const s = result.service;
  const statusClass = result.status === 'ok' ? 'good' : result.status === 'insufficient_data' ? 'warn' : 'bad';
  const summary = table(
    ['status', 'should retrain', 'drifted features', 'drift share', 'production rows', 'model version', 'window'],
    [
      [
        td(result.status, statusClass),
        td(result.should_retrain ? 'yes' : 'no', result.should_retrain ? 'bad' : 'good'),
        td(result.drift_features.join(', ') || '–'),
        td(`${fmtNumber(result.drift_share)} (retrain at ≥ ${result.retrain_share_threshold})`),
        td(`${result.rows} (minimum ${result.min_rows})`),
        td(`${result.model} ${result.alias} → v${result.model_version}`),
        td(`${result.window.days[0]} … ${result.window.end_date} (${result.window.lookback_days} days)`),
      ],
    ],
  );
  const lat = s.latency_ms;
  const service = table(
    ['requests', 'scored rows', 'shadow rows', 'error rate', 'p50 ms', 'p95 ms', 'p99 ms', 'SLA'],
    [
      [
        td(s.requests),
        td(s.prediction_rows),
        td(s.shadow_rows),
        td(`${pct(s.error_rate)} (limit ${pct(s.sla.max_error_rate)})`, s.error_rate !== null && s.error_rate > s.sla.max_error_rate ? 'bad' : ''),
        td(fmtNumber(lat?.p50, 1)),
        td(fmtNumber(lat?.p95, 1), lat && lat.p95 > s.sla.p95_ms ? 'bad' : ''),
        td(fmtNumber(lat?.p99, 1)),
        td(s.sla.breached ? `BREACHED: ${s.sla.breaches.join('; ')}` : `met (p95 ≤ ${s.sla.p95_ms} ms${s.sla.p99_ms !== null ? `, p99 ≤ ${s.sla.p99_ms} ms` : ''})`, s.sla.breached ? 'bad' : 'good'),
      ],
    ],
  );
  const routes = table(
    ['route', 'requests', 'traffic share', 'rows', 'errors', 'prediction mean', 'prediction std', 'latency p50 ms', 'latency p95 ms'],
    s.routes.map((r) => [
      td(r.route),
      td(r.requests),
      td(r.traffic_share === null ? 'shadow' : pct(r.traffic_share)),
      td(r.rows),
      td(r.error_requests),
      td(fmtNumber(r.prediction_mean)),
      td(fmtNumber(r.prediction_std)),
      td(fmtNumber(r.latency_p50_ms, 1)),
      td(fmtNumber(r.latency_p95_ms, 1)),
    ]),
  );
  const errors = s.errors_by_code.length
    ? table(['status', 'error code', 'requests'], s.errors_by_code.map((e) => [td(e.status_code ?? '–'), td(e.error_code ?? '–'), td(e.requests)]))
    : '<p>No failed requests.</p>';
  const daily = table(
    ['day', 'requests', 'scored rows', 'shadow rows', 'failed requests'],
    s.daily.map((d) => [td(d.day), td(d.requests), td(d.prediction_rows), td(d.shadow_rows), td(d.error_requests)]),
  );
  const settings = Object.entries(result.settings)
    .map(([k, v]) => `${escapeHtml(k)} = ${escapeHtml(v ?? 'default')}`)
    .join(' · ');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Monitor report ${escapeHtml(result.model)} v${result.model_version} ${escapeHtml(result.window.end_date)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:Helvetica,Arial,sans-serif;margin:1.5rem auto;max-width:1150px;color:#222;padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}th,td{border:1px solid #ddd;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}.good{color:#1a7f37;font-weight:bold}.bad{color:#c62828;font-weight:bold}.warn{color:#9a6700;font-weight:bold}
.charts{display:flex;flex-wrap:wrap;gap:.75rem}figure{margin:0}ul{margin:.3rem 0}.muted{color:#666;font-size:.8rem}
</style></head><body>
<h1>Monitor report — ${escapeHtml(result.model)} (${escapeHtml(result.alias)} → v${result.model_version})</h1>
<p class="muted">run ${escapeHtml(result.run_id)} · window ${escapeHtml(result.window.from)} – ${escapeHtml(result.window.to)} · logs ${escapeHtml(result.logs.uri)}</p>
${summary}
<h2>Findings</h2>
<ul>${result.messages.map((m) => `<li>${escapeHtml(m)}</li>`).join('')}</ul>
${extra.map((e) => `<h2>${escapeHtml(e.title)}</h2>\n${e.html}`).join('\n')}
<h2>Data drift</h2>
${result.features.length ? table(COLUMN_HEADERS, columns.map(columnRow)) : '<p>Not evaluated: too few production rows.</p>'}
<p class="muted">score = the deciding test's value (p-values after correction); shifts in reference standard deviations; the prediction row is reported but not counted in the drift share.</p>
<div class="charts">${driftCharts.join('\n')}</div>
<h2>Service</h2>
${service}
<h3>Routes</h3>
${routes}
<h3>Failed requests</h3>
${errors}
<h3>Daily counts</h3>
${daily}
<div class="charts">${serviceCharts.join('\n')}</div>
<h2>Settings</h2>
<p class="muted">${settings}</p>
</body></html>
`;
}
