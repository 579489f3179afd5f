import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { originGuard } from "../../functions/api/origin-guard.js";
import { parseAllowedOrigins } from "../../shared/config.js";

function appWith(policy: Parameters<typeof originGuard>[0]) {
  const app = new Hono();
  app.use("*", originGuard(policy));
  app.get("/", (c) => c.text("ok"));
  return app;
}

describe("origin guard", () => {
  it("in the cloud (any host) accepts only the service's own origin and BGA_ALLOWED_ORIGINS", async () => {
    const app = appWith({
      origins: parseAllowedOrigins("https://console.example.com, https://ops.example.com/"),
    });
    const at = (origin?: string) =>
      app.request("https://abc.lambda-url.eu-west-1.on.aws/", origin ? { headers: { origin } } : {});
    expect((await at()).status).toBe(200);
    expect((await at("https://abc.lambda-url.eu-west-1.on.aws")).status).toBe(200);
    expect((await at("https://console.example.com")).status).toBe(200);
    expect((await at("https://ops.example.com")).status).toBe(200);
    expect((await at("https://evil.example")).status).toBe(403);
    expect((await at("null")).status).toBe(403); // sandboxed iframes and file: pages
  });

  it("BGA_ALLOWED_ORIGINS is a list of origins; anything else is a clear configuration error", () => {
    expect(parseAllowedOrigins("")).toEqual([]);
    expect(parseAllowedOrigins("http://localhost:3000 https://a.example/path")).toEqual([
      "http://localhost:3000",
      "https://a.example",
    ]);
    expect(() => parseAllowedOrigins("not an origin")).toThrow();
  });
});
