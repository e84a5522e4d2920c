// Regenerates the protobufjs static decoder from profile.proto:
//   npm run gen:proto
// The output (profile.js, profile.d.ts) is committed so installs need no generator.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
const bin = (name) => join(here, '../../../node_modules/.bin', name);
const js = join(here, 'profile.js');

execFileSync(bin('pbjs'), [
  '-t', 'static-module', '-w', 'es6', '--es6',
  '--no-create', '--no-verify', '--no-convert', '--no-delimited', '--no-typeurl',
  '--force-number',
  '-o', js, join(here, 'profile.proto'),
], { stdio: 'inherit' });
// Load protobufjs through runtime.js, which turns Long off first.
const from = 'import $protobuf from "protobufjs/minimal.js";';
const code = readFileSync(js, 'utf8');
if (!code.includes(from)) throw new Error(`generated code no longer has: ${from}`);
writeFileSync(js, code.replace(from, 'import $protobuf from "./runtime.js";'));
execFileSync(bin('pbts'), ['-o', join(here, 'profile.d.ts'), js], { stdio: 'inherit' });
