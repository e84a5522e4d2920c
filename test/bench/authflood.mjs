// npm run bench:authflood [-- --json] [-- --clients=40] [-- --requests=60] [-- --cli=path/to/dist/cli.js]
// An authenticated Prometheus scrape while unauthenticated clients send wrong
// passwords as fast as they are answered. Starts the real CLI with a web
// config (one user, bcrypt cost 10) and one target serving a real profile,
// then times authenticated GET /metrics one after another, first alone, then
// with the flood running. Each flooding request carries a new password, so no
// cache can answer it: every one asks for a bcrypt comparison.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { Agent, request } from 'undici';

const root = fileURLToPath(new URL('../..', import.meta.url));
const opt = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const json = process.argv.includes('--json');
const CLIENTS = Number(opt('clients', 40));
const REQUESTS = Number(opt('requests', 60));
const CLI = opt('cli', join(root, 'dist/cli.js'));
const say = (m) => { if (!json) process.stderr.write(`${m}\n`); };

const dir = mkdtempSync(join(tmpdir(), 'pprof-exporter-authflood-'));
const profile = readFileSync(join(root, 'test/fixtures/profiles/go1.26.11/goroutine.pb.gz'));
const target = createServer((_req, res) => res.end(profile));
await new Promise((r) => target.listen(0, '127.0.0.1', r));
const cfg = join(dir, 'cfg.yml');
writeFileSync(cfg, `targets:\n  - name: one\n    url: http://127.0.0.1:${target.address().port}\n    sources: [goroutine]\n`);
const web = join(dir, 'web.yml');
writeFileSync(web, `basic_auth_users:\n  prometheus: "${bcrypt.hashSync('right', 10)}"\n`);

const proc = spawn(process.execPath, [CLI, `--config.file=${cfg}`, `--web.config.file=${web}`, '--web.listen-address=127.0.0.1:0'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
const listening = await new Promise((resolve, reject) => {
  proc.on('exit', (c) => reject(new Error(`exporter exited ${c}`)));
  createInterface({ input: proc.stderr }).on('line', (l) => {
    const m = JSON.parse(l);
    if (m.msg === 'listening') resolve(m.address);
  });
});
const base = `http://${listening}`;
const agent = new Agent({ connections: CLIENTS + 4 });
const basic = (u, p) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

async function get(auth) {
  const r = await request(`${base}/metrics`, { dispatcher: agent, headers: { authorization: auth } });
  await r.body.dump();
  return r.statusCode;
}

async function timed(n) {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const status = await get(basic('prometheus', 'right'));
    if (status !== 200) throw new Error(`authenticated scrape answered ${status}`);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
  return { p50_ms: Math.round(q(0.5)), p95_ms: Math.round(q(0.95)), max_ms: Math.round(ms.at(-1)) };
}

await get(basic('prometheus', 'right')); // the first check pays bcrypt once; then it is remembered
const alone = await timed(REQUESTS);
say(`alone: p50 ${alone.p50_ms} ms, p95 ${alone.p95_ms} ms, max ${alone.max_ms} ms`);

let flooding = true;
const answers = {};
let n = 0;
const flood = Array.from({ length: CLIENTS }, async () => {
  while (flooding) {
    const s = await get(basic('prometheus', `wrong-${n++}`)).catch(() => 'error');
    answers[s] = (answers[s] ?? 0) + 1;
  }
});
// Let the flood fill the queue before measuring.
while ((answers[401] ?? 0) + (answers[429] ?? 0) < CLIENTS) await new Promise((r) => setTimeout(r, 50));
const start = performance.now();
const before = (answers[401] ?? 0) + (answers[429] ?? 0);
const under = await timed(REQUESTS);
const seconds = (performance.now() - start) / 1000;
const rate = Math.round(((answers[401] ?? 0) + (answers[429] ?? 0) - before) / seconds);
flooding = false;
await Promise.all(flood);
say(`with ${CLIENTS} flooding clients: p50 ${under.p50_ms} ms, p95 ${under.p95_ms} ms, max ${under.max_ms} ms; flood answers ${JSON.stringify(answers)} (${rate}/s while measured)`);
if (json) process.stdout.write(`${JSON.stringify({ clients: CLIENTS, requests: REQUESTS, alone, flood: under, floodAnswers: answers, floodPerSecond: rate })}\n`);

await agent.close();
proc.removeAllListeners('exit');
const exited = new Promise((r) => proc.once('exit', r));
proc.kill('SIGTERM');
await exited;
target.closeAllConnections();
target.close();
