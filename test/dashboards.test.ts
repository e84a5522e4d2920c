// The Grafana dashboards: the committed JSON matches the generator, and a
// linter checks what Grafana would not: every query uses real exporter
// metrics filtered by $target through the datasource variable, no panel
// overlaps another, every variable exists. promtool parses every query.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { METRICS } from '../src/metrics/catalog.js';
import { MEMSTATS_METRICS } from '../src/decode/memstats.js';
import { dashboards, panelQueries } from '../src/dashboards/generate.js';

const DIR = join(import.meta.dirname, '../dashboards');
const REGENERATE = 'npm run build && node dist/dashboards/generate.js';
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const UIDS = { overview: 'pprof-exporter-overview', signature: 'pprof-exporter-signature' };

// What the linter reads of a dashboard.
interface Target { refId?: string; expr?: string; datasource?: unknown; }
interface Panel {
  id?: number; title?: string; description?: string; datasource?: unknown;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[]; fieldConfig?: { defaults?: { links?: { url: string }[] } }; options?: { content?: string };
}
interface Variable { name: string; type: string; query?: unknown; multi?: boolean; includeAll?: boolean; allValue?: string; current?: { value?: string } }
interface Dashboard { uid: string; tags: string[]; templating: { list: Variable[] }; links: { url?: string }[]; panels: Panel[]; }

const all = dashboards() as Record<string, Dashboard>;

// --- metric selectors in PromQL -------------------------------------------

/** Every metric name the exporter publishes, with its labels. */
const KNOWN = new Map<string, readonly string[]>([
  ...Object.values(METRICS).map((m): [string, readonly string[]] => [m.name, m.labels]),
  ...MEMSTATS_METRICS.flatMap((m) => (m.type === 'summary' ? [m.name, `${m.name}_sum`, `${m.name}_count`] : [m.name]))
    .map((n): [string, readonly string[]] => [n, ['target']]),
]);

// Aggregation operators and keywords that can stand without a `(` right after them.
const KEYWORDS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values',
  'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio', 'and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

// Skipped: strings, ranges/subqueries, grouping label lists, numbers and durations, $variables.
// Captured: an identifier, whether a `(` follows (a function call), its `{...}` matchers.
const TOKENS = /"(?:[^"\\]|\\.)*"|\[[^\]]*\]|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)|\d[\w.]*|\$\{?\w+\}?|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?\s*(\{[^}]*\})?/g;

interface Selector { metric: string; matchers: { label: string; op: string; value: string }[] }

function selectors(expr: string): Selector[] {
  const out: Selector[] = [];
  for (const [, name, call, braces] of expr.matchAll(TOKENS)) {
    if (name === undefined || call !== undefined || KEYWORDS.has(name)) continue;
    const matchers = [...(braces ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)]
      .map(([, label = '', op = '', value = '']) => ({ label, op, value }));
    out.push({ metric: name, matchers });
  }
  return out;
}

// --- the linter -----------------------------------------------------------

const BUILTINS = new Set(['__range', '__range_s', '__range_ms', '__rate_interval', '__interval', '__interval_ms',
  '__data', '__field', '__series', '__value', '__url_time_range', '__from', '__to', '__dashboard', '__org', '__user']);

const overlap = (a: Panel['gridPos'], b: Panel['gridPos']): boolean =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** Everything wrong with a dashboard, one line each. */
function lint(d: Dashboard): string[] {
  const problems: string[] = [];
  const vars = new Map(d.templating.list.map((v) => [v.name, v]));
  const ds = vars.get('datasource');
  if (ds?.type !== 'datasource' || ds.query !== 'prometheus') problems.push('no datasource variable of type datasource for prometheus');
  const json = JSON.stringify(d);
  // Prometheus' own labels: `job` only through its variable (dashboard-linter's template-job-rule and
  // target-job-rule), `instance` never (our `target` label is what names a service); `cluster` may be absent.
  if (/\binstance\s*(=~|!~|!=|=)|\bjob\s*(=~|!~|!=|=)\s*\\?"(?!\$job\\?")/.test(json)) problems.push('hard-coded job/instance selector');
  for (const [name, allValue] of [['job', undefined], ['cluster', '.*']] as const) {
    const v = vars.get(name);
    if (v?.type !== 'query' || !v.multi || !v.includeAll || v.allValue !== allValue) problems.push(`no multi-value ${name} variable with All${allValue ? ` = ${allValue}` : ''}`);
  }

  const checkVars = (where: string, text: string): void => {
    for (const [, name = ''] of text.matchAll(/\$\{?(\w+)/g)) {
      if (!vars.has(name) && !BUILTINS.has(name)) problems.push(`${where}: unknown variable $${name}`);
    }
  };
  const checkExpr = (where: string, expr: string, needsTarget = true, scope: readonly string[] = ['job', 'cluster']): void => {
    checkVars(where, expr);
    for (const { metric, matchers } of selectors(expr)) {
      const labels = KNOWN.get(metric);
      if (!labels) { problems.push(`${where}: unknown metric ${metric}`); continue; }
      for (const l of scope) {
        if (!matchers.some((m) => m.label === l && m.op === '=~' && m.value === `$${l}`)) problems.push(`${where}: ${metric} without ${l}=~"$${l}"`);
      }
      const byTarget = matchers.some((m) => m.label === 'target' && (m.op === '=' || m.op === '=~') && m.value === '$target');
      if (needsTarget && labels.includes('target') && !byTarget) problems.push(`${where}: ${metric} without target filter on $target`);
      for (const m of matchers) {
        const v = /^\$\{?(\w+)\}?$/.exec(m.value)?.[1];
        const variable = v === undefined ? undefined : vars.get(v);
        if ((variable?.multi || variable?.includeAll) && m.op !== '=~') problems.push(`${where}: multi-value $${v} needs =~`);
      }
    }
  };

  for (const v of d.templating.list.filter((v) => v.type === 'query')) {
    // label_values(<selector>, <label>): the label must exist; only $target itself is unfiltered.
    const m = /^label_values\((.+),\s*(\w+)\)$/.exec(String(v.query));
    if (!m) { problems.push(`variable ${v.name}: not a label_values() query`); continue; }
    const [, selector = '', label = ''] = m;
    // Each variable is scoped by the ones before it: job, then cluster, then target.
    const scope = v.name === 'job' ? [] : v.name === 'cluster' ? ['job'] : ['job', 'cluster'];
    checkExpr(`variable ${v.name}`, selector, !['job', 'cluster', 'target'].includes(v.name), scope);
    const has = (m: string) => KNOWN.get(m)?.includes(label) || ['job', 'cluster'].includes(label);
    if (selectors(selector).some((s) => !has(s.metric))) problems.push(`variable ${v.name}: no label ${label}`);
  }
  for (const l of d.links) checkVars('dashboard link', l.url ?? '');

  const ids = new Set<number>();
  d.panels.forEach((p, i) => {
    const where = `panel "${p.title ?? i}"`;
    if (typeof p.id !== 'number' || ids.has(p.id)) problems.push(`${where}: missing or duplicate id`);
    ids.add(p.id ?? -1);
    if (!p.title) problems.push(`panel ${i}: no title`);
    if (!p.description) problems.push(`${where}: no description`);
    if (JSON.stringify(p.datasource) !== JSON.stringify(DATASOURCE)) problems.push(`${where}: datasource is not \${datasource}`);
    const { x, w, h } = p.gridPos;
    if (x < 0 || w <= 0 || h <= 0 || x + w > 24) problems.push(`${where}: gridPos does not fit width 24`);
    d.panels.slice(0, i).filter((q) => overlap(p.gridPos, q.gridPos)).forEach((q) => problems.push(`${where}: overlaps "${q.title}"`));
    for (const l of p.fieldConfig?.defaults?.links ?? []) checkVars(`${where} link`, l.url);
    checkVars(`${where} text`, p.options?.content ?? '');
    const refIds = new Set<string>();
    for (const t of p.targets ?? []) {
      if (!t.refId || refIds.has(t.refId)) problems.push(`${where}: missing or duplicate refId`);
      refIds.add(t.refId ?? '');
      if (JSON.stringify(t.datasource) !== JSON.stringify(DATASOURCE)) problems.push(`${where} ${t.refId}: datasource is not \${datasource}`);
      if (!t.expr) problems.push(`${where} ${t.refId}: no expr`);
      else checkExpr(`${where} ${t.refId}`, t.expr);
    }
  });
  return problems;
}

// --- tests ----------------------------------------------------------------

describe('dashboards', () => {
  it('the committed dashboards/*.json are the generator\'s output', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
    expect(files, `dashboards/ is out of date: run \`${REGENERATE}\``).toEqual(Object.keys(all).map((n) => `${n}.json`).sort());
    for (const [name, d] of Object.entries(all)) {
      expect(readFileSync(join(DIR, `${name}.json`), 'utf8'), `dashboards/${name}.json is out of date: run \`${REGENERATE}\``)
        .toBe(`${JSON.stringify(d, null, 2)}\n`);
    }
  });

  it('have stable, unique uids and the common tags', () => {
    expect(Object.fromEntries(Object.entries(all).map(([n, d]) => [n, d.uid]))).toEqual(UIDS);
    for (const d of Object.values(all)) expect(d.tags).toEqual(['pprof-exporter', 'go']);
  });

  it.each(Object.keys(all))('%s passes the linter', (name) => {
    expect(lint(all[name]!)).toEqual([]);
  });

  it('target is multi-value with All on the overview, a single value on the drill-down', () => {
    const target = (d: Dashboard): Variable | undefined => d.templating.list.find((v) => v.name === 'target');
    const query = 'label_values(go_goroutines{job=~"$job",cluster=~"$cluster"}, target)';
    expect(target(all.overview!)).toMatchObject({ type: 'query', query, multi: true, includeAll: true });
    expect(target(all.signature!)).toMatchObject({ type: 'query', query, multi: false, includeAll: false });
    // Scoped by Prometheus job and (possibly absent) cluster first, in that order.
    for (const d of Object.values(all)) expect(d.templating.list.map((v) => v.name).slice(0, 4)).toEqual(['datasource', 'job', 'cluster', 'target']);
  });

  it('the overview\'s data links open the drill-down with variables it has', () => {
    const sig = all.signature!;
    const urls = all.overview!.panels.flatMap((p) => p.fieldConfig?.defaults?.links ?? []).map((l) => l.url)
      .filter((u) => !u.startsWith('${exporter_url}'));
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) {
      expect(url).toMatch(new RegExp(`^/d/${sig.uid}/\\?`));
      const params = [...url.matchAll(/var-(\w+)=/g)].map((m) => m[1]);
      expect(params).toEqual(expect.arrayContaining(['target', 'signature']));
      for (const p of params) expect(sig.templating.list.map((v) => v.name)).toContain(p);
    }
  });

  it('the drill-down links to the exporter\'s page for the signature', () => {
    const sig = all.signature!;
    expect(sig.links.map((l) => l.url)).toContain('${exporter_url}/targets/${target}/signatures/${signature}');
    expect(sig.templating.list.find((v) => v.name === 'exporter_url'))
      .toMatchObject({ type: 'textbox', query: 'http://localhost:10066', current: { value: 'http://localhost:10066' } });
  });

  // test/web.test.ts opens these links in a browser against a running exporter.
  it('every table with a signature column links each row to the exporter\'s page for it', () => {
    for (const d of Object.values(all)) {
      const tables = d.panels.filter((p) => JSON.stringify(p).includes('"signature"') && p.fieldConfig?.defaults?.links !== undefined);
      expect(tables.length).toBeGreaterThan(0);
      for (const p of tables) {
        expect(p.fieldConfig!.defaults!.links!.map((l) => l.url), `${d.uid} "${p.title}"`)
          .toContain('${exporter_url}/targets/${__data.fields.target}/signatures/${__data.fields.signature}');
      }
      expect(d.templating.list.find((v) => v.name === 'exporter_url')).toMatchObject({ type: 'textbox' });
    }
  });

  it('panelQueries lists every target of every panel', () => {
    const q = panelQueries(all.overview!);
    expect(q.length).toBe(all.overview!.panels.reduce((n, p) => n + (p.targets?.length ?? 0), 0));
    expect(q).toContainEqual({ panel: 'Goroutines per target', expr: 'go_goroutines{job=~"$job",cluster=~"$cluster",target=~"$target"}' });
    expect(panelQueries(all.signature!)).toContainEqual({ panel: 'Proven leaked', expr: 'pprof_goroutines_leaked{job=~"$job",cluster=~"$cluster",target="$target",signature="$signature"}' });
  });

  it('every query parses as PromQL (promtool)', () => {
    const exprs = Object.values(all).flatMap((d) => panelQueries(d).map((q) => q.expr));
    // Grafana's interval variables become durations, the others label values.
    const promql = exprs.map((e) => e.replace(/\$__\w+/g, '5m').replace(/\$\{?\w+\}?/g, 'x'));
    const dir = mkdtempSync(join(tmpdir(), 'dashboards-'));
    const rules = promql.map((expr, i) => ({ record: `dashboard:query_${i}`, expr }));
    writeFileSync(join(dir, 'rules.yml'), JSON.stringify({ groups: [{ name: 'dashboards', rules }] })); // JSON is YAML
    const r = spawnSync(inject('promtool'), ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
    rmSync(dir, { recursive: true });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`${promql.length} rules found`);
  });
});

describe('metric selectors', () => {
  it.each([
    ['go_goroutines{target=~"$target"}', ['go_goroutines']],
    ['topk(10, deriv(pprof_goroutines{target=~"$target",signature!="other"}[$__range]) * 3600 > 0)', ['pprof_goroutines']],
    ['sum by (target, blocked_on) (rate(a_total{x="y"}[5m])) / on (target) group_left (function) b offset 1h', ['a_total', 'b']],
    ['sum(a) without (function) and bool max(label_replace(b, "dst", "$1", "src", "(.*)"))', ['a', 'b']],
  ])('%s', (expr, metrics) => {
    expect(selectors(expr).map((s) => s.metric)).toEqual(metrics);
  });
});

describe('the linter catches', () => {
  const clone = (): Dashboard => structuredClone(all.overview!);
  const withExpr = (expr: string): Dashboard => {
    const d = clone();
    d.panels[0]!.targets![0]!.expr = expr;
    return d;
  };
  it.each<[string, () => Dashboard, string]>([
    ['an unknown metric', () => withExpr('pprof_goroutine{target=~"$target"}'), 'unknown metric pprof_goroutine'],
    ['a selector without $target', () => withExpr('go_memstats_heap_idle_bytes{target=~"$target"} - go_memstats_heap_released_bytes'),
      'go_memstats_heap_released_bytes without target filter'],
    ['a target filter on a fixed value', () => withExpr('go_goroutines{target="checkout"}'), 'go_goroutines without target filter'],
    ['a job selector', () => withExpr('go_goroutines{target=~"$target",job="go"}'), 'hard-coded job/instance selector'],
    ['a selector without the job scope', () => withExpr('go_goroutines{cluster=~"$cluster",target=~"$target"}'), 'go_goroutines without job=~"$job"'],
    ['a selector without the cluster scope', () => withExpr('go_goroutines{job=~"$job",target=~"$target"}'), 'go_goroutines without cluster=~"$cluster"'],
    ['a cluster variable whose All would not match a missing label', () => {
      const d = clone();
      delete d.templating.list.find((v) => v.name === 'cluster')!.allValue;
      return d;
    }, 'no multi-value cluster variable with All = .*'],
    ['= on a multi-value variable', () => withExpr('go_goroutines{target="$target"}'), 'multi-value $target needs =~'],
    ['an unknown variable', () => withExpr('rate(pprof_heap_alloc_bytes_total{target=~"$target"}[$window])'), 'unknown variable $window'],
    ['a hard-coded datasource', () => { const d = clone(); d.panels[1]!.datasource = { type: 'prometheus', uid: 'prom' }; return d; },
      'datasource is not ${datasource}'],
    ['a target without expr', () => withExpr(''), 'no expr'],
    ['a duplicate refId', () => { const d = clone(); d.panels[0]!.targets!.push({ ...d.panels[0]!.targets![0]! }); return d; },
      'duplicate refId'],
    ['a duplicate panel id', () => { const d = clone(); d.panels[1]!.id = d.panels[0]!.id; return d; }, 'duplicate id'],
    ['a missing description', () => { const d = clone(); delete d.panels[2]!.description; return d; }, 'no description'],
    ['overlapping panels', () => { const d = clone(); d.panels[1]!.gridPos = { ...d.panels[0]!.gridPos, x: 6 }; return d; }, 'overlaps'],
    ['a panel wider than 24', () => { const d = clone(); d.panels[1]!.gridPos.w = 13; return d; }, 'does not fit width 24'],
    ['a variable on a label the metric lacks', () => {
      const d = clone();
      d.templating.list.find((v) => v.name === 'target')!.query = 'label_values(go_goroutines, signature)';
      return d;
    }, 'variable target: no label signature'],
    ['a missing datasource variable', () => { const d = clone(); d.templating.list = d.templating.list.filter((v) => v.name !== 'datasource'); return d; },
      'no datasource variable'],
  ])('%s', (_, make, problem) => {
    expect(lint(make()).join('\n')).toContain(problem);
  });
});
