import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

export class PortInUseError extends Error {
  readonly code = "PORT_IN_USE";
  constructor(readonly port: number) {
    super(`port ${port} is in use (set PORT to another port)`);
    this.name = "PortInUseError";
  }
}

type Fetch = Parameters<typeof serve>[0]["fetch"];

export interface Listener {
  port: number;
  close(): void;
}

/**
 * Listens on 127.0.0.1:`port` and resolves once bound. A busy port rejects with PortInUseError,
 * so the user reads one line instead of an unhandled 'error' event's stack.
 */
export function listenOnLoopback(port: number, fetch: Fetch): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname: "127.0.0.1" }, (info: AddressInfo) => {
      server.off("error", onError);
      resolve({ port: info.port, close: () => server.close() });
    });
    const onError = (err: NodeJS.ErrnoException) => {
      reject(err.code === "EADDRINUSE" ? new PortInUseError(port) : err);
    };
    server.once("error", onError);
  });
}
