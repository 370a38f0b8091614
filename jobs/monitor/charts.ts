/**
 * The report's charts: vega-lite specs compiled to vega and rendered headless to SVG strings (`renderer: 'none'`
 * needs no canvas), so the HTML report is readable without JavaScript or network.
 *
 * vega and vega-lite are ESM-only with top-level await: they must be loaded with a dynamic `import()`.
 */
import type { ColumnDrift } from './drift';
import type { ServiceChecks } from './service';

type Spec = Record<string, unknown>;

let modules: Promise<{ vl: typeof import('vega-lite'); vega: typeof import('vega') }> | null = null;

function load(): Promise<{ vl: typeof import('vega-lite'); vega: typeof import('vega') }> {
  modules ??= (async () => ({ vl: await import('vega-lite'), vega: await import('vega') }))();
  return modules;
}

/**
 * Starts loading vega and vega-lite without waiting: their import is ~1 s of JavaScript that can overlap DuckDB's
 * native work on the logs. A failure surfaces later, at the first `renderSvg`.
 */
export function preloadCharts(): void {
  load().catch(() => {
    modules = null;
  });
}

let chartCounter = 0;

/**
 * Renders one vega-lite spec to an SVG string. Element ids are prefixed per chart: several inline SVGs in one
 * document would otherwise share `clip1`-style ids and clip each other.
 */
export async function renderSvg(spec: Spec): Promise<string> {
  const { vl, vega } = await load();
  const compiled = vl.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...spec } as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const prefix = `c${++chartCounter}-`;
    return svg
      .replace(/\sid="([^"]+)"/g, ` id="${prefix}$1"`)
      .replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`)
      .replace(/href="#([^"]+)"/g, `href="#${prefix}$1"`);
  } finally {
    view.finalize();
  }
}

const FONT = { config: { font: 'Helvetica, Arial, sans-serif', view: { stroke: null } } };

/** −log10 p per column with the decision threshold as a rule (p-value tests); taller bars = stronger evidence. */
export function pvalueSpec(columns: readonly ColumnDrift[], threshold: number): Spec | null {
  const values = columns
    .filter((c) => c.ks_pvalue !== null)
    .map((c) => ({ column: c.column, minus_log10_p: Math.min(50, -Math.log10(Math.max(c.ks_pvalue!, 1e-300))), p: c.ks_pvalue, drifted: c.drifted ? 'drift' : 'no drift' }));
  if (values.length === 0) return null;
  return {
    ...FONT,
    title: 'KS p-value per column (−log10 p, capped at 50)',
    width: 520,
    height: 180,
    layer: [
      {
        data: { values },
        mark: 'bar',
        encoding: {
          x: { field: 'column', type: 'nominal', sort: null, axis: { labelAngle: -20, title: null } },
          y: { field: 'minus_log10_p', type: 'quantitative', title: '−log10 p' },
          color: { field: 'drifted', type: 'nominal', scale: { domain: ['drift', 'no drift'], range: ['#d62728', '#7f9fbf'] }, title: null },
        },
      },
      {
        data: { values: [{ y: -Math.log10(threshold), label: `p = ${threshold}` }] },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#333' },
        encoding: { y: { field: 'y', type: 'quantitative' } },
      },
    ],
  };
}

/** Normed Wasserstein and |mean shift| (reference std units) per column, with the effect threshold. */
export function shiftSpec(columns: readonly ColumnDrift[], effectThreshold: number): Spec | null {
  const values = columns.flatMap((c) =>
    c.wasserstein === null
      ? []
      : [
          { column: c.column, measure: 'normed Wasserstein', value: c.wasserstein },
          { column: c.column, measure: '|mean shift| (σ)', value: Math.abs(c.mean_shift ?? 0) },
        ],
  );
  if (values.length === 0) return null;
  return {
    ...FONT,
    title: 'Shift per column, in reference standard deviations',
    width: 520,
    height: 180,
    layer: [
      {
        data: { values },
        mark: 'bar',
        encoding: {
          x: { field: 'column', type: 'nominal', sort: null, axis: { labelAngle: -20, title: null } },
          xOffset: { field: 'measure', type: 'nominal' },
          y: { field: 'value', type: 'quantitative', title: 'σ units' },
          color: { field: 'measure', type: 'nominal', title: null },
        },
      },
      {
        data: { values: [{ y: effectThreshold }] },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#333' },
        encoding: { y: { field: 'y', type: 'quantitative' } },
      },
    ],
  };
}

/** Reference vs production shares over shared bins for one column. */
export function histogramSpec(column: ColumnDrift): Spec | null {
  const h = column.histogram;
  if (!h) return null;
  const values = h.reference.flatMap((share, k) => [
    { from: h.edges[k], to: h.edges[k + 1], share, sample: 'reference' },
    { from: h.edges[k], to: h.edges[k + 1], share: h.production[k], sample: 'production' },
  ]);
  return {
    ...FONT,
    title: `${column.column}${column.drifted ? ' — drift' : ''}`,
    width: 250,
    height: 120,
    data: { values },
    mark: { type: 'bar', opacity: 0.55, binSpacing: 0 },
    encoding: {
      x: { field: 'from', type: 'quantitative', bin: { binned: true }, title: null, axis: { format: '~s', labelFlush: true, tickCount: 4 } },
      x2: { field: 'to' },
      y: { field: 'share', type: 'quantitative', stack: null, title: 'share', axis: { format: '.0%' } },
      color: { field: 'sample', type: 'nominal', scale: { domain: ['reference', 'production'], range: ['#7f7f7f', '#1f77b4'] }, title: null },
    },
  };
}

/** Daily scored rows per route (stacked). */
export function dailySpec(service: ServiceChecks): Spec | null {
  if (service.daily_by_route.length === 0) return null;
  return {
    ...FONT,
    title: 'Scored rows per day and route',
    width: 520,
    height: 160,
    data: { values: service.daily_by_route },
    mark: 'bar',
    encoding: {
      x: { field: 'day', type: 'ordinal', title: null, axis: { labelAngle: -30 } },
      y: { field: 'rows', type: 'quantitative', title: 'rows' },
      color: { field: 'route', type: 'nominal', title: 'route' },
    },
  };
}

/** Request latency histogram with the SLA p95 limit and the measured p95. */
export function latencySpec(service: ServiceChecks): Spec | null {
  if (service.latency_histogram.length === 0 || !service.latency_ms) return null;
  const rules = [
    { ms: service.sla.p95_ms, label: `SLA p95 ${service.sla.p95_ms} ms` },
    { ms: service.latency_ms.p95, label: `measured p95 ${service.latency_ms.p95.toFixed(1)} ms` },
  ];
  return {
    ...FONT,
    title: 'Request latency (non-shadow requests)',
    width: 520,
    height: 160,
    layer: [
      {
        data: { values: service.latency_histogram },
        mark: { type: 'bar', binSpacing: 0, color: '#1f77b4' },
        encoding: {
          x: { field: 'from_ms', type: 'quantitative', bin: { binned: true }, title: 'ms' },
          x2: { field: 'to_ms' },
          y: { field: 'requests', type: 'quantitative', title: 'requests' },
        },
      },
      {
        data: { values: rules },
        mark: { type: 'rule', strokeDash: [4, 3] },
        encoding: { x: { field: 'ms', type: 'quantitative' }, color: { field: 'label', type: 'nominal', scale: { range: ['#d62728', '#2ca02c'] }, title: null } },
      },
    ],
  };
}
