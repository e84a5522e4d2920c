// Attacks on the exporter itself, tried with its own config on loopback: SSRF
// through redirects (with and without a proxy), IP literals past a names-only
// allowlist, a web config that would turn auth off, a flood of wrong
// passwords, and terminal/bidi controls in text a person copies or reads.
// Sentinels on 127.0.0.2 and 127.0.0.3 (Linux routes all of 127/8 to lo)
// record every connection: a denied address must never be contacted.
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, isIP, type AddressInfo, type Socket } from 'node:net';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/config.js';
import type { Resolver } from '../src/http/allowlist.js';
import { AuthBusy, RecentSet, WorkLimiter } from '../src/authlimit.js';
import { BasicAuth, loadWebConfig, type WebConfig } from '../src/config/webconfig.js';
import { createApp } from '../src/server.js';
import { commands, shellQuote } from '../src/ui/views.js';
import { esc } from '../src/ui/html.js';
import { startExporter, type RunningExporter } from './helpers/exporter.js';
import { startFixtureTarget, type TestServer } from './helpers/http.js';
import { fixture, newestGo } from './helpers/fixtures.js';
import { one, parseMetrics } from './helpers/prom.js';

const GO = newestGo();
const profile = fixture(GO, 'goroutine.pb.gz');
const dir = mkdtempSync(join(tmpdir(), 'pprof-exporter-security-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

function closer(server: Server): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
}

/** A server on another loopback address that counts every TCP connection made to it. */
async function sentinel(host: string) {
  const server = createHttpServer((_req, res) => res.end(profile));
  const contacts: string[] = [];
  server.on('connection', (s: Socket) => contacts.push(`${s.remoteAddress}`));
  const close = closer(server);
  const port = await listen(server, host);
  return { host, port, contacts, close };
}

/**
 * A real forwarding proxy (absolute-form GET for http, CONNECT for https),
 * recording what it is asked. It connects only to loopback IP literals, so a
 * bug that hands it a name never makes it resolve one.
 */
async function forwardingProxy() {
  const asked: string[] = [];
  const hosts: string[] = [];
  const ok = (host: string) => isIP(host) === 4 && host.startsWith('127.');
  const server = createHttpServer((req, res) => {
    asked.push(`GET ${req.url}`);
    hosts.push(String(req.headers.host));
    const u = new URL(req.url ?? '');
    if (!ok(u.hostname)) {
      res.statusCode = 502;
      return void res.end(`proxy: will not resolve ${u.hostname}\n`);
    }
    const up = httpRequest({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => { res.statusCode = 502; res.end(); });
    up.end();
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    asked.push(`CONNECT ${req.url}`);
    const [host, port] = [String(req.url).replace(/:\d+$/, ''), Number(/:(\d+)$/.exec(String(req.url))?.[1])];
    if (!ok(host)) return void client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    const up = netConnect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  const close = closer(server);
  const port = await listen(server, '127.0.0.1');
  return { url: `http://127.0.0.1:${port}`, asked, hosts, close };
}

/** Resolves only the names a test gives it, without a lookup. */
function fakeDns(names: Record<string, string[]>): Resolver {
  return async (host) => {
    const a = names[host];
    if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return a;
  };
}

const success = (text: string) => one(parseMetrics(text), 'probe_success').value;

describe('redirects to denied addresses, with and without a proxy', () => {
  let s2: Awaited<ReturnType<typeof sentinel>>;
  let s3: Awaited<ReturnType<typeof sentinel>>;
  let proxy: Awaited<ReturnType<typeof forwardingProxy>>;
  let target: { port: number; close: () => Promise<void>; hosts: string[] };
  let tlsTarget: { port: number; close: () => Promise<void> };
  let exp: RunningExporter;
  const ctl = { location: '' };

  beforeAll(async () => {
    s2 = await sentinel('127.0.0.2');
    s3 = await sentinel('127.0.0.3');
    proxy = await forwardingProxy();
    // The hostile target: /debug/pprof/goroutine redirects wherever the test says; /ok/... serves.
    const hosts: string[] = [];
    const t = createHttpServer((req, res) => {
      hosts.push(String(req.headers.host));
      if (req.url?.startsWith('/ok/')) return void res.end(profile);
      res.writeHead(302, { location: ctl.location });
      res.end();
    });
    const tClose = closer(t);
    target = { port: await listen(t, '127.0.0.1'), close: tClose, hosts };

    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=pod.example', '-addext', 'subjectAltName=DNS:pod.example',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const tls = createHttpsServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) }, (req, res) => {
      if (req.url?.startsWith('/ok/')) return void res.end(profile);
      res.writeHead(302, { location: ctl.location });
      res.end();
    });
    const tlsClose = closer(tls);
    tlsTarget = { port: await listen(tls, '127.0.0.1'), close: tlsClose };

    const follow = { follow_redirects: true };
    exp = await startExporter(parseConfig(JSON.stringify({
      allowed_targets: ['127.0.0.1'],
      modules: {
        direct: { sources: ['goroutine'], http_config: follow },
        proxied: { sources: ['goroutine'], http_config: { ...follow, proxy_url: proxy.url } },
        tls: { sources: ['goroutine'], http_config: { ...follow, proxy_url: proxy.url, tls_config: { ca_file: join(dir, 'cert.pem') } } },
      },
    }), 'security.yml'), { resolver: fakeDns({ 'pod.example': ['127.0.0.1'], 'sneaky.example': ['127.0.0.2'] }) });
  });
  afterAll(async () => {
    await exp?.close();
    await Promise.all([s2, s3, proxy, target, tlsTarget].map((s) => s?.close()));
  });

  const spellings = () => [
    `http://[::1]:${s2.port}/debug/pprof/goroutine`,
    `//127.0.0.3:${s3.port}/debug/pprof/goroutine`,
    `http://0x7f000002:${s2.port}/debug/pprof/goroutine`,
    `http://2130706434:${s2.port}/debug/pprof/goroutine`,
    `http://127.0.0.1:${target.port}@127.0.0.2:${s2.port}/debug/pprof/goroutine`,
    `http://sneaky.example:${s2.port}/debug/pprof/goroutine`,
  ];

  for (const module of ['direct', 'proxied']) {
    it(`${module}: every spelling of a denied redirect is refused before any contact`, async () => {
      for (const location of spellings()) {
        ctl.location = location;
        const askedBefore = proxy.asked.length;
        const r = await exp.probe({ target: `127.0.0.1:${target.port}`, module });
        expect(success(r.text), location).toBe(0);
        const line = exp.logs.findLast((l) => l.msg === 'scrape failed');
        expect(line, location).toMatchObject({ code: 'PPROF_TARGET_DENIED' });
        expect(String(line!.err), location).toMatch(/is not in allowed_targets/);
        // Through the proxy, only the first hop (to the allowed target) was asked for.
        const asked = proxy.asked.slice(askedBefore);
        expect(asked, location).toEqual(module === 'proxied' ? [`GET http://127.0.0.1:${target.port}/debug/pprof/goroutine?debug=0`] : []);
      }
      expect(s2.contacts).toEqual([]);
      expect(s3.contacts).toEqual([]);
    });
  }

  it('proxied: an allowed redirect is followed, and the proxy is sent the checked address', async () => {
    ctl.location = '/ok/debug/pprof/goroutine';
    const n = proxy.asked.length;
    const r = await exp.probe({ target: `127.0.0.1:${target.port}`, module: 'proxied' });
    expect(success(r.text)).toBe(1);
    expect(proxy.asked.slice(n)).toEqual([
      `GET http://127.0.0.1:${target.port}/debug/pprof/goroutine?debug=0`, `GET http://127.0.0.1:${target.port}/ok/debug/pprof/goroutine`]);
  });

  it('proxied: a name is resolved and checked by the exporter; the proxy gets the address, the target its name in Host', async () => {
    ctl.location = '/ok/debug/pprof/goroutine';
    const n = proxy.asked.length;
    const r = await exp.probe({ target: `pod.example:${target.port}`, module: 'proxied' });
    expect(success(r.text)).toBe(1);
    expect(proxy.asked.slice(n)).toEqual([
      `GET http://127.0.0.1:${target.port}/debug/pprof/goroutine?debug=0`, `GET http://127.0.0.1:${target.port}/ok/debug/pprof/goroutine`]);
    expect(proxy.hosts.at(-1)).toBe(`pod.example:${target.port}`);
    expect(target.hosts.at(-1)).toBe(`pod.example:${target.port}`);
    // A name with a denied address is refused before the proxy is asked.
    const m = proxy.asked.length;
    const no = await exp.probe({ target: `sneaky.example:${s2.port}`, module: 'proxied' });
    expect(no.status).toBe(403);
    expect(proxy.asked.length).toBe(m);
    expect(s2.contacts).toEqual([]);
  });

  it('proxied HTTPS: tunnels to the checked address with the name\'s certificate; a denied https hop is never tunnelled', async () => {
    ctl.location = '/ok/debug/pprof/goroutine';
    const n = proxy.asked.length;
    const r = await exp.probe({ target: `https://pod.example:${tlsTarget.port}`, module: 'tls' });
    expect(success(r.text)).toBe(1);
    // One tunnel per hop (the redirect's body is not read, so its connection is not reused).
    expect(proxy.asked.slice(n)).toEqual([`CONNECT 127.0.0.1:${tlsTarget.port}`, `CONNECT 127.0.0.1:${tlsTarget.port}`]);
    for (const location of [`https://127.0.0.2:${s2.port}/x`, `https://sneaky.example:${s2.port}/x`, `https://2130706435:${s3.port}/x`]) {
      ctl.location = location;
      const m = proxy.asked.length;
      const denied = await exp.probe({ target: `https://pod.example:${tlsTarget.port}`, module: 'tls' });
      expect(success(denied.text), location).toBe(0);
      expect(exp.logs.findLast((l) => l.msg === 'scrape failed'), location).toMatchObject({ code: 'PPROF_TARGET_DENIED' });
      // Only the allowed first hop may have needed a (new) tunnel.
      expect(proxy.asked.slice(m).filter((a) => a !== `CONNECT 127.0.0.1:${tlsTarget.port}`), location).toEqual([]);
    }
    expect(s2.contacts).toEqual([]);
    expect(s3.contacts).toEqual([]);
  });
});

describe('an allowlist of names only', () => {
  let s2: Awaited<ReturnType<typeof sentinel>>;
  let s3: Awaited<ReturnType<typeof sentinel>>;
  let good: TestServer;
  let exp: RunningExporter;

  beforeAll(async () => {
    s2 = await sentinel('127.0.0.2');
    s3 = await sentinel('127.0.0.3');
    good = await startFixtureTarget((f) => fixture(GO, f));
    exp = await startExporter(parseConfig(JSON.stringify({ allowed_targets: ['localhost'], modules: { g: { sources: ['goroutine'] } } }), 'names.yml'),
      { resolver: fakeDns({ localhost: ['127.0.0.1'] }) });
  });
  afterAll(async () => {
    await exp?.close();
    await Promise.all([s2, s3, good].map((s) => s?.close()));
  });

  it('admits the name, and no IP literal however it is spelled', async () => {
    const ok = await exp.probe({ target: `localhost:${new URL(good.url).port}`, module: 'g' });
    expect(success(ok.text)).toBe(1);
    for (const target of [`127.0.0.2:${s2.port}`, `[::1]:${s2.port}`, `127.0.0.3:${s3.port}`, `2130706434:${s2.port}`, `[::ffff:127.0.0.2]:${s2.port}`, good.url.slice(7)]) {
      const r = await exp.probe({ target, module: 'g' });
      expect(r.status, target).toBe(403);
      expect(r.text, target).toMatch(/^target not allowed: address \S+ is not in allowed_targets \(it lists host names only/);
    }
    expect(s2.contacts).toEqual([]);
    expect(s3.contacts).toEqual([]);
  });
});

describe('bcrypt work under a flood of wrong passwords', () => {
  const deferred = () => {
    let resolve!: (v: boolean) => void;
    const p = new Promise<boolean>((r) => { resolve = r; });
    return { p, resolve };
  };

  it('WorkLimiter runs at most `concurrency` jobs, queues `queue`, refuses the rest', async () => {
    const l = new WorkLimiter(1, 2);
    const jobs = [deferred(), deferred(), deferred()];
    let running = 0;
    let most = 0;
    const runs = jobs.map((j) => l.run(async () => { running++; most = Math.max(most, running); const v = await j.p; running--; return v; }));
    expect(l.inFlight).toBe(1);
    expect(l.queued).toBe(2);
    await expect(l.run(async () => true)).rejects.toBeInstanceOf(AuthBusy);
    for (const j of jobs) j.resolve(true);
    expect(await Promise.all(runs)).toEqual([true, true, true]);
    expect(most).toBe(1);
    expect([l.inFlight, l.queued]).toEqual([0, 0]);
    // A failing job frees its slot too.
    await expect(l.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await l.run(async () => 'after')).toBe('after');
  });

  it('RecentSet forgets after its ttl and drops the oldest when full', () => {
    let now = 0;
    const s = new RecentSet(1000, 2, () => now);
    s.add('a');
    s.add('b');
    s.add('c');
    expect([s.has('a'), s.has('b'), s.has('c')]).toEqual([false, true, true]);
    now = 1001;
    expect(s.has('b')).toBe(false);
  });

  const users = { prom: bcrypt.hashSync('right', 4) };
  const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

  it('a wrong password tried again costs no comparison; the right one still works', async () => {
    const calls: string[] = [];
    const auth = new BasicAuth(users, async (pw, h) => { calls.push(pw); return bcrypt.compare(pw, h); });
    for (let i = 0; i < 5; i++) expect(await auth.check(basic('prom', 'wrong'))).toBeUndefined();
    for (let i = 0; i < 5; i++) expect(await auth.check(basic('nobody', 'wrong'))).toBeUndefined();
    expect(calls).toEqual(['wrong', 'wrong']);
    expect(await auth.check(basic('prom', 'right'))).toBe('prom');
  });

  it('the server answers 429 without a comparison when the queue is full, and a known password never waits', async () => {
    const pending: { resolve: (v: boolean) => void }[] = [];
    const calls: string[] = [];
    const real = new BasicAuth(users);
    expect(await real.check(basic('prom', 'right'))).toBe('prom');
    const auth = new BasicAuth(users, (pw, h) => {
      calls.push(pw);
      if (pw === 'right') return bcrypt.compare(pw, h);
      const d = deferred();
      pending.push(d);
      return d.p;
    }, { concurrency: 1, queue: 1, failureTtlMs: 60_000, failureMax: 100 });
    const web: WebConfig = { file: 'web.yml', verifyClientCertIfGiven: false, headers: {}, auth };
    const good = await startFixtureTarget((f) => fixture(GO, f));
    const exp = await startExporter(parseConfig('targets: []\n', 'x.yml'));
    const app = createApp(exp.exporter, { web: () => web });
    const server = createHttpServer(app);
    const close = closer(server);
    const port = await listen(server, '127.0.0.1');
    const get = (auth: string) => fetch(`http://127.0.0.1:${port}/-/healthy`, { headers: { authorization: auth } });
    try {
      // The right password, verified once, is then answered from memory.
      expect((await get(basic('prom', 'right'))).status).toBe(200);
      const first = get(basic('prom', 'w1'));
      while (calls.length < 1) await new Promise((r) => setImmediate(r));
      const second = get(basic('prom', 'w2'));
      while (auth.load.queued < 1) await new Promise((r) => setImmediate(r));
      const third = await get(basic('prom', 'w3'));
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toBe('1');
      expect((await get(basic('prom', 'right'))).status).toBe(200);
      pending[0]!.resolve(false);
      while (pending.length < 2) await new Promise((r) => setImmediate(r));
      pending[1]!.resolve(false);
      expect([(await first).status, (await second).status]).toEqual([401, 401]);
      expect(calls).toEqual(['right', 'w1', 'w2']);
    } finally {
      await close();
      await exp.close();
      await good.close();
    }
  });
});

describe('web config reload fails closed', () => {
  let proc: ChildProcess | undefined;
  let target: TestServer;
  const logs: Record<string, unknown>[] = [];
  afterAll(async () => {
    proc?.kill('SIGKILL');
    await target?.close();
  });

  function waitFor(pred: (l: Record<string, unknown>) => boolean, after: number): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const check = () => {
        const hit = logs.slice(after).find(pred);
        if (hit) resolve(hit);
        else setTimeout(check, 20);
      };
      check();
    });
  }

  it('refuses an empty or invalid web config, keeps auth on, and still applies the main config', async () => {
    target = await startFixtureTarget((f) => fixture(GO, f));
    const targetsYml = (names: string[]) => `targets:\n${names.map((n) => `  - name: ${n}\n    url: ${target.url}\n    sources: [goroutine]\n`).join('')}`;
    const cfg = file('cfg.yml', targetsYml(['one']));
    const good = `basic_auth_users:\n  prom: "${bcrypt.hashSync('right', 4)}"\n`;
    const web = file('web.yml', good);
    proc = spawn(process.execPath, [join(import.meta.dirname, '../dist/cli.js'), `--config.file=${cfg}`, `--web.config.file=${web}`, '--web.listen-address=127.0.0.1:0'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    createInterface({ input: proc.stderr! }).on('line', (l) => logs.push(JSON.parse(l) as Record<string, unknown>));
    const listening = await waitFor((l) => l.msg === 'listening', 0);
    const base = `http://${String(listening.address)}`;
    const auth = { authorization: `Basic ${Buffer.from('prom:right').toString('base64')}` };
    const metrics = async () => parseMetrics(await (await fetch(`${base}/metrics`, { headers: auth })).text());
    expect(one(await metrics(), 'pprof_exporter_web_config_last_reload_successful').value).toBe(1);

    const cases: [string, string, string][] = [
      ['empty', '', 'empty: no tls_server_config'],
      ['comments only', '# being rewritten\n', 'empty: no tls_server_config'],
      ['an empty mapping', '{}\n', 'empty: no tls_server_config'],
      ['a bad hash', 'basic_auth_users: {prom: notahash}\n', 'basic_auth_users.prom: not a bcrypt hash'],
    ];
    const names = ['one'];
    for (const [what, text, msg] of cases) {
      writeFileSync(web, text);
      names.push(`t${names.length}`);
      writeFileSync(cfg, targetsYml(names));
      const n = logs.length;
      const r = await fetch(`${base}/-/reload`, { method: 'POST', headers: auth });
      expect(r.status, what).toBe(500);
      expect(await r.text(), what).toContain(msg);
      const line = await waitFor((l) => l.msg === 'web config reload failed, keeping the running one', n);
      expect(line.level, what).toBe('error');
      expect(String(line.err), what).toContain(msg);
      expect((await fetch(`${base}/metrics`)).status, what).toBe(401);
      const s = await metrics();
      expect(one(s, 'pprof_exporter_web_config_last_reload_successful').value, what).toBe(0);
      // The main config changed at the same time, and was applied on its own.
      expect(one(s, 'pprof_exporter_config_last_reload_successful').value, what).toBe(1);
      expect(one(s, 'pprof_exporter_scrape_success', { target: names.at(-1)!, source: 'goroutine' }).value, what).toBe(1);
    }
    writeFileSync(web, good);
    const r = await fetch(`${base}/-/reload`, { method: 'POST', headers: auth });
    expect(r.status).toBe(200);
    expect(one(await metrics(), 'pprof_exporter_web_config_last_reload_successful').value).toBe(1);
  });

  it('an empty web config at start is refused too', async () => {
    await expect(loadWebConfig(file('empty.yml', ''))).rejects.toThrow(`${join(dir, 'empty.yml')}: empty`);
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '../dist/cli.js'), `--config.file=${file('c.yml', 'targets: []\n')}`,
      `--web.config.file=${join(dir, 'empty.yml')}`, '--web.listen-address=127.0.0.1:0'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('empty: no tls_server_config');
  });
});

describe('controls and bidi overrides in text a person copies or reads', () => {
  // U+009B is a one-byte CSI to many terminals; U+202E and U+2066 reorder what is displayed.
  const hostile = 'main.run\u009b2J\u202eevil\u2066x\u2069\u202c\x1b[0m\x7f\x85';

  it('are replaced in copied commands', () => {
    expect(shellQuote(hostile)).toBe(`'main.run?2J?evil?x???[0m??'`);
    const c = commands({ url: 'http://127.0.0.1:1' } as never, hostile);
    for (const cmd of Object.values(c)) expect(cmd).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
  });

  it('are replaced in web pages and plain-text answers', async () => {
    expect(esc(`${hostile}\n<b>`)).toBe('main.run?2J?evil?x???[0m??\n&lt;b&gt;');
    const exp = await startExporter(parseConfig('targets: []\n', 'x.yml'));
    try {
      const r = await exp.probe({ target: '127.0.0.1:1', module: `m\u202eodule\u009b` });
      expect(r.status).toBe(400);
      expect(r.text).toBe('unknown module "m?odule?"\n');
    } finally {
      await exp.close();
    }
  });
});
