#!/usr/bin/env node
// Command line: Prometheus exporter flag conventions, then start the server.
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
import { loadConfig, loadHttpConfig, type HttpConfig } from './config/config.js';
import { parseDuration } from './config/duration.js';
import { Prometheus } from './ui/promql.js';
import { PromSource } from './ui/promsource.js';
import { Exporter } from './exporter.js';
import { createLogger, LOG_LEVELS, type LogLevel } from './log.js';
import { createApp, createServer, TELEMETRY_PATH } from './server.js';
import { WebConfigFile } from './config/webconfig.js';
import { VERSION } from './version.js';

// Past the 9100-9999 exporter range, which is fully allocated.
export const DEFAULT_PORT = 10066;

const FLAGS = {
  'web.listen-address': { type: 'string', default: `:${DEFAULT_PORT}` },
  'web.telemetry-path': { type: 'string', default: TELEMETRY_PATH },
  'web.config.file': { type: 'string', default: '' },
  'config.file': { type: 'string', default: 'pprof-exporter.yml' },
  'config.check': { type: 'boolean', default: false },
  'log.level': { type: 'string', default: 'info' },
  'prometheus.url': { type: 'string', default: '' },
  'prometheus.http-config.file': { type: 'string', default: '' },
  'prometheus.timeout': { type: 'string', default: '10s' },
  'prometheus.step': { type: 'string', default: '15s' },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', default: false },
} as const;

export const HELP = `usage: pprof-exporter [<flags>]

Scrapes Go services' /debug/pprof/goroutine profiles and publishes
per-stack-signature goroutine counts as Prometheus metrics.

Flags:
  -h, --help                 Show this help and exit.
      --version              Show the version and exit.
      --web.listen-address=":${DEFAULT_PORT}"
                             Address to listen on: host:port, :port for all
                             interfaces, port 0 for any free port.
      --web.telemetry-path="${TELEMETRY_PATH}"
                             Path under which to expose metrics.
      --web.config.file=""   Web config (exporter-toolkit format) for TLS
                             and basic auth on every endpoint; re-read on
                             SIGHUP and POST /-/reload.
      --config.file="pprof-exporter.yml"
                             Configuration file (YAML) listing the targets.
      --config.check         Validate the configuration file, print the
                             result and exit (0 valid, 1 invalid).
      --log.level=info       Only log messages at or above this level:
                             ${LOG_LEVELS.join(', ')}.
      --prometheus.url=""    Prometheus (HTTP API base URL) the on-call
                             pages and JSON API read counts, history and
                             stacks from, every target it has included;
                             unset: the exporter's own memory.
      --prometheus.http-config.file=""
                             Prometheus http_config (basic_auth,
                             authorization, tls_config, proxy_url) for
                             querying that Prometheus.
      --prometheus.timeout=10s
                             Deadline of one query to Prometheus.
      --prometheus.step=15s  Resolution of the history read from
                             Prometheus (its scrape interval); the pages
                             show 120 steps.

Endpoints: <telemetry-path> (scrapes every target now), /probe?target=&module=
(one target, for Prometheus' multi-target relabelling), / (landing page),
/-/healthy, /-/ready, POST /-/reload (or SIGHUP) to re-read the config.
`;

export function parseListenAddress(addr: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new Error(`invalid --web.listen-address "${addr}": want host:port, [ipv6]:port or :port`);
  }
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

/** Points of history the pages show from Prometheus, like the in-memory ring's 120. */
export const PROMETHEUS_POINTS = 120;

interface PrometheusFlags { url: string; http: HttpConfig; timeoutSeconds: number; stepSeconds: number; }

async function prometheusFlags(v: Record<string, string | boolean>): Promise<PrometheusFlags | undefined> {
  const raw = String(v['prometheus.url']);
  const httpFile = String(v['prometheus.http-config.file']);
  if (!raw) {
    if (httpFile) throw new Error('--prometheus.http-config.file needs --prometheus.url');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`invalid --prometheus.url "${raw}": want an absolute URL like http://prometheus:9090`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`invalid --prometheus.url "${raw}": scheme must be http or https`);
  if (url.username || url.password) throw new Error('invalid --prometheus.url: must not contain credentials (use --prometheus.http-config.file)');
  if (url.search || url.hash) throw new Error(`invalid --prometheus.url "${raw}": must not contain a query string or fragment`);
  const seconds = (flag: string, max: number) => {
    let s: number;
    try {
      s = parseDuration(String(v[flag]));
    } catch (err) {
      throw new Error(`invalid --${flag}: ${(err as Error).message}`);
    }
    if (!(s > 0) || s > max) throw new Error(`--${flag} must be greater than 0 and at most ${max} s, got "${String(v[flag])}"`);
    return s;
  };
  const http = httpFile ? await loadHttpConfig(httpFile) : { followRedirects: true };
  return { url: url.href.replace(/\/+$/, ''), http, timeoutSeconds: seconds('prometheus.timeout', 300), stepSeconds: seconds('prometheus.step', 3600) };
}

function usageError(message: string): never {
  process.stderr.write(`pprof-exporter: error: ${message}, try --help\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let values: { [K in keyof typeof FLAGS]: (typeof FLAGS)[K]['default'] extends boolean ? boolean : string };
  try {
    values = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }).values as typeof values;
  } catch (err) {
    usageError((err as Error).message.split('\n')[0]!.replace(/\. To specify.*$/, ''));
  }
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.version) {
    process.stdout.write(`pprof-exporter ${VERSION} (node ${process.version})\n`);
    return;
  }
  const level = values['log.level'] as LogLevel;
  if (!LOG_LEVELS.includes(level)) usageError(`--log.level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  const configFile = values['config.file'];

  if (values['config.check']) {
    try {
      const config = await loadConfig(configFile);
      process.stdout.write(`${configFile}: OK, ${config.targets.length} target(s)\n`);
      process.exit(0);
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    }
  }

  let listen: ReturnType<typeof parseListenAddress>;
  try {
    listen = parseListenAddress(values['web.listen-address']);
  } catch (err) {
    usageError((err as Error).message);
  }
  const telemetryPath = values['web.telemetry-path'];
  if (!telemetryPath.startsWith('/')) usageError(`--web.telemetry-path must start with "/", got "${telemetryPath}"`);

  let prometheus: PrometheusFlags | undefined;
  try {
    prometheus = await prometheusFlags(values);
  } catch (err) {
    usageError((err as Error).message);
  }

  const logger = createLogger(level);
  let exporter: Exporter;
  try {
    exporter = await Exporter.fromFile(configFile, logger);
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'cannot load config');
    process.exit(1);
  }

  const webPath = values['web.config.file'];
  let webFile: WebConfigFile | undefined;
  if (webPath) {
    try {
      webFile = await WebConfigFile.open(webPath, { logger, onResult: (ok) => exporter.webConfigReloaded(ok) });
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'cannot load web config');
      process.exit(1);
    }
  }
  const web = webFile?.current;
  let history: PromSource | undefined;
  if (prometheus) {
    const client = new Prometheus({ url: prometheus.url, http: prometheus.http, timeoutSeconds: prometheus.timeoutSeconds });
    exporter.addRegistry(client.registry);
    history = new PromSource({ prometheus: client, config: () => exporter.config, stepSeconds: prometheus.stepSeconds, points: PROMETHEUS_POINTS });
    // The pages read Prometheus: scraping the targets when nobody scrapes /metrics would feed nothing.
    await exporter.web.stop();
  }
  const server = createServer(createApp(exporter, { telemetryPath, web: () => webFile?.current, reload: reloadAll, ...(history && { history }) }), web);

  // Both files, each on its own: a refused web config keeps the running one and does not hold
  // back a good main config (TLS cannot be switched on or off without a restart).
  async function reloadAll(): Promise<{ changed: boolean }> {
    const [w, m] = await Promise.allSettled([
      webFile?.reload((tls) => { if ('setSecureContext' in server) (server as import('node:https').Server).setSecureContext(tls); }),
      exporter.reload(),
    ]);
    const failed = [w, m].flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    if (failed.length > 0) throw new Error(failed.join('; '));
    return (m as PromiseFulfilledResult<{ changed: boolean }>).value;
  }

  if (listen.host === undefined) server.listen(listen.port);
  else server.listen(listen.port, listen.host);
  server.on('error', (err) => {
    logger.error({ err: err.message, address: values['web.listen-address'] }, 'cannot listen');
    process.exit(1);
  });
  server.on('listening', () => {
    const a = server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    logger.info({ address: `${host}:${a.port}`, version: VERSION, config: configFile, targets: exporter.config.targets.length, tls: Boolean(web?.tls), basic_auth: Boolean(web?.auth), history: prometheus ? prometheus.url : 'memory' }, 'listening');
  });

  process.on('SIGHUP', () => {
    reloadAll().catch(() => { /* logged by reload */ });
  });
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    server.close();
    server.closeAllConnections();
    void exporter.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main(process.argv.slice(2));
