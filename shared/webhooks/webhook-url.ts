import { isIP } from "node:net";
import { InvalidRequestError } from "../domain/errors.js";
import { isPublicAddress } from "../security/network-guard.js";

/** The longest webhook URL accepted. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

export class InvalidWebhookUrlError extends InvalidRequestError {}

/**
 * Checks a webhook URL when it is set (SPEC §11, the private-network rule of §6): https, or also
 * http where private networks are allowed (`npm start`); no user info (the URL is shown back);
 * where private networks are not allowed, its host is neither `localhost` nor a loopback, private
 * or link-local IP literal. Names are not resolved here (an answer now says nothing about the
 * answer at delivery time): every delivery goes through the guarded fetch, which checks the
 * address it connects to.
 */
export function assertWebhookUrl(value: string, allowPrivateNetwork: boolean): URL {
  const refuse = (reason: string): never => {
    throw new InvalidWebhookUrlError(`invalid webhook URL: ${reason}`);
  };
  if (value.length > MAX_WEBHOOK_URL_LENGTH) refuse(`longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return refuse("not a URL");
  }
  const schemes = allowPrivateNetwork ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol)) {
    refuse(allowPrivateNetwork ? "not an http(s) URL" : "must be https");
  }
  if (url.username || url.password) refuse("must not hold a user name or password");
  if (url.hash) refuse("must not have a fragment");
  if (allowPrivateNetwork) return url;
  const hostname = url.hostname
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "")
    .toLowerCase();
  const rule =
    "this service does not connect to loopback, private or link-local addresses (BGA_ALLOW_PRIVATE_NETWORK is false)";
  if (hostname === "localhost" || hostname.endsWith(".localhost")) {
    refuse(`host "${hostname}" is a loopback name; ${rule}`);
  }
  if (isIP(hostname) && !isPublicAddress(hostname)) {
    refuse(`host ${hostname} is a loopback, private or link-local address; ${rule}`);
  }
  return url;
}
