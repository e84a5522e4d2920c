// HTTP endpoints, Prometheus-exporter style: /metrics, /probe, /-/healthy,
// /-/ready and POST /-/reload, with basic auth and headers from the web
// config; the on-call pages and their API come from src/web/.
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import express, { type Express } from 'express';
import type { Exporter } from './exporter.js';
import type { WebConfig } from './config/webconfig.js';
import { webRouter } from './ui/router.js';
import type { HistorySource } from './ui/source.js';
import { printableText } from './printable.js';
import { AuthBusy } from './authlimit.js';

export const TELEMETRY_PATH = '/metrics';

export interface AppOptions {
  telemetryPath?: string;
  /** The current web config (it can change on reload). */
  web?: () => WebConfig | undefined;
  /** What POST /-/reload does; by default the exporter's config reload. */
  reload?: () => Promise<{ changed: boolean }>;
  /** Where the on-call pages read their figures; by default the exporter's memory. */
  history?: HistorySource;
}

export function createApp(exporter: Exporter, opts: AppOptions = {}): Express {
  const telemetryPath = opts.telemetryPath ?? TELEMETRY_PATH;
  const web = opts.web ?? (() => undefined);
  const reload = opts.reload ?? (() => exporter.reload());
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(async (req, res, next) => {
    const w = web();
    if (!w) return next();
    for (const [k, v] of Object.entries(w.headers)) res.setHeader(k, v);
    const sock = req.socket as Partial<TLSSocket>;
    if (w.verifyClientCertIfGiven && sock.getPeerCertificate?.()?.raw && !sock.authorized) {
      res.status(403).type('text').send(`client certificate rejected: ${String(sock.authorizationError)}\n`);
      return;
    }
    if (w.auth) {
      let user: string | undefined;
      try {
        user = await w.auth.check(req.get('authorization'));
      } catch (err) {
        if (!(err instanceof AuthBusy)) throw err;
        res.status(429).set('Retry-After', '1').type('text').send('Too many password checks in progress, retry later\n');
        return;
      }
      if (!user) {
        res.status(401).set('WWW-Authenticate', 'Basic realm="pprof-exporter"').type('text').send('Unauthorized\n');
        return;
      }
    }
    next();
  });

  app.get(telemetryPath, async (req, res) => {
    const { contentType, body } = await exporter.metrics(req.get('X-Prometheus-Scrape-Timeout-Seconds'));
    res.type(contentType);
    await writeChunks(res, body);
  });
  app.get('/probe', async (req, res) => {
    const a = await exporter.probe(req.query as Record<string, unknown>, req.get('X-Prometheus-Scrape-Timeout-Seconds'));
    res.status(a.status).set(a.headers ?? {}).type(a.contentType).send(a.body);
  });
  app.get('/-/healthy', (_req, res) => {
    res.type('text').send('Healthy\n');
  });
  app.get('/-/ready', (_req, res) => {
    res.type('text').send('Ready\n');
  });
  app.post('/-/reload', async (_req, res) => {
    try {
      const { changed } = await reload();
      res.type('text').send(changed ? 'config reloaded\n' : 'config unchanged\n');
    } catch (err) {
      res.status(500).type('text').send(`failed to reload config: ${printableText((err as Error).message)}\n`);
    }
  });
  // Like Prometheus: a GET of an action is a mistake worth naming, not a 404.
  app.all('/-/reload', methodNotAllowed('POST'));
  app.use(webRouter(exporter, { telemetryPath }, opts.history));
  app.use((_req, res) => {
    res.status(404).type('text').send('404 page not found\n');
  });
  // Express 5 forwards rejected handler promises here.
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    exporter.logger.error({ err: err.message }, 'request failed');
    if (!res.headersSent) res.status(500).type('text').send(`internal error: ${printableText(err.message)}\n`);
  });
  return app;
}

/**
 * Writes each chunk once the socket has taken the one before (the chunks
 * share one buffer, Exposition.chunks), then ends: the body is never held
 * whole, and the event loop turns between chunks.
 */
async function writeChunks(res: express.Response, chunks: Iterable<Buffer>): Promise<void> {
  for (const chunk of chunks) {
    const ok = await new Promise<boolean>((resolve) => {
      if (res.destroyed) { resolve(false); return; }
      const closed = () => resolve(false);
      res.once('close', closed);
      res.write(chunk, (err) => { res.off('close', closed); resolve(!err); });
    });
    if (!ok) return;
  }
  res.end();
}

/** 405 with the methods the path does take, for paths that only take others. */
export function methodNotAllowed(...allow: string[]): express.RequestHandler {
  return (req, res) => {
    res.status(405).set('Allow', allow.join(', ')).type('text').send(`${req.method} not allowed: only ${allow.join(' or ')} requests\n`);
  };
}

/** An HTTP server, or HTTPS when the web config has tls_server_config. */
export function createServer(app: Express, web: WebConfig | undefined): Server {
  return web?.tls ? createHttpsServer(web.tls, app) : createHttpServer(app);
}
