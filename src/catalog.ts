// Every metric the exporter publishes, defined once. The renderer, the README
// table (checked by test/docs.test.ts) and later the alerts read from here.
export interface MetricDef {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  labels: readonly string[];
}

const def = (name: string, type: MetricDef['type'], labels: readonly string[], help: string): MetricDef =>
  ({ name, type, labels, help });

export const METRICS = {
  goGoroutines: def('go_goroutines', 'gauge', ['target'],
    'Number of goroutines that currently exist.'),
  goroutines: def('pprof_goroutines', 'gauge', ['target', 'signature', 'function', 'blocked_on'],
    'Goroutines per stack signature; the top signatures by count, the rest summed under signature="other".'),
  signatures: def('pprof_goroutine_signatures', 'gauge', ['target'],
    'Distinct goroutine stack signatures in the last profile, before folding into "other".'),
  scrapeSuccess: def('pprof_exporter_scrape_success', 'gauge', ['target', 'source'],
    'Whether the last scrape of this source of the target succeeded (1) or failed (0).'),
  scrapeDuration: def('pprof_exporter_scrape_duration_seconds', 'gauge', ['target', 'source'],
    'Time the last scrape of this source of the target took, fetch to grouped profile.'),
  profileBytes: def('pprof_exporter_profile_bytes', 'gauge', ['target', 'source'],
    'Size of the last profile response as received on the wire (compressed).'),
  scrapeErrors: def('pprof_exporter_scrape_errors_total', 'counter', ['target', 'source', 'stage'],
    'Failed scrapes since the exporter started, by the stage that failed (fetching, decompressing, decoding, validating).'),
  topSignatures: def('pprof_exporter_top_signatures', 'gauge', ['target'],
    'Configured cap on signatures exported per target (top_signatures); the rest are folded into "other".'),
  configReloadSuccess: def('pprof_exporter_config_last_reload_successful', 'gauge', [],
    'Whether the last configuration reload attempt was successful.'),
  configReloadTime: def('pprof_exporter_config_last_reload_success_timestamp_seconds', 'gauge', [],
    'Timestamp of the last successful configuration reload.'),
  buildInfo: def('pprof_exporter_build_info', 'gauge', ['version', 'nodejs'],
    'A metric with a constant 1 value labelled by the version of pprof-exporter and of Node.js it runs on.'),
} as const satisfies Record<string, MetricDef>;

/** The label value that absorbs every signature beyond the top N. */
export const OTHER = 'other';
