import { existsSync, readFileSync } from "node:fs";

/** The one tenant of the local path, made from BGA_CONFIG / BGA_API_KEY at every start. */
export const DEFAULT_TENANT_ID = "default";

/** Reads BGA_CONFIG: a path to a YAML file, or the YAML text itself. */
export function readConfigSource(source: string): string {
  return !source.includes("\n") && existsSync(source) ? readFileSync(source, "utf8") : source;
}
