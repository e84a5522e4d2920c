// The web page's state, owned by the Exporter: the scrape history, the
// uploaded profiles, and the idle refresh that keeps the history going when
// nothing scrapes /metrics (a demo, or Prometheus down during an incident).
import { History, type HistoryLimits } from './history.js';
import { Uploads } from './uploads.js';

/** With no scrape for this long, the exporter scrapes its targets itself. */
export const IDLE_SCRAPE_SECONDS = 60;
const CHECK_EVERY_MS = 15_000;

export class WebState {
  readonly history: History;
  readonly uploads = new Uploads();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly scrape: () => Promise<unknown>,
    private readonly onError: (err: Error) => void = () => {},
    limits?: HistoryLimits,
  ) {
    this.history = new History(limits);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.refreshIfIdle(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** Scrapes (and so records) all targets when the last scrape is older than IDLE_SCRAPE_SECONDS. */
  async refreshIfIdle(nowMs = Date.now()): Promise<void> {
    const last = this.history.lastScrapeMs;
    if (this.inFlight || (last !== undefined && nowMs - last < IDLE_SCRAPE_SECONDS * 1000)) return;
    // scrapeAll never throws for a target's failure: an error here is a bug, logged.
    this.inFlight = this.scrape().then(() => undefined, (err: Error) => this.onError(err)).finally(() => { this.inFlight = undefined; });
    await this.inFlight;
  }
}
