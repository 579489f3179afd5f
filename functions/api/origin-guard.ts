import type { MiddlewareHandler } from "hono";
import { errorResponse } from "./errors.js";

/**
 * Which hosts and browser origins may use the service (SPEC §8, and MCP's "servers MUST validate
 * the Origin header" against DNS rebinding: a page on evil.example whose name is made to
 * resolve to the server must get nothing).
 */
export interface OriginPolicy {
  /** Host names the service answers to; absent: any (the cloud, where the URL's name is fixed). */
  readonly hosts?: readonly string[] | undefined;
  /** Browser origins accepted besides the service's own (BGA_ALLOWED_ORIGINS). */
  readonly origins: readonly string[];
}

/** The loopback names `npm start` answers to. */
export const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"] as const;

/**
 * Refuses (403) a request for a host the service does not answer to, or one a browser sent from
 * a foreign origin. Requests without an Origin header (CLIs, SDKs, orchestrators) pass.
 */
export function originGuard(policy: OriginPolicy): MiddlewareHandler {
  const hosts = policy.hosts ? new Set(policy.hosts) : undefined;
  const origins = new Set(policy.origins);
  return async (c, next) => {
    const url = new URL(c.req.url); // its host is the request's Host header
    if (hosts && !hosts.has(url.hostname)) {
      return errorResponse(
        c,
        403,
        "forbidden_host",
        `this service does not answer to the host ${url.hostname}`,
      );
    }
    const origin = c.req.header("origin");
    if (origin !== undefined && origin !== url.origin && !origins.has(origin)) {
      return errorResponse(
        c,
        403,
        "forbidden_origin",
        `requests from the origin ${origin} are not accepted (BGA_ALLOWED_ORIGINS lists the browser origins that are)`,
      );
    }
    await next();
  };
}
