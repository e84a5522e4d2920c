// Without Go, the demo and the test setup must say how to install it, never skip silently.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// A PATH holding node and nothing else.
const bin = mkdtempSync(join(tmpdir(), 'no-go-'));
symlinkSync(process.execPath, join(bin, 'node'));
const root = join(import.meta.dirname, '..');
const run = (script: string) =>
  spawnSync(join(bin, 'node'), [script], { cwd: root, encoding: 'utf8', env: { PATH: bin, HOME: process.env.HOME } });

describe('when Go is not installed', () => {
  it('the test setup fails and says how to install it', () => {
    const r = run('test/setup/tools.mjs');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Go is not installed');
    expect(r.stderr).toContain('Install Go 1.21 or newer');
  });

  it('the demo fails and says how to install it', () => {
    const r = run('test/demo.mjs');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('needs Go 1.21 or newer on PATH');
    expect(r.stderr).toContain('Install Go');
  });
});
