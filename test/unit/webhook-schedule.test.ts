import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { signWebhook } from "../../shared/webhooks/signing.js";
import { DEFAULT_RETRY_SCHEDULE_MS } from "../../shared/webhooks/webhook-deliveries.js";
import { newWebhookSecret } from "../../shared/webhooks/webhook-secret.js";
import { assertWebhookUrl } from "../../shared/webhooks/webhook-url.js";

describe("webhook retry schedule, secret and URL rule", () => {
  it("retries first within 10 s and keeps trying for at least 24 h", () => {
    expect(DEFAULT_RETRY_SCHEDULE_MS[0]).toBeLessThanOrEqual(10_000);
    const total = DEFAULT_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(24 * 3_600_000);
  });

  it("makes whsec_ secrets of 32 random bytes whose signatures the standardwebhooks package verifies", () => {
    const secret = newWebhookSecret();
    expect(Buffer.from(secret.slice(6), "base64")).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
    const body = JSON.stringify({ type: "task.completed", data: { id: "x" } });
    const headers = signWebhook(secret, "msg_1", new Date(), body);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(() => new Webhook(newWebhookSecret()).verify(body, { ...headers })).toThrow();
  });

  it("accepts http on loopback only where private networks are allowed", () => {
    expect(assertWebhookUrl("http://127.0.0.1:9000/h", true).href).toBe("http://127.0.0.1:9000/h");
    expect(() => assertWebhookUrl("http://127.0.0.1:9000/h", false)).toThrow(/must be https/);
    expect(() => assertWebhookUrl("https://192.168.1.4/h", false)).toThrow(/private/);
    expect(() => assertWebhookUrl("https://[fe80::1]/h", false)).toThrow(/link-local/);
    expect(assertWebhookUrl("https://hooks.example.com/a?b=c", false).href).toBe(
      "https://hooks.example.com/a?b=c",
    );
  });
});
