// A small builder for Grafana dashboard JSON (schemaVersion 39), just the
// parts our dashboards use. Every panel and query goes through the
// `datasource` variable, so the dashboards import into any Grafana.

export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;
export const TAGS = ['pprof-exporter', 'go'];

export interface GridPos { x: number; y: number; w: number; h: number; }

export interface Target {
  datasource: typeof DATASOURCE;
  refId: string;
  expr: string;
  legendFormat?: string;
  range: boolean;
  instant: boolean;
  format?: 'table';
}

export interface Panel {
  id: number;
  type: 'timeseries' | 'stat' | 'table' | 'bargauge' | 'text';
  title: string;
  description: string;
  datasource: typeof DATASOURCE;
  gridPos: GridPos;
  targets?: Target[];
  [key: string]: unknown;
}

export interface Link { title: string; url: string; targetBlank?: boolean; }

/** One query: `[expr, legend]`, or just `expr` when the legend does not matter. */
export type Query = string | [expr: string, legend: string];

interface Common {
  title: string;
  description: string;
  w: number;
  h: number;
  queries: Query[];
  unit?: string;
}

function targets(queries: Query[], kind: 'range' | 'instant' | 'table'): Target[] {
  return queries.map((q, i) => {
    const [expr, legend] = typeof q === 'string' ? [q, undefined] : q;
    return {
      datasource: DATASOURCE,
      refId: String.fromCharCode(65 + i),
      expr,
      ...(legend === undefined ? {} : { legendFormat: legend }),
      range: kind === 'range',
      instant: kind !== 'range',
      ...(kind === 'table' ? { format: 'table' as const } : {}),
    };
  });
}

function base(type: Panel['type'], o: Pick<Common, 'title' | 'description' | 'w' | 'h'>): Panel {
  return { id: 0, type, title: o.title, description: o.description, datasource: DATASOURCE, gridPos: { x: 0, y: 0, w: o.w, h: o.h } };
}

export function timeseries(o: Common & { stack?: boolean; min?: number; max?: number }): Panel {
  return {
    ...base('timeseries', o),
    targets: targets(o.queries, 'range'),
    fieldConfig: {
      defaults: {
        unit: o.unit ?? 'short',
        ...(o.min === undefined ? {} : { min: o.min }),
        ...(o.max === undefined ? {} : { max: o.max }),
        custom: {
          drawStyle: 'line',
          lineWidth: 1,
          fillOpacity: o.stack ? 60 : 10,
          showPoints: 'never',
          spanNulls: false,
          stacking: { mode: o.stack ? 'normal' : 'none', group: 'A' },
        },
      },
      overrides: [],
    },
    options: {
      legend: { showLegend: true, displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  };
}

/**
 * An instant query as a table; `columns` are the labels to show, in order,
 * then the value as `valueName` (none: the value is left out, as for an info
 * series). `wrap` columns show multi-line label values (a stack) whole.
 */
export function table(o: Common & { columns: string[]; valueName?: string; links?: Link[]; wrap?: string[] }): Panel {
  const shown = o.valueName === undefined ? o.columns : [...o.columns, 'Value'];
  const indexByName = Object.fromEntries(shown.map((c, i) => [c, i]));
  return {
    ...base('table', o),
    targets: targets(o.queries, 'table'),
    // Prometheus' own labels (job, instance) and the timestamp are noise here.
    transformations: [{
      id: 'organize',
      options: {
        excludeByName: { Time: true, __name__: true, job: true, instance: true, ...(o.valueName === undefined && { Value: true }) },
        indexByName,
        renameByName: o.valueName === undefined ? {} : { Value: o.valueName },
      },
    }],
    fieldConfig: {
      defaults: { unit: o.unit ?? 'short', links: o.links ?? [] },
      overrides: (o.wrap ?? []).map((name) => ({
        matcher: { id: 'byName', options: name },
        properties: [{ id: 'custom.cellOptions', value: { type: 'auto', wrapText: true } }],
      })),
    },
    options: {
      showHeader: true, cellHeight: o.wrap ? 'lg' : 'sm',
      ...(o.valueName !== undefined && { sortBy: [{ displayName: o.valueName, desc: true }] }),
    },
  };
}

/**
 * `expr` with the `location` (file:line) of each series' signature joined on
 * from pprof_goroutine_signature_info; series without one stay, without it.
 */
export function withLocation(expr: string, matchers: string): string {
  return `((${expr}) * on(target, signature) group_left(location) group by (target, signature, location) (pprof_goroutine_signature_info{${matchers}}))`
    + ` or on(target, signature) (${expr})`;
}

export function bargauge(o: Common): Panel {
  return {
    ...base('bargauge', o),
    targets: targets(o.queries, 'instant'),
    fieldConfig: { defaults: { unit: o.unit ?? 'short', min: 0 }, overrides: [] },
    options: {
      orientation: 'horizontal',
      displayMode: 'gradient',
      showUnfilled: true,
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    },
  };
}

export function stat(o: Common): Panel {
  return {
    ...base('stat', o),
    targets: targets(o.queries, 'instant'),
    fieldConfig: { defaults: { unit: o.unit ?? 'short' }, overrides: [] },
    options: {
      colorMode: 'value',
      graphMode: 'none',
      textMode: 'auto',
      justifyMode: 'auto',
      orientation: 'auto',
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    },
  };
}

export function text(o: Omit<Common, 'queries' | 'unit'> & { markdown: string }): Panel {
  return { ...base('text', o), options: { mode: 'markdown', content: o.markdown } };
}

/** Places rows of panels top to bottom, each row left to right, and numbers the panels. */
export function layout(rows: Panel[][]): Panel[] {
  const out: Panel[] = [];
  let y = 0;
  for (const row of rows) {
    let x = 0;
    for (const p of row) {
      out.push({ ...p, id: out.length + 1, gridPos: { ...p.gridPos, x, y } });
      x += p.gridPos.w;
    }
    y += Math.max(0, ...row.map((p) => p.gridPos.h));
  }
  return out;
}

// Template variables.

export const datasourceVar = {
  name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus',
  current: {}, hide: 0, includeAll: false, multi: false, options: [], refresh: 1, regex: '',
};

export function queryVar(name: string, label: string, query: string, multi: boolean, allValue?: string): object {
  return {
    name, label, type: 'query', datasource: DATASOURCE,
    query, definition: query,
    // Multi-value and All are interpolated as an escaped regex: use `=~`.
    multi, includeAll: multi,
    ...(allValue !== undefined && { allValue }),
    current: {}, hide: 0, options: [], refresh: 2, regex: '', sort: 1,
  };
}

/**
 * Which Prometheus job and cluster: every query is scoped by both, so one
 * Grafana serves many exporters and clusters. `cluster` may be absent from
 * the series (one cluster): its All is `.*`, which matches the empty label.
 */
export const SCOPE = 'job=~"$job",cluster=~"$cluster"';
export const scopeVars = [
  queryVar('job', 'Job', 'label_values(go_goroutines, job)', true),
  queryVar('cluster', 'Cluster', 'label_values(go_goroutines{job=~"$job"}, cluster)', true, '.*'),
];

export function textboxVar(name: string, label: string, value: string): object {
  return { name, label, type: 'textbox', query: value, current: { text: value, value }, hide: 0, options: [] };
}

/** Where Grafana's users reach the exporter's own pages (set it when importing). */
export const exporterUrlVar = textboxVar('exporter_url', 'Exporter URL', 'http://localhost:10066');

/** The exporter's page of one signature, from template variables or a table row's fields. */
/** The scope variables as URL parameters, for links between our dashboards. */
export const SCOPE_PARAMS = '${job:queryparam}&${cluster:queryparam}';

export function stackPageUrl(target: string, signature: string): string {
  return `\${exporter_url}/targets/${target}/signatures/${signature}`;
}

/** A table row's link to the exporter's page with the full stack of its signature. */
export const stackPageLink: Link = {
  title: 'Full stack on the exporter',
  url: stackPageUrl('${__data.fields.target}', '${__data.fields.signature}'),
  targetBlank: true,
};

/** Links to every dashboard of ours (by tag), keeping the time range and variables. */
export const ourDashboards = {
  type: 'dashboards', title: 'pprof-exporter', tags: ['pprof-exporter'], asDropdown: false,
  includeVars: true, keepTime: true, targetBlank: false, icon: 'external link', tooltip: '', url: '',
};

export function dashboard(o: { uid: string; title: string; description: string; variables: object[]; links?: object[]; panels: Panel[][] }): object {
  return {
    uid: o.uid,
    title: o.title,
    description: o.description,
    tags: TAGS,
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '1m',
    timezone: 'browser',
    templating: { list: [datasourceVar, ...o.variables] },
    annotations: { list: [] },
    links: [ourDashboards, ...(o.links ?? [])],
    panels: layout(o.panels),
  };
}
