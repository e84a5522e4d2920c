// Structured JSON logs on stderr (pino): one line per event, fields named
// consistently (target, source, stage, err) so they can be grepped and parsed.
import { pino, type Logger } from 'pino';

export type { Logger };
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel, dest: number | NodeJS.WritableStream = 2): Logger {
  const stream = typeof dest === 'number' ? pino.destination({ dest, sync: true }) : dest;
  return pino({
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, stream);
}
