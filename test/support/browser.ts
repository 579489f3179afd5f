import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type Browser, chromium } from "playwright-core";

/**
 * A real headless Chromium for the console's tests: Debian's `chromium` package (`.ci/run`
 * installs it when missing), driven by playwright-core; nothing is downloaded. BGA_CHROMIUM
 * names another binary.
 */
export function chromiumPath(): string {
  const fromEnv = process.env.BGA_CHROMIUM;
  if (fromEnv) return fromEnv;
  for (const candidate of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync("sh", ["-c", "command -v chromium || command -v chromium-browser"], {
      encoding: "utf8",
    }).trim();
  } catch {
    throw new Error(
      "no Chromium found: install Debian's package (apt-get install -y chromium; .ci/run does) or set BGA_CHROMIUM",
    );
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true });
}

type Fetch = (request: Request) => Response | Promise<Response>;

export interface HttpServer {
  url: string;
  /** Cuts every open connection (an SSE stream dropped by a proxy or a flaky network). */
  dropConnections(): void;
  close(): Promise<void>;
}

/** Serves `fetch` over real HTTP on 127.0.0.1 (a free port), as `npm start` does, for a browser. */
export function serveOnLoopback(fetch: Fetch): Promise<HttpServer> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => {
      const http = server as import("node:http").Server;
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        dropConnections: () => http.closeAllConnections(),
        close: () =>
          new Promise<void>((done) => {
            http.closeAllConnections();
            http.close(() => done());
          }),
      });
    });
  });
}
