// A whole /metrics body for a captured profile, compared with a golden file
// (UPDATE_GOLDEN=1 rewrites it), and no stale series when a stack goes away.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { perftools } from '../src/decode/proto/profile.js';
import { configFor, startExporter, type RunningExporter } from './helpers/exporter.js';
import { startFixtureTarget, type TestServer } from './helpers/http.js';
import { fixture, newestGo } from './helpers/fixtures.js';
import { parseMetrics, promtoolCheck, select } from './helpers/prom.js';

const GOLDEN = join(import.meta.dirname, 'fixtures/golden/metrics.txt');

// Keep what is deterministic: our own families, durations masked.
function stable(body: string): string {
  const keep = /^(# (HELP|TYPE) )?(go_goroutines|go_memstats_\w+|go_gc_duration_seconds\w*|expvar_\w+|pprof_goroutines|pprof_goroutine_signatures|pprof_heap_\w+|pprof_exporter_(scrape_success|scrape_duration_seconds|profile_bytes|scrape_errors_total|top_signatures|top_heap_functions|memstats_source|expvar_metrics_dropped))\b/;
  return body.split('\n').filter((l) => keep.test(l))
    .map((l) => l.replace(/^(pprof_exporter_scrape_duration_seconds\{[^}]*\}) .*$/, '$1 <duration>'))
    .join('\n') + '\n';
}

describe('golden /metrics', () => {
  let server: TestServer;
  let exp: RunningExporter;
  let lonely: Buffer | undefined;

  beforeAll(async () => {
    server = await startFixtureTarget((f) => (f === 'goroutine.pb.gz' && lonely) || fixture(newestGo(), f));
    exp = await startExporter(configFor([{ name: 'fixture', url: server.url, top_signatures: 5, top_heap_functions: 3 }]));
  });
  afterAll(async () => {
    await exp.close();
    await server.close();
  });

  it(`matches test/fixtures/golden/metrics.txt for the ${newestGo()} profile`, async () => {
    const { status, text, contentType } = await exp.scrape();
    expect(status).toBe(200);
    expect(contentType).toContain('text/plain; version=0.0.4');
    expect(promtoolCheck(text)).toBe('');
    const got = stable(text);
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, got);
    if (!existsSync(GOLDEN)) throw new Error('no golden file: run UPDATE_GOLDEN=1 npm test');
    expect(got).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('drops a signature as soon as the target no longer has it', async () => {
    expect(select(parseMetrics((await exp.scrape()).text), 'pprof_goroutines').length).toBe(6);
    lonely = gzipSync(perftools.profiles.Profile.encode({
      sampleType: [{ type: 1, unit: 2 }],
      sample: [{ locationId: [1], value: [4] }],
      location: [{ id: 1, line: [{ functionId: 1, line: 3 }] }],
      function: [{ id: 1, name: 3, filename: 4 }],
      stringTable: ['', 'goroutine', 'count', 'main.lonely', 'main.go'],
    }).finish());
    const after = parseMetrics((await exp.scrape()).text);
    expect(select(after, 'pprof_goroutines').map((s) => [s.labels.function, s.value])).toEqual([['main.lonely', 4]]);
    expect(select(after, 'go_goroutines')[0]!.value).toBe(4);
  });
});
