import type { Logger } from "./ports.js";

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

/** The Logger port under its earlier name (the benches import it). */
export type StructuredLogger = Logger;

/** The Logger port for `npm start` and the tests: one JSON line per entry on stderr. */
export function createLogger(level: LogLevel = "info", service = "bga"): Logger {
  const min = LEVELS[level];
  const write = (lvl: Exclude<LogLevel, "silent">, message: string, fields?: Record<string, unknown>) => {
    if (LEVELS[lvl] < min) return;
    process.stderr.write(
      `${JSON.stringify({ level: lvl, service, time: new Date().toISOString(), message, ...fields })}\n`,
    );
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}
