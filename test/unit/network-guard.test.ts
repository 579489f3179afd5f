import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertPublicUrl,
  guardedFetch,
  isPrivateAddress,
  isPublicAddress,
  PrivateNetworkRefusedError,
  redactUrl,
} from "../../shared/security/network-guard.js";

describe("private network guard: which addresses", () => {
  it("refuses loopback, private, link-local, and every IPv6 form that embeds one", () => {
    for (const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "198.18.0.1", // benchmarking 198.18.0.0/15
      "::1",
      "::",
      "fd00::1",
      "fe80::1",
      "fec0::1", // site-local
      "::ffff:127.0.0.1",
      "::ffff:7f00:1", // the same, as the URL parser writes it
      "::ffff:169.254.169.254",
      "::ffff:10.0.0.1",
      "64:ff9b::7f00:1", // NAT64
      "2002:7f00:1::", // 6to4
      "2001::1", // Teredo
      "224.0.0.1",
      "not an address",
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ["8.8.8.8", "172.32.0.1", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"]) {
      expect(isPublicAddress(a), a).toBe(true);
    }
  });

  it("refuses URLs that resolve to such addresses unless allowed", async () => {
    await expect(assertPublicUrl("http://127.0.0.1:9/mcp", false)).rejects.toThrow(
      /loopback, private or link-local/,
    );
    await expect(assertPublicUrl("http://localhost:9/mcp", false)).rejects.toThrow(/resolves to/);
    await expect(assertPublicUrl("http://[::1]:9/mcp", false)).rejects.toThrow(/::1/);
    await expect(assertPublicUrl("http://[::ffff:127.0.0.1]:9/v1", false)).rejects.toThrow(/::ffff:7f00:1/);
    await expect(assertPublicUrl("http://169.254.169.254/latest", false)).rejects.toThrow(/169\.254/);
    await expect(assertPublicUrl("http://127.0.0.1:9/mcp", true)).resolves.toBeUndefined();
  });

  it("shows URLs without what may hold a secret: user info, query, fragment", () => {
    expect(redactUrl("https://user:pw@mcp.example.com:8443/mcp?token=s3cret#x")).toBe(
      "https://mcp.example.com:8443/mcp",
    );
    expect(redactUrl("::")).toBe("(not a URL)");
  });
});

describe("private network guard: where the socket connects", () => {
  // Two loopback servers. The policy under test allows only 127.0.0.2 (standing in for a public
  // address): the target on 127.0.0.1 stands in for a private one.
  const onlyFirst = (address: string) => address === "127.0.0.2";
  let target: Server;
  let front: Server;
  let targetHits = 0;
  let targetPort = 0;
  let frontPort = 0;

  beforeAll(async () => {
    target = createServer((_req, res) => {
      targetHits += 1;
      res.end("private");
    });
    target.listen(0, "127.0.0.1");
    await once(target, "listening");
    targetPort = (target.address() as AddressInfo).port;
    front = createServer((req, res) => {
      if (req.url === "/redirect") {
        res.writeHead(307, { location: `http://127.0.0.1:${targetPort}/` }).end();
        return;
      }
      res.end("allowed");
    });
    front.listen(0, "127.0.0.2");
    await once(front, "listening");
    frontPort = (front.address() as AddressInfo).port;
  });
  afterAll(() => {
    target.close();
    front.close();
  });

  it("connects where the policy allows", async () => {
    const f = guardedFetch({ allowPrivate: false, redirect: "follow", allowed: onlyFirst });
    const res = await f(`http://127.0.0.2:${frontPort}/`);
    expect(await res.text()).toBe("allowed");
  });

  it("refuses a refused IP literal, an IPv4-mapped one included, before connecting", async () => {
    const f = guardedFetch({ allowPrivate: false, redirect: "follow", allowed: onlyFirst });
    for (const host of ["127.0.0.1", "[::ffff:127.0.0.1]"]) {
      await expect(f(`http://${host}:${targetPort}/`)).rejects.toBeInstanceOf(PrivateNetworkRefusedError);
    }
    expect(targetHits).toBe(0);
  });

  it("refuses a name whose addresses are refused, in the lookup the socket itself uses", async () => {
    const f = guardedFetch({ allowPrivate: false, redirect: "follow", allowed: onlyFirst });
    await expect(f(`http://localhost:${targetPort}/`)).rejects.toThrow(/refused to connect to localhost/);
    expect(targetHits).toBe(0);
  });

  it("checks every redirect hop; model calls do not follow redirects at all", async () => {
    const follow = guardedFetch({ allowPrivate: false, redirect: "follow", allowed: onlyFirst });
    await expect(follow(`http://127.0.0.2:${frontPort}/redirect`)).rejects.toBeInstanceOf(
      PrivateNetworkRefusedError,
    );
    const manual = guardedFetch({ allowPrivate: false, redirect: "manual", allowed: onlyFirst });
    const res = await manual(`http://127.0.0.2:${frontPort}/redirect`);
    expect(res.status).toBe(307);
    expect(targetHits).toBe(0);
  });

  it("the default policy refuses loopback, and allowing private networks lets it through", async () => {
    await expect(
      guardedFetch({ allowPrivate: false, redirect: "manual" })(`http://127.0.0.2:${frontPort}/`),
    ).rejects.toBeInstanceOf(PrivateNetworkRefusedError);
    const open = guardedFetch({ allowPrivate: true, redirect: "manual" });
    expect(await (await open(`http://127.0.0.1:${targetPort}/`)).text()).toBe("private");
  });
});
