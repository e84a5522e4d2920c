// Headless Chromium (Debian's, installed by test/setup/tools.mjs) driven by
// playwright-core, kept on loopback: no background traffic, and any request a
// page makes off 127.0.0.1 is refused and recorded.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { chromiumPath } from '../setup/paths.mjs';

export const ARTIFACTS = join(import.meta.dirname, '../artifacts');

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('chromium not found: run `node test/setup/tools.mjs` (npm test does) to install it');
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath, args: ARGS });
}

/** A laptop-sized context whose off-loopback requests fail and land in `offLoopback`. */
export async function loopbackContext(browser: Browser, offLoopback: string[]): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    offLoopback.push(url.href);
    return route.abort();
  });
  return context;
}
