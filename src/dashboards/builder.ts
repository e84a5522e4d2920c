// Our dashboards' vocabulary (a timeseries, a table of labels, ...) on top of
// Grafana's own builders (@grafana/grafana-foundation-sdk), which know the
// current dashboard schema. Every panel and query goes through the
// `datasource` variable, so the dashboards import into any Grafana.
import * as bargaugePanel from '@grafana/grafana-foundation-sdk/bargauge';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dash from '@grafana/grafana-foundation-sdk/dashboard';
import * as prom from '@grafana/grafana-foundation-sdk/prometheus';
import * as tablePanel from '@grafana/grafana-foundation-sdk/table';
import * as timeseriesPanel from '@grafana/grafana-foundation-sdk/timeseries';

export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;
export const TAGS = ['pprof-exporter', 'go'];

/** A panel being built; `layout` places it. */
export type Panel = cog.Builder<dash.Panel> & {
  gridPos(g: dash.GridPos): unknown;
  id(n: number): unknown;
  readonly size: { w: number; h: number };
};

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

function queries(qs: Query[], kind: 'range' | 'instant' | 'table'): prom.DataqueryBuilder[] {
  return qs.map((q, i) => {
    const [expr, legend] = typeof q === 'string' ? [q, undefined] : q;
    const b = new prom.DataqueryBuilder().datasource(DATASOURCE).refId(String.fromCharCode(65 + i)).expr(expr);
    if (legend !== undefined) b.legendFormat(legend);
    if (kind === 'range') b.range(); else b.instant();
    if (kind === 'table') b.format(prom.PromQueryFormat.Table);
    return b;
  });
}

// The parts every panel kind shares (the SDK gives each kind its own builder class).
interface PanelParts<B> {
  title(t: string): B; description(d: string): B; datasource(d: common.DataSourceRef): B;
  targets(t: cog.Builder<cog.Dataquery>[]): B; unit(u: string): B;
}

function sized<B extends Omit<Panel, 'size'>>(b: B, o: { w: number; h: number }): B & Panel {
  return Object.assign(b, { size: { w: o.w, h: o.h } });
}

function base<B extends PanelParts<B>>(b: B, o: Common, kind: 'range' | 'instant' | 'table'): B {
  return b.title(o.title).description(o.description).datasource(DATASOURCE).targets(queries(o.queries, kind)).unit(o.unit ?? 'short');
}

/** A field's data link (the SDK types these as dashboard links; Grafana reads only these three). */
const dataLink = (l: Link): cog.Builder<dash.DashboardLink> =>
  ({ build: () => ({ title: l.title, url: l.url, ...(l.targetBlank && { targetBlank: true }) }) as dash.DashboardLink });

export function timeseries(o: Common & { stack?: boolean; min?: number; max?: number }): Panel {
  const b = base(new timeseriesPanel.PanelBuilder(), o, 'range')
    .drawStyle(common.GraphDrawStyle.Line).lineWidth(1).fillOpacity(o.stack ? 60 : 10)
    .showPoints(common.VisibilityMode.Never).spanNulls(false)
    .stacking(new common.StackingConfigBuilder().mode(o.stack ? common.StackingMode.Normal : common.StackingMode.None).group('A'))
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.Table)
      .placement(common.LegendPlacement.Bottom).calcs(['lastNotNull', 'max']))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  if (o.min !== undefined) b.min(o.min);
  if (o.max !== undefined) b.max(o.max);
  return sized(b, o);
}

/**
 * An instant query as a table; `columns` are the labels to show, in order,
 * then the value as `valueName` (none: the value is left out, as for an info
 * series). `wrap` columns show multi-line label values (a stack) whole.
 */
export function table(o: Common & { columns: string[]; valueName?: string; links?: Link[]; wrap?: string[] }): Panel {
  const shown = o.valueName === undefined ? o.columns : [...o.columns, 'Value'];
  const b = base(new tablePanel.PanelBuilder(), o, 'table')
    // Prometheus' own labels (job, instance) and the timestamp are noise here.
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { Time: true, __name__: true, job: true, instance: true, ...(o.valueName === undefined && { Value: true }) },
        indexByName: Object.fromEntries(shown.map((c, i) => [c, i])),
        renameByName: o.valueName === undefined ? {} : { Value: o.valueName },
      },
    })
    .dataLinks((o.links ?? []).map(dataLink))
    .showHeader(true).cellHeight(o.wrap ? common.TableCellHeight.Lg : common.TableCellHeight.Sm);
  for (const name of o.wrap ?? []) b.overrideByName(name, [{ id: 'custom.cellOptions', value: { type: 'auto', wrapText: true } }]);
  if (o.valueName !== undefined) b.sortBy([new common.TableSortByFieldStateBuilder().displayName(o.valueName).desc(true)]);
  return sized(b, o);
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
  return sized(base(new bargaugePanel.PanelBuilder(), o, 'instant').min(0)
    .orientation(common.VizOrientation.Horizontal).displayMode(common.BarGaugeDisplayMode.Gradient).showUnfilled(true)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('').values(false)), o);
}

/** Places rows of panels top to bottom, each row left to right, and numbers the panels. */
export function layout(rows: Panel[][]): Panel[] {
  const out: Panel[] = [];
  let y = 0;
  for (const row of rows) {
    let x = 0;
    for (const p of row) {
      p.gridPos({ x, y, ...p.size });
      p.id(out.length + 1);
      out.push(p);
      x += p.size.w;
    }
    y += Math.max(0, ...row.map((p) => p.size.h));
  }
  return out;
}

// Template variables.

export const datasourceVar = new dash.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');

export function queryVar(name: string, label: string, query: string, multi: boolean, allValue?: string): dash.QueryVariableBuilder {
  const v = new dash.QueryVariableBuilder(name).label(label).datasource(DATASOURCE).query(query).definition(query)
    // Multi-value and All are interpolated as an escaped regex: use `=~`.
    .multi(multi).includeAll(multi)
    .refresh(dash.VariableRefresh.OnTimeRangeChanged).sort(dash.VariableSort.AlphabeticalAsc);
  if (allValue !== undefined) v.allValue(allValue);
  return v;
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

export function textboxVar(name: string, label: string, value: string): dash.TextBoxVariableBuilder {
  return new dash.TextBoxVariableBuilder(name).label(label).defaultValue(value).current({ text: value, value });
}

/** Where Grafana's users reach the exporter's own pages (set it when importing). */
export const exporterUrlVar = textboxVar('exporter_url', 'Exporter URL', 'http://localhost:10066');

/** The scope variables as URL parameters, for links between our dashboards. */
export const SCOPE_PARAMS = '${job:queryparam}&${cluster:queryparam}';

/** The exporter's page of one signature, from template variables or a table row's fields. */
export function stackPageUrl(target: string, signature: string): string {
  return `\${exporter_url}/targets/${target}/signatures/${signature}`;
}

/** A table row's link to the exporter's page with the full stack of its signature. */
export const stackPageLink: Link = {
  title: 'Full stack on the exporter',
  url: stackPageUrl('${__data.fields.target}', '${__data.fields.signature}'),
  targetBlank: true,
};

/** A link in the dashboard's header to an outside page. */
export function headerLink(o: { title: string; url: string; tooltip: string }): dash.DashboardLinkBuilder {
  return new dash.DashboardLinkBuilder(o.title).type(dash.DashboardLinkType.Link).url(o.url).tooltip(o.tooltip)
    .icon('external link').targetBlank(true);
}

/** Links to every dashboard of ours (by tag), keeping the time range and variables. */
const ourDashboards = new dash.DashboardLinkBuilder('pprof-exporter').type(dash.DashboardLinkType.Dashboards)
  .tags(['pprof-exporter']).includeVars(true).keepTime(true).icon('external link');

export function dashboard(o: {
  uid: string; title: string; description: string;
  variables: cog.Builder<dash.VariableModel>[]; links?: cog.Builder<dash.DashboardLink>[]; panels: Panel[][];
}): dash.Dashboard {
  const d = new dash.DashboardBuilder(o.title).uid(o.uid).description(o.description).tags(TAGS)
    .editable().tooltip(dash.DashboardCursorSync.Crosshair).version(1)
    .time({ from: 'now-6h', to: 'now' }).refresh('1m').timezone('browser')
    .variables([datasourceVar, ...o.variables])
    .links([ourDashboards, ...(o.links ?? [])]);
  for (const p of layout(o.panels)) d.withPanel(p);
  // As Grafana will read it: the SDK's objects carry marker methods.
  const out = JSON.parse(JSON.stringify(d.build())) as dash.Dashboard;
  // The SDK defaults links into Grafana 12's controls menu; ours belong in the header, where people look.
  for (const l of out.links ?? []) delete (l as { placement?: unknown }).placement;
  return out;
}
