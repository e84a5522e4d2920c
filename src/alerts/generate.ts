// npm run gen:alerts: writes alerts/pprof-exporter.rules.yml from rules.ts.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PRODUCTION, renderRules } from './rules.js';

export const RULES_FILE = fileURLToPath(new URL('../../alerts/pprof-exporter.rules.yml', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(RULES_FILE, renderRules(PRODUCTION));
  process.stdout.write(`wrote ${RULES_FILE}\n`);
}
