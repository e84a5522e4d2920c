// Run the exporter in-process on 127.0.0.1:0 with its logs captured.
import type { AddressInfo, Server } from 'node:net';
import { Writable } from 'node:stream';
import { parseConfig, type Config } from '../../src/config/config.js';
import { Exporter } from '../../src/exporter.js';
import { createLogger } from '../../src/log.js';
import { createApp } from '../../src/server.js';
import type { Resolver } from '../../src/http/allowlist.js';

export interface RunningExporter {
  url: string;
  exporter: Exporter;
  logs: Record<string, unknown>[];
  scrape(headers?: Record<string, string>): Promise<{ status: number; text: string; contentType: string }>;
  /** GET /probe with these query parameters. */
  probe(params: Record<string, string> | string, headers?: Record<string, string>): Promise<{ status: number; text: string; headers: Headers }>;
  close(): Promise<void>;
}

export function configFor(targets: { name: string; url: string; [k: string]: unknown }[], global: Record<string, unknown> = {}): Config {
  return parseConfig(JSON.stringify({ global, targets }), 'test.yml');
}

/**
 * Background sampling is driven by hand (exporter.background.tick) unless
 * `background` is set; so is the web page's idle refresh (exporter.web.refreshIfIdle).
 */
export async function startExporter(config: Config, opts: { background?: boolean; resolver?: Resolver } = {}): Promise<RunningExporter> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const exporter = new Exporter({ config, logger: createLogger('debug', sink), ...(opts.resolver && { resolver: opts.resolver }) });
  if (!opts.background) {
    await exporter.background.stop();
    await exporter.web.stop();
  }
  const server: Server = await new Promise((resolve) => {
    const s = createApp(exporter).listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    exporter,
    logs,
    async scrape(headers = {}) {
      const res = await fetch(`${url}/metrics`, { headers });
      return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') ?? '' };
    },
    async probe(params, headers = {}) {
      const q = typeof params === 'string' ? params : new URLSearchParams(params).toString();
      const res = await fetch(`${url}/probe?${q}`, { headers });
      return { status: res.status, text: await res.text(), headers: res.headers };
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await exporter.close();
    },
  };
}
