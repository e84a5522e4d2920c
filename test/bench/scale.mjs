// One exporter scraping N targets concurrently, all served by one real HTTP
// server on loopback (each target a distinct path prefix). Prints JSON.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Writable } from 'node:stream';

const [file, n] = process.argv.slice(2);
const body = readFileSync(file);
const root = new URL('../../dist/', import.meta.url);
const { parseConfig } = await import(new URL('config/config.js', root).href);
const { Exporter } = await import(new URL('exporter.js', root).href);
const { createLogger } = await import(new URL('log.js', root).href);

const server = createServer((_req, res) => res.end(body));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
const targets = Array.from({ length: Number(n) }, (_, i) => `  - name: t${i}\n    url: ${base}/t${i}\n    sources: [goroutine]\n`).join('');
const exp = new Exporter({ config: parseConfig(`targets:\n${targets}`, 'bench.yml'), logger: createLogger('error', new Writable({ write(_c, _e, cb) { cb(); } })) });
await exp.background.stop();
const times = [];
let failed = 0;
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  const { body: text } = await exp.metrics(undefined);
  times.push(performance.now() - t);
  failed += (text.match(/pprof_exporter_scrape_success\{[^}]*\} 0/g) ?? []).length;
}
await exp.close();
server.close();
if (failed) throw new Error(`${failed} target scrapes failed`);
process.stdout.write(`${JSON.stringify({ ms: [...times].sort((a, b) => a - b)[2], first_ms: times[0], rss_mib: process.resourceUsage().maxRSS / 1024 })}\n`);
