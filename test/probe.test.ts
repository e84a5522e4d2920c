// /probe: the multi-target endpoint. Every case runs against real sockets on
// 127.0.0.1; after each hostile case the same exporter must still probe a
// healthy target correctly. Denied addresses are refused before any
// connection, and host names go through an injected resolver: no test sends
// a packet or a DNS query anywhere but loopback.
import { gunzipSync, gzipSync } from 'node:zlib';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/config.js';
import { Allowlist, canonicalIp, type Resolver } from '../src/http/allowlist.js';
import { parseProbeTarget } from '../src/probe.js';
import { startExporter, type RunningExporter } from './helpers/exporter.js';
import { closedPort, startFixtureTarget, startServer, type TestServer } from './helpers/http.js';
import { fixture, goVersions, newestGo } from './helpers/fixtures.js';
import { one, parseMetrics, promtoolCheck, select } from './helpers/prom.js';

const GO = newestGo();
const goodProfile = fixture(GO, 'goroutine.pb.gz');
const hostPort = (url: string) => url.replace(/^http:\/\//, '');

/** Resolves only the names a test gives it; anything else fails like NXDOMAIN, without a lookup. */
function fakeDns(names: Record<string, string[] | (() => string[])>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const r = async (host: string) => {
    asked.push(host);
    const a = names[host];
    if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return typeof a === 'function' ? a() : a;
  };
  return Object.assign(r, { asked });
}

function config(extra: Record<string, unknown> = {}) {
  return parseConfig(JSON.stringify({
    global: { sources: ['goroutine', 'heap', 'expvar'], max_profile_bytes: '1MiB', max_decompressed_bytes: '1MiB' },
    modules: { goroutine: { sources: ['goroutine'] } },
    ...extra,
  }), 'probe.yml');
}

describe('parseProbeTarget', () => {
  it.each([
    ['127.0.0.1:6060', 'http://127.0.0.1:6060'],
    ['http://127.0.0.1:6060', 'http://127.0.0.1:6060'],
    ['https://pod.ns.svc:6060/', 'https://pod.ns.svc:6060'],
    ['[::1]:6060', 'http://[::1]:6060'],
    // The URL parser reads these spellings as the dotted address; the allowlist sees that.
    ['2852039166:80', 'http://169.254.169.254'],
    ['0xa9fea9fe', 'http://169.254.169.254'],
    ['0251.0376.0251.0376', 'http://169.254.169.254'],
    ['169.254.43518', 'http://169.254.169.254'],
  ])('%s -> %s', (raw, origin) => {
    expect(parseProbeTarget(raw).origin).toBe(origin);
  });

  it.each([
    ['', 'empty'],
    ['127.0.0.1:6060/debug/pprof/profile?seconds=30', 'must not contain a query string or fragment'],
    ['127.0.0.1:6060/debug/pprof/trace', 'must not contain a path'],
    ['http://127.0.0.1:6060/?debug=2', 'must not contain a query string'],
    ['http://user:pw@127.0.0.1:6060', 'must not contain credentials'],
    ['10.0.0.1:6060@169.254.169.254', 'must not contain credentials'],
    ['http://127.0.0.1\\@169.254.169.254', 'must not contain a path'],
    ['ftp://127.0.0.1', 'scheme must be http or https'],
    ['file:///etc/passwd', 'scheme must be http or https'],
    ['127.0.0.1:99999', 'want host:port'],
  ])('rejects %j (%s)', (raw, why) => {
    expect(() => parseProbeTarget(raw)).toThrow(why);
  });
});

describe('allowlist', () => {
  const def = new Allowlist(config().allowedTargets);
  it.each([
    '169.254.169.254', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', 'fd00:ec2::254', '0.0.0.0', '::', 'fe80::1',
    '8.8.8.8', '2001:4860:4860::8888', '100.64.0.1', '224.0.0.1',
  ])('denies %s by default', (ip) => {
    expect(def.ipDenial(ip)).toBeDefined();
  });
  it.each(['127.0.0.1', '::1', '10.1.2.3', '172.31.255.255', '192.168.0.1', 'fd12::1', '::ffff:127.0.0.1'])('allows %s by default', (ip) => {
    expect(def.ipDenial(ip)).toBeUndefined();
  });
  it('never allows metadata addresses, even inside an allowed range', () => {
    const wide = new Allowlist(['0.0.0.0/0', '::/0']);
    expect(wide.ipDenial('169.254.169.254')).toContain('never allowed');
    expect(wide.ipDenial('fd00:ec2::254')).toContain('never allowed');
    expect(wide.ipDenial('8.8.8.8')).toBeUndefined();
  });
  it('host patterns limit names; their addresses still need an allowed range', async () => {
    const a = new Allowlist(['*.svc.cluster.local']);
    expect(a.hostDenial('pod.ns.svc.cluster.local')).toBeUndefined();
    expect(a.hostDenial('svc.cluster.local')).toBeDefined();
    expect(a.hostDenial('evil.com')).toBeDefined();
    const dns = fakeDns({ 'a.ns.svc.cluster.local': ['169.254.169.254'], 'b.ns.svc.cluster.local': ['10.0.0.5'] });
    await expect(a.resolve('a.ns.svc.cluster.local', dns)).rejects.toThrow('resolves to 169.254.169.254 is never allowed');
    await expect(a.resolve('b.ns.svc.cluster.local', dns)).resolves.toEqual(['10.0.0.5']);
  });
  it('canonicalIp unmaps IPv4-mapped IPv6', () => {
    expect(canonicalIp('::FFFF:169.254.169.254')).toBe('169.254.169.254');
    expect(canonicalIp('[::ffff:7f00:1]')).toBe('127.0.0.1');
    expect(canonicalIp('2001:DB8::1')).toBe('2001:db8::1');
  });
});

describe('/probe', () => {
  const servers: TestServer[] = [];
  let exp: RunningExporter;
  let good: TestServer;
  const dns = fakeDns({});

  beforeAll(async () => {
    good = await startFixtureTarget((f) => fixture(GO, f));
    servers.push(good);
    exp = await startExporter(config(), { resolver: dns });
  });
  afterAll(async () => {
    await exp?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  async function healthy() {
    const r = await exp.probe({ target: hostPort(good.url) });
    expect(r.status).toBe(200);
    const s = parseMetrics(r.text);
    expect(one(s, 'probe_success').value).toBe(1);
    return s;
  }

  it('serves the target\'s metrics without a target label, plus probe_success and probe_duration_seconds', async () => {
    const r = await exp.probe({ target: hostPort(good.url) });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const s = parseMetrics(r.text);
    expect(s.filter((x) => 'target' in x.labels)).toEqual([]);
    expect(one(s, 'probe_success').value).toBe(1);
    expect(one(s, 'probe_duration_seconds').value).toBeGreaterThan(0);
    for (const source of ['goroutine', 'heap', 'expvar']) expect(one(s, 'pprof_exporter_scrape_success', { source }).value).toBe(1);
    // The same figures /metrics gives for the same target.
    const m = await startExporter(parseConfig(JSON.stringify({ targets: [{ name: 't', url: good.url, sources: ['goroutine', 'heap', 'expvar'] }] }), 'm.yml'));
    try {
      const ms = parseMetrics((await m.scrape()).text);
      const sigs = (xs: typeof s) => select(xs, 'pprof_goroutines').map((x) => `${x.labels.signature} ${x.labels.function} ${x.value}`).sort();
      expect(sigs(s)).toEqual(sigs(ms));
      expect(sigs(s).length).toBeGreaterThan(5);
      expect(one(s, 'go_memstats_heap_inuse_bytes').value).toBe(one(ms, 'go_memstats_heap_inuse_bytes', { target: 't' }).value);
      expect(one(s, 'go_goroutines').value).toBe(one(ms, 'go_goroutines', { target: 't' }).value);
    } finally {
      await m.close();
    }
    expect(promtoolCheck(r.text)).toBe('');
  });

  it('picks the module\'s sources', async () => {
    const s = parseMetrics((await exp.probe({ target: hostPort(good.url), module: 'goroutine' })).text);
    expect(select(s, 'pprof_exporter_scrape_success').map((x) => x.labels.source)).toEqual(['goroutine']);
    expect(select(s, 'go_memstats_heap_inuse_bytes')).toEqual([]);
  });

  it.each([
    [{}, 400, 'target parameter is missing'],
    [{ target: '127.0.0.1:1', module: 'nope' }, 400, 'unknown module "nope"'],
    [{ target: '127.0.0.1:1', seconds: '30' }, 400, 'unknown parameter "seconds" (allowed: target, module)'],
    ['target=127.0.0.1:1&target=127.0.0.1:2', 400, 'parameter target given more than once'],
    [{ target: '127.0.0.1:1/debug/pprof/profile' }, 400, 'must not contain a path'],
    [{ target: '127.0.0.1:1/debug/pprof/profile?seconds=30' }, 400, 'must not contain a query string'],
  ] as const)('the caller\'s mistakes are 4xx with a one-line reason: %j', async (params, status, msg) => {
    const r = await exp.probe(params as Record<string, string>);
    expect(r.status).toBe(status);
    expect(r.text).toContain(msg);
    expect(r.text.trim().split('\n')).toHaveLength(1);
    await healthy();
  });

  it.each([
    '169.254.169.254:80', '2852039166:80', '0xa9fea9fe:80', '0251.0376.0251.0376:80', '169.254.43518:80',
    '[::ffff:169.254.169.254]:80', '[::ffff:a9fe:a9fe]:80', '[fd00:ec2::254]:80', '0.0.0.0:6060', '[::]:6060',
    '8.8.8.8:6060', '[fe80::1]:80',
  ])('denies %s with 403 before connecting', async (target) => {
    const r = await exp.probe({ target });
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/^target not allowed: address .* (is never allowed|is not in allowed_targets)/);
    await healthy();
  });

  it('denies a name that resolves to a denied address, or to any denied address among several', async () => {
    const local = fakeDns({ 'metadata.google.internal': ['169.254.169.254'], 'mixed.example': ['127.0.0.1', '169.254.169.254'], 'mapped.example': ['::ffff:169.254.169.254'] });
    const e = await startExporter(config(), { resolver: local });
    try {
      for (const name of ['metadata.google.internal', 'mixed.example', 'mapped.example']) {
        const r = await e.probe({ target: `${name}:80` });
        expect(r.status, name).toBe(403);
        expect(r.text).toContain('169.254.169.254 is never allowed');
      }
      expect(local.asked).toEqual(['metadata.google.internal', 'mixed.example', 'mapped.example']);
    } finally {
      await e.close();
    }
  });

  it('checks the address again on connect: a DNS answer that changes to a denied address is refused', async () => {
    let calls = 0;
    const port = new URL(good.url).port;
    const rebinding = fakeDns({ 'rebind.example': () => (++calls === 1 ? ['127.0.0.1'] : ['169.254.169.254']) });
    const e = await startExporter(config(), { resolver: rebinding });
    try {
      const r = await e.probe({ target: `rebind.example:${port}`, module: 'goroutine' });
      expect(r.status).toBe(200);
      expect(one(parseMetrics(r.text), 'probe_success').value).toBe(0);
      const line = e.logs.find((l) => l.msg === 'scrape failed');
      expect(line).toMatchObject({ code: 'PPROF_TARGET_DENIED' });
      expect(String(line!.err)).toContain('169.254.169.254 is never allowed');
      expect(calls).toBe(2);
    } finally {
      await e.close();
    }
  });

  it('probes a name through the resolver and connects to its checked address', async () => {
    const port = new URL(good.url).port;
    const e = await startExporter(config({ allowed_targets: ['*.svc.cluster.local', '127.0.0.0/8'] }),
      { resolver: fakeDns({ 'pod.ns.svc.cluster.local': ['127.0.0.1'], 'evil.example': ['127.0.0.1'] }) });
    try {
      const ok = await e.probe({ target: `pod.ns.svc.cluster.local:${port}` });
      expect(one(parseMetrics(ok.text), 'probe_success').value).toBe(1);
      const no = await e.probe({ target: `evil.example:${port}` });
      expect(no.status).toBe(403);
      expect(no.text).toContain('matches no host pattern');
      // An unknown name is a failed probe, not the caller's mistake.
      const gone = await e.probe({ target: `gone.ns.svc.cluster.local:${port}` });
      expect(gone.status).toBe(200);
      expect(one(parseMetrics(gone.text), 'probe_success').value).toBe(0);
    } finally {
      await e.close();
    }
  });

  it('counts probes by module and result in /metrics', async () => {
    const s = parseMetrics((await exp.scrape()).text);
    expect(one(s, 'pprof_exporter_probes_total', { module: 'default', result: 'success' }).value).toBeGreaterThan(5);
    expect(one(s, 'pprof_exporter_probes_total', { module: 'default', result: 'denied' }).value).toBe(12);
    expect(one(s, 'pprof_exporter_probes_total', { module: 'unknown', result: 'invalid' }).value).toBe(1);
    expect(one(s, 'pprof_exporter_max_concurrent_probes').value).toBe(16);
    // Probed targets are not configured targets: no per-target series in /metrics.
    expect(select(s, 'pprof_exporter_scrape_errors_total')).toEqual([]);
  });
});

// Hostile targets: each a real server; the probe fails as data and the next healthy probe is whole.
const raw = gunzipSync(goodProfile);
const halves = [gzipSync(raw.subarray(0, 100)), gzipSync(raw.subarray(100))];

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const bomb = gzipSync(Buffer.alloc(256 << 20));
const HOSTILE: Record<string, [Handler, string]> = {
  hung: [() => { /* never answers */ }, 'timed out after'],
  drip_feed: [(_q, res) => {
    res.writeHead(200);
    const t = setInterval(() => res.write(goodProfile.subarray(0, 1)), 50);
    res.on('close', () => clearInterval(t));
  }, 'timed out after'],
  disconnect_mid_body: [(_q, res) => {
    res.writeHead(200, { 'content-length': String(goodProfile.length) });
    res.write(goodProfile.subarray(0, 100), () => res.socket?.destroy());
  }, 'reading body'],
  over_wire_limit: [(_q, res) => res.end(Buffer.alloc(2 << 20)), 'exceeds max_profile_bytes (1048576)'],
  gzip_bomb: [(_q, res) => res.end(bomb), 'inflated size exceeds max_decompressed_bytes (1048576 bytes)'],
  truncated_gzip: [(_q, res) => res.end(goodProfile.subarray(0, goodProfile.length - 9)), 'unexpected end of file'],
  gzip_of_garbage: [(_q, res) => res.end(gzipSync(Buffer.from('{"not":"a profile"}'))), 'parsing profile:'],
  absurd_length: [(_q, res) => res.end(gzipSync(Buffer.from([0x32, 0xff, 0xff, 0xff, 0xff, 0x07, 0x61]))), 'parsing profile:'],
  dangling_reference: [(_q, res) => res.end(gzipSync(Buffer.from([0x0a, 0x04, 0x08, 0x01, 0x10, 0x02, 0x12, 0x04, 0x08, 0x2a, 0x10, 0x03]))), 'malformed profile'],
  html_200: [(_q, res) => { res.setHeader('content-type', 'text/html'); res.end('<html><body>Sign in</body></html>'); }, 'response is not gzip data'],
  x_go_pprof_error: [(_q, res) => { res.statusCode = 500; res.setHeader('X-Go-Pprof', '1'); res.end('Could not enable goroutine profile: boom\n'); }, 'pprof error: "Could not enable goroutine profile: boom"'],
  refused: [() => {}, 'ECONNREFUSED'],
};

describe('/probe against hostile targets', () => {
  const servers: TestServer[] = [];
  let exp: RunningExporter;
  let good: TestServer;
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    good = await startFixtureTarget((f) => fixture(GO, f));
    servers.push(good);
    for (const [name, [h]] of Object.entries(HOSTILE)) {
      if (name === 'refused') {
        urls[name] = await closedPort();
        continue;
      }
      const s = await startServer(h);
      servers.push(s);
      urls[name] = s.url;
    }
    exp = await startExporter(config());
  });
  afterAll(async () => {
    await exp?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  it.each(Object.entries(HOSTILE).map(([n, [, m]]) => [n, m]))('%s: probe_success 0, the cause logged, then a healthy probe is whole', async (name, msg) => {
    const r = await exp.probe({ target: hostPort(urls[name]!), module: 'goroutine' }, { 'X-Prometheus-Scrape-Timeout-Seconds': '1.5' });
    expect(r.status).toBe(200);
    const s = parseMetrics(r.text);
    expect(one(s, 'probe_success').value).toBe(0);
    expect(one(s, 'pprof_exporter_scrape_success', { source: 'goroutine' }).value).toBe(0);
    expect(select(s, 'pprof_goroutines')).toEqual([]);
    expect(one(s, 'probe_duration_seconds').value).toBeLessThan(1.4);
    const line = exp.logs.findLast((l) => l.msg === 'scrape failed' && l.target === `goroutine/${urls[name]}`);
    expect(String(line?.err)).toContain(msg);
    const h = parseMetrics((await exp.probe({ target: hostPort(good.url) })).text);
    expect(one(h, 'probe_success').value).toBe(1);
    expect(one(h, 'go_goroutines').value).toBeGreaterThan(30);
  });

  it('accepts a profile split over concatenated gzip members, like Go does', async () => {
    const s = await startServer((_q, res) => res.end(Buffer.concat(halves)));
    try {
      const a = parseMetrics((await exp.probe({ target: hostPort(s.url), module: 'goroutine' })).text);
      const b = parseMetrics((await exp.probe({ target: hostPort(good.url), module: 'goroutine' })).text);
      expect(one(a, 'probe_success').value).toBe(1);
      expect(one(a, 'go_goroutines').value).toBe(one(b, 'go_goroutines').value);
    } finally {
      await s.close();
    }
  });

  it('one source failing leaves the others\' series in place', async () => {
    const s = await startFixtureTarget((f) => (f === 'heap.pb.gz' ? Buffer.from('<html>') : fixture(GO, f)));
    try {
      const m = parseMetrics((await exp.probe({ target: hostPort(s.url) })).text);
      expect(one(m, 'probe_success').value).toBe(0);
      expect(one(m, 'pprof_exporter_scrape_success', { source: 'heap' }).value).toBe(0);
      expect(one(m, 'pprof_exporter_scrape_success', { source: 'goroutine' }).value).toBe(1);
      expect(one(m, 'pprof_exporter_scrape_success', { source: 'expvar' }).value).toBe(1);
      expect(select(m, 'pprof_goroutines').length).toBeGreaterThan(5);
      expect(select(m, 'pprof_heap_inuse_bytes')).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('concurrent probes of different targets never mix series', async () => {
    const versions = goVersions();
    const targets = await Promise.all(versions.map((v) => startFixtureTarget((f) => fixture(v, f))));
    servers.push(...targets);
    const stable = (text: string) => parseMetrics(text)
      .filter((x) => !/duration|_bytes$|^probe_/.test(x.name) || x.name.startsWith('go_memstats'))
      .map((x) => `${x.name}${JSON.stringify(x.labels)} ${x.value}`).sort().join('\n');
    const alone = await Promise.all(targets.map(async (t) => stable((await exp.probe({ target: hostPort(t.url) })).text)));
    expect(new Set(alone).size).toBe(targets.length);
    const order = Array.from({ length: 4 * targets.length }, (_, i) => i % targets.length);
    const together = await Promise.all(order.map(async (i) => [i, stable((await exp.probe({ target: hostPort(targets[i]!.url) })).text)] as const));
    for (const [i, text] of together) expect(text).toBe(alone[i]);
  });

  it('answers 503 with Retry-After over max_concurrent_probes, counts it, and recovers', async () => {
    const e = await startExporter(config({ max_concurrent_probes: 2 }));
    try {
      const hung = hostPort(urls.hung!);
      const slow = [1, 2].map(() => e.probe({ target: hung, module: 'goroutine' }, { 'X-Prometheus-Scrape-Timeout-Seconds': '8' }));
      // Both must be in flight before the third asks (not "100 ms later": a loaded machine is slower).
      const inFlight = async () => one(parseMetrics((await e.scrape()).text), 'pprof_exporter_probes_in_flight').value;
      while ((await inFlight()) < 2) await new Promise((r) => setTimeout(r, 20));
      const over = await e.probe({ target: hostPort(good.url) });
      expect(over.status).toBe(503);
      expect(over.headers.get('retry-after')).toBe('1');
      expect(over.text).toContain('too many concurrent probes (max_concurrent_probes: 2)');
      await Promise.all(slow);
      const after = await e.probe({ target: hostPort(good.url) });
      expect(one(parseMetrics(after.text), 'probe_success').value).toBe(1);
      const m = parseMetrics((await e.scrape()).text);
      expect(one(m, 'pprof_exporter_probes_total', { module: 'default', result: 'rejected' }).value).toBe(1);
      expect(one(m, 'pprof_exporter_probes_in_flight').value).toBe(0);
    } finally {
      await e.close();
    }
  });

  it('sanitises expvar names and never exports cmdline', async () => {
    const vars = JSON.parse(fixture(GO, 'vars.json').toString('utf8')) as Record<string, unknown>;
    vars.cmdline = ['/app', '-password=hunter2'];
    vars['http.requests/GET'] = 12;
    vars['bad name{x="y"}'] = 3;
    const s = await startFixtureTarget((f) => (f === 'vars.json' ? Buffer.from(JSON.stringify(vars)) : fixture(GO, f)));
    try {
      const r = await exp.probe({ target: hostPort(s.url) });
      expect(r.text).not.toContain('hunter2');
      expect(r.text).not.toMatch(/cmdline/);
      const m = parseMetrics(r.text);
      expect(one(m, 'expvar_http_requests_GET', { path: 'http.requests/GET' }).value).toBe(12);
      expect(one(m, 'expvar_bad_name_x__y__', { path: 'bad name{x="y"}' }).value).toBe(3);
      expect(promtoolCheck(r.text)).toBe('');
    } finally {
      await s.close();
    }
  });
});

describe('/probe http_config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pprof-exporter-secrets-'));
  const pw = join(dir, 'pw');
  const token = join(dir, 'token');
  const seen: { path: string; auth: string | undefined; port: string }[] = [];
  let exp: RunningExporter;
  let target: TestServer;
  let other: TestServer;
  let echo: TestServer;

  beforeAll(async () => {
    writeFileSync(pw, 'first-s3cret-pw\n');
    writeFileSync(token, 'tok-abcdef-123456');
    other = await startServer((req, res) => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization, port: 'other' });
      res.end(goodProfile);
    });
    target = await startServer((req, res) => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization, port: 'target' });
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/redirect-here/debug/pprof/goroutine') return void res.end(goodProfile);
      if (u.pathname === '/to-other/debug/pprof/goroutine') {
        res.writeHead(302, { location: `${other.url}/debug/pprof/goroutine` });
        return void res.end();
      }
      if (u.pathname === '/to-metadata/debug/pprof/goroutine') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
        return void res.end();
      }
      if (u.pathname === '/same/debug/pprof/goroutine') {
        res.writeHead(301, { location: '/redirect-here/debug/pprof/goroutine?debug=0' });
        return void res.end();
      }
      res.end(goodProfile);
    });
    // A hostile target that echoes the credentials back in its error page.
    echo = await startServer((req, res) => {
      res.statusCode = 401;
      res.end(`denied for ${req.headers.authorization}\n`);
    });
    exp = await startExporter(config({
      modules: {
        basic: { sources: ['goroutine'], http_config: { basic_auth: { username: 'scraper', password_file: pw } } },
        bearer: { sources: ['goroutine'], http_config: { authorization: { credentials_file: token } } },
        missing: { sources: ['goroutine'], http_config: { authorization: { credentials_file: join(dir, 'nope') } } },
        follow: { sources: ['goroutine'], path_prefix: '/to-other', http_config: { authorization: { credentials_file: token }, follow_redirects: true } },
        same: { sources: ['goroutine'], path_prefix: '/same', http_config: { authorization: { credentials_file: token }, follow_redirects: true } },
        metadata: { sources: ['goroutine'], path_prefix: '/to-metadata', http_config: { follow_redirects: true } },
        nofollow: { sources: ['goroutine'], path_prefix: '/to-metadata' },
      },
    }));
  });
  afterAll(async () => {
    await exp?.close();
    await Promise.all([target, other, echo].map((s) => s?.close()));
  });

  const last = () => seen.at(-1)!;

  it('sends basic auth from password_file, and re-reads it when it rotates', async () => {
    await exp.probe({ target: hostPort(target.url), module: 'basic' });
    expect(last().auth).toBe(`Basic ${Buffer.from('scraper:first-s3cret-pw').toString('base64')}`);
    writeFileSync(pw, 'second-s3cret-pw');
    await exp.probe({ target: hostPort(target.url), module: 'basic' });
    expect(last().auth).toBe(`Basic ${Buffer.from('scraper:second-s3cret-pw').toString('base64')}`);
  });

  it('sends a bearer token from credentials_file; a missing file fails the probe naming the file', async () => {
    await exp.probe({ target: hostPort(target.url), module: 'bearer' });
    expect(last().auth).toBe('Bearer tok-abcdef-123456');
    const r = await exp.probe({ target: hostPort(target.url), module: 'missing' });
    expect(one(parseMetrics(r.text), 'probe_success').value).toBe(0);
    const line = exp.logs.findLast((l) => l.msg === 'scrape failed');
    expect(line).toMatchObject({ code: 'PPROF_SECRET_UNREADABLE' });
    expect(String(line!.err)).toBe(`reading authorization.credentials_file ${join(dir, 'nope')}: no such file or directory`);
  });

  it('follows a redirect to another origin without the credentials', async () => {
    const r = await exp.probe({ target: hostPort(target.url), module: 'follow' });
    expect(one(parseMetrics(r.text), 'probe_success').value).toBe(1);
    const [first, second] = seen.slice(-2);
    expect(first).toMatchObject({ port: 'target', auth: 'Bearer tok-abcdef-123456' });
    expect(second).toMatchObject({ port: 'other', auth: undefined });
  });

  it('keeps the credentials on a same-origin redirect', async () => {
    const r = await exp.probe({ target: hostPort(target.url), module: 'same' });
    expect(one(parseMetrics(r.text), 'probe_success').value).toBe(1);
    expect(last()).toMatchObject({ port: 'target', path: '/redirect-here/debug/pprof/goroutine?debug=0', auth: 'Bearer tok-abcdef-123456' });
  });

  it('refuses a redirect to a denied address without connecting, and does not follow redirects unless allowed', async () => {
    const r = await exp.probe({ target: hostPort(target.url), module: 'metadata' });
    expect(one(parseMetrics(r.text), 'probe_success').value).toBe(0);
    const line = exp.logs.findLast((l) => l.msg === 'scrape failed');
    expect(line).toMatchObject({ code: 'PPROF_TARGET_DENIED' });
    expect(String(line!.err)).toContain('address 169.254.169.254 is never allowed');
    await exp.probe({ target: hostPort(target.url), module: 'nofollow' });
    expect(String(exp.logs.findLast((l) => l.msg === 'scrape failed')!.err)).toContain('(redirects are not followed; set follow_redirects in http_config)');
  });

  it('keeps secrets out of every output, even when a target echoes them back', async () => {
    for (const module of ['basic', 'bearer']) await exp.probe({ target: hostPort(echo.url), module });
    const outputs = [
      JSON.stringify(exp.logs),
      (await exp.scrape()).text,
      (await exp.probe({ target: hostPort(echo.url), module: 'basic' })).text,
      await (await fetch(`${exp.url}/`)).text(),
    ].join('\n');
    expect(outputs).toContain('denied for Basic <secret>');
    expect(outputs).toContain('denied for Bearer <secret>');
    for (const secret of ['second-s3cret-pw', 'first-s3cret-pw', 'tok-abcdef-123456', Buffer.from('scraper:second-s3cret-pw').toString('base64')]) {
      expect(outputs).not.toContain(secret);
    }
  });
});
