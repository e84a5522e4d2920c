// "What is this one stack signature doing, and is it a leak?"
import { OTHER } from '../metrics/catalog.js';
import { dashboard, exporterUrlVar, queryVar, stackPageLink, stackPageUrl, table, text, timeseries } from './builder.js';

export const SIGNATURE_UID = 'pprof-exporter-signature';

const S = 'target="$target",signature="$signature"';
// The exporter's page with the signature's full stack.
const STACK_URL = stackPageUrl('${target}', '${signature}');

export function signature(): object {
  return dashboard({
    uid: SIGNATURE_UID,
    title: 'pprof-exporter: signature drill-down',
    description: 'One goroutine stack signature of one target: its count, growth, longest wait and proven leaks.',
    variables: [
      // Single target: the signature ids below belong to one target.
      queryVar('target', 'Target', 'label_values(go_goroutines, target)', false),
      queryVar('signature', 'Signature', `label_values(pprof_goroutines{target="$target",signature!="${OTHER}"}, signature)`, false),
      exporterUrlVar,
    ],
    links: [{
      type: 'link', title: 'Full stack on the exporter', url: STACK_URL,
      tooltip: 'The exporter\'s page for this signature, with its full stack',
      icon: 'external link', targetBlank: true, includeVars: false, keepTime: false, asDropdown: false, tags: [],
    }],
    panels: [
      [
        table({
          title: 'Signature', w: 16, h: 5,
          description: 'Which function is this signature in and what is it blocked on, and how many goroutines does it have now?',
          queries: [`pprof_goroutines{${S}}`],
          columns: ['target', 'signature', 'function', 'blocked_on'],
          valueName: 'goroutines now',
          links: [stackPageLink],
        }),
        text({
          title: 'Full stack', w: 8, h: 5,
          description: 'Where is the full stack of this signature? On the exporter\'s own page (set the Exporter URL variable to where the exporter is reachable).',
          markdown: `Full stack, with file and line of every frame, on the exporter:\n\n[${STACK_URL}](${STACK_URL})`,
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
