// --web.config.file: TLS and basic auth for the exporter's own endpoints, in
// the Prometheus exporter-toolkit format, so the same file works here and
// for node_exporter.
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { parse } from 'yaml';
import * as z from 'zod';
import bcrypt from 'bcryptjs';
import { fileErrorReason } from '../errors.js';
import { RecentSet, WorkLimiter } from '../authlimit.js';
import type { Logger } from '../log.js';

const BCRYPT = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const CLIENT_AUTH = ['NoClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
const TLS_VERSIONS = { TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;

const file = z.string().min(1, { error: 'must not be empty' });
const tlsVersion = z.enum(Object.keys(TLS_VERSIONS) as ['TLS12', 'TLS13'], { error: 'must be TLS12 or TLS13' });
const schema = z.strictObject({
  tls_server_config: z.strictObject({
    cert_file: file,
    key_file: file,
    client_auth_type: z.enum(CLIENT_AUTH, { error: `must be one of ${CLIENT_AUTH.join(', ')}` }).optional(),
    client_ca_file: file.optional(),
    min_version: tlsVersion.optional(),
    max_version: tlsVersion.optional(),
  }).nullish(),
  http_server_config: z.strictObject({
    headers: z.record(z.string(), z.string()).optional(),
  }).nullish(),
  basic_auth_users: z.record(
    z.string().min(1, { error: 'user name must not be empty' }).refine((u) => !u.includes(':'), { error: 'user name must not contain ":"' }),
    z.string().regex(BCRYPT, { error: 'not a bcrypt hash (generate one with `htpasswd -nBC 10 "" | tr -d \':\\n\'`)' }),
  ).nullish(),
});

export interface WebConfig {
  file: string;
  tls?: TlsOptions;
  /** Client certificates requested but optional: a presented one must still verify. */
  verifyClientCertIfGiven: boolean;
  headers: Record<string, string>;
  auth?: BasicAuth;
}

export class WebConfigError extends Error {
  readonly code = 'PPROF_WEB_CONFIG_INVALID';
}

async function read(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const reason = fileErrorReason(err);
    throw new WebConfigError(`${what}: cannot read ${path}: ${reason}`);
  }
}

export async function loadWebConfig(path: string): Promise<WebConfig> {
  const text = await read(path, 'web config');
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new WebConfigError(`${path}: YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  // Fail closed: a file caught half-written (or emptied by mistake) must not turn auth and TLS off.
  if (data === null || data === undefined || (typeof data === 'object' && Object.keys(data).length === 0)) {
    throw new WebConfigError(`${path}: empty: no tls_server_config, http_server_config or basic_auth_users (to run without them, drop --web.config.file)`);
  }
  const r = schema.safeParse(data);
  if (!r.success) {
    const iss = r.error.issues[0]!;
    const where = iss.path.join('.');
    const msg = iss.code === 'unrecognized_keys' ? `unknown key ${JSON.stringify(iss.keys[0])}`
      : iss.code === 'invalid_key' ? (iss.issues[0]?.message ?? iss.message) : iss.message;
    throw new WebConfigError(`${path}: ${where ? `${where}: ` : ''}${msg}`);
  }
  const c = r.data;
  const web: WebConfig = { file: path, verifyClientCertIfGiven: false, headers: c.http_server_config?.headers ?? {} };
  const t = c.tls_server_config;
  if (t) {
    const auth = t.client_auth_type ?? 'NoClientCert';
    if (auth !== 'NoClientCert' && !t.client_ca_file) {
      throw new WebConfigError(`${path}: tls_server_config.client_ca_file: required for client_auth_type ${auth}`);
    }
    const opts: SecureContextOptions & TlsOptions = {
      cert: await read(t.cert_file, 'tls_server_config.cert_file'),
      key: await read(t.key_file, 'tls_server_config.key_file'),
      minVersion: TLS_VERSIONS[t.min_version ?? 'TLS12'],
      ...(t.max_version && { maxVersion: TLS_VERSIONS[t.max_version] }),
      ...(t.client_ca_file && { ca: await read(t.client_ca_file, 'tls_server_config.client_ca_file') }),
      requestCert: auth !== 'NoClientCert',
      rejectUnauthorized: auth === 'RequireAndVerifyClientCert',
    };
    web.tls = opts;
    web.verifyClientCertIfGiven = auth === 'VerifyClientCertIfGiven';
  }
  const users = c.basic_auth_users ?? {};
  if (Object.keys(users).length > 0) web.auth = new BasicAuth(users);
  return web;
}

type Compare = (password: string, hash: string) => Promise<boolean>;

/** How much bcrypt work wrong passwords may cause (see authlimit.ts). */
export interface AuthLimits {
  /** Comparisons at once: bcryptjs runs on the event loop, so more only slows everything else. */
  concurrency: number;
  /** Comparisons waiting; beyond it a request is answered 429 without one. */
  queue: number;
  /** How long a failed (user, password) is answered from memory. */
  failureTtlMs: number;
  failureMax: number;
}

export const AUTH_LIMITS: AuthLimits = Object.freeze({ concurrency: 1, queue: 64, failureTtlMs: 60_000, failureMax: 10_000 });

/**
 * Checks `Authorization: Basic` against bcrypt hashes. An unknown user is
 * compared against a dummy hash of the same cost, so it takes as long as a
 * wrong password and timing does not tell which user names exist.
 * check() throws AuthBusy when too many comparisons are waiting.
 */
export class BasicAuth {
  private readonly users: Map<string, string>;
  private readonly dummy: string;
  // Verified (user, password, hash) triples: bcrypt per request would cost ~50-250 ms each.
  private readonly verified = new Set<string>();
  private readonly failed: RecentSet;
  private readonly limiter: WorkLimiter;

  constructor(users: Record<string, string>, private readonly compare: Compare = bcrypt.compare, limits: AuthLimits = AUTH_LIMITS) {
    this.failed = new RecentSet(limits.failureTtlMs, limits.failureMax);
    this.limiter = new WorkLimiter(limits.concurrency, limits.queue);
    this.users = new Map(Object.entries(users));
    const costs = [...this.users.values()].map((h) => Number(BCRYPT.exec(h)![1]));
    this.dummy = bcrypt.hashSync('pprof-exporter: not a password', Math.max(...costs));
  }

  /** Comparisons running and waiting now. */
  get load(): { inFlight: number; queued: number } {
    return { inFlight: this.limiter.inFlight, queued: this.limiter.queued };
  }

  async check(header: string | undefined): Promise<string | undefined> {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    if (!m) return undefined;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = this.users.get(user);
    // Keyed by a digest, so the set never holds a password.
    const key = createHash('sha256').update(JSON.stringify([user, password, hash ?? ''])).digest('hex');
    if (hash !== undefined && this.verified.has(key)) return user;
    if (this.failed.has(key)) return undefined;
    const ok = await this.limiter.run(() => this.compare(password, hash ?? this.dummy));
    if (!ok || hash === undefined) {
      this.failed.add(key);
      return undefined;
    }
    if (this.verified.size >= 1000) this.verified.clear();
    this.verified.add(key);
    return user;
  }
}

export interface WebConfigFileOptions {
  logger: Logger;
  /** The outcome of every load, for the metric. */
  onResult: (ok: boolean) => void;
}

/** The web config file and the config in force; a refused reload keeps the old one. */
export class WebConfigFile {
  private constructor(readonly path: string, private web: WebConfig, private readonly o: WebConfigFileOptions) {}

  static async open(path: string, o: WebConfigFileOptions): Promise<WebConfigFile> {
    const web = await loadWebConfig(path);
    o.onResult(true);
    return new WebConfigFile(path, web, o);
  }

  get current(): WebConfig { return this.web; }

  /** Re-reads the file; throws (and logs at error) when it is refused. `apply` installs new TLS settings. */
  async reload(apply: (tls: TlsOptions) => void = () => {}): Promise<void> {
    let next: WebConfig;
    try {
      next = await loadWebConfig(this.path);
      if (!next.tls !== !this.web.tls) throw new WebConfigError(`${this.path}: enabling or disabling tls_server_config needs a restart`);
    } catch (err) {
      this.o.onResult(false);
      this.o.logger.error({ file: this.path, err: (err as Error).message }, 'web config reload failed, keeping the running one');
      throw err;
    }
    if (next.tls) apply(next.tls);
    this.web = next;
    this.o.onResult(true);
    this.o.logger.info({ file: this.path, tls: Boolean(next.tls), basic_auth_users: next.auth ? 'set' : 'none' }, 'web config reloaded');
  }
}
