import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { PermanentError } from "../domain/errors.js";

/** True for loopback, private (RFC 1918 / ULA), link-local, CGNAT, unspecified and similar addresses. */
export function isPrivateAddress(address: string): boolean {
  const v = isIP(address);
  if (v === 4) {
    const [a = 0, b = 0] = address.split(".").map(Number);
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      a >= 224
    );
  }
  if (v === 6) {
    const lower = address.toLowerCase();
    if (lower === "::" || lower === "::1") return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped?.[1]) return isPrivateAddress(mapped[1]);
    return /^(fc|fd|fe8|fe9|fea|feb|ff)/.test(lower);
  }
  return false;
}

export class PrivateNetworkRefusedError extends PermanentError {
  constructor(url: string, address: string) {
    super(
      `refused to connect to ${url}: it resolves to ${address}, a loopback, private or link-local address (set BGA_ALLOW_PRIVATE_NETWORK=true to allow)`,
    );
  }
}

/**
 * Checks that a URL's host resolves only to public addresses, unless private networks are
 * allowed. Called before every request, so a name that later resolves elsewhere is caught too.
 */
export async function assertPublicUrl(rawUrl: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const url = new URL(rawUrl);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  for (const address of addresses) {
    if (isPrivateAddress(address)) throw new PrivateNetworkRefusedError(rawUrl, address);
  }
}

/** A fetch that runs the guard before each request. */
export function guardedFetch(allowPrivate: boolean): typeof fetch {
  return async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    await assertPublicUrl(url, allowPrivate);
    return fetch(input, init);
  };
}
