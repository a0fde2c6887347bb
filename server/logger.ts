import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; every request's lines carry its `requestId`. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'onsale' }, timestamp: pino.stdTimeFunctions.isoTime });
}
