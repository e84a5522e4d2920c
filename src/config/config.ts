import { readFile } from 'node:fs/promises';
import { type Document, isMap, isNode, isScalar, LineCounter, parseDocument, visit, type YAMLError } from 'yaml';
import * as z from 'zod';
import { formatByteSize, parseByteSize } from './bytesize.js';
import { formatDuration, parseDuration } from './duration.js';
import { DEFAULT_ALLOWED_TARGETS, parseAllowEntry } from '../http/allowlist.js';
import { fileErrorReason } from '../errors.js';

/** What can be scraped from a target. */
export const SOURCES = ['goroutine', 'heap', 'expvar', 'goroutine_debug2', 'goroutineleak'] as const;
export type Source = (typeof SOURCES)[number];

/** What every level (global, module, target) can set; lower levels inherit the rest. */
export interface Limits {
  topSignatures: number;
  maxProfileBytes: number;
  maxDecompressedBytes: number;
  sources: Source[];
  topHeapFunctions: number;
  maxExpvarMetrics: number;
  debug2IntervalSeconds: number;
  debug2MaxGoroutines: number;
  goroutineleakIntervalSeconds: number;
  goroutineleakMaxGoroutines: number;
  goroutineleakMaxSyncWaiters: number;
  costlyFetchBackoffAfterSeconds: number;
}

/** Prometheus' http_config, the parts a pprof endpoint needs. Secrets stay in files, read per request. */
export interface HttpConfig {
  basicAuth?: { username: string; passwordFile?: string };
  authorization?: { type: string; credentialsFile: string };
  tls?: { caFile?: string; certFile?: string; keyFile?: string; serverName?: string; insecureSkipVerify: boolean };
  proxyUrl?: string;
  followRedirects: boolean;
}

export interface TargetConfig extends Limits {
  name: string;
  url: string; // normalized: no trailing slash
  timeoutSeconds?: number; // only if set
  http: HttpConfig;
  /** A /probe target: connections go through the allowlist guard. */
  probe?: true;
}

export interface GlobalConfig extends Limits {
  scrapeTimeoutSeconds: number;
  timeoutOffsetSeconds: number;
}

/** A /probe module: which sources, limits and http_config a probed target gets. */
export interface ModuleConfig extends Limits {
  name: string;
  timeoutSeconds?: number;
  pathPrefix: string; // "" or "/x/y", no trailing slash
  http: HttpConfig;
}

export interface Config {
  global: GlobalConfig;
  targets: TargetConfig[];
  modules: Record<string, ModuleConfig>;
  /** allowed_targets as written; the default (loopback and private ranges) when unset. */
  allowedTargets: string[];
  maxConcurrentProbes: number;
}

export const DEFAULT_MODULE = 'default';

export const DEFAULT_MAX_CONCURRENT_PROBES = 16;

export const DEFAULT_GLOBAL: Readonly<GlobalConfig> = Object.freeze({
  scrapeTimeoutSeconds: 10,
  timeoutOffsetSeconds: 0.5,
  topSignatures: 100,
  maxProfileBytes: 64 * 2 ** 20,
  maxDecompressedBytes: 256 * 2 ** 20,
  sources: [...SOURCES],
  topHeapFunctions: 100,
  maxExpvarMetrics: 100,
  // Both costly sources stop the target's world; the limits keep the longest
  // stop under ~50 ms as measured by npm run bench:stall (README table).
  debug2IntervalSeconds: 300,
  debug2MaxGoroutines: 1000,
  goroutineleakIntervalSeconds: 300,
  goroutineleakMaxGoroutines: 10000,
  goroutineleakMaxSyncWaiters: 1000,
  costlyFetchBackoffAfterSeconds: 1,
});

export class ConfigError extends Error {
  readonly code = 'PPROF_CONFIG_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

// ---- schema: zod checks the shape, leaf checks throw plain Errors ----

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

const expected = (what: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? 'missing required key' : `expected ${what}, got ${describe(iss.input)}`;

/** `base` checks the type; `check` validates and converts, its Error message becomes the problem. */
function leaf<I, O>(base: z.ZodType<I>, check: (v: I) => O) {
  return base.transform((v, ctx) => {
    try {
      return check(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });
}

function strict<S extends z.ZodRawShape>(shape: S) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown key (allowed: ${allowed})` : expected('a mapping')(iss)),
  });
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const name = leaf(z.string({ error: expected('a string') }), (v) => {
  if (!NAME_RE.test(v)) {
    throw new Error(
      `invalid target name ${JSON.stringify(v)}: use 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit`,
    );
  }
  return v;
});

function normalizeUrl(raw: string): string {
  // Never echo a password back into an error message (and thus into logs).
  const shown = JSON.stringify(raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@'));
  const bad = (why: string) => new Error(`invalid URL ${shown}: ${why}`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad('not an absolute URL like "http://127.0.0.1:6060"');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw bad(`scheme must be http or https, got ${JSON.stringify(u.protocol.slice(0, -1))}`);
  }
  if (!u.hostname) throw bad('missing host');
  if (u.username || u.password) throw bad('must not contain credentials (they would leak into logs)');
  // Checked on href because "http://h/?" and "http://h/#" have empty search/hash.
  if (u.href.includes('#')) throw bad('must not contain a fragment');
  if (u.href.includes('?')) throw bad('must not contain a query string');
  return u.href.replace(/\/+$/, '');
}

const url = leaf(z.string({ error: expected('a string') }), normalizeUrl);

const duration = (mustBePositive: boolean) =>
  leaf(z.union([z.string(), z.number()], { error: expected('a duration like "10s"') }), (v) => {
    const seconds = parseDuration(String(v));
    if (mustBePositive && seconds <= 0) throw new Error(`must be greater than 0, got ${JSON.stringify(String(v))}`);
    return seconds;
  });

const byteSize = leaf(z.union([z.string(), z.number()], { error: expected('a byte size like "64MiB"') }), (v) => {
  const bytes = parseByteSize(v);
  if (bytes <= 0) throw new Error(`must be greater than 0, got ${JSON.stringify(v)}`);
  return bytes;
});

const inRange = (iss: { input?: unknown }) => `must be between 1 and 10000, got ${String(iss.input)}`;
const topSignatures = z.int({ error: expected('an integer') }).min(1, { error: inRange }).max(10000, { error: inRange });

const count = (min: number, max: number) => {
  const range = (iss: { input?: unknown }) => `must be between ${min} and ${max}, got ${String(iss.input)}`;
  return z.int({ error: expected('an integer') }).min(min, { error: range }).max(max, { error: range });
};

const sources = z
  .array(z.enum(SOURCES, { error: (iss) => `unknown source ${JSON.stringify(iss.input)} (known: ${SOURCES.join(', ')})` }), {
    error: expected('a list'),
  })
  .min(1, { error: `must name at least one of ${SOURCES.join(', ')}` })
  .transform((list) => SOURCES.filter((src) => list.includes(src)));

const limits = {
  sources: sources.optional(),
  top_signatures: topSignatures.optional(),
  top_heap_functions: count(1, 10000).optional(),
  max_expvar_metrics: count(0, 10000).optional(),
  debug2_interval: duration(true).optional(),
  debug2_max_goroutines: count(1, 10_000_000).optional(),
  goroutineleak_interval: duration(true).optional(),
  goroutineleak_max_goroutines: count(1, 10_000_000).optional(),
  goroutineleak_max_sync_waiters: count(0, 10_000_000).optional(),
  costly_fetch_backoff_after: duration(true).optional(),
  max_profile_bytes: byteSize.optional(),
  max_decompressed_bytes: byteSize.optional(),
};

const nonEmpty = (what: string) => leaf(z.string({ error: expected(what) }), (v) => {
  if (v === '') throw new Error(`must not be empty`);
  return v;
});

const proxyUrl = leaf(z.string({ error: expected('a string') }), (v) => {
  const u = normalizeUrl(v);
  if (new URL(u).pathname !== '/') throw new Error(`invalid proxy_url ${JSON.stringify(v)}: must not have a path`);
  return u;
});

const httpConfig = strict({
  basic_auth: strict({ username: nonEmpty('a string'), password_file: nonEmpty('a file path').optional() }).optional(),
  authorization: strict({ type: nonEmpty('a string').optional(), credentials_file: nonEmpty('a file path') }).optional(),
  tls_config: strict({
    ca_file: nonEmpty('a file path').optional(),
    cert_file: nonEmpty('a file path').optional(),
    key_file: nonEmpty('a file path').optional(),
    server_name: nonEmpty('a string').optional(),
    insecure_skip_verify: z.boolean({ error: expected('true or false') }).optional(),
  }).optional(),
  proxy_url: proxyUrl.optional(),
  follow_redirects: z.boolean({ error: expected('true or false') }).optional(),
});

const pathPrefix = leaf(z.string({ error: expected('a string') }), (v) => {
  if (v === '' || v === '/') return '';
  if (!v.startsWith('/')) throw new Error(`must start with "/", got ${JSON.stringify(v)}`);
  if (/[?#%\\\s]/.test(v) || v.split('/').some((seg) => seg === '..' || seg === '.')) {
    throw new Error(`must be a plain path without query, fragment, escapes or dot segments, got ${JSON.stringify(v)}`);
  }
  return v.replace(/\/+$/, '');
});

const moduleName = z.string().regex(NAME_RE);

const allowedEntry = leaf(z.string({ error: expected('a CIDR or host pattern') }), (v) => {
  parseAllowEntry(v);
  return v;
});

const schema = strict({
  // null (`global:` with everything below commented out) means "use defaults".
  global: strict({
    scrape_timeout: duration(true).optional(),
    timeout_offset: duration(false).optional(),
    ...limits,
  }).nullish(),
  targets: z.array(strict({ name, url, timeout: duration(true).optional(), http_config: httpConfig.optional(), ...limits }), { error: expected('a list') }).nullish(),
  modules: z.record(moduleName, strict({
    timeout: duration(true).optional(),
    path_prefix: pathPrefix.optional(),
    http_config: httpConfig.optional(),
    ...limits,
  }).nullish(), {
    error: (iss) => (iss.code === 'invalid_key'
      ? `invalid module name ${JSON.stringify(iss.input)}: use 1-64 characters of [A-Za-z0-9_.-]`
      : expected('a mapping of module names')(iss)),
  }).nullish(),
  allowed_targets: z.array(allowedEntry, { error: expected('a list') }).min(1, { error: 'must list at least one CIDR or host pattern (leave it out for the default)' }).nullish(),
  max_concurrent_probes: count(1, 10000).optional(),
});

type RawConfig = z.output<typeof schema>;
type SizeLimits = { max_profile_bytes?: number | undefined; max_decompressed_bytes?: number | undefined };

// ---- locating problems in the file ----

type Path = (string | number)[];
interface Problem {
  path: Path;
  message: string;
  offset: number;
}

function locator(doc: Document, lc: LineCounter) {
  const offsetOf = (n: unknown) => (isNode(n) && n.range ? n.range[0] : undefined);
  // A missing key has no node: point at the nearest enclosing one instead.
  const value = (path: Path): number => {
    for (let i = path.length; i >= 0; i--) {
      const off = offsetOf(doc.getIn(path.slice(0, i), true));
      if (off !== undefined) return off;
    }
    return 0;
  };
  const key = (path: Path): number => {
    const parent = doc.getIn(path.slice(0, -1), true);
    const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(path.at(-1))) : undefined;
    return offsetOf(pair?.key) ?? value(path.slice(0, -1));
  };
  return { value, key, line: (path: Path) => lc.linePos(value(path)).line };
}

type Locator = ReturnType<typeof locator>;

const formatPath = (path: Path) =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

// ---- resolution and cross-field checks ----

type RawLimits = { [K in keyof typeof limits]?: z.output<(typeof limits)[K]> };
type RawHttp = z.output<typeof httpConfig>;

function limitsOf(raw: RawLimits, base: Limits): Limits {
  return {
    topSignatures: raw.top_signatures ?? base.topSignatures,
    maxProfileBytes: raw.max_profile_bytes ?? base.maxProfileBytes,
    maxDecompressedBytes: raw.max_decompressed_bytes ?? base.maxDecompressedBytes,
    sources: raw.sources ?? [...base.sources],
    topHeapFunctions: raw.top_heap_functions ?? base.topHeapFunctions,
    maxExpvarMetrics: raw.max_expvar_metrics ?? base.maxExpvarMetrics,
    debug2IntervalSeconds: raw.debug2_interval ?? base.debug2IntervalSeconds,
    debug2MaxGoroutines: raw.debug2_max_goroutines ?? base.debug2MaxGoroutines,
    goroutineleakIntervalSeconds: raw.goroutineleak_interval ?? base.goroutineleakIntervalSeconds,
    goroutineleakMaxGoroutines: raw.goroutineleak_max_goroutines ?? base.goroutineleakMaxGoroutines,
    goroutineleakMaxSyncWaiters: raw.goroutineleak_max_sync_waiters ?? base.goroutineleakMaxSyncWaiters,
    costlyFetchBackoffAfterSeconds: raw.costly_fetch_backoff_after ?? base.costlyFetchBackoffAfterSeconds,
  };
}

function httpOf(raw: RawHttp | undefined): HttpConfig {
  const h: HttpConfig = { followRedirects: raw?.follow_redirects ?? false };
  if (raw?.basic_auth) {
    h.basicAuth = { username: raw.basic_auth.username, ...(raw.basic_auth.password_file !== undefined && { passwordFile: raw.basic_auth.password_file }) };
  }
  if (raw?.authorization) h.authorization = { type: raw.authorization.type ?? 'Bearer', credentialsFile: raw.authorization.credentials_file };
  const t = raw?.tls_config;
  if (t) {
    h.tls = {
      insecureSkipVerify: t.insecure_skip_verify ?? false,
      ...(t.ca_file !== undefined && { caFile: t.ca_file }),
      ...(t.cert_file !== undefined && { certFile: t.cert_file }),
      ...(t.key_file !== undefined && { keyFile: t.key_file }),
      ...(t.server_name !== undefined && { serverName: t.server_name }),
    };
  }
  if (raw?.proxy_url !== undefined) h.proxyUrl = raw.proxy_url;
  return h;
}

function resolve(raw: RawConfig): Config {
  const g = raw.global ?? {};
  const global: GlobalConfig = {
    scrapeTimeoutSeconds: g.scrape_timeout ?? DEFAULT_GLOBAL.scrapeTimeoutSeconds,
    timeoutOffsetSeconds: g.timeout_offset ?? DEFAULT_GLOBAL.timeoutOffsetSeconds,
    ...limitsOf(g, DEFAULT_GLOBAL),
  };
  const targets = (raw.targets ?? []).map((t): TargetConfig => ({
    name: t.name,
    url: t.url,
    ...(t.timeout !== undefined && { timeoutSeconds: t.timeout }),
    ...limitsOf(t, global),
    http: httpOf(t.http_config),
  }));
  const modules: Record<string, ModuleConfig> = {};
  type RawModule = NonNullable<RawConfig['modules']>[string];
  const rawModules: Record<string, RawModule> = { [DEFAULT_MODULE]: null, ...raw.modules };
  for (const [name, m] of Object.entries(rawModules)) {
    modules[name] = {
      name,
      ...(m?.timeout !== undefined && { timeoutSeconds: m.timeout }),
      pathPrefix: m?.path_prefix ?? '',
      ...limitsOf(m ?? {}, global),
      http: httpOf(m?.http_config),
    };
  }
  return {
    global,
    targets,
    modules,
    allowedTargets: raw.allowed_targets ?? [...DEFAULT_ALLOWED_TARGETS],
    maxConcurrentProbes: raw.max_concurrent_probes ?? DEFAULT_MAX_CONCURRENT_PROBES,
  };
}

// Blame whichever of the two limits is set at this level; if neither is, the pair was inherited.
function checkSizes(path: Path, set: SizeLimits, resolved: Limits): Omit<Problem, 'offset'> | undefined {
  const { maxProfileBytes: wire, maxDecompressedBytes: inflated } = resolved;
  if (inflated >= wire) return undefined;
  if (set.max_decompressed_bytes !== undefined) {
    return {
      path: [...path, 'max_decompressed_bytes'],
      message: `must be at least max_profile_bytes (${formatByteSize(wire)}), got ${formatByteSize(inflated)}`,
    };
  }
  if (set.max_profile_bytes !== undefined) {
    return {
      path: [...path, 'max_profile_bytes'],
      message: `must be at most max_decompressed_bytes (${formatByteSize(inflated)}), got ${formatByteSize(wire)}`,
    };
  }
  return undefined;
}

function checkHttp(path: Path, h: RawHttp | undefined): Omit<Problem, 'offset'>[] {
  const found: Omit<Problem, 'offset'>[] = [];
  if (h?.basic_auth && h.authorization) {
    found.push({ path: [...path, 'authorization'], message: 'at most one of basic_auth and authorization may be set' });
  }
  const t = h?.tls_config;
  if (t && (t.cert_file === undefined) !== (t.key_file === undefined)) {
    const missing = t.cert_file === undefined ? 'cert_file' : 'key_file';
    found.push({ path: [...path, 'tls_config'], message: `${missing} is required when ${missing === 'cert_file' ? 'key_file' : 'cert_file'} is set` });
  }
  return found;
}

function crossChecks(raw: RawConfig, cfg: Config, loc: Locator): Problem[] {
  const found: Omit<Problem, 'offset'>[] = [];
  const g = cfg.global;
  if (g.timeoutOffsetSeconds >= g.scrapeTimeoutSeconds) {
    found.push(
      raw.global?.timeout_offset !== undefined
        ? {
            path: ['global', 'timeout_offset'],
            message: `must be less than scrape_timeout (${formatDuration(g.scrapeTimeoutSeconds)}), got ${formatDuration(g.timeoutOffsetSeconds)}`,
          }
        : {
            path: ['global', 'scrape_timeout'],
            message: `must be greater than timeout_offset (${formatDuration(g.timeoutOffsetSeconds)}), got ${formatDuration(g.scrapeTimeoutSeconds)}`,
          },
    );
  }
  const globalSizes = checkSizes(['global'], raw.global ?? {}, g);
  if (globalSizes) found.push(globalSizes);

  const firstLine = new Map<string, number>();
  cfg.targets.forEach((t, i) => {
    const namePath = ['targets', i, 'name'];
    const first = firstLine.get(t.name);
    if (first !== undefined) {
      found.push({ path: namePath, message: `duplicate target name ${JSON.stringify(t.name)} (first defined at line ${first})` });
    } else {
      firstLine.set(t.name, loc.line(namePath));
    }
    const sizes = checkSizes(['targets', i], raw.targets?.[i] ?? {}, t);
    if (sizes) found.push(sizes);
    found.push(...checkHttp(['targets', i, 'http_config'], raw.targets?.[i]?.http_config));
  });
  for (const [name, m] of Object.entries(raw.modules ?? {})) {
    const sizes = checkSizes(['modules', name], m ?? {}, cfg.modules[name]!);
    if (sizes) found.push(sizes);
    found.push(...checkHttp(['modules', name, 'http_config'], m?.http_config));
  }
  return found.map((p) => ({ ...p, offset: loc.value(p.path) }));
}

// ---- entry points ----

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

// Errors yaml raises for a line indented deeper or shallower than its neighbours.
const INDENT_ERRORS = new Set(['BAD_INDENT', 'BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY']);

/**
 * yaml places an error at the start of the node it could not read, which for a
 * mis-indented line is often the line above it (a value that swallowed the
 * next line as a multi-line key): name the line where the span ends too.
 */
function yamlSpan(err: YAMLError, all: YAMLError[], lc: LineCounter): string {
  // yaml can report one problem twice from the same place, the second with the longer span.
  const same = all.filter((e) => e.pos[0] === err.pos[0]);
  const end = Math.max(...same.map((e) => e.pos[1]));
  const [from, to] = [lc.linePos(err.pos[0]).line, lc.linePos(Math.max(err.pos[0], end - 1)).line];
  if (to === from) return '';
  return same.some((e) => INDENT_ERRORS.has(e.code)) ? ` (lines ${from}-${to}: check the indentation of line ${to})` : ` (lines ${from}-${to})`;
}

/** Parses and validates config text; throws ConfigError with a one-line `file:line:col: path: problem`. */
export function parseConfig(text: string, fileName: string): Config {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lc.linePos(offset);
    return `${fileName}:${line}:${col}`;
  };
  const fail = (offset: number, message: string): never => {
    throw new ConfigError(`${at(offset)}: ${message}`);
  };

  const yamlError = [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0])[0];
  if (yamlError) fail(yamlError.pos[0], `YAML: ${yamlError.message.split('\n')[0]}${yamlSpan(yamlError, doc.errors, lc)}`);

  let data: unknown;
  try {
    data = doc.toJS();
  } catch (e) {
    // Only aliases fail here (undefined anchor, alias bomb) and yaml gives no position: blame the first one.
    let offset = 0;
    visit(doc, {
      Alias(_, node) {
        offset = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    fail(offset, `YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (data === null || data === undefined) fail(0, 'config is empty: expected a mapping with a "targets" list');
  if (!isMap(doc.contents)) fail(0, `config must be a mapping with a "targets" list, got ${describe(data)}`);

  const loc = locator(doc, lc);
  // Several problems: report the one that comes first in the file (ties keep schema order).
  const reject = (problems: Problem[]) => {
    const p = problems.reduce((a, b) => (b.offset < a.offset ? b : a));
    return new ConfigError(`${at(p.offset)}: ${formatPath(p.path)}: ${p.message}`);
  };

  const result = schema.safeParse(data);
  if (!result.success) {
    throw reject(
      result.error.issues.flatMap((iss): Problem[] => {
        const path = iss.path as Path;
        if (iss.code === 'invalid_key') return [{ path, message: iss.message, offset: loc.key(path) }];
        if (iss.code === 'unrecognized_keys') {
          return iss.keys.map((k) => ({ path: [...path, k], message: iss.message, offset: loc.key([...path, k]) }));
        }
        return [{ path, message: iss.message, offset: loc.value(path) }];
      }),
    );
  }
  const cfg = resolve(result.data);
  // Cross-field checks need every field valid, so they only run once the rest passes.
  const problems = crossChecks(result.data, cfg, loc);
  if (problems.length > 0) throw reject(problems);
  return deepFreeze(cfg);
}

/** Reads and parses a config file; any failure is a ConfigError. */
export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const reason = fileErrorReason(e);
    throw new ConfigError(`${path}: cannot read config file: ${reason}`, { cause: e });
  }
  return parseConfig(text, path);
}

/**
 * A file holding one Prometheus http_config (basic_auth, authorization,
 * tls_config, proxy_url, follow_redirects), as promtool's --http.config.file
 * takes: how the exporter talks to --prometheus.url.
 */
export function parseHttpConfig(text: string, fileName: string): HttpConfig {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const fail = (message: string): never => {
    throw new ConfigError(`${fileName}: ${message}`);
  };
  if (doc.errors[0]) fail(`YAML: ${doc.errors[0].message.split('\n')[0]}`);
  const data = doc.toJS() as unknown;
  const r = httpConfig.safeParse(data ?? {});
  if (!r.success) {
    const iss = r.error.issues[0]!;
    const path = iss.code === 'unrecognized_keys' ? [...iss.path, iss.keys[0]!] : iss.path;
    fail(`${path.length > 0 ? `${formatPath(path as Path)}: ` : ''}${iss.message}`);
  }
  const problem = checkHttp([], r.data)[0];
  if (problem) fail(`${formatPath(problem.path)}: ${problem.message}`);
  return httpOf(r.data);
}

export async function loadHttpConfig(path: string): Promise<HttpConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read http config file: ${fileErrorReason(e)}`, { cause: e });
  }
  return parseHttpConfig(text, path);
}
