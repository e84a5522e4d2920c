// The installed command, run as a user would: flags, --config.check, the
// server it starts, SIGHUP reload and a clean SIGTERM exit.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { startFixtureTarget } from './helpers/http.js';
import { fixture, newestGo } from './helpers/fixtures.js';
import { one, parseMetrics } from './helpers/prom.js';

const CLI = join(import.meta.dirname, '../dist/cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'pprof-exporter-cli-'));

describe('pprof-exporter command', () => {
  it('--help documents every flag and exits 0', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    for (const flag of ['--web.listen-address', '--web.telemetry-path', '--config.file', '--config.check', '--log.level', '--version']) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain(':10066');
  });

  it('--version prints the package version', () => {
    const r = run('--version');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^pprof-exporter 0\.\d+\.\d+ \(node v\d+/);
  });

  it('rejects an unknown flag with exit 2 and a pointer to --help', () => {
    const r = run('--web.listen-adress=:1');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Unknown option '--web.listen-adress'");
    expect(r.stderr).toContain('try --help');
  });

  it('rejects a bad listen address and log level', () => {
    expect(run('--web.listen-address=localhost').stderr).toContain('invalid --web.listen-address "localhost"');
    expect(run('--log.level=loud').stderr).toContain('--log.level must be one of debug, info, warn, error, got "loud"');
  });

  it('rejects bad --prometheus.* flags with exit 2, naming the flag', () => {
    const http = join(dir, 'prometheus-http.yml');
    writeFileSync(http, 'basic_auth:\n  username: oncall\n  password: inline\n');
    for (const [args, message] of [
      [['--prometheus.url=prometheus:9090'], 'invalid --prometheus.url "prometheus:9090": scheme must be http or https'],
      [['--prometheus.url=http://u:p@prometheus:9090'], 'invalid --prometheus.url: must not contain credentials (use --prometheus.http-config.file)'],
      [['--prometheus.url=http://p:9090', '--prometheus.step=0'], '--prometheus.step must be greater than 0 and at most 3600 s, got "0"'],
      [['--prometheus.url=http://p:9090', '--prometheus.timeout=soon'], 'invalid --prometheus.timeout: invalid duration "soon"'],
      [['--prometheus.http-config.file=x.yml'], '--prometheus.http-config.file needs --prometheus.url'],
      [['--prometheus.url=http://p:9090', `--prometheus.http-config.file=${http}`], `${http}: basic_auth.password: unknown key`],
    ] as const) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });

  it('--config.check exits 0 on a valid file and 1 with the message on an invalid one', () => {
    const good = join(dir, 'good.yml');
    writeFileSync(good, 'targets:\n  - name: checkout\n    url: http://127.0.0.1:6060\n');
    const ok = run(`--config.file=${good}`, '--config.check');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe(`${good}: OK, 1 target(s)\n`);

    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'targets:\n  - name: checkout\n    url: ftp://127.0.0.1:6060\n');
    const r = run(`--config.file=${bad}`, '--config.check');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:10: targets\\[0\\]\\.url: `));
  });

  it('refuses to start on a missing config file', () => {
    const r = run(`--config.file=${join(dir, 'nope.yml')}`, '--web.listen-address=127.0.0.1:0');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('cannot read config file');
  });

  describe('running', () => {
    let proc: ChildProcess | undefined;
    afterAll(() => { proc?.kill('SIGKILL'); });

    it('serves metrics, reloads on SIGHUP, exits 0 on SIGTERM', async () => {
      const target = await startFixtureTarget((f) => fixture(newestGo(), f));
      const cfg = join(dir, 'run.yml');
      writeFileSync(cfg, `targets:\n  - name: one\n    url: ${target.url}\n`);
      proc = spawn(process.execPath, [CLI, `--config.file=${cfg}`, '--web.listen-address=127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
      const logs: Record<string, unknown>[] = [];
      const waitFor = (msg: string) => new Promise<Record<string, unknown>>((resolve) => {
        const hit = logs.find((l) => l.msg === msg);
        if (hit) return resolve(hit);
        const rl = createInterface({ input: proc!.stderr! });
        rl.on('line', (line) => {
          const rec = JSON.parse(line) as Record<string, unknown>;
          logs.push(rec);
          if (rec.msg === msg) { rl.close(); resolve(rec); }
        });
      });
      const listening = await waitFor('listening');
      const base = `http://${String(listening.address)}`;
      expect(listening.level).toBe('info');

      let m = parseMetrics(await (await fetch(`${base}/metrics`)).text());
      expect(one(m, 'pprof_exporter_scrape_success', { target: 'one', source: 'goroutine' }).value).toBe(1);
      expect(one(m, 'pprof_exporter_build_info').labels.version).toMatch(/^0\./);
      expect(await (await fetch(`${base}/-/healthy`)).text()).toBe('Healthy\n');
      const landing = await (await fetch(`${base}/`)).text();
      expect(landing).toContain('<a href="/metrics">');

      writeFileSync(cfg, `targets:\n  - name: two\n    url: ${target.url}\n`);
      proc.kill('SIGHUP');
      await waitFor('config reloaded');
      m = parseMetrics(await (await fetch(`${base}/metrics`)).text());
      expect(one(m, 'pprof_exporter_scrape_success', { target: 'two', source: 'goroutine' }).value).toBe(1);
      expect(m.filter((s) => s.labels.target === 'one')).toEqual([]);
      expect(one(m, 'pprof_exporter_config_last_reload_successful').value).toBe(1);

      // A GET is a mistake, answered like Prometheus answers it, and reloads nothing.
      const get = await fetch(`${base}/-/reload`);
      expect([get.status, get.headers.get('allow'), await get.text()]).toEqual([405, 'POST', 'GET not allowed: only POST requests\n']);

      // A broken file is refused; the running config stays.
      writeFileSync(cfg, 'targets: [');
      const res = await fetch(`${base}/-/reload`, { method: 'POST' });
      expect(res.status).toBe(500);
      expect(await res.text()).toContain('YAML');
      m = parseMetrics(await (await fetch(`${base}/metrics`)).text());
      expect(one(m, 'pprof_exporter_config_last_reload_successful').value).toBe(0);
      expect(one(m, 'pprof_exporter_scrape_success', { target: 'two', source: 'goroutine' }).value).toBe(1);

      const exited = new Promise<number | null>((resolve) => proc!.once('exit', (code) => resolve(code)));
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
      await target.close();
    });
  });
});
