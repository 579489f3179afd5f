import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";

/** The prefix of a Standard Webhooks signing secret; the rest is base64 of its bytes. */
export const SECRET_PREFIX = "whsec_";
/** Random bytes in a new signing secret (the specification asks for 24 to 64). */
export const SECRET_BYTES = 32;

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString("base64");
}

/** The headers of one signed delivery (Standard Webhooks). */
export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * Signs a body as the Standard Webhooks specification says, with the `standardwebhooks` package:
 * `v1,` + base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`, keyed with the secret's decoded bytes.
 */
export function signWebhook(secret: string, webhookId: string, at: Date, body: string): SignedHeaders {
  const signature = new Webhook(secret).sign(webhookId, at, body);
  return {
    "webhook-id": webhookId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signature,
  };
}
