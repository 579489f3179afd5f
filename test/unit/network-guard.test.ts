import { describe, expect, it } from "vitest";
import { assertPublicUrl, isPrivateAddress } from "../../shared/security/network-guard.js";

describe("private network guard", () => {
  it("knows loopback, private, link-local and other non-public addresses", () => {
    for (const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "::",
      "fd00::1",
      "fe80::1",
      "::ffff:127.0.0.1",
      "224.0.0.1",
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ["8.8.8.8", "172.32.0.1", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"]) {
      expect(isPrivateAddress(a), a).toBe(false);
    }
  });

  it("refuses URLs that resolve to such addresses unless allowed", async () => {
    await expect(assertPublicUrl("http://127.0.0.1:9/mcp", false)).rejects.toThrow(
      /loopback, private or link-local/,
    );
    await expect(assertPublicUrl("http://localhost:9/mcp", false)).rejects.toThrow(/resolves to/);
    await expect(assertPublicUrl("http://[::1]:9/mcp", false)).rejects.toThrow(/::1/);
    await expect(assertPublicUrl("http://169.254.169.254/latest", false)).rejects.toThrow(/169\.254/);
    await expect(assertPublicUrl("http://127.0.0.1:9/mcp", true)).resolves.toBeUndefined();
  });
});
