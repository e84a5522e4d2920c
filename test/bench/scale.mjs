// Many targets, one exporter: N targets × one real Go goroutine profile,
// through the exporter's real HTTP server, in three processes so that each
// peak RSS is the exporter's own:
//   profiles: one loopback server process answering every target's
//     requests with the profile's bytes; a listener per target (127.0.0.1:0),
//     so each target is its own origin, as N processes would be;
//   exporter: a fresh process per path, createApp + createServer on
//     127.0.0.1:0, its maxRSS read when it is told to stop;
//   this one: the client.
// Paths: `metrics` = N configured targets in one GET /metrics (5 times; the
// median, and the first, whose stacks are all new); `probe` = N GET /probe,
// `concurrency` in flight at once (as Prometheus spreads a job's targets over
// its interval, and what max_concurrent_probes lets in; the rest would be
// answered 503), twice over (the second pass warm).
//   node test/bench/scale.mjs PROFILE N [CONCURRENCY]   prints one JSON line
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const SCRAPE_TIMEOUT_SECONDS = '30';
const [role, ...rest] = process.argv.slice(2);

const maxRssMib = () => process.resourceUsage().maxRSS / 1024;
const firstLine = (child) => new Promise((resolve, reject) => {
  const lines = createInterface({ input: child.stdout });
  lines.once('line', (l) => resolve(JSON.parse(l)));
  child.once('exit', (code) => reject(new Error(`${role ?? 'child'} exited (${code}) before answering`)));
});

// SCALE_CPU_PROF=DIR: the exporter processes write a CPU profile there.
function child(args) {
  const prof = args[0] === 'exporter' && process.env.SCALE_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SCALE_CPU_PROF}`] : [];
  const c = spawn(process.execPath, [...prof, fileURLToPath(import.meta.url), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  return { c, ready: firstLine(c) };
}

async function stop({ c }) {
  const done = new Promise((resolve) => {
    createInterface({ input: c.stdout }).on('line', (l) => resolve(JSON.parse(l)));
  });
  c.stdin.end();
  return done;
}

if (role === 'profiles') {
  // One handler, a listener per target.
  const [file, n] = rest;
  const body = readFileSync(file);
  const handler = (_req, res) => res.end(body);
  const ports = [];
  for (let i = 0; i < Number(n); i++) {
    // Like Go's net/http server: no idle timeout on kept-alive connections.
    const s = createServer({ keepAliveTimeout: 0 }, handler);
    await new Promise((r) => s.listen(0, '127.0.0.1', r));
    ports.push(s.address().port);
  }
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
} else if (role === 'exporter') {
  const [configFile] = rest;
  const root = new URL('../../dist/', import.meta.url);
  const { loadConfig } = await import(new URL('config/config.js', root).href);
  const { Exporter } = await import(new URL('exporter.js', root).href);
  const { createLogger } = await import(new URL('log.js', root).href);
  const { createApp, createServer: createAppServer } = await import(new URL('server.js', root).href);
  const exp = new Exporter({ config: await loadConfig(configFile), logger: createLogger('error', new Writable({ write(_c, _e, cb) { cb(); } })) });
  // Only the scrapes the client asks for: no idle refresh, no background fetches.
  await exp.background.stop();
  await exp.web.stop();
  const server = createAppServer(createApp(exp), undefined);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  // SCALE_MEM=1: the peak of each part of memoryUsage(), sampled, on stderr.
  const peak = {};
  if (process.env.SCALE_MEM) {
    setInterval(() => {
      for (const [k, v] of Object.entries(process.memoryUsage())) peak[k] = Math.max(peak[k] ?? 0, Math.round(v / 2 ** 20));
    }, 10).unref();
  }
  process.stdin.resume();
  process.stdin.on('end', async () => {
    if (process.env.SCALE_MEM) process.stderr.write(`exporter peak MiB: ${JSON.stringify(peak)}\n`);
    process.stdout.write(`${JSON.stringify({ rss_mib: maxRssMib() })}\n`);
    process.exit(0);
  });
} else {
  const [file, n, concurrency = '16'] = process.argv.slice(2);
  const work = mkdtempSync(join(tmpdir(), 'pprof-scale-'));
  const profiles = child(['profiles', file, n]);
  const ports = await profiles.ready;
  const get = async (url) => {
    const res = await fetch(url, { headers: { 'x-prometheus-scrape-timeout-seconds': SCRAPE_TIMEOUT_SECONDS } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${text.slice(0, 200)}`);
    return text;
  };
  const failures = (text) => (text.match(/^pprof_exporter_scrape_success(\{[^}]*\})? 0$/gm) ?? []).length;
  const exporter = async (yaml, run) => {
    const config = join(work, 'config.yml');
    writeFileSync(config, yaml);
    const e = child(['exporter', config]);
    const { port } = await e.ready;
    try {
      const out = await run(`http://127.0.0.1:${port}`);
      return { ...out, rss_mib: (await stop(e)).rss_mib };
    } catch (err) {
      e.c.kill();
      throw err;
    }
  };

  const targets = ports.map((p, i) => `  - name: t${i}\n    url: http://127.0.0.1:${p}\n    sources: [goroutine]\n`).join('');
  const metrics = await exporter(`targets:\n${targets}`, async (base) => {
    const times = [];
    let bytes = 0;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const text = await get(`${base}/metrics`);
      times.push(performance.now() - t);
      bytes = text.length;
      const failed = failures(text);
      if (failed) throw new Error(`/metrics: ${failed} target scrapes failed: ${[...new Set(text.match(/^pprof_exporter_scrape_errors_total\{[^}]*\}/gm)?.map((l) => l.replace(/target="[^"]*",?/, "")))].join(" ")}`);
    }
    return { ms: [...times].sort((a, b) => a - b)[2], first_ms: times[0], body_mib: bytes / 2 ** 20 };
  });

  const modules = `modules:\n  goroutine:\n    sources: [goroutine]\nmax_concurrent_probes: ${concurrency}\n`;
  const probe = await exporter(modules, async (base) => {
    const pass = async () => {
      let next = 0;
      const t = performance.now();
      await Promise.all(Array.from({ length: Number(concurrency) }, async () => {
        while (next < ports.length) {
          const port = ports[next++];
          const text = await get(`${base}/probe?module=goroutine&target=127.0.0.1:${port}`);
          if (!/^probe_success 1$/m.test(text)) throw new Error(`probe of ${port} failed: ${text.slice(0, 500)}`);
        }
      }));
      return performance.now() - t;
    };
    const first = await pass();
    return { ms: await pass(), first_ms: first, concurrency: Number(concurrency) };
  });

  profiles.c.stdin.end();
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ targets: Number(n), metrics, probe })}\n`);
}
