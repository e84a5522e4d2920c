// --web.config.file: TLS and basic auth on the exporter's own endpoints, in
// exporter-toolkit's format, checked against the real CLI over real sockets.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent, request } from 'undici';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BasicAuth, loadWebConfig } from '../src/config/webconfig.js';
import { startFixtureTarget, type TestServer } from './helpers/http.js';
import { fixture, newestGo } from './helpers/fixtures.js';
import { one, parseMetrics } from './helpers/prom.js';

const CLI = join(import.meta.dirname, '../dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'pprof-exporter-web-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;
// Cost 4 keeps the tests quick; the cost is read from the hash.
const hash = (pw: string) => bcrypt.hashSync(pw, 4);

beforeAll(() => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=pprof-exporter-test', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
});

describe('loadWebConfig', () => {
  it.each([
    ['unknown key', 'basic_auth_user:\n  a: x\n', 'unknown key "basic_auth_user"'],
    ['bad hash', 'basic_auth_users:\n  alice: plaintext\n', 'basic_auth_users.alice: not a bcrypt hash'],
    ['colon in user', `basic_auth_users:\n  "a:b": "${hash('x')}"\n`, 'user name must not contain ":"'],
    ['missing cert', 'tls_server_config:\n  cert_file: /nope/cert.pem\n  key_file: /nope/key.pem\n', 'tls_server_config.cert_file: cannot read /nope/cert.pem: no such file or directory'],
    ['missing key_file', 'tls_server_config:\n  cert_file: /c\n', 'tls_server_config.key_file:'],
    ['client CA required', `tls_server_config:\n  cert_file: ${join(dir, 'cert.pem')}\n  key_file: ${join(dir, 'key.pem')}\n  client_auth_type: RequireAndVerifyClientCert\n`,
      'tls_server_config.client_ca_file: required for client_auth_type RequireAndVerifyClientCert'],
    ['bad client_auth_type', 'tls_server_config:\n  cert_file: /c\n  key_file: /k\n  client_auth_type: Sometimes\n', 'must be one of NoClientCert'],
    ['not YAML', 'basic_auth_users: [', 'YAML:'],
  ])('%s: one clear message naming the file', async (_name, text, msg) => {
    const p = file('bad.yml', text);
    await expect(loadWebConfig(p)).rejects.toThrow(msg);
    if (!msg.includes('cannot read')) await expect(loadWebConfig(p)).rejects.toThrow(`${p}: `);
  });
});

describe('BasicAuth', () => {
  const users = { alice: hash('wonderland'), empty: hash('') };
  const counting = () => {
    const calls: string[] = [];
    const auth = new BasicAuth(users, async (pw, h) => {
      calls.push(h);
      return bcrypt.compare(pw, h);
    });
    return { auth, calls };
  };

  it('accepts the right password, once per bcrypt comparison (then cached)', async () => {
    const { auth, calls } = counting();
    expect(await auth.check(basic('alice', 'wonderland'))).toBe('alice');
    expect(await auth.check(basic('alice', 'wonderland'))).toBe('alice');
    expect(calls).toEqual([users.alice]);
  });

  it('a wrong password and an unknown user each cost one comparison at the same cost', async () => {
    const { auth, calls } = counting();
    expect(await auth.check(basic('alice', 'nope'))).toBeUndefined();
    expect(await auth.check(basic('mallory', 'wonderland'))).toBeUndefined();
    expect(calls).toHaveLength(2);
    expect(calls[0]).toBe(users.alice);
    // The unknown user is compared against a dummy hash of the users' cost, never skipped.
    expect(calls[1]).not.toBe(users.alice);
    expect(bcrypt.getRounds(calls[1]!)).toBe(bcrypt.getRounds(users.alice));
    // A wrong password is never cached as right.
    expect(await auth.check(basic('alice', 'nope'))).toBeUndefined();
    expect(calls).toHaveLength(2); // and the same wrong password again is answered from memory
  });

  it('an empty password works only when it is the one hashed', async () => {
    const { auth } = counting();
    expect(await auth.check(basic('empty', ''))).toBe('empty');
    expect(await auth.check(basic('alice', ''))).toBeUndefined();
  });

  it.each([undefined, '', 'Bearer x', 'Basic', 'Basic !!!', `Basic ${Buffer.from('no-colon').toString('base64')}`])(
    'rejects header %j without comparing', async (header) => {
      const { auth, calls } = counting();
      expect(await auth.check(header)).toBeUndefined();
      expect(calls).toEqual([]);
    });
});

describe('the CLI with --web.config.file', () => {
  let proc: ChildProcess | undefined;
  let target: TestServer;
  const logs: Record<string, unknown>[] = [];
  afterAll(async () => {
    proc?.kill('SIGKILL');
    await target?.close();
  });

  function waitFor(msg: string, after = 0): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const check = () => {
        const hit = logs.slice(after).find((l) => l.msg === msg);
        if (hit) resolve(hit);
        else setTimeout(check, 20);
      };
      check();
    });
  }

  it('serves HTTPS with basic auth on every endpoint and picks up a new web config on SIGHUP', async () => {
    target = await startFixtureTarget((f) => fixture(newestGo(), f));
    const cfg = file('cfg.yml', `targets:\n  - name: one\n    url: ${target.url}\n    sources: [goroutine]\n`);
    const tls = `tls_server_config:\n  cert_file: ${join(dir, 'cert.pem')}\n  key_file: ${join(dir, 'key.pem')}\n`;
    const web = file('web.yml', `${tls}basic_auth_users:\n  alice: "${hash('wonderland')}"\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n`);
    proc = spawn(process.execPath, [CLI, `--config.file=${cfg}`, `--web.config.file=${web}`, '--web.listen-address=127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    createInterface({ input: proc.stderr! }).on('line', (l) => logs.push(JSON.parse(l) as Record<string, unknown>));
    const listening = await waitFor('listening');
    expect(listening).toMatchObject({ tls: true, basic_auth: true });
    const base = `https://${String(listening.address)}`;
    const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'cert.pem')) } });
    const get = async (path: string, auth?: string) => {
      const r = await request(`${base}${path}`, { dispatcher, headers: auth ? { authorization: auth } : {} });
      return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
    };

    for (const path of ['/metrics', '/', '/-/healthy', '/probe?target=127.0.0.1:1']) {
      const r = await get(path);
      expect(r.status, path).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Basic realm="pprof-exporter"');
    }
    expect((await get('/metrics', basic('alice', 'wrong'))).status).toBe(401);
    const ok = await get('/metrics', basic('alice', 'wonderland'));
    expect(ok.status).toBe(200);
    expect(ok.headers['x-frame-options']).toBe('deny');
    expect(one(parseMetrics(ok.text), 'pprof_exporter_scrape_success', { target: 'one' }).value).toBe(1);
    // Plain HTTP on the TLS port gets nothing useful.
    await expect(fetch(`http://${String(listening.address)}/metrics`)).rejects.toThrow();

    // Rotate the user: the old one stops working without a restart.
    writeFileSync(web, `${tls}basic_auth_users:\n  bob: "${hash('builder')}"\n`);
    const n = logs.length;
    proc.kill('SIGHUP');
    await waitFor('web config reloaded', n);
    expect((await get('/-/healthy', basic('alice', 'wonderland'))).status).toBe(401);
    expect((await get('/-/healthy', basic('bob', 'builder'))).status).toBe(200);

    // A broken web config is refused and the running one stays.
    writeFileSync(web, 'basic_auth_users:\n  bob: not-a-hash\n');
    const bad = await get('/-/reload', basic('bob', 'builder'));
    expect([bad.status, bad.headers.allow]).toEqual([405, 'POST']); // GET is not a reload
    const r = await request(`${base}/-/reload`, { method: 'POST', dispatcher, headers: { authorization: basic('bob', 'builder') } });
    expect(r.statusCode).toBe(500);
    expect(await r.body.text()).toContain('basic_auth_users.bob: not a bcrypt hash');
    expect((await get('/-/healthy', basic('bob', 'builder'))).status).toBe(200);
    await dispatcher.close();
  });

  it('exits 1 with the cause when the web config is invalid at start', () => {
    const cfg = file('cfg2.yml', 'targets: []\n');
    const web = file('web2.yml', 'basic_auth_users:\n  a: plain\n');
    const r = execFileSyncSafe([CLI, `--config.file=${cfg}`, `--web.config.file=${web}`, '--web.listen-address=127.0.0.1:0']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${web}: basic_auth_users.a: not a bcrypt hash`);
  });
});

function execFileSyncSafe(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr };
}
