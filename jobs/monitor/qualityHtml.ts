/** Report sections for label-based quality and the canary verdict (tables plus one inline SVG chart each). */
import { renderSvg } from './charts';
import { escapeHtml, fmtNumber, type ExtraSection } from './html';
import type { CanaryVerdict } from './canary';
import type { QualityResult } from './quality';
import type { MonitorResult } from './types';

const td = (v: unknown, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(v)}</td>`;

function table(headers: string[], rows: string[][]): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.join('')}</tr>`).join('')}</tbody></table>`;
}

function rmseSpec(q: QualityResult): Record<string, unknown> | null {
  if (q.by_day_route.length === 0) return null;
  const layers: Record<string, unknown>[] = [
    {
      data: { values: q.by_day_route.map((d) => ({ day: d.day, route: d.route, rmse: d.metrics.rmse, n: d.metrics.n })) },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'day', type: 'ordinal', title: null, axis: { labelAngle: -30 } },
        y: { field: 'rmse', type: 'quantitative', title: 'RMSE' },
        color: { field: 'route', type: 'nominal', title: 'route' },
      },
    },
  ];
  if (q.thresholds.max_rmse !== null) {
    layers.push({
      data: { values: [{ y: q.thresholds.max_rmse }] },
      mark: { type: 'rule', strokeDash: [4, 3], color: '#d62728' },
      encoding: { y: { field: 'y', type: 'quantitative' } },
    });
  }
  return { title: 'RMSE per day and route (dashed: max RMSE threshold)', width: 520, height: 160, config: { font: 'Helvetica, Arial, sans-serif' }, layer: layers };
}

function canarySpec(c: CanaryVerdict): Record<string, unknown> | null {
  if (!c.ci || c.rmse_difference === null) return null;
  const values = [{ label: 'RMSE(challenger) − RMSE(champion)', lower: c.ci.lower, upper: c.ci.upper, point: c.rmse_difference }];
  return {
    title: `${Math.round(c.ci.confidence * 100)} % bootstrap interval of the RMSE difference (left of 0: challenger better)`,
    width: 520,
    height: 60,
    config: { font: 'Helvetica, Arial, sans-serif' },
    layer: [
      { data: { values }, mark: { type: 'rule', strokeWidth: 3 }, encoding: { x: { field: 'lower', type: 'quantitative', title: 'Δ RMSE' }, x2: { field: 'upper' }, y: { field: 'label', type: 'nominal', title: null } } },
      { data: { values }, mark: { type: 'point', filled: true, size: 80, color: '#000' }, encoding: { x: { field: 'point', type: 'quantitative' }, y: { field: 'label', type: 'nominal' } } },
      { data: { values: [{ x: 0 }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#666' }, encoding: { x: { field: 'x', type: 'quantitative' } } },
    ],
  };
}

export async function qualitySections(result: MonitorResult): Promise<ExtraSection[]> {
  const sections: ExtraSection[] = [];
  const q = result.quality;
  if (q) {
    const j = q.join;
    const join = table(
      ['labels', 'matched (served)', 'unmatched labels', 'unlabelled predictions', 'predictions without id', 'duplicate label rows (ids)', 'duplicate predictions', 'labels without id / value', 'shadow matched'],
      [
        [
          td(j.labels),
          td(j.matched),
          td(j.unmatched_labels),
          td(j.unmatched_predictions),
          td(j.predictions_without_id),
          td(`${j.duplicate_label_rows} (${j.duplicate_label_ids})`),
          td(j.duplicate_prediction_rows),
          td(`${j.labels_missing_id} / ${j.labels_missing_actual}`),
          td(j.shadow_matched),
        ],
      ],
    );
    const daily = table(
      ['day', 'n', 'R²', 'RMSE', 'MAE', 'MAPE %', 'zero targets', 'judged', 'violations'],
      q.daily.map((d) => [
        td(d.day),
        td(d.n),
        td(fmtNumber(d.metrics?.r2, 4)),
        td(fmtNumber(d.metrics?.rmse, 4)),
        td(fmtNumber(d.metrics?.mae, 4)),
        td(fmtNumber(d.metrics?.mape, 2)),
        td(d.metrics?.mapeExcluded ?? '–'),
        td(d.judged ? 'yes' : `no (< ${q.settings.min_labels} labels)`),
        td(d.judged ? d.metrics!.violations.join('; ') || 'none' : '–', d.violated ? 'bad' : ''),
      ]),
    );
    const routes = table(
      ['route', 'n', 'R²', 'RMSE', 'MAE', 'MAPE %', 'zero targets'],
      q.by_route.map((r) => [td(r.route), td(r.metrics.n), td(fmtNumber(r.metrics.r2, 4)), td(fmtNumber(r.metrics.rmse, 4)), td(fmtNumber(r.metrics.mae, 4)), td(fmtNumber(r.metrics.mape, 2)), td(r.metrics.mapeExcluded)]),
    );
    const spec = rmseSpec(q);
    const verdict = q.degraded
      ? `<p class="bad">PERFORMANCE_DEGRADATION: thresholds violated in ${q.violations_in_window} of the last ${q.windows_considered.length} judged daily windows (rule ${q.settings.k} of ${q.settings.n}) — retraining recommended.</p>`
      : `<p class="${q.latest_violated ? 'warn' : 'good'}">${q.violations_in_window} violation(s) in the last ${q.windows_considered.length} judged daily windows (rule ${q.settings.k} of ${q.settings.n}).</p>`;
    sections.push({
      title: `Model quality from labels (${q.label_column})`,
      html: `${verdict}
<p class="muted">labels ${escapeHtml(q.labels_uri)} · thresholds: min R² ${fmtNumber(q.thresholds.min_r2, 4)}, max RMSE ${fmtNumber(q.thresholds.max_rmse, 4)} (${escapeHtml(q.thresholds.source)})</p>
${join}
<h3>Monitored version (v${result.model_version}), per day</h3>
${daily}
<h3>Per route over the window</h3>
${routes}
${spec ? `<div class="charts"><figure>${await renderSvg(spec)}</figure></div>` : ''}`,
    });
  }
  const c = result.canary;
  if (c) {
    const spec = canarySpec(c);
    const cls = c.decision === 'promote challenger' ? 'good' : c.decision === 'keep champion' ? 'bad' : 'warn';
    sections.push({
      title: 'Canary verdict',
      html: `<p class="${cls}">${escapeHtml(c.decision)}</p><p>${escapeHtml(c.summary)}</p>
${table(
  ['route', 'version', 'labelled rows', 'RMSE', 'MAE'],
  [c.champion, c.challenger].map((r) => [td(r.route), td(r.version), td(r.n), td(fmtNumber(r.rmse, 4)), td(fmtNumber(r.mae, 4))]),
)}
<p class="muted">Seeded percentile bootstrap (${c.settings.resamples} resamples, seed ${c.settings.seed}) of each route's squared errors independently (unpaired, unequal samples); promote when the whole interval is below −${c.settings.margin}, keep the champion when it is above 0.${
        c.challenger_better_share !== null ? ` The challenger had the lower RMSE in ${(100 * c.challenger_better_share).toFixed(1)} % of resamples.` : ''
      }</p>
${spec ? `<div class="charts"><figure>${await renderSvg(spec)}</figure></div>` : ''}`,
    });
  }
  return sections;
}
