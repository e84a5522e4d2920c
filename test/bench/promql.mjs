// npm run bench:promql [-- --json] [-- --targets=200] [-- --signatures=25] [-- --hours=2] [-- --runs=10]
// What the on-call pages cost with --prometheus.url, on a Prometheus holding
// many targets' data. Writes OpenMetrics text for N probed targets (every
// series the pages read: pprof_goroutines with one leaking and a few growing
// signatures, the info series with ~10-frame stacks, wait times, leaked
// counts, scrape success/duration, dump and profile ages) over H hours at a
// 15 s interval (the constant info series every 60 s, which keeps the text
// to ~2 GB at the defaults and is within every lookback the pages use), backfills it with the real `promtool tsdb
// create-blocks-from openmetrics` (cached under ~/.cache/pprof-exporter/bench),
// starts the real Prometheus 3.16 on those blocks, and times each page and
// API request of an in-process exporter reading it (median and p90 of R
// runs), and every PromQL query those requests ran.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync, cpSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { cacheDir, prometheus3Bin, promtool3Bin } from '../setup/paths.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = (p) => import(join(root, 'dist', p));
const opt = (name, dflt) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const json = process.argv.includes('--json');
const TARGETS = opt('targets', 200);
const SIGS = opt('signatures', 25);
const HOURS = opt('hours', 2);
const RUNS = opt('runs', 10);
const STEP = 15;
const say = (m) => { if (!json) process.stderr.write(`${m}\n`); };

const { Prometheus } = await dist('ui/promql.js');
const { PromSource } = await dist('ui/promsource.js');
const { parseConfig } = await dist('config/config.js');
const { Exporter } = await dist('exporter.js');
const { createApp } = await dist('server.js');
const { createLogger } = await dist('log.js');

// --- data ---------------------------------------------------------------

// The data ends where it was generated; the pages' "now" is set just past that end.
const key = `promql-${TARGETS}t-${SIGS}s-${HOURS}h`;
const dir = join(cacheDir(), 'bench', key);
const cached = existsSync(join(dir, 'done')) ? Number(readFileSync(join(dir, 'done'), 'utf8')) : NaN;
const endS = Number.isFinite(cached) ? cached : Math.floor(Date.now() / 1000 / STEP) * STEP - 60;
const startS = endS - HOURS * 3600;
const target = (i) => `10.${(i >> 8) & 255}.${i & 255}.7:6060`;
const sig = (t, k) => (t * 7919 + k * 104729).toString(16).padStart(16, '0').slice(-16);
const fn = (k) => `github.com/acme/shop/internal/svc${k % 7}.(*Handler).step${k}`;
const stack = (k) => Array.from({ length: 10 }, (_, d) =>
  `${d === 0 ? fn(k) : `github.com/acme/shop/internal/layer${d}.call${(k + d) % 5}`} /src/shop/internal/layer${d}/file${k % 9}.go:${40 + d * 3 + k}`).join('\n');
// Signature 0 leaks (+1 a scrape), 1-2 grow slowly, the rest are flat pools.
const count = (k, step) => (k === 0 ? 5 + step : k < 3 ? 20 + Math.floor(step / 40) : 10 + (k % 13));
const esc = (v) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

async function writeOpenMetrics(file) {
  const out = createWriteStream(file);
  const write = async (s) => { if (!out.write(s)) await once(out, 'drain'); };
  const steps = Math.floor((endS - startS) / STEP) + 1;
  const family = async (name, type, seriesOf) => {
    await write(`# TYPE ${name} ${type}\n`);
    for (let t = 0; t < TARGETS; t++) {
      for (const [labels, value, every = 1] of seriesOf(t)) {
        const l = Object.entries({ job: 'pprof-exporter-pods', instance: target(t), target: target(t), ...labels }).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
        let buf = '';
        for (let s = (steps - 1) % every; s < steps; s += every) buf += `${name}{${l}} ${value(s)} ${startS + s * STEP}\n`;
        await write(buf);
      }
    }
  };
  const sigs = (t, f) => Array.from({ length: SIGS }, (_, k) => f(k, sig(t, k)));
  await family('go_goroutines', 'gauge', (t) => [[{}, (s) => sigs(t, (k) => count(k, s)).reduce((a, b) => a + b, 0) + 40]]);
  await family('pprof_goroutine_signatures', 'gauge', () => [[{}, () => SIGS + 3]]);
  await family('pprof_exporter_scrape_success', 'gauge', () => [[{ source: 'goroutine' }, () => 1]]);
  await family('pprof_exporter_scrape_duration_seconds', 'gauge', () => [[{ source: 'goroutine' }, () => 0.012]]);
  await family('pprof_goroutine_dump_age_seconds', 'gauge', () => [[{}, (s) => (s % 20) * STEP]]);
  await family('pprof_goroutineleak_profile_age_seconds', 'gauge', () => [[{}, (s) => (s % 20) * STEP]]);
  await family('pprof_goroutines', 'gauge', (t) => [
    ...sigs(t, (k, id) => [{ signature: id, function: fn(k), blocked_on: k % 3 === 0 ? 'chan_send' : 'select' }, (s) => count(k, s)]),
    [{ signature: 'other', function: 'other', blocked_on: 'other' }, () => 40],
  ]);
  await family('pprof_goroutine_wait_seconds_max', 'gauge', (t) => sigs(t, (k, id) => [{ signature: id }, (s) => (k === 0 ? Math.floor(s / 4) * 60 : 60)]));
  await family('pprof_goroutines_leaked', 'gauge', (t) => sigs(t, (k, id) => [{ signature: id, function: fn(k), blocked_on: 'chan_send' }, (s) => (k === 0 ? 5 + s : 0)]));
  await family('pprof_goroutine_signature_info', 'gauge', (t) => sigs(t, (k, id) => [
    { signature: id, function: fn(k), blocked_on: k % 3 === 0 ? 'chan_send' : 'select', location: `/src/shop/internal/layer0/file${k % 9}.go:${40 + k}`, stack: stack(k) },
    () => 1, 4,
  ]));
  await write('# EOF\n');
  out.end();
  await once(out, 'finish');
}

const blocks = join(dir, 'blocks');
let generated = false;
if (!Number.isFinite(cached)) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const text = join(dir, 'data.om');
  let t0 = performance.now();
  say(`writing ${TARGETS} targets × ${SIGS} signatures × ${HOURS} h at ${STEP} s as OpenMetrics…`);
  await writeOpenMetrics(text);
  say(`  ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  t0 = performance.now();
  say('promtool tsdb create-blocks-from openmetrics…');
  const r = spawnSync(promtool3Bin(), ['tsdb', 'create-blocks-from', 'openmetrics', text, blocks], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`promtool failed: ${r.stderr.slice(-2000)}`);
  say(`  ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  rmSync(text);
  writeFileSync(join(dir, 'done'), String(endS));
  generated = true;
}

// --- Prometheus on the blocks, the exporter reading it ---------------------------

const data = join(dir, `run-${process.pid}`);
cpSync(blocks, data, { recursive: true });
const port = await new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const { port: p } = s.address(); s.close(() => resolve(p)); }); });
writeFileSync(join(dir, 'prometheus.yml'), 'global: {}\n');
const promUrl = `http://127.0.0.1:${port}`;
const prom = spawn(prometheus3Bin(), [`--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${port}`,
  '--storage.tsdb.retention.time=30d', `--config.file=${join(dir, 'prometheus.yml')}`], { stdio: 'ignore' });
for (let deadline = Date.now() + 120_000; ;) {
  try { if ((await fetch(`${promUrl}/-/ready`)).ok) break; } catch { /* starting */ }
  if (Date.now() > deadline) throw new Error('prometheus not ready in 120 s');
  await new Promise((r) => setTimeout(r, 250));
}

const client = new Prometheus({ url: promUrl, http: { followRedirects: true }, timeoutSeconds: 30 });
const queries = new Map();
client.onQuery = ({ query, range, ms, result }) => {
  const shape = query.replace(/"(?:[^"\\]|\\.)*"/g, (m) => (m === '"other"' || m === '"goroutine"' || m === '""' ? m : '"…"'));
  const k = `${range ? 'range' : 'instant'} ${shape}`;
  const q = queries.get(k) ?? { query: shape, range: Boolean(range), ms: [], errors: 0 };
  q.ms.push(ms);
  if (result !== 'success') q.errors++;
  queries.set(k, q);
};
const exporter = new Exporter({ config: parseConfig('{}', 'bench.yml'), logger: createLogger('error', new Writable({ write: (_c, _e, cb) => cb() })) });
await exporter.background.stop();
await exporter.web.stop();
const source = new PromSource({ prometheus: client, config: () => exporter.config, stepSeconds: STEP, points: 120, now: () => endS + 30 });
const server = await new Promise((resolve) => { const s = createApp(exporter, { history: source }).listen(0, '127.0.0.1', () => resolve(s)); });
const url = `http://127.0.0.1:${server.address().port}`;

const t0 = target(0);
const leakId = sig(0, 0);
const enc = encodeURIComponent;
const REQUESTS = [
  ['index page /', '/'],
  ['GET /api/v1/targets', '/api/v1/targets'],
  ['target page', `/targets/${enc(t0)}`],
  ['GET /api/v1/targets/<t>/signatures', `/api/v1/targets/${enc(t0)}/signatures`],
  ['signature page', `/targets/${enc(t0)}/signatures/${leakId}`],
  ['GET /api/v1/targets/<t>/signatures/<id>', `/api/v1/targets/${enc(t0)}/signatures/${leakId}`],
  ['diff page, 60 min', `/targets/${enc(t0)}/diff?minutes=60`],
];
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const rows = [];
say(`Prometheus ${promUrl} on ${key}${generated ? '' : ' (cached)'}; ${RUNS} runs each`);
for (const [name, path] of REQUESTS) {
  const ms = [];
  let status = 0;
  let bytes = 0;
  for (let i = 0; i < RUNS + 1; i++) {
    const started = performance.now();
    const res = await fetch(url + path);
    const body = await res.arrayBuffer();
    if (i > 0) ms.push(performance.now() - started); // the first warms Prometheus' caches
    status = res.status;
    bytes = body.byteLength;
  }
  rows.push({ request: name, path, status, bytes, median_ms: +pct(ms, 0.5).toFixed(1), p90_ms: +pct(ms, 0.9).toFixed(1) });
}
const perQuery = [...queries.values()].map((q) => ({ query: q.query, range: q.range, n: q.ms.length, errors: q.errors, median_ms: +pct(q.ms, 0.5).toFixed(1), p90_ms: +pct(q.ms, 0.9).toFixed(1) }))
  .sort((a, b) => b.median_ms - a.median_ms);

server.close();
server.closeAllConnections();
await exporter.close();
await client.close();
prom.kill('SIGTERM');
await once(prom, 'exit');
rmSync(data, { recursive: true, force: true });

const result = { targets: TARGETS, signaturesPerTarget: SIGS, hours: HOURS, intervalSeconds: STEP, runs: RUNS, requests: rows, queries: perQuery };
if (json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  process.stdout.write(`\n| request | status | bytes | median_ms | p90_ms |\n| --- | --- | --- | --- | --- |\n`);
  for (const r of rows) process.stdout.write(`| ${r.request} | ${r.status} | ${r.bytes} | ${r.median_ms} | ${r.p90_ms} |\n`);
  process.stdout.write(`\n| PromQL | range | n | median_ms | p90_ms |\n| --- | --- | --- | --- | --- |\n`);
  for (const q of perQuery) process.stdout.write(`| \`${q.query.replace(/\|/g, '\\|')}\` | ${q.range ? 'yes' : ''} | ${q.n} | ${q.median_ms} | ${q.p90_ms} |\n`);
}
