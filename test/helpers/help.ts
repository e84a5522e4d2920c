import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const help = spawnSync(process.execPath, [join(import.meta.dirname, '../../dist/cli.js'), '--help'], { encoding: 'utf8' }).stdout;

/** Every long flag the built CLI's --help lists. */
export const HELP_FLAGS: string[] = [...new Set([...help.matchAll(/--[a-z][a-z.-]+/g)].map((m) => m[0]))];
