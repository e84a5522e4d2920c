// "What is this one stack signature doing, and is it a leak?"
import { OTHER } from '../metrics/catalog.js';
import { dashboard, exporterUrlVar, headerLink, queryVar, SCOPE, scopeVars, stackPageLink, stackPageUrl, table, timeseries, withLocation } from './builder.js';

import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

export const SIGNATURE_UID = 'pprof-exporter-signature';

const S = `${SCOPE},target="$target",signature="$signature"`;
// The exporter's page with the signature's full stack.
const STACK_URL = stackPageUrl('${target}', '${signature}');

export function signature(): Dashboard {
  return dashboard({
    uid: SIGNATURE_UID,
    title: 'pprof-exporter: signature drill-down',
    description: 'One goroutine stack signature of one target: where it is in the code, its stack, count, growth, longest wait and proven leaks.',
    variables: [
      // Single target: the signature ids below belong to one target.
      ...scopeVars,
      queryVar('target', 'Target', `label_values(go_goroutines{${SCOPE}}, target)`, false),
      queryVar('signature', 'Signature', `label_values(pprof_goroutines{${SCOPE},target="$target",signature!="${OTHER}"}, signature)`, false),
      exporterUrlVar,
    ],
    links: [headerLink({ title: 'Full stack on the exporter', url: STACK_URL, tooltip: 'The exporter\'s page for this signature, with its full stack' })],
    panels: [
      [
        table({
          title: 'Signature', w: 24, h: 4,
          description: 'Which function is this signature in, at which file:line, what is it blocked on, and how many goroutines does it have now?',
          queries: [withLocation(`pprof_goroutines{${S}}`, S)],
          columns: ['target', 'signature', 'function', 'blocked_on', 'location'],
          valueName: 'goroutines now',
          links: [stackPageLink],
        }),
      ],
      [
        table({
          title: 'Stack', w: 24, h: 10,
          description: 'The stack of this signature, leaf first, one "function file:line" per line, from pprof_goroutine_signature_info (at most 16 frames or 1024 characters; the exporter\'s page has all of them).',
          queries: [`pprof_goroutine_signature_info{${S}}`],
          columns: ['stack'],
          wrap: ['stack'],
        }),
      ],
      [
        timeseries({
          title: 'Goroutines', w: 12, h: 8,
          description: 'How many goroutines does this signature have over time? A leak only goes up.',
          queries: [[`pprof_goroutines{${S}}`, '{{function}} ({{blocked_on}})']],
        }),
        timeseries({
          title: 'Growth (goroutines per hour)', w: 12, h: 8,
          description: 'How fast is this signature growing (least-squares slope over the last 15 minutes, per hour)? Steadily above 0 is a leak; around 0 is a stable pool.',
          queries: [[`deriv(pprof_goroutines{${S}}[15m]) * 3600`, '{{function}} ({{blocked_on}})']],
        }),
      ],
      [
        timeseries({
          title: 'Longest wait', w: 12, h: 8, unit: 's', min: 0,
          description: 'How long has the longest-waiting goroutine of this signature been blocked (from the debug=2 dump; whole minutes, 0 means under a minute)? A wait that grows with the clock never ends: a leak.',
          queries: [[`pprof_goroutine_wait_seconds_max{${S}}`, 'longest wait']],
        }),
        timeseries({
          title: 'Proven leaked', w: 12, h: 8, min: 0,
          description: 'How many goroutines of this signature has the Go runtime proved leaked (goroutineleak profile, Go 1.26+)? Anything above 0 is a certain leak.',
          queries: [[`pprof_goroutines_leaked{${S}}`, '{{function}} ({{blocked_on}})']],
        }),
      ],
    ],
  });
}
