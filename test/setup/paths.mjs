// Where test tooling lives: a per-user cache that outlives a clone.
import { join, delimiter } from 'node:path';
import { homedir } from 'node:os';
import { existsSync } from 'node:fs';

export function cacheDir() {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pprof-exporter');
}

export function toolsDir() {
  return join(cacheDir(), 'tools');
}

/** Absolute path of an executable on PATH, or undefined. */
export function which(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** A tool from PATH, else from the tools cache. */
export function tool(name) {
  const cached = join(toolsDir(), name);
  return which(name) ?? (existsSync(cached) ? cached : undefined);
}

/** Debian's chromium, or a chromium/chromium-browser on PATH. */
export function chromiumPath() {
  return ['/usr/bin/chromium', which('chromium'), which('chromium-browser')].find((p) => p && existsSync(p));
}
