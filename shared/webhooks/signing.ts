import { Webhook } from "standardwebhooks";

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
