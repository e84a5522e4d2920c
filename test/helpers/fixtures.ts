// Profiles captured from the leaky program under several Go versions.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PROFILES_DIR = join(import.meta.dirname, '../fixtures/profiles');

export interface Meta { go_version: string; flags: string[]; expected: Record<string, number>; }

/** Captured Go versions, oldest first. */
export function goVersions(): string[] {
  return readdirSync(PROFILES_DIR)
    .filter((d) => /^go\d+\.\d+/.test(d))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}

export function newestGo(): string {
  return goVersions().at(-1)!;
}

export function fixture(version: string, file: string): Buffer {
  return readFileSync(join(PROFILES_DIR, version, file));
}

export function meta(version: string): Meta {
  return JSON.parse(fixture(version, 'meta.json').toString('utf8')) as Meta;
}
