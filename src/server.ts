// HTTP endpoints, Prometheus-exporter style: /metrics, /-/healthy, /-/ready
// and POST /-/reload; the on-call pages and their API come from src/web/.
import express, { type Express } from 'express';
import type { Exporter } from './exporter.js';
import { webRouter } from './web/router.js';

export const TELEMETRY_PATH = '/metrics';

export function createApp(exporter: Exporter, telemetryPath = TELEMETRY_PATH): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get(telemetryPath, async (req, res) => {
    const { contentType, body } = await exporter.metrics(req.get('X-Prometheus-Scrape-Timeout-Seconds'));
    res.type(contentType).send(body);
  });
  app.get('/-/healthy', (_req, res) => {
    res.type('text').send('Healthy\n');
  });
  app.get('/-/ready', (_req, res) => {
    res.type('text').send('Ready\n');
  });
  app.post('/-/reload', async (_req, res) => {
    try {
      const { changed } = await exporter.reload();
      res.type('text').send(changed ? 'config reloaded\n' : 'config unchanged\n');
    } catch (err) {
      res.status(500).type('text').send(`failed to reload config: ${(err as Error).message}\n`);
    }
  });
  app.use(webRouter(exporter, { telemetryPath }));
  app.use((_req, res) => {
    res.status(404).type('text').send('404 page not found\n');
  });
  // Express 5 forwards rejected handler promises here.
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    exporter.logger.error({ err: err.message }, 'request failed');
    if (!res.headersSent) res.status(500).type('text').send(`internal error: ${err.message}\n`);
  });
  return app;
}
