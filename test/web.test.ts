// The on-call pages in a real headless Chromium against the real leaky Go
// program, a target whose function and file names are HTML, and one whose
// error message is. Screenshots go to test/artifacts/.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { perftools } from '../src/decode/proto/profile.js';
import { decodeProfile, decompress } from '../src/decode/gunzip.js';
import { validateProfile } from '../src/decode/validate.js';
import { groupGoroutines } from '../src/summarize/signature.js';
import { dashboards } from '../src/dashboards/generate.js';
import { commands } from '../src/ui/views.js';
import { ARTIFACTS, launchChromium, loopbackContext } from './helpers/browser.js';
import { configFor, startExporter, type RunningExporter } from './helpers/exporter.js';
import { startServer, type TestServer } from './helpers/http.js';
import { startLeaky, type Leaky } from './helpers/leaky.js';
import { fixture, newestGo } from './helpers/fixtures.js';
import { one, parseMetrics } from './helpers/prom.js';

// Names a Go program cannot have, but a profile can: the page must show them as text.
const SCRIPT_FN = 'main.(*T).<script>window.__pwned=1</script>';
const IMG_FN = 'main."><img src=x onerror="window.__pwned=2">';
const QUOTE_FN = "main.quote'; touch /tmp/pwned; echo '";
const HOSTILE_FILE = '/src/<b>bold</b>.go';
const HOSTILE_ERROR = '<img src=x onerror=window.__pwned=3>';

function hostileProfile(): Buffer {
  const strings = ['', 'goroutine', 'count', SCRIPT_FN, IMG_FN, QUOTE_FN, HOSTILE_FILE];
  return gzipSync(perftools.profiles.Profile.encode({
    sampleType: [{ type: 1, unit: 2 }],
    sample: [{ locationId: [1, 2], value: [3] }, { locationId: [3], value: [1] }],
    location: [1, 2, 3].map((id) => ({ id, line: [{ functionId: id, line: 40 + id }] })),
    function: [1, 2, 3].map((id) => ({ id, name: 2 + id, filename: 6 })),
    stringTable: strings,
  }).finish());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const counts = (attr: string | null) => (attr ?? '').split(',').filter(Boolean).map(Number);
const rising = (xs: number[]) => xs.length >= 2 && xs.at(-1)! > xs[0]! && xs.every((x, i) => i === 0 || x >= xs[i - 1]!);

async function computeResultCount(profile: Buffer): Promise<number> {
  const s = groupGoroutines(validateProfile(decodeProfile(await decompress(profile, 64 << 20))));
  return s.signatures.find((x) => x.function === 'main.computeResult')?.count ?? 0;
}

describe('on-call pages in Chromium', () => {
  let leaky: Leaky;
  let hostile: TestServer;
  let broken: TestServer;
  let exp: RunningExporter;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let leakId: string;
  let hostileIds: Record<string, string>;
  const offLoopback: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'web-test-'));

  beforeAll(async () => {
    // A flat pool larger than the leak: the leak is on top for its growth, not its size.
    leaky = await startLeaky(['-sendleak=5', '-sendleak-rate=20', '-pool=200'], {}, inject('leakyLeakProfileBin'));
    const profile = hostileProfile();
    hostile = await startServer((_req, res) => res.end(profile));
    broken = await startServer((_req, res) => { res.statusCode = 500; res.setHeader('X-Go-Pprof', '1'); res.end(HOSTILE_ERROR); });
    exp = await startExporter(configFor([
      { name: 'leaky', url: leaky.url, sources: ['goroutine', 'goroutine_debug2', 'goroutineleak'] },
      { name: 'hostile', url: hostile.url, sources: ['goroutine'] },
      { name: 'broken', url: broken.url, sources: ['goroutine'] },
    ], { max_profile_bytes: '1MiB', max_decompressed_bytes: '2MiB' }));

    // Scrape like Prometheus would until the leak's sparkline has risen three times.
    const history = async () => {
      const j = await (await fetch(`${exp.url}/api/v1/targets/leaky/signatures`)).json() as { signatures: { function: string; history: [number, number][] }[] };
      return j.signatures.find((s) => s.function === 'main.computeResult')?.history.map(([, c]) => c) ?? [];
    };
    // Bounded by a deadline, not a count of tries: a loaded machine scrapes slower.
    for (let deadline = Date.now() + 90_000, rises = 0; rises < 3;) {
      if (Date.now() > deadline) throw new Error(`the leak did not grow in 90 s of scrapes: ${(await history()).join(',')}`);
      await exp.scrape();
      const h = await history();
      rises = h.filter((x, k) => k > 0 && x > h[k - 1]!).length;
      await sleep(100);
    }
    // The debug=2 dump, then the goroutineleak profile: never two costly fetches to one target at once.
    await exp.exporter.background.tick();
    await exp.exporter.background.tick();
    const metrics = parseMetrics((await exp.scrape()).text);
    leakId = one(metrics, 'pprof_goroutines', { target: 'leaky', function: 'main.computeResult', blocked_on: 'chan_send' }).labels.signature!;
    hostileIds = Object.fromEntries([SCRIPT_FN, QUOTE_FN].map((fn) =>
      [fn, one(metrics, 'pprof_goroutines', { target: 'hostile', function: fn }).labels.signature!]));

    browser = await launchChromium();
    context = await loopbackContext(browser, offLoopback);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: exp.url });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await exp?.close();
    await Promise.all([leaky?.stop(), hostile?.close(), broken?.close()]);
    rmSync(tmp, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `web-${name}.png`), fullPage: true });

  it('/ puts the leaking signature on top of its target, with a rising sparkline', async () => {
    await page.goto(`${exp.url}/`);
    await shot('index');
    const leakyRows = page.locator('section[data-target="leaky"] table.sigs tbody tr');
    const top = leakyRows.first();
    expect(await top.getAttribute('data-signature')).toBe(leakId);
    expect(await top.locator('code.fn').textContent()).toBe('main.computeResult');
    const spark = top.locator('svg.spark');
    expect(await spark.getAttribute('class')).toContain('up');
    expect(rising(counts(await spark.getAttribute('data-counts')))).toBe(true);
    // The pool has more goroutines and is flat: below the leak.
    const pool = leakyRows.filter({ hasText: 'main.poolWorker' });
    expect(Number(await pool.locator('td').first().textContent())).toBe(200);
    expect(Number(await top.locator('td').first().textContent())).toBeLessThan(200);
    expect(counts(await pool.locator('svg.spark').getAttribute('data-counts')).every((c) => c === 200)).toBe(true);
    // Proven leaked by the goroutineleak profile.
    expect(Number(await top.locator('td').nth(5).textContent())).toBeGreaterThan(0);
    // Growth is a rate over a stated window; each column says which fetch it comes from, and when.
    expect(await top.locator('td.growth').textContent()).toMatch(/\+[\d.]+\/(min|h) over [\d.]+ (s|min)/);
    const asOf = page.locator('section[data-target="leaky"] .asof');
    expect(await asOf.textContent()).toMatch(/scrapes up to .* · longest wait: debug=2 dump of .* · leaked: goroutineleak profile of \d{4}-/);
    expect(await asOf.locator('time').count()).toBe(3);
    const status = page.locator('section[data-target="leaky"] .badge').first();
    expect(await status.textContent()).toBe('ok');
  });

  it('the signature page has the worker with file:line, its history, wait reasons and creator', async () => {
    await page.goto(`${exp.url}/`);
    await page.locator('section[data-target="leaky"] table.sigs tbody tr').first().locator('a').first().click();
    await page.waitForURL(`**/targets/leaky/signatures/${leakId}`);
    await shot('signature');
    expect(await page.locator('#signature').textContent()).toBe(leakId);
    expect(await page.locator('#function').textContent()).toBe('main.computeResult');
    const frame = page.locator('ol.stack li').first();
    expect(await frame.locator('code.fn').textContent()).toBe('main.computeResult');
    expect(await frame.locator('.loc').textContent()).toMatch(/\/test\/fixtures\/go\/leaky\/shapes\.go:\d+$/);
    expect(rising(counts(await page.locator('svg.chart').getAttribute('data-counts')))).toBe(true);
    const facts = await page.locator('dl.facts-grid').textContent();
    expect(facts).toContain('chan send');
    expect(facts).toMatch(/main\.handleWithTimeout \S+shapes\.go:\d+/);
  });

  it('its copy button copies a command that finds these goroutines in the debug=2 dump', async () => {
    await page.goto(`${exp.url}/targets/leaky/signatures/${leakId}`);
    await page.click('button[data-copy-for="cmd-debug2"]');
    await page.waitForFunction(() => document.querySelector('button[data-copy-for="cmd-debug2"]')?.textContent === 'Copied');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(await page.locator('#cmd-debug2').textContent());
    const out = execFileSync('bash', ['-c', copied], { encoding: 'utf8' });
    expect(out).toMatch(/^goroutine \d+ \[chan send/m);
    expect(out).toContain('main.computeResult(');
    expect(out).toContain('created by main.handleWithTimeout');
  });

  it('the diff against the oldest snapshot shows the leak grew', async () => {
    await page.goto(`${exp.url}/targets/leaky/signatures/${leakId}`);
    await page.click('a[href="/targets/leaky/diff?minutes=60"]');
    await page.waitForURL('**/targets/leaky/diff?minutes=60');
    await shot('diff');
    const top = page.locator('table.diff tbody tr').first();
    expect(await top.getAttribute('data-signature')).toBe(leakId);
    expect(await top.getAttribute('data-change')).toBe('grew');
    expect(Number(await top.locator('td').first().textContent())).toBeGreaterThan(0);
  });

  it('two uploaded .pb.gz files diff like pprof -base', async () => {
    const before = Buffer.from(await (await fetch(`${leaky.url}/debug/pprof/goroutine`)).arrayBuffer());
    let after = before;
    for (const deadline = Date.now() + 60_000; (await computeResultCount(after)) <= (await computeResultCount(before));) {
      if (Date.now() > deadline) throw new Error('the leak did not grow between two profiles in 60 s');
      await sleep(100);
      after = Buffer.from(await (await fetch(`${leaky.url}/debug/pprof/goroutine`)).arrayBuffer());
    }
    writeFileSync(join(tmp, 'before.pb.gz'), before);
    writeFileSync(join(tmp, 'after.pb.gz'), after);
    await page.goto(`${exp.url}/diff`);
    await page.setInputFiles('#base-file', join(tmp, 'before.pb.gz'));
    await page.setInputFiles('#new-file', join(tmp, 'after.pb.gz'));
    await page.click('#upload-form button[type=submit]');
    await page.waitForURL(/\/diff\?base=[0-9a-f]{16}&new=[0-9a-f]{16}$/);
    await shot('upload-diff');
    const row = page.locator(`table.diff tbody tr[data-signature="${leakId}"]`);
    expect(await row.getAttribute('data-change')).toBe('grew');
    expect(Number(await row.locator('td').first().textContent()))
      .toBe((await computeResultCount(after)) - (await computeResultCount(before)));
  });

  it('an upload that is not a profile gets a clear error, shown as text', async () => {
    writeFileSync(join(tmp, 'garbage.txt'), HOSTILE_ERROR);
    await page.goto(`${exp.url}/diff`);
    await page.setInputFiles('#base-file', join(tmp, 'garbage.txt'));
    await page.setInputFiles('#new-file', join(tmp, 'garbage.txt'));
    await page.click('#upload-form button[type=submit]');
    const error = page.locator('#upload-error');
    await error.waitFor({ state: 'visible' });
    await shot('upload-error');
    expect(await error.textContent()).toBe(`garbage.txt: decompressing profile: file is not gzip data (starts with ${JSON.stringify(HOSTILE_ERROR)})`);
    expect(await page.locator('img').count()).toBe(0);
  });

  it('function names, file names and errors from a target are shown as text, never run', async () => {
    await page.goto(`${exp.url}/`);
    await shot('hostile-index');
    const fns = await page.locator('section[data-target="hostile"] code.fn').allTextContents();
    expect(fns).toEqual(expect.arrayContaining([SCRIPT_FN, QUOTE_FN]));
    expect(await page.locator('section[data-target="broken"] ul.errors li').textContent()).toContain(HOSTILE_ERROR);
    expect(await page.locator('section[data-target="broken"] .badge').textContent()).toBe('failing');

    await page.goto(`${exp.url}/targets/hostile/signatures/${hostileIds[SCRIPT_FN]}`);
    await shot('hostile-signature');
    expect(await page.locator('#function').textContent()).toBe(SCRIPT_FN);
    expect(await page.locator('ol.stack code.fn').allTextContents()).toEqual([SCRIPT_FN, IMG_FN]);
    expect(await page.locator('ol.stack .loc').allTextContents()).toEqual([`${HOSTILE_FILE}:41`, `${HOSTILE_FILE}:42`]);
    expect(await page.locator('script').count()).toBe(1); // app.js
    expect(await page.locator('img, b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

    // A copied command keeps a quote in a name inside one shell word.
    await page.goto(`${exp.url}/targets/hostile/signatures/${hostileIds[QUOTE_FN]}`);
    const traces = await page.locator('#cmd-traces').textContent();
    expect(traces).toBe(commands({ url: hostile.url } as never, QUOTE_FN).traces);
    const args = execFileSync('bash', ['-c', `go() { printf '%s\\n' "$@"; }; ${traces!}`], { encoding: 'utf8' });
    expect(args.split('\n')).toEqual(['tool', 'pprof', '-traces', `-focus=^main\\.quote'; touch /tmp/pwned; echo '$`, `${hostile.url}/debug/pprof/goroutine`, '']);
  });

  it('every dashboard link to the exporter opens the page of the row\'s signature', async () => {
    const urls = new Set<string>();
    for (const json of Object.values(dashboards()).map((d) => JSON.stringify(d))) {
      for (const m of json.matchAll(/\$\{exporter_url\}[^"\]\s)]*/g)) urls.add(m[0]);
    }
    expect(urls.size).toBeGreaterThanOrEqual(2); // the drill-down's link and the tables' data links
    for (const template of urls) {
      // Grafana's interpolation: variables, and a table row's fields.
      const url = template
        .replaceAll('${exporter_url}', exp.url)
        .replace(/\$\{(?:__data\.fields\.)?target\}/g, 'leaky')
        .replace(/\$\{(?:__data\.fields\.)?signature\}/g, leakId);
      expect(url, template).not.toContain('${');
      const res = await page.goto(url);
      expect(res?.status(), url).toBe(200);
      expect(await page.locator('#signature').textContent()).toBe(leakId);
      expect(await page.locator('#function').textContent()).toBe('main.computeResult');
    }
  });

  it('the pages asked for nothing off loopback (no CDN)', () => {
    expect(offLoopback).toEqual([]);
  });

  describe('JSON API', () => {
    const api = async (path: string, init?: RequestInit) => {
      const res = await fetch(`${exp.url}${path}`, init);
      return { status: res.status, body: await res.json() as Record<string, unknown> };
    };

    it('/api/v1/targets has every target, its last scrape and the history caps', async () => {
      const { status, body } = await api('/api/v1/targets');
      expect(status).toBe(200);
      expect(body.limits).toMatchObject({ pointsPerSignature: 120, signaturesPerTarget: 500, snapshotsPerTarget: 61, snapshotEverySeconds: 60, uploads: 16, maxProfileBytes: 1 << 20 });
      const targets = body.targets as { name: string; lastScrape: { success: boolean; goroutines: number | null; errors: { code: string }[] } }[];
      expect(targets.map((t) => t.name)).toEqual(['leaky', 'hostile', 'broken']);
      expect(targets[0]!.lastScrape).toMatchObject({ success: true });
      expect(targets[1]!.lastScrape.goroutines).toBe(4);
      expect(targets[2]!.lastScrape).toMatchObject({ success: false, goroutines: null, errors: [{ code: 'PPROF_FETCH_FAILED' }] });
    });

    it('a signature has its frames, wait reasons, creator, leaked count and commands', async () => {
      const { status, body } = await api(`/api/v1/targets/leaky/signatures/${leakId}`);
      expect(status).toBe(200);
      expect(body).toMatchObject({ id: leakId, function: 'main.computeResult', blockedOn: 'chan_send', frames: [{ function: 'main.computeResult' }] });
      const wait = body.wait as { reasons: { reason: string }[]; createdBy: { function: string }[] };
      expect(wait.reasons[0]!.reason).toMatch(/^chan send/);
      expect(wait.createdBy[0]!.function).toBe('main.handleWithTimeout');
      expect((body.leaked as { goroutines: number }).goroutines).toBeGreaterThan(0);
      expect(Object.keys(body.commands as object)).toEqual(['debug2', 'traces', 'save', 'base']);
    });

    it('unknown targets and signatures are 404 with a message', async () => {
      expect(await api('/api/v1/targets/nope/signatures')).toMatchObject({ status: 404, body: { error: 'no target named "nope"' } });
      expect((await api('/api/v1/targets/leaky/signatures/other')).status).toBe(404);
      expect((await fetch(`${exp.url}/targets/leaky/signatures/other`)).status).toBe(404);
      expect((await api('/api/v1/targets/leaky/diff?minutes=0')).status).toBe(400);
    });

    it('uploads are capped by max_profile_bytes and max_decompressed_bytes, and must be goroutine profiles', async () => {
      const post = (body: Uint8Array) => api('/api/v1/profiles', { method: 'POST', body });
      expect(await post(Buffer.alloc(2 << 20))).toMatchObject({ status: 413, body: { code: 'PPROF_BODY_TOO_LARGE' } });
      expect(await post(gzipSync(Buffer.alloc(8 << 20)))).toMatchObject({ status: 400, body: { code: 'PPROF_INFLATED_TOO_LARGE' } });
      expect(await post(fixture(newestGo(), 'heap.pb.gz'))).toMatchObject({ status: 400, body: { code: 'PPROF_INVALID_PROFILE' } });
      const get = await fetch(`${exp.url}/api/v1/profiles`);
      expect([get.status, get.headers.get('allow'), await get.json()]).toEqual([405, 'POST', { error: 'GET not allowed: upload with POST' }]);
      const ok = await post(fixture(newestGo(), 'goroutine.pb.gz'));
      expect(ok).toMatchObject({ status: 201, body: { kind: 'goroutine' } });
      const id = ok.body.id as string;
      const d = await api(`/api/v1/diff?base=${id}&new=${id}`);
      expect(d).toMatchObject({ status: 200, body: { totalDelta: 0, rows: [] } });
    });
  });
});
