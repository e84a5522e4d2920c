// --prometheus.url: a real Prometheus 3.16 probes the real leaky Go program
// through the exporter's /probe with the Helm chart's own relabelling
// (rendered by real helm); the exporter (the real CLI, a process) is
// restarted midway; then the signature's API answer and its page in
// Chromium show history from before the restart and its stack, read back
// from Prometheus. Also: "Now" through the probe path and its allowlist, and
// a Prometheus that is down, slow or refusing, as one clear error and a metric.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import bcrypt from 'bcryptjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { parseConfig } from '../src/config/config.js';
import { Exporter } from '../src/exporter.js';
import { createLogger } from '../src/log.js';
import { createApp } from '../src/server.js';
import { Prometheus } from '../src/ui/promql.js';
import { PromSource } from '../src/ui/promsource.js';
import { launchChromium, loopbackContext, ARTIFACTS } from './helpers/browser.js';
import { closedPort, startServer, type TestServer } from './helpers/http.js';
import { startLeaky, type Leaky } from './helpers/leaky.js';
import { freePort, startProc, type Proc } from './helpers/procs.js';
import { parseMetrics, select } from './helpers/prom.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist/cli.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The chart's ScrapeConfig relabelings, as Prometheus' relabel_configs (snake_case). */
function chartRelabelings(): Record<string, unknown>[] {
  const r = spawnSync(inject('helm'), ['template', 'pprof-exporter', join(ROOT, 'helm/pprof-exporter'), '--namespace', 'monitoring',
    '--api-versions', 'monitoring.coreos.com/v1alpha1/ScrapeConfig'], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const sc = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind?: string; spec?: { relabelings: Record<string, unknown>[] } })
    .find((d) => d?.kind === 'ScrapeConfig')!;
  const snake = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
  return sc.spec!.relabelings.map(snake);
}

async function until<T>(what: string, get: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

interface SignatureAnswer {
  target: string; id: string; function: string; count: number | null; at: string | null;
  history: [number, number][]; frames: { function: string; file: string; line: number }[]; moreFrames: number;
  now?: { count: number | null; error: string | null; denied: boolean; at: string; frames: unknown[] };
}

describe('on-call pages from Prometheus, across an exporter restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pprof-promstore-'));
  let leaky: Leaky;
  let prometheus: Proc;
  let promUrl: string;
  let exporterPort: number;
  let exporterUrl: string;
  let exporter: Proc | undefined;
  let target: string;
  let id: string;
  let restartedAtS: number;
  let browser: Browser;
  let page: Page;
  const offLoopback: string[] = [];

  const startCli = (n: number) => startProc(process.execPath, [CLI, `--config.file=${join(dir, 'pprof-exporter.yml')}`,
    `--web.listen-address=127.0.0.1:${exporterPort}`, `--prometheus.url=${promUrl}`, '--prometheus.step=1s', '--prometheus.timeout=5s'],
  `${exporterUrl}/-/ready`, join(dir, `exporter-${n}.log`));

  async function promQuery(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const body = await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`)).json() as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    return body.status === 'success' ? body.data.result : [];
  }

  beforeAll(async () => {
    leaky = await startLeaky(['-sendleak=5', '-sendleak-rate=5', '-pool=20'], {}, inject('leakyLeakProfileBin'));
    const leakyPort = new URL(leaky.url).port;
    writeFileSync(join(dir, 'pprof-exporter.yml'), stringify({
      modules: { default: { sources: ['goroutine', 'goroutine_debug2', 'goroutineleak'], debug2_interval: '2s', goroutineleak_interval: '2s' } },
    }));
    exporterPort = await freePort();
    exporterUrl = `http://127.0.0.1:${exporterPort}`;
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    // kubernetes_sd replaced by file_sd carrying the same __meta_kubernetes_* labels; the pod is the leaky program.
    writeFileSync(join(dir, 'pods.json'), JSON.stringify([{
      targets: [`127.0.0.1:${leakyPort}`],
      labels: {
        __meta_kubernetes_namespace: 'shop', __meta_kubernetes_pod_name: 'leaky-1', __meta_kubernetes_pod_ip: '127.0.0.1',
        __meta_kubernetes_pod_phase: 'Running', __meta_kubernetes_pod_annotation_pprof_exporter_io_scrape: 'true',
        __meta_kubernetes_pod_annotation_pprof_exporter_io_port: leakyPort,
      },
    }]));
    const relabel = chartRelabelings().map((r) => (r.target_label === '__address__' ? { ...r, replacement: `127.0.0.1:${exporterPort}` } : r));
    writeFileSync(join(dir, 'prometheus.yml'), stringify({
      global: { scrape_interval: '1s', scrape_timeout: '900ms' },
      scrape_configs: [{ job_name: 'pprof-exporter-pods', metrics_path: '/probe', file_sd_configs: [{ files: [join(dir, 'pods.json')] }], relabel_configs: relabel }],
    }));
    prometheus = await startProc(inject('prometheus3'), [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`], `${promUrl}/-/ready`, join(dir, 'prometheus.log'));
    target = `127.0.0.1:${leakyPort}`;

    exporter = await startCli(1);
    // Before the restart: Prometheus holds at least 5 scrapes of the leak, and its info series.
    const sel = `target="${target}", function="main.computeResult"`;
    await until('5 samples of the leak in Prometheus', async () => {
      const r = await promQuery(`count_over_time(pprof_goroutines{${sel}}[10m])`);
      return Number(r[0]?.value[1] ?? 0) >= 5 ? true : undefined;
    });
    id = (await until('the info series', async () => (await promQuery(`pprof_goroutine_signature_info{${sel}}`))[0]?.metric.signature))!;

    await exporter.stop();
    restartedAtS = Date.now() / 1000;
    exporter = await startCli(2);
    // After it: a scrape through the new process has landed too.
    await until('a scrape after the restart', async () => {
      const r = await promQuery(`timestamp(pprof_goroutines{${sel}})`);
      return Number(r[0]?.value[1] ?? 0) > restartedAtS ? true : undefined;
    });

    browser = await launchChromium();
    page = await (await loopbackContext(browser, offLoopback)).newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await exporter?.stop();
    await prometheus?.stop();
    await leaky?.stop();
  });

  it('lists the probed target by its target label', async () => {
    const j = await (await fetch(`${exporterUrl}/api/v1/targets`)).json() as { limits: { store: string }; targets: { name: string; url: string; lastScrape: { success: boolean; goroutines: number } | null }[] };
    expect(j.limits.store).toBe('prometheus');
    const t = j.targets.find((x) => x.name === target);
    expect(t, JSON.stringify(j.targets.map((x) => x.name))).toBeDefined();
    expect(t!.url).toBe(`http://${target}`);
    expect(t!.lastScrape?.success).toBe(true);
    expect(t!.lastScrape?.goroutines).toBeGreaterThan(0);
  });

  it('the signature API answers for the probed target with history from before the restart and its stack', async () => {
    const res = await fetch(`${exporterUrl}/api/v1/targets/${encodeURIComponent(target)}/signatures/${id}`);
    expect(res.status).toBe(200);
    const v = await res.json() as SignatureAnswer;
    expect(v).toMatchObject({ target, id, function: 'main.computeResult', moreFrames: 0 });
    expect(v.count).toBeGreaterThan(0);
    expect(Date.parse(v.at!) / 1000).toBeGreaterThan(restartedAtS);
    expect(v.history.filter(([t]) => t < restartedAtS).length).toBeGreaterThanOrEqual(3);
    expect(v.history.some(([t]) => t > restartedAtS)).toBe(true);
    expect(v.frames[0]).toMatchObject({ function: 'main.computeResult' });
    expect(v.frames[0]!.file).toMatch(/shapes\.go$/);
    expect(v.frames[0]!.line).toBeGreaterThan(0);
  });

  it('the signature page in Chromium shows that history, the stack, and "Now" fetched live through the probe path', { timeout: 60_000 }, async () => {
    await page.goto(`${exporterUrl}/targets/${encodeURIComponent(target)}/signatures/${id}`);
    expect(await page.locator('#function').textContent()).toBe('main.computeResult');
    const first = Number(await page.locator('svg.chart').getAttribute('data-first'));
    expect(first).toBeLessThan(restartedAtS);
    expect(await page.locator('ol.stack li').first().textContent()).toMatch(/main\.computeResult.*shapes\.go:\d+/s);
    // Every figure says when it was taken.
    expect(await page.locator('#count').locator('xpath=..').textContent()).toMatch(/scrape of \d{4}-\d\d-\d\dT/);
    await page.locator('#now-form button').click();
    await page.waitForSelector('#now, #now-error');
    expect(await page.locator('#now-error').allTextContents()).toEqual([]);
    expect(Number(await page.locator('#now-count').textContent())).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'promstore-signature.png'), fullPage: true });
    expect(offLoopback).toEqual([]);
  });

  it('the index and the target page list the probed target and the leak', async () => {
    await page.goto(`${exporterUrl}/`);
    expect(await page.locator('#store').textContent()).toContain('Prometheus');
    const rows = page.locator(`section[data-target="${target}"] table.sigs tbody tr`);
    expect(await rows.locator('code.fn').allTextContents()).toContain('main.computeResult');
    expect(await rows.first().locator('td.growth').textContent()).toMatch(/over 2 min/);
    await page.goto(`${exporterUrl}/targets/${encodeURIComponent(target)}`);
    const row = page.locator(`tr[data-signature="${id}"]`);
    expect(await row.locator('code.fn').textContent()).toBe('main.computeResult');
  });

  it('the diff reaches back before the restart: the oldest scrape when none is that old, said so', async () => {
    const res = await fetch(`${exporterUrl}/api/v1/targets/${encodeURIComponent(target)}/diff?minutes=60`);
    expect(res.status).toBe(200);
    const d = await res.json() as { base: { at: string; minutesBefore: number; requestedMinutes: number }; new: { at: string }; rows: { id: string; delta: number; function: string | null; frames: unknown[] }[] };
    expect(Date.parse(d.base.at) / 1000).toBeLessThan(restartedAtS);
    expect(d.base.requestedMinutes).toBe(60);
    expect(d.base.minutesBefore).toBeLessThan(60);
    const leak = d.rows.find((r) => r.id === id);
    expect(leak?.delta).toBeGreaterThan(0);
    expect(leak?.function).toBe('main.computeResult');
    expect(leak?.frames.length).toBeGreaterThan(0);
    await page.goto(`${exporterUrl}/targets/${encodeURIComponent(target)}/diff?minutes=60`);
    expect(await page.locator('.warn').first().textContent()).toMatch(/The oldest scrape Prometheus has is .* old, not 60 min\./);
  });

  it('another replica that may not reach the target shows the same history, and "Now" is refused without a fetch', async () => {
    const prom = new Prometheus({ url: promUrl, http: { followRedirects: true }, timeoutSeconds: 5 });
    const other = await startExporterWith(prom, { allowed_targets: ['10.0.0.0/8'] });
    try {
      const v = await (await fetch(`${other.url}/api/v1/targets/${encodeURIComponent(target)}/signatures/${id}?now=1`)).json() as SignatureAnswer;
      expect(v.history.some(([t]) => t < restartedAtS)).toBe(true);
      expect(v.now).toMatchObject({ count: null, denied: true });
      expect(v.now!.error).toMatch(/^target not allowed: /);
    } finally {
      await other.close();
      await prom.close();
    }
  });

  it('escapes label values: a name with quotes and braces is just an unknown target', async () => {
    const res = await fetch(`${exporterUrl}/api/v1/targets/${encodeURIComponent('x"} or vector(1) or {a="')}`);
    expect(res.status).toBe(404);
  });
});

/** An in-process exporter whose pages read `prom`, with its own allowlist. */
async function startExporterWith(prom: Prometheus, extra: Record<string, unknown>) {
  const config = parseConfig(JSON.stringify({ targets: [], ...extra }), 'replica.yml');
  const exporter = new Exporter({ config, logger: createLogger('error', new Writable({ write: (_c, _e, cb) => cb() })) });
  await exporter.background.stop();
  await exporter.web.stop();
  exporter.addRegistry(prom.registry);
  const history = new PromSource({ prometheus: prom, config: () => exporter.config, stepSeconds: 1, points: 120 });
  const server = await new Promise<Server>((resolve) => {
    const s = createApp(exporter, { history }).listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, exporter, close: async () => { server.close(); server.closeAllConnections(); await exporter.close(); } };
}

describe('a Prometheus that is down, slow or refusing', () => {
  const servers: TestServer[] = [];
  afterAll(async () => { await Promise.all(servers.map((s) => s.close())); });

  async function pagesOn(url: string, timeoutSeconds = 1) {
    const prom = new Prometheus({ url, http: { followRedirects: true }, timeoutSeconds });
    const e = await startExporterWith(prom, {});
    return { e, prom, close: async () => { await e.close(); await prom.close(); } };
  }

  it.each([
    ['down', async () => closedPort(), 'PROMETHEUS_UNREACHABLE', /^Prometheus at http:\/\/127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED$/, 'unreachable'],
    ['slow', async () => { const s = await startServer(() => { /* never answers */ }); servers.push(s); return s.url; },
      'PROMETHEUS_TIMEOUT', /did not answer within 1 s \(--prometheus\.timeout\)$/, 'timeout'],
    ['erroring', async () => {
      const s = await startServer((_req, res) => { res.statusCode = 503; res.end('{"status":"error","errorType":"unavailable","error":"TSDB not ready"}'); });
      servers.push(s);
      return s.url;
    }, 'PROMETHEUS_HTTP_ERROR', /refused the query \(HTTP 503, unavailable\): TSDB not ready$/, 'http_error'],
  ] as const)('%s: the API and the page name the cause, /metrics counts it, the exporter keeps serving', async (_name, url, code, message, result) => {
    const p = await pagesOn(await url());
    try {
      const api = await fetch(`${p.e.url}/api/v1/targets`);
      expect(api.status).toBe(502);
      const j = await api.json() as { error: string; code: string };
      expect(j.code).toBe(code);
      expect(j.error).toMatch(message);
      const html = await fetch(`${p.e.url}/targets/x/signatures/0123456789abcdef`);
      expect(html.status).toBe(502);
      expect(await html.text()).toContain('Prometheus did not answer');
      const m = parseMetrics((await (await fetch(`${p.e.url}/metrics`)).text()));
      expect(select(m, 'pprof_exporter_prometheus_queries_total', { result })[0]!.value).toBeGreaterThan(0);
      expect((await fetch(`${p.e.url}/-/healthy`)).status).toBe(200);
    } finally {
      await p.close();
    }
  });
});

describe('reaching a Prometheus behind basic auth, with the password in a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pprof-promauth-'));
  let prometheus: Proc;
  let promUrl: string;

  beforeAll(async () => {
    writeFileSync(join(dir, 'web.yml'), stringify({ basic_auth_users: { oncall: bcrypt.hashSync('s3cret-pass', 4) } }));
    writeFileSync(join(dir, 'prometheus.yml'), stringify({ global: { scrape_interval: '1m' } }));
    writeFileSync(join(dir, 'right'), 's3cret-pass\n');
    writeFileSync(join(dir, 'wrong'), 'guess\n');
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    // /-/ready is behind the same auth: unauthenticated, a ready Prometheus answers 401.
    prometheus = await startProc(inject('prometheus3'), [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, `--web.config.file=${join(dir, 'web.yml')}`], `${promUrl}/-/healthy`, join(dir, 'prometheus.log'), 401);
    const auth = { authorization: `Basic ${Buffer.from('oncall:s3cret-pass').toString('base64')}` };
    await until('Prometheus ready', async () => ((await fetch(`${promUrl}/-/ready`, { headers: auth })).ok ? true : undefined));
  });
  afterAll(async () => { await prometheus?.stop(); });

  it('queries with basic_auth.password_file, and a wrong password is one clear 401, the password not echoed', async () => {
    for (const [file, status] of [['right', 200], ['wrong', 502]] as const) {
      const prom = new Prometheus({ url: promUrl, http: { followRedirects: true, basicAuth: { username: 'oncall', passwordFile: join(dir, file) } }, timeoutSeconds: 5 });
      const e = await startExporterWith(prom, {});
      try {
        const res = await fetch(`${e.url}/api/v1/targets`);
        const body = await res.text();
        expect(res.status, body).toBe(status);
        if (status === 200) expect(JSON.parse(body)).toMatchObject({ limits: { store: 'prometheus' }, targets: [] });
        else {
          expect(JSON.parse(body)).toMatchObject({ code: 'PROMETHEUS_HTTP_ERROR' });
          expect(JSON.parse(body).error).toMatch(/answered HTTP 401/);
          expect(body).not.toContain('guess');
        }
      } finally {
        await e.close();
        await prom.close();
      }
    }
  });
});
