// A failed target is data, not an outage: each way a target can break gives
// scrape_success 0, a log line naming target and stage, no series of its own,
// and leaves the other targets and the HTTP status alone.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { perftools } from '../src/decode/proto/profile.js';
import { configFor, startExporter, type RunningExporter } from './helpers/exporter.js';
import { closedPort, startServer, type TestServer } from './helpers/http.js';
import { fixture, newestGo } from './helpers/fixtures.js';
import { one, parseMetrics, select, type Sample } from './helpers/prom.js';

const goodProfile = fixture(newestGo(), 'goroutine.pb.gz');
function profileWithDanglingLocation(): Buffer {
  const p = perftools.profiles.Profile.encode({
    sampleType: [{ type: 1, unit: 2 }],
    sample: [{ locationId: [42], value: [3] }],
    stringTable: ['', 'goroutine', 'count'],
  }).finish();
  return gzipSync(p);
}

// Made once: compressing 64 MiB in a handler would stall this process (and so
// every test target in it) in the middle of the scrape being timed.
const bomb = gzipSync(Buffer.alloc(64 << 20));
const tooLarge = Buffer.concat([goodProfile, Buffer.alloc(2 << 20)]);

// name → [how the target misbehaves, the stage, a fragment of the logged error]
const BAD: Record<string, [(res: import('node:http').ServerResponse) => void, string, string]> = {
  html: [(res) => { res.setHeader('content-type', 'text/html'); res.end('<!DOCTYPE html><html><body>login</body></html>'); },
    'decompressing', 'response is not gzip data (starts with "<!DOCTYPE html>'],
  pprof_error: [(res) => { res.statusCode = 500; res.setHeader('X-Go-Pprof', '1'); res.end('Could not enable goroutine profile: boom\n'); },
    'fetching', 'HTTP 500: pprof error: "Could not enable goroutine profile: boom"'],
  not_found: [(res) => { res.statusCode = 404; res.end('404 page not found\n'); }, 'fetching', 'HTTP 404: body "404 page not found"'],
  redirect: [(res) => { res.statusCode = 302; res.setHeader('location', 'http://127.0.0.1:1/elsewhere'); res.end(); },
    'fetching', 'redirect to http://127.0.0.1:1/elsewhere (redirects are not followed; set follow_redirects in http_config)'],
  garbage: [(res) => res.end(gzipSync(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]))), 'decoding', 'parsing profile:'],
  truncated: [(res) => res.end(goodProfile.subarray(0, Math.floor(goodProfile.length / 2))), 'decompressing', 'unexpected end of file'],
  bomb: [(res) => res.end(bomb), 'decompressing', 'inflated size exceeds max_decompressed_bytes (1048576 bytes)'],
  too_large: [(res) => res.end(tooLarge), 'fetching', 'exceeds max_profile_bytes (1048576)'],
  heap: [(res) => res.end(fixture(newestGo(), 'heap.pb.gz')), 'validating', 'expected a goroutine profile (sample type goroutine/count), got sample types: alloc_objects/count, alloc_space/bytes, inuse_objects/count, inuse_space/bytes'],
  dangling: [(res) => res.end(profileWithDanglingLocation()), 'validating', 'malformed profile: sample 0 refers to location id 42 that does not exist'],
  hang: [() => { /* never answers */ }, 'fetching', 'timed out after'],
  drip: [(res) => {
    res.writeHead(200);
    const t = setInterval(() => res.write(goodProfile.subarray(0, 1)), 100);
    res.on('close', () => clearInterval(t));
  }, 'fetching', 'timed out after'],
};

describe('bad targets', () => {
  const servers: TestServer[] = [];
  let exp: RunningExporter;
  let samples: Sample[];
  let status: number;

  beforeAll(async () => {
    const good = await startServer((_req, res) => res.end(goodProfile));
    servers.push(good);
    const only = ['goroutine'];
    const targets: { name: string; url: string; [k: string]: unknown }[] = [{ name: 'good', url: good.url, sources: only }];
    for (const [name, [handler]] of Object.entries(BAD)) {
      const s = await startServer((_req, res) => handler(res));
      servers.push(s);
      targets.push({ name, url: s.url, max_profile_bytes: '1MiB', max_decompressed_bytes: '1MiB', sources: only });
    }
    targets.push({ name: 'refused', url: await closedPort(), sources: only });
    exp = await startExporter(configFor(targets));
    // Prometheus says 2s; minus the 0.5s offset the exporter has 1.5s.
    const r = await exp.scrape({ 'X-Prometheus-Scrape-Timeout-Seconds': '2' });
    status = r.status;
    samples = parseMetrics(r.text);
  });
  afterAll(async () => {
    await exp?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  it('still answers 200 and serves the good target in full', () => {
    expect(status).toBe(200);
    expect(one(samples, 'pprof_exporter_scrape_success', { target: 'good', source: 'goroutine' }).value).toBe(1);
    expect(one(samples, 'go_goroutines', { target: 'good' }).value).toBeGreaterThan(30);
    expect(select(samples, 'pprof_goroutines', { target: 'good' }).length).toBeGreaterThan(5);
  });

  it.each([...Object.entries(BAD).map(([n, [, stage, msg]]) => [n, stage, msg]), ['refused', 'fetching', 'ECONNREFUSED']])(
    '%s: success 0, stage %s, logged, no series, counted', (name, stage, msg) => {
      expect(one(samples, 'pprof_exporter_scrape_success', { target: name, source: 'goroutine' }).value).toBe(0);
      expect(select(samples, 'go_goroutines', { target: name })).toEqual([]);
      expect(select(samples, 'pprof_goroutines', { target: name })).toEqual([]);
      expect(one(samples, 'pprof_exporter_scrape_errors_total', { target: name, source: 'goroutine', stage }).value).toBe(1);
      const line = exp.logs.find((l) => l.target === name);
      expect(line).toMatchObject({ msg: 'scrape failed', stage, source: 'goroutine' });
      expect(String(line!.err)).toContain(msg);
    });

  // Not an upper bound on the clock (a loaded machine runs late): the deadline each target was cut at.
  it('keeps the whole scrape within the deadline despite hanging targets', () => {
    expect(one(samples, 'pprof_exporter_scrape_duration_seconds', { target: 'hang' }).value).toBeGreaterThan(1.3);
    expect(String(exp.logs.find((l) => l.target === 'hang')!.err)).toMatch(/timed out after 1\.[0-5]\d\ds \(scrape deadline\)$/);
  });
});

describe('deadlines', () => {
  it('takes Prometheus\' timeout minus the offset, else scrape_timeout', async () => {
    const { scrapeTimeoutSeconds } = await import('../src/exporter.js');
    const cfg = configFor([], { scrape_timeout: '7s', timeout_offset: '250ms' });
    expect(scrapeTimeoutSeconds('4', cfg)).toBe(3.75);
    expect(scrapeTimeoutSeconds(undefined, cfg)).toBe(7);
    expect(scrapeTimeoutSeconds('nonsense', cfg)).toBe(7);
    expect(scrapeTimeoutSeconds('0', cfg)).toBe(7);
    // Never below 100 ms, so a tiny header still lets fast targets answer.
    expect(scrapeTimeoutSeconds('0.2', cfg)).toBe(0.1);
  });

  it('cuts a hanging target at its own shorter timeout, and at scrape_timeout without the header', async () => {
    const hang = await startServer(() => { /* never answers */ });
    const exp = await startExporter(configFor(
      [{ name: 'short', url: hang.url, timeout: '300ms', sources: ['goroutine'] }, { name: 'long', url: hang.url, sources: ['goroutine'] }],
      { scrape_timeout: '1s' },
    ));
    try {
      const s = parseMetrics((await exp.scrape()).text);
      const short = one(s, 'pprof_exporter_scrape_duration_seconds', { target: 'short' }).value;
      const long = one(s, 'pprof_exporter_scrape_duration_seconds', { target: 'long' }).value;
      expect(short).toBeGreaterThanOrEqual(0.29);
      expect(long).toBeGreaterThanOrEqual(0.99);
      // Which deadline cut each (their durations on a loaded machine may run late).
      expect(String(exp.logs.find((l) => l.target === 'short')!.err)).toContain('timed out after 0.300s');
      expect(String(exp.logs.find((l) => l.target === 'long')!.err)).toContain('timed out after 1.000s');
    } finally {
      await exp.close();
      await hang.close();
    }
  });
});
