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
    data = parse(text) ?? {};
  } catch (err) {
    throw new WebConfigError(`${path}: YAML: ${(err as Error).message.split('\n')[0]}`);
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

/**
 * Checks `Authorization: Basic` against bcrypt hashes. An unknown user is
 * compared against a dummy hash of the same cost, so it takes as long as a
 * wrong password and timing does not tell which user names exist.
 */
export class BasicAuth {
  private readonly users: Map<string, string>;
  private readonly dummy: string;
  // Verified (user, password, hash) triples: bcrypt per request would cost ~50-250 ms each.
  private readonly verified = new Set<string>();

  constructor(users: Record<string, string>, private readonly compare: Compare = bcrypt.compare) {
    this.users = new Map(Object.entries(users));
    const costs = [...this.users.values()].map((h) => Number(BCRYPT.exec(h)![1]));
    this.dummy = bcrypt.hashSync('pprof-exporter: not a password', Math.max(...costs));
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
    const ok = await this.compare(password, hash ?? this.dummy);
    if (!ok || hash === undefined) return undefined;
    if (this.verified.size >= 1000) this.verified.clear();
    this.verified.add(key);
    return user;
  }
}
