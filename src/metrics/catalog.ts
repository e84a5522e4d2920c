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
  heapInuseBytes: def('pprof_heap_inuse_bytes', 'gauge', ['target', 'function'],
    'Bytes in use (allocated, not yet freed) per allocation site, from the heap profile; top sites by in-use bytes, the rest under function="other".'),
  heapInuseObjects: def('pprof_heap_inuse_objects', 'gauge', ['target', 'function'],
    'Objects in use per allocation site, from the heap profile.'),
  heapAllocBytes: def('pprof_heap_alloc_bytes_total', 'counter', ['target', 'function'],
    'Bytes allocated per allocation site since the target started (resets when it restarts).'),
  heapAllocObjects: def('pprof_heap_alloc_objects_total', 'counter', ['target', 'function'],
    'Objects allocated per allocation site since the target started (resets when it restarts).'),
  heapFunctions: def('pprof_heap_functions', 'gauge', ['target'],
    'Distinct allocation sites (functions) in the last heap profile, before folding into "other".'),
  waitSecondsMax: def('pprof_goroutine_wait_seconds_max', 'gauge', ['target', 'signature'],
    'Longest wait among the goroutines of a signature, from the last debug=2 dump. Go reports whole minutes, and only once a GC has seen the goroutine blocked: resolution 60 s, 0 means under a minute.'),
  byWaitReason: def('pprof_goroutines_by_wait_reason', 'gauge', ['target', 'wait_reason'],
    'Goroutines per wait reason as Go prints it in the debug=2 dump header (chan send, select, IO wait, running, ...).'),
  dumpTruncated: def('pprof_goroutine_dump_truncated', 'gauge', ['target'],
    'Whether the last debug=2 dump hit Go\'s 64 MiB cap and was cut off (1) or was complete (0).'),
  dumpGoroutines: def('pprof_goroutine_dump_goroutines', 'gauge', ['target'],
    'Goroutines the last debug=2 dump held (fewer than go_goroutines when it was truncated).'),
  dumpAge: def('pprof_goroutine_dump_age_seconds', 'gauge', ['target'],
    'Age of the debug=2 dump the wait metrics come from.'),
  leaked: def('pprof_goroutines_leaked', 'gauge', ['target', 'signature', 'function', 'blocked_on'],
    'Goroutines the Go runtime proved leaked (blocked on objects no running goroutine can reach), from the goroutineleak profile; same signatures as pprof_goroutines.'),
  leakAge: def('pprof_goroutineleak_profile_age_seconds', 'gauge', ['target'],
    'Age of the goroutineleak profile pprof_goroutines_leaked comes from.'),
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
  topHeapFunctions: def('pprof_exporter_top_heap_functions', 'gauge', ['target'],
    'Configured cap on allocation sites exported per target (top_heap_functions); the rest are folded into "other".'),
  memstatsSource: def('pprof_exporter_memstats_source', 'gauge', ['target', 'source'],
    'Which endpoint served the go_memstats_* figures: source="expvar" (/debug/vars) or "heap_debug1" (the heap?debug=1 trailer, when expvar is not mounted).'),
  expvarDropped: def('pprof_exporter_expvar_metrics_dropped', 'gauge', ['target'],
    'Numeric expvar values not exported because of max_expvar_metrics (or nested too deep).'),
  textFallback: def('pprof_exporter_goroutine_text_fallback', 'gauge', ['target'],
    'Whether the goroutine metrics came from the ?debug=1 text (1) because the proto profile could not be decoded, or from the proto (0).'),
  sourceSupported: def('pprof_exporter_source_supported', 'gauge', ['target', 'source'],
    'Whether the target serves this source (0 after a 404, e.g. no goroutineleak profile before Go 1.27); unsupported sources are asked again hourly.'),
  debug2Skipped: def('pprof_exporter_debug2_skipped_total', 'counter', ['target', 'reason'],
    'debug=2 dumps not taken when due, by reason: too_many_goroutines (over debug2_max_goroutines) or goroutine_count_unknown (no goroutine scrape yet).'),
  configReloadSuccess: def('pprof_exporter_config_last_reload_successful', 'gauge', [],
    'Whether the last configuration reload attempt was successful.'),
  configReloadTime: def('pprof_exporter_config_last_reload_success_timestamp_seconds', 'gauge', [],
    'Timestamp of the last successful configuration reload.'),
  probeSuccess: def('probe_success', 'gauge', [],
    '/probe only: whether every source of the module was scraped successfully (1) or not (0).'),
  probeDuration: def('probe_duration_seconds', 'gauge', [],
    '/probe only: how long the probe took, all sources together.'),
  probes: def('pprof_exporter_probes_total', 'counter', ['module', 'result'],
    '/probe requests by module and result: success, failure (probed, some source failed), denied (not in allowed_targets), rejected (over max_concurrent_probes, answered 503) or invalid (missing or bad parameters, unknown module: module="unknown").'),
  probesInFlight: def('pprof_exporter_probes_in_flight', 'gauge', [],
    'Probes running now.'),
  maxConcurrentProbes: def('pprof_exporter_max_concurrent_probes', 'gauge', [],
    'Configured max_concurrent_probes; probes beyond it are answered 503.'),
  probedTargets: def('pprof_exporter_probed_targets', 'gauge', [],
    'Probed targets whose background sources (goroutine_debug2, goroutineleak) are being sampled; at most 1000, further targets get none.'),
  buildInfo: def('pprof_exporter_build_info', 'gauge', ['version', 'nodejs'],
    'A metric with a constant 1 value labelled by the version of pprof-exporter and of Node.js it runs on.'),
} as const satisfies Record<string, MetricDef>;

/** The label value that absorbs every signature beyond the top N. */
export const OTHER = 'other';
