import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { AdminClient } from "./admin-client.js";
import { TasksClient } from "./client.js";
import { UsageError } from "./errors.js";
import { printable } from "./render.js";

export const DEFAULT_ENDPOINT = "http://127.0.0.1:8787";
/** Hosts of an endpoint on this machine, whose key may be read from the local data directory. */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Where the CLI writes and what it reads from its surroundings (injectable for tests). */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** The global options, as given on the command line. */
export interface GlobalValues {
  endpoint?: string | undefined;
  key?: string | undefined;
  "admin-token"?: string | undefined;
  caller?: string | undefined;
  json?: boolean | undefined;
}

/** What every command gets: output, the `--json` switch and clients built from the global options. */
export class Context {
  readonly json: boolean;
  readonly endpoint: string;

  constructor(
    readonly io: Io,
    private readonly globals: GlobalValues,
  ) {
    this.json = globals.json ?? false;
    this.endpoint = globals.endpoint ?? io.env.BGA_ENDPOINT ?? DEFAULT_ENDPOINT;
    let url: URL;
    try {
      url = new URL(this.endpoint);
    } catch {
      throw new UsageError(`--endpoint is not a URL: ${this.endpoint}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new UsageError(`--endpoint must be an http(s) URL: ${this.endpoint}`);
    }
  }

  /** Writes to stdout; on a terminal, control characters in server text are made visible, not obeyed. */
  out(text: string): void {
    this.io.stdout.write(this.io.stdout.isTTY ? printable(text) : text);
  }

  err(text: string): void {
    this.io.stderr.write(text);
  }

  /** Prints a value as indented JSON (the `--json` output). */
  printJson(value: unknown): void {
    this.out(`${JSON.stringify(value, null, 2)}\n`);
  }

  tasks(): TasksClient {
    return new TasksClient({ endpoint: this.endpoint, token: this.apiKey(), caller: this.globals.caller });
  }

  admin(): AdminClient {
    const token = this.globals["admin-token"] ?? this.io.env.BGA_ADMIN_TOKEN;
    if (!token) throw new UsageError("no admin token: pass --admin-token or set BGA_ADMIN_TOKEN");
    return new AdminClient({ endpoint: this.endpoint, token });
  }

  /**
   * --key, else BGA_API_KEY, else (for an endpoint on this machine: `npm start`, any PORT) the
   * key `npm start` generated and kept in `${BGA_DATA_DIR:-.bga}/api-key`.
   */
  private apiKey(): string {
    const key = this.globals.key ?? this.io.env.BGA_API_KEY;
    if (key) return key;
    if (LOOPBACK_HOSTS.has(new URL(this.endpoint).hostname)) {
      const file = resolve(this.io.cwd, join(this.io.env.BGA_DATA_DIR ?? ".bga", "api-key"));
      if (existsSync(file)) {
        const saved = readFileSync(file, "utf8").trim();
        if (saved) return saved;
      }
    }
    throw new UsageError("no API key: pass --key or set BGA_API_KEY");
  }
}
