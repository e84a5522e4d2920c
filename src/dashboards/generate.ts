// The Grafana dashboards, as code. `npm run build && node dist/dashboards/generate.js`
// writes them to dashboards/<name>.json; test/dashboards.test.ts fails when
// the committed files drift from this.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { overview } from './overview.js';
import { signature } from './signature.js';

/** Dashboard name (file name without `.json`) → dashboard JSON. */
export function dashboards(): Record<string, object> {
  return { overview: overview(), signature: signature() };
}

/** The file content for a dashboard: pretty JSON with a trailing newline. */
export function render(d: object): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

/** Every query of every panel, with the panel's title. */
export function panelQueries(d: object): { panel: string; expr: string }[] {
  const panels = (d as { panels?: { title: string; targets?: { expr: string }[] }[] }).panels ?? [];
  return panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = fileURLToPath(new URL('../../dashboards/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  for (const [name, d] of Object.entries(dashboards())) {
    writeFileSync(`${dir}${name}.json`, render(d));
    process.stdout.write(`wrote dashboards/${name}.json\n`);
  }
}
