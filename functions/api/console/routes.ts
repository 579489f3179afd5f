import { createHash } from "node:crypto";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { type Context, Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { errorResponse } from "../errors.js";
import { CLIENT_SCRIPT } from "./client-script.js";
import { page, STYLE } from "./page.js";

/**
 * The team console (SPEC §10) as a sub-app, loaded by app.ts on the first request for /console:
 * the page, its script and its style sheet, static text compressed once when this module loads.
 * The script calls the public routes with the person's own key; nothing here reads a key.
 */

/** One static asset in the encodings a browser may ask for. */
export interface Asset {
  readonly type: string;
  readonly identity: Buffer;
  readonly gzip: Buffer;
  readonly br: Buffer;
  /** A hash of the content: the `?v=` of its URL, and its ETag. */
  readonly version: string;
}

function asset(type: string, text: string): Asset {
  const identity = Buffer.from(text, "utf8");
  return {
    type,
    identity,
    gzip: gzipSync(identity, { level: 9 }),
    br: brotliCompressSync(identity, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: identity.length,
      },
    }),
    version: createHash("sha256").update(identity).digest("base64url").slice(0, 12),
  };
}

export const CONSOLE_PATH = "/console";
const SCRIPT_PATH = `${CONSOLE_PATH}/app.js`;
const STYLE_PATH = `${CONSOLE_PATH}/app.css`;

/** Everything /console serves, by path (the bench weighs these). */
export function consoleAssets(): Record<string, Asset> {
  const script = asset("text/javascript; charset=utf-8", CLIENT_SCRIPT);
  const style = asset("text/css; charset=utf-8", STYLE);
  const html = asset(
    "text/html; charset=utf-8",
    page({
      script: `${SCRIPT_PATH}?v=${script.version}`,
      style: `${STYLE_PATH}?v=${style.version}`,
    }),
  );
  return { [CONSOLE_PATH]: html, [SCRIPT_PATH]: script, [STYLE_PATH]: style };
}

/**
 * The console's policy: its own script and style sheet only (no inline script or style, no
 * other origin), requests to this origin only, no plugins, frames or form posts elsewhere, and
 * Trusted Types required, so even a stray `innerHTML = string` would be refused by the browser.
 */
const consoleHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
    requireTrustedTypesFor: ["'script'"],
    trustedTypes: ["'none'"],
  },
  referrerPolicy: "no-referrer",
  crossOriginResourcePolicy: "same-origin",
  crossOriginOpenerPolicy: "same-origin",
  xFrameOptions: "DENY",
});

/** `br`, else `gzip`, else none, as the request's Accept-Encoding allows (q=0 refuses). */
function encodingFor(acceptEncoding: string | undefined): "br" | "gzip" | undefined {
  const accepted = new Set(
    (acceptEncoding ?? "")
      .split(",")
      .map((part) => part.trim().toLowerCase())
      .filter((part) => !/;\s*q=0(\.0*)?$/.test(part))
      .map((part) => part.split(";")[0]?.trim()),
  );
  if (accepted.has("br")) return "br";
  if (accepted.has("gzip")) return "gzip";
  return undefined;
}

function serve(c: Context, a: Asset, immutable: boolean): Response {
  const encoding = encodingFor(c.req.header("accept-encoding"));
  // One ETag per representation: the encodings of one content are different bytes.
  const etag = `"${a.version}${encoding ? `-${encoding}` : ""}"`;
  c.header("Vary", "Accept-Encoding");
  c.header("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  c.header("ETag", etag);
  if (c.req.header("if-none-match") === etag) return c.body(null, 304);
  const body = encoding === "br" ? a.br : encoding === "gzip" ? a.gzip : a.identity;
  c.header("Content-Type", a.type);
  if (encoding) c.header("Content-Encoding", encoding);
  return c.body(new Uint8Array(body), 200);
}

export function consoleApp(): Hono {
  const assets = consoleAssets();
  const app = new Hono();
  app.use("*", consoleHeaders);
  app.notFound((c) => errorResponse(c, 404, "not_found", `no route: ${c.req.method} ${c.req.path}`));
  app.get(`${CONSOLE_PATH}/`, (c) => c.redirect(CONSOLE_PATH, 308));
  for (const [path, a] of Object.entries(assets)) {
    // The page itself is revalidated each time; its assets' URLs change with their content.
    app.get(path, (c) => serve(c, a, path !== CONSOLE_PATH && c.req.query("v") === a.version));
  }
  return app;
}
