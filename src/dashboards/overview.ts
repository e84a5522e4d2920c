// "Is any Go service leaking goroutines, where, and is the exporter healthy?"
import { OTHER } from '../metrics/catalog.js';
import {
  bargauge, dashboard, exporterUrlVar, queryVar, SCOPE, SCOPE_PARAMS, scopeVars, stackPageLink, table, timeseries, withLocation, type Link,
} from './builder.js';
import { SIGNATURE_UID } from './signature.js';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

const T = `${SCOPE},target=~"$target"`;

const drillDown: Link = {
  title: 'Drill down into this signature',
  url: `/d/${SIGNATURE_UID}/?var-target=\${__data.fields.target}&var-signature=\${__data.fields.signature}&\${datasource:queryparam}&${SCOPE_PARAMS}&\${__url_time_range}`,
};

export function overview(): Dashboard {
  return dashboard({
    uid: 'pprof-exporter-overview',
    title: 'pprof-exporter: Go goroutine leaks',
    description: 'Goroutines per stack signature, wait times, proven leaks, heap and MemStats of the Go services pprof-exporter scrapes.',
    variables: [...scopeVars, queryVar('target', 'Target', `label_values(go_goroutines{${SCOPE}}, target)`, true), exporterUrlVar],
    panels: [
      [
        timeseries({
          title: 'Goroutines per target', w: 12, h: 8,
          description: 'Is the number of goroutines of a service climbing? A leak is a line that only goes up.',
          queries: [[`go_goroutines{${T}}`, '{{target}}']],
        }),
        timeseries({
          title: 'Goroutines by blocked_on', w: 12, h: 8, stack: true,
          description: 'What are the goroutines blocked on (channel send or receive, select, mutex, I/O, ...)? A growing band points at the kind of leak.',
          queries: [[`sum by (blocked_on) (pprof_goroutines{${T}})`, '{{blocked_on}}']],
        }),
      ],
      [
        table({
          title: 'Fastest-growing signatures', w: 15, h: 9,
          description: 'Which stack signatures grew fastest over the selected time range (least-squares slope, goroutines per hour; only growing ones)? Click a row for its drill-down or its full stack on the exporter.',
          queries: [withLocation(`topk(10, deriv(pprof_goroutines{${T},signature!="${OTHER}"}[$__range]) * 3600 > 0)`, T)],
          columns: ['target', 'function', 'blocked_on', 'location', 'signature'],
          valueName: 'growth (goroutines/h)',
          links: [drillDown, stackPageLink],
        }),
        timeseries({
          title: 'Proven leaked goroutines', w: 9, h: 9,
          description: 'Which goroutines has the Go runtime proved leaked (blocked on objects no running goroutine can reach)? Needs Go 1.26+ with the goroutineleak profile; any value above 0 is a leak.',
          queries: [[`sum by (target, function, blocked_on) (pprof_goroutines_leaked{${T}})`, '{{target}} {{function}} ({{blocked_on}})']],
        }),
      ],
      [
        table({
          title: 'Longest waits', w: 15, h: 9, unit: 's',
          description: 'Which signatures have goroutines that have waited longest (from the last debug=2 dump; whole minutes, 0 means under a minute)? Hours of waiting on a channel is almost certainly a leak. Click a row for its drill-down or its full stack on the exporter.',
          queries: [withLocation(`topk(10, pprof_goroutine_wait_seconds_max{${T}})`, T)],
          columns: ['target', 'location', 'signature'],
          valueName: 'longest wait',
          links: [drillDown, stackPageLink],
        }),
        bargauge({
          title: 'Goroutines by wait reason', w: 9, h: 9,
          description: 'What are the goroutines waiting for right now, in the Go runtime\'s own words (from the last debug=2 dump)?',
          queries: [[`sort_desc(pprof_goroutines_by_wait_reason{${T}})`, '{{target}} {{wait_reason}}']],
        }),
      ],
      [
        bargauge({
          title: 'Heap in use by function', w: 12, h: 9, unit: 'bytes',
          description: 'Which allocation sites hold the most live heap (as of the last GC)?',
          queries: [[`topk(10, pprof_heap_inuse_bytes{${T}})`, '{{target}} {{function}}']],
        }),
        timeseries({
          title: 'Allocation rate by function', w: 12, h: 9, unit: 'Bps',
          description: 'Which allocation sites allocate the most bytes per second (live or already freed)? High churn drives GC work even when nothing leaks.',
          queries: [[`topk(10, rate(pprof_heap_alloc_bytes_total{${T}}[$__rate_interval]))`, '{{target}} {{function}}']],
        }),
      ],
      [
        timeseries({
          title: 'MemStats breakdown', w: 24, h: 9, unit: 'bytes',
          description: 'Where does the process memory the Go runtime holds go: live heap, idle heap, stacks, and how much idle heap is held but not returned to the OS?',
          queries: [
            [`go_memstats_heap_inuse_bytes{${T}}`, '{{target}} HeapInuse'],
            [`go_memstats_heap_idle_bytes{${T}}`, '{{target}} HeapIdle'],
            [`go_memstats_heap_released_bytes{${T}}`, '{{target}} HeapReleased'],
            [`go_memstats_heap_idle_bytes{${T}} - go_memstats_heap_released_bytes{${T}}`, '{{target}} held, not returned to the OS'],
            [`go_memstats_stack_inuse_bytes{${T}}`, '{{target}} StackInuse'],
            [`go_memstats_sys_bytes{${T}}`, '{{target}} Sys'],
          ],
        }),
      ],
      [
        timeseries({
          title: 'Scrape success by source', w: 12, h: 8, min: 0, max: 1,
          description: 'Is the exporter getting every profile it should (1 = last scrape of this source succeeded, 0 = failed)?',
          queries: [[`pprof_exporter_scrape_success{${T}}`, '{{target}} {{source}}']],
        }),
        timeseries({
          title: 'Scrape duration by source', w: 12, h: 8, unit: 's',
          description: 'How long does fetching and grouping each profile take? Close to the scrape timeout means scrapes are about to fail.',
          queries: [[`pprof_exporter_scrape_duration_seconds{${T}}`, '{{target}} {{source}}']],
        }),
      ],
      [
        timeseries({
          title: 'Scrape errors by stage', w: 12, h: 8, unit: 'ops',
          description: 'Why do scrapes fail: fetching, decompressing, decoding or validating the profile? The exporter log has the details.',
          queries: [[`sum by (target, source, stage) (rate(pprof_exporter_scrape_errors_total{${T}}[$__rate_interval]))`, '{{target}} {{source}} {{stage}}']],
        }),
        timeseries({
          title: 'Signatures vs top_signatures', w: 12, h: 8,
          description: `Are signatures being folded into signature="${OTHER}"? Once the distinct signatures exceed the top_signatures cap, the smallest are summed under "${OTHER}".`,
          queries: [
            [`pprof_goroutine_signatures{${T}}`, '{{target}} distinct signatures'],
            [`pprof_exporter_top_signatures{${T}}`, '{{target}} top_signatures cap'],
          ],
        }),
      ],
    ],
  });
}
