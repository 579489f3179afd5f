import { describe, expect, it } from "vitest";
import { ServiceKeys } from "../../shared/security/service-secret.js";
import { TaskCapabilities } from "../../shared/security/task-capability.js";

const secret = ServiceKeys.generateSecret();
const caps = new TaskCapabilities(secret);
const now = new Date("2026-12-01T00:00:00Z");
const inAnHour = Math.floor(now.getTime() / 1000) + 3600;
const grant = { tenantId: "acme", taskId: "agent_task_AAAAAAAAAAAAAAAAAAAAAA", expiresAt: inAnHour };

describe("task capabilities", () => {
  it("verify what they minted: the tenant, the task and the expiry", () => {
    expect(caps.verify(caps.mint(grant), now)).toEqual({ ok: true, grant });
  });

  it("are refused once expired", () => {
    const token = caps.mint(grant);
    expect(caps.verify(token, new Date(inAnHour * 1000))).toEqual({ ok: false, reason: "expired" });
  });

  it("are refused when keyed with another service secret", () => {
    const other = new TaskCapabilities(ServiceKeys.generateSecret());
    expect(caps.verify(other.mint(grant), now)).toEqual({ ok: false, reason: "invalid" });
  });

  it("cannot be edited to name another task, tenant or expiry", () => {
    const [prefix, , signature] = caps.mint(grant).split(".");
    for (const changed of [
      { ...grant, taskId: "agent_task_BBBBBBBBBBBBBBBBBBBBBB" },
      { ...grant, tenantId: "other" },
      { ...grant, expiresAt: inAnHour + 86_400 },
    ]) {
      const body = Buffer.from(
        JSON.stringify({ t: changed.tenantId, k: changed.taskId, e: changed.expiresAt }),
      ).toString("base64url");
      expect(caps.verify(`${prefix}.${body}.${signature}`, now)).toEqual({ ok: false, reason: "invalid" });
    }
  });

  it("refuse garbled tokens without throwing", () => {
    const token = caps.mint(grant);
    for (const garbled of [
      "",
      "bgacap1",
      "bgacap1..",
      token.slice(0, -2),
      `${token}x`,
      token.replace("bgacap1", "bgacap2"),
      `${token}.extra`,
      "bga_0123456789abcdef0123456789abcdef",
      "bgacap1.bm90IGpzb24.AAAA",
    ]) {
      expect(caps.verify(garbled, now)).toMatchObject({ ok: false, reason: "invalid" });
    }
  });

  it("need a service secret of at least 32 bytes", () => {
    expect(() => new TaskCapabilities(Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});
