import { randomBytes } from "node:crypto";

/** The prefix of a Standard Webhooks signing secret; the rest is base64 of its bytes. */
export const SECRET_PREFIX = "whsec_";
/** Random bytes in a new signing secret (the specification asks for 24 to 64). */
export const SECRET_BYTES = 32;

/**
 * A new signing secret: `whsec_` + base64 of 32 random bytes. Apart from the signing (signing.ts)
 * so that the admin API, which makes secrets, does not load the `standardwebhooks` package.
 */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString("base64");
}
