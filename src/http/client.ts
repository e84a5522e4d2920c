// One HTTP client per http_config: an undici dispatcher with its TLS settings,
// proxy and (for /probe) the allowlist guard on every connection, plus the
// credential headers. Secret and TLS files are read on each use, so rotating
// them needs no restart; a changed TLS file set builds a fresh dispatcher.
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { Agent, Dispatcher, ProxyAgent, buildConnector } from 'undici';
import type { HttpConfig } from '../config/config.js';
import type { Allowlist, Resolver } from './allowlist.js';
import { ScrapeError, fileErrorReason } from '../errors.js';
import { hostPort, tunnelConnector } from './tunnel.js';

export interface Guard { allowlist: Allowlist; resolver: Resolver; }

/** What one fetch needs: where to send it, with which headers, and whether redirects may be followed. */
export interface Prepared {
  dispatcher: Dispatcher;
  headers: Record<string, string>;
  followRedirects: boolean;
  /** Credential strings a hostile target could echo back into an error message. */
  secrets: string[];
  /**
   * For /probe through a forwarding proxy: checks one hop's host against the
   * allowlist before the proxy is asked, and gives the URL with the checked
   * address in place of the name, so the proxy resolves nothing itself.
   */
  pin?: (url: URL) => Promise<URL>;
}

/** The message with every secret replaced, for errors and logs. */
export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('<secret>');
  return out;
}

const CONNECT_TIMEOUT_MS = 10_000;

async function secret(file: string, what: string): Promise<string> {
  try {
    // Like Prometheus: surrounding whitespace (the trailing newline of `echo x > f`) is not part of it.
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    const reason = fileErrorReason(err);
    throw new ScrapeError('fetching', 'PPROF_SECRET_UNREADABLE', `reading ${what} ${file}: ${reason}`, { cause: err });
  }
}

type TlsFiles = { ca?: string; cert?: string; key?: string };

/** Connects only to addresses the allowlist allows, checked after resolving, and connects to the checked address. */
function guardedConnector(guard: () => Guard, tls: buildConnector.BuildOptions): buildConnector.connector {
  const base = buildConnector({ ...tls, timeout: CONNECT_TIMEOUT_MS });
  return (opts, callback) => {
    const { allowlist, resolver } = guard();
    allowlist.resolve(opts.hostname, resolver).then(
      // The Host header and TLS server name still come from opts.host.
      (ips) => base({ ...opts, hostname: ips[0]! }, callback),
      (err: Error) => callback(err, null),
    );
  };
}

export class HttpClient {
  private dispatcher: Dispatcher | undefined;
  private tlsKey: string | undefined;

  constructor(private readonly http: HttpConfig, private readonly guard?: () => Guard) {}

  async prepare(): Promise<Prepared> {
    const { http } = this;
    const files: TlsFiles = {};
    if (http.tls?.caFile) files.ca = await secret(http.tls.caFile, 'tls_config.ca_file');
    if (http.tls?.certFile) files.cert = await secret(http.tls.certFile, 'tls_config.cert_file');
    if (http.tls?.keyFile) files.key = await secret(http.tls.keyFile, 'tls_config.key_file');
    const key = createHash('sha256').update(JSON.stringify(files)).digest('hex');
    if (!this.dispatcher || key !== this.tlsKey) {
      const old = this.dispatcher;
      this.dispatcher = this.build(files);
      this.tlsKey = key;
      void old?.close().catch(() => {});
    }
    const headers: Record<string, string> = {};
    const secrets: string[] = [];
    if (http.basicAuth) {
      const password = http.basicAuth.passwordFile ? await secret(http.basicAuth.passwordFile, 'basic_auth.password_file') : '';
      const token = Buffer.from(`${http.basicAuth.username}:${password}`).toString('base64');
      headers.authorization = `Basic ${token}`;
      secrets.push(token, password);
    } else if (http.authorization) {
      const credentials = await secret(http.authorization.credentialsFile, 'authorization.credentials_file');
      headers.authorization = `${http.authorization.type} ${credentials}`;
      secrets.push(credentials);
    }
    const pin = this.guard && http.proxyUrl ? (url: URL) => this.pin(url) : undefined;
    return { dispatcher: this.dispatcher, headers, followRedirects: http.followRedirects, secrets, ...(pin && { pin }) };
  }

  private async pin(url: URL): Promise<URL> {
    // HTTPS goes through a tunnel whose connector checks and pins the address itself (tunnel.ts).
    if (url.protocol !== 'http:') return url;
    const { allowlist, resolver } = this.guard!();
    const [ip] = await allowlist.resolve(url.hostname, resolver);
    const pinned = new URL(url.href);
    pinned.host = hostPort(ip!, Number(url.port) || 80);
    return pinned;
  }

  private build(files: TlsFiles): Dispatcher {
    const t = this.http.tls;
    const tls: buildConnector.BuildOptions = {
      ...(files.ca !== undefined && { ca: files.ca }),
      ...(files.cert !== undefined && { cert: files.cert }),
      ...(files.key !== undefined && { key: files.key }),
      ...(t?.serverName !== undefined && { servername: t.serverName }),
      rejectUnauthorized: !(t?.insecureSkipVerify ?? false),
    };
    const pool = { keepAliveTimeout: 30_000, connections: 8 };
    if (this.http.proxyUrl && this.guard) {
      // /probe: HTTP is forwarded (like Prometheus; CONNECT is often allowed to 443 only) to the
      // address pin() checked; HTTPS is tunnelled to an address the connector checked.
      const guard = this.guard;
      const tunnel = tunnelConnector({
        proxy: new URL(this.http.proxyUrl), tls, timeoutMs: CONNECT_TIMEOUT_MS,
        resolve: (host) => guard().allowlist.resolve(host, guard().resolver),
      });
      return new ByScheme(new ProxyAgent({ uri: this.http.proxyUrl, proxyTunnel: false, ...pool }), new Agent({ connect: tunnel, ...pool }));
    }
    if (this.http.proxyUrl) {
      // Static targets are the operator's own: the proxy resolves and connects.
      return new ProxyAgent({ uri: this.http.proxyUrl, requestTls: tls, ...pool });
    }
    const connect = this.guard ? guardedConnector(this.guard, tls) : { ...tls, timeout: CONNECT_TIMEOUT_MS };
    return new Agent({ connect, ...pool });
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }
}

/** Sends http: requests to one dispatcher and https: to another. */
class ByScheme extends Dispatcher {
  constructor(private readonly http: Dispatcher, private readonly https: Dispatcher) {
    super();
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = String(opts.origin ?? '');
    return (origin.startsWith('https:') ? this.https : this.http).dispatch(opts, handler);
  }

  override async close(): Promise<void> {
    await Promise.all([this.http.close(), this.https.close()]);
  }

  override async destroy(): Promise<void> {
    await Promise.all([this.http.destroy(), this.https.destroy()]);
  }
}

/** Clients shared by every target and module with the same http_config (and guard). */
export class ClientCache {
  private readonly clients = new Map<string, HttpClient>();

  constructor(private readonly guard: () => Guard) {}

  get(http: HttpConfig, guarded: boolean): HttpClient {
    const key = JSON.stringify([http, guarded]);
    let c = this.clients.get(key);
    if (!c) {
      c = new HttpClient(http, guarded ? this.guard : undefined);
      this.clients.set(key, c);
    }
    return c;
  }

  /** After a reload: drop clients no config uses any more. The guard is read per connection, so a new allowlist applies at once. */
  retain(keep: { http: HttpConfig; guarded: boolean }[]): void {
    const keys = new Set(keep.map(({ http, guarded }) => JSON.stringify([http, guarded])));
    for (const [k, c] of this.clients) {
      if (!keys.has(k)) {
        this.clients.delete(k);
        void c.close().catch(() => {});
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }
}
