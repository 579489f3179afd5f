import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { PermanentError } from "../domain/errors.js";

/**
 * True only for public unicast addresses. Everything else is refused: loopback, private (RFC
 * 1918, ULA), link-local, CGNAT, unspecified, multicast, reserved and benchmarking ranges, the
 * deprecated site-local fec0::/10, and IPv6 forms that embed an IPv4 address (mapped
 * `::ffff:a.b.c.d` is judged by that address; NAT64 64:ff9b::/96, 6to4 2002::/16 and Teredo are
 * refused outright). Ranges as ipaddr.js classifies them.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === "unicast";
}

export function isPrivateAddress(address: string): boolean {
  return !isPublicAddress(address);
}

/** A URL as it may be shown in an error or a log: no user info, no query, no fragment (they may hold secrets). */
export function redactUrl(rawUrl: string): string {
  try {
    const url = new URL(rawUrl);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return "(not a URL)";
  }
}

export class PrivateNetworkRefusedError extends PermanentError {
  constructor(target: string, address: string) {
    super(
      `refused to connect to ${target}: it resolves to ${address}, a loopback, private or link-local address (set BGA_ALLOW_PRIVATE_NETWORK=true to allow)`,
    );
  }
}

/**
 * Checks that a URL's host resolves only to public addresses, unless private networks are
 * allowed: a clear early error before a request. What is enforced is the check at connect time
 * (guardedFetch), which a later DNS answer cannot get around.
 */
export async function assertPublicUrl(rawUrl: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const url = new URL(rawUrl);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  for (const address of addresses) {
    if (!isPublicAddress(address)) throw new PrivateNetworkRefusedError(redactUrl(rawUrl), address);
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** Which peer addresses a connection may reach: public unicast only, unless a test says otherwise. */
export type AddressPolicy = (address: string) => boolean;

/** dns.lookup for net/tls.connect that fails when any address of the name is refused. */
function checkedLookup(allowed: AddressPolicy) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    dnsLookup(hostname, { all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const refused = addresses.find((a) => !allowed(a.address));
      if (refused) return callback(new PrivateNetworkRefusedError(hostname, refused.address), []);
      const [first] = addresses;
      if (options.all || !first) return callback(null, addresses);
      callback(null, first.address, first.family);
    });
  };
}

/**
 * An undici dispatcher that refuses, where the socket connects, every address the policy
 * refuses: an IP literal before connecting, every address a name resolves to (in the lookup the
 * socket itself uses, so a second DNS answer gains nothing), and the peer address of the
 * connected socket. Redirects that fetch follows open new connections through the same check.
 */
async function checkedDispatcher(allowed: AddressPolicy) {
  const { Agent, buildConnector } = await import("undici");
  const connect = buildConnector({ lookup: checkedLookup(allowed) });
  return new Agent({
    connect: (options, callback) => {
      const host = options.hostname.replace(/^\[|\]$/g, "");
      if (isIP(host) && !allowed(host)) {
        callback(new PrivateNetworkRefusedError(options.hostname, host), null);
        return;
      }
      connect(options, (err, socket) => {
        if (err || !socket) return callback(err ?? new Error("no socket"), null);
        const peer = socket.remoteAddress;
        if (peer && !allowed(peer)) {
          socket.destroy();
          return callback(new PrivateNetworkRefusedError(options.hostname, peer), null);
        }
        callback(null, socket);
      });
    },
  });
}

/** The dispatcher of the public-only policy, shared by every guarded fetch of the process. */
let publicOnly: ReturnType<typeof checkedDispatcher> | undefined;

export interface GuardedFetchOptions {
  /** `manual`: a redirect is not followed (model calls); `follow`: followed, each hop checked. */
  redirect: "manual" | "follow";
  /** Private networks allowed (BGA_ALLOW_PRIVATE_NETWORK): the platform's fetch, unchecked. */
  allowPrivate: boolean;
  /** Default: public unicast addresses only (isPublicAddress). */
  allowed?: AddressPolicy;
}

/**
 * The fetch for every connection the service opens on a tenant's behalf (model calls, MCP).
 * With private networks allowed it is the platform's fetch; otherwise undici's fetch over a
 * checking dispatcher, and a refused connection rejects with PrivateNetworkRefusedError.
 */
export function guardedFetch(options: GuardedFetchOptions): typeof fetch {
  const { redirect } = options;
  if (options.allowPrivate) return (input, init) => fetch(input, { ...init, redirect });
  let dispatcher: ReturnType<typeof checkedDispatcher> | undefined;
  const guarded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (input instanceof Request) throw new TypeError("guardedFetch takes a URL and its init, not a Request");
    const undici = await import("undici");
    if (options.allowed) dispatcher ??= checkedDispatcher(options.allowed);
    else dispatcher ??= publicOnly ??= checkedDispatcher(isPublicAddress);
    const request = { ...init, redirect, dispatcher: await dispatcher };
    try {
      // undici's own fetch, so that the dispatcher that checks is the one that connects.
      const res = await undici.fetch(input, request as Parameters<typeof undici.fetch>[1]);
      return res as unknown as Response;
    } catch (err) {
      if (err instanceof TypeError && err.cause instanceof PrivateNetworkRefusedError) throw err.cause;
      throw err;
    }
  };
  return guarded as typeof fetch;
}
