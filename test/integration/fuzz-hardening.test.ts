/**
 * Fuzzing the hardening of issue 11 with the forms it added:
 * (a) model `base_url` / MCP `remote.url` written with the IPv6 spellings of private addresses
 *     (IPv4-mapped, dotted and hex, NAT64, 6to4, site-local) where private networks are not
 *     allowed: always 422 invalid_config naming the path;
 * (b) prototype-ish names (`__proto__`, `constructor`, …) as metadata keys, secret names, agent
 *     and model names: a 2xx or a 4xx in the error format, never a 5xx, and a `__proto__` never
 *     silently dropped;
 * (c) configs near and over the stored-size limit (multi-byte text), metadata at its limits:
 *     a 4xx with a clear code, never a 5xx;
 * (d) redirect chains through guardedFetch: the refused hop is never contacted.
 * A bug found while writing this is pinned, as an exact reproducer, in the last describe block;
 * the property on agent names reaches it too, so both fail until the service is fixed.
 * FUZZ_SEED=<seed> replays a failed property.
 */
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { createLocalRuntime, type LocalRuntime } from "../../local/runtime.js";
import { agentConfigToJson, parseAgentConfigText } from "../../shared/agent-spec.js";
import { createLogger } from "../../shared/logger.js";
import { guardedFetch, PrivateNetworkRefusedError } from "../../shared/security/network-guard.js";
import { MAX_STORED_CONFIG_BYTES } from "../../shared/use-cases/tenant-admin.js";
import { ADMIN_TOKEN, API_KEY, type Harness, startHarness } from "../support/harness.js";

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
async function fuzz<T>(numRuns: number, property: fc.IAsyncProperty<T>): Promise<void> {
  await fc.assert(property, { numRuns, ...(seed !== undefined ? { seed } : {}) });
}

const MAX_BODY_BYTES = 1024 * 1024;
/** The admin API takes a config of at most this many characters (its request schema). */
const MAX_CONFIG_CHARS = 262_144;
const SNAKE_RE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const PROTOISH = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty"] as const;

interface Reply {
  status: number;
  text: string;
  body: unknown;
  request: string;
}

async function send(
  app: LocalRuntime["app"],
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Reply> {
  const res = await app.request(path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const shown = body && body.length > 400 ? `${body.slice(0, 400)}…(${body.length} chars)` : body;
  return { status: res.status, text, body: parsed, request: `${method} ${path} ${shown ?? ""}` };
}

function fail(r: Reply, why: string): never {
  throw new Error(`${why}\n  request: ${r.request}\n  answer:  ${r.status} ${r.text.slice(0, 600)}`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A 4xx in the error format `{"error":{"code":"<snake_case>","message":"…"}}`, optionally of given statuses and codes. */
function expect4xx(r: Reply, opts: { status?: number[]; code?: string[] } = {}): void {
  if (r.status < 400 || r.status > 499) fail(r, `expected a 4xx, got ${r.status}`);
  if (opts.status && !opts.status.includes(r.status)) fail(r, `expected ${opts.status.join(" or ")}`);
  const error = isObject(r.body) ? r.body.error : undefined;
  if (!isObject(error) || typeof error.code !== "string" || !SNAKE_RE.test(error.code))
    fail(r, "expected the error format");
  if (typeof error.message !== "string" || error.message.length === 0) fail(r, "expected an error message");
  if (opts.code && !opts.code.includes(error.code)) fail(r, `expected code ${opts.code.join(" or ")}`);
}

/** A JSON object as text, keys in order, `__proto__` included as an own key. */
const objectText = (entries: [string, unknown][]) =>
  `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`;

let tenantCounter = 0;
const nextTenantId = (prefix: string) => `${prefix}-${++tenantCounter}`;

// ---------------------------------------------------------------------------------------------
// (a) private addresses in IPv6 clothing, where private networks are not allowed

describe("fuzz: private addresses spelled as IPv6 in a config (private networks not allowed)", () => {
  let cloud: LocalRuntime;
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

  beforeAll(async () => {
    cloud = await createLocalRuntime({
      dynamodbEndpoint: inject("dynamodbEndpoint"),
      tableName: `bga-fuzz-hardening-${randomUUID()}`,
      adminToken: ADMIN_TOKEN,
      allowPrivateNetwork: false,
      log: createLogger("silent"),
    });
  });
  afterAll(async () => {
    await cloud?.close();
  });

  const octet = fc.integer({ min: 0, max: 255 });
  /** A private IPv4 address, as four octets. */
  const privateV4 = fc.oneof(
    fc.tuple(fc.constant(127), octet, octet, octet),
    fc.tuple(fc.constant(10), octet, octet, octet),
    fc.tuple(fc.constant(169), fc.constant(254), octet, octet),
    fc.tuple(fc.constant(192), fc.constant(168), octet, octet),
  );
  const anyV4 = fc.tuple(octet, octet, octet, octet);
  const hex16 = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
  const caseOf = (s: string, upper: boolean) => (upper ? s.toUpperCase() : s);

  /** `::ffff:a.b.c.d` in its dotted and hex forms, long or short, either case. */
  const mapped = fc
    .tuple(privateV4, fc.constantFrom("dotted", "hex"), fc.boolean(), fc.boolean())
    .map(([[a, b, c, d], form, long, upper]) => {
      const prefix = long ? "0:0:0:0:0:ffff:" : "::ffff:";
      const tail = form === "dotted" ? `${a}.${b}.${c}.${d}` : `${hex16(a, b)}:${hex16(c, d)}`;
      return caseOf(`${prefix}${tail}`, upper);
    });
  const nat64 = fc
    .tuple(anyV4, fc.boolean())
    .map(([[a, b, c, d], dotted]) =>
      dotted ? `64:ff9b::${a}.${b}.${c}.${d}` : `64:ff9b::${hex16(a, b)}:${hex16(c, d)}`,
    );
  const sixToFour = fc
    .tuple(anyV4, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 0xffff }))
    .map(
      ([[a, b, c, d], subnet, host]) =>
        `2002:${hex16(a, b)}:${hex16(c, d)}:${subnet.toString(16)}::${host.toString(16)}`,
    );
  const siteLocal = fc
    .tuple(
      fc.integer({ min: 0xfec0, max: 0xfeff }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 1, max: 0xffff }),
    )
    .map(([first, mid, last]) => `${first.toString(16)}:${mid.toString(16)}::${last.toString(16)}`);
  const refusedHost = fc.oneof(
    { weight: 4, arbitrary: mapped },
    { weight: 1, arbitrary: fc.constantFrom("::ffff:7f00:1", "::FFFF:7F00:0001", "::ffff:a9fe:a9fe") },
    { weight: 2, arbitrary: nat64 },
    { weight: 2, arbitrary: sixToFour },
    { weight: 2, arbitrary: siteLocal },
  );
  const url = fc
    .tuple(
      fc.constantFrom("http", "https", "HTTP"),
      refusedHost,
      fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
      fc.constantFrom("", "/", "/v1", "/mcp", "/v1/chat?x=1"),
    )
    .map(
      ([scheme, host, port, path]) => `${scheme}://[${host}]${port === undefined ? "" : `:${port}`}${path}`,
    );

  const withModelUrl = (u: string) =>
    `models:\n  m: { provider: openai, model: gpt-4o, base_url: "${u}" }\nagents:\n  root: { model: m, sub_agents: [x] }\n  x: { model: m }\n`;
  const withMcpUrl = (u: string) =>
    `agents:\n  root: { model: openai/gpt-4o, sub_agents: [x] }\n  x:\n    model: openai/gpt-4o\n    toolsets:\n      - type: think\n      - type: mcp\n        remote: { url: "${u}" }\n`;

  it("every one is 422 invalid_config naming the path, on create and on replace", async () => {
    const replaced = await send(
      cloud.app,
      "POST",
      "/v1/admin/tenants",
      admin,
      JSON.stringify({ id: "replaced", config: withModelUrl("https://api.openai.com/v1") }),
    );
    expect(replaced.status, replaced.text).toBe(201);
    await fuzz(
      100,
      fc.asyncProperty(url, fc.constantFrom("model", "mcp"), fc.boolean(), async (u, where, create) => {
        const config = where === "model" ? withModelUrl(u) : withMcpUrl(u);
        const r = create
          ? await send(
              cloud.app,
              "POST",
              "/v1/admin/tenants",
              admin,
              JSON.stringify({ id: nextTenantId("v6"), config }),
            )
          : await send(
              cloud.app,
              "PUT",
              "/v1/admin/tenants/replaced/config",
              admin,
              JSON.stringify({ config }),
            );
        expect4xx(r, { status: [422], code: ["invalid_config"] });
        const details = (r.body as { error: { details?: { path: string; reason: string }[] } }).error.details;
        const path = where === "model" ? "models.m.base_url" : "agents.x.toolsets.1.remote.url";
        if (!details || details.map((d) => d.path).join() !== path)
          fail(r, `expected one problem at ${path}`);
        if (!/loopback|private|link-local/.test(details[0]?.reason ?? ""))
          fail(r, "expected the reason to say why");
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// (b), (c): the service with the default tenant (private networks allowed: the fake model is on loopback)

let h: Harness;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const tenant = { authorization: `Bearer ${API_KEY}` };

beforeAll(async () => {
  // The properties start tasks faster than the fake model ends them: no concurrency limit in the way.
  h = await startHarness({ limits: { max_running_tasks: 1000 } });
});
afterAll(async () => {
  await h?.close();
});

describe("fuzz: prototype-ish names", () => {
  const protoish = fc.constantFrom(...PROTOISH);
  const plainName = fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/);
  const name = fc.oneof({ weight: 2, arbitrary: protoish }, { weight: 1, arbitrary: plainName });

  it("as metadata keys of a task: 201 echoing every key, or a 4xx; __proto__ never dropped", async () => {
    const entries = fc.uniqueArray(fc.tuple(name, fc.string({ maxLength: 20 })), {
      minLength: 1,
      maxLength: 6,
      selector: ([k]) => k,
    });
    await fuzz(
      60,
      fc.asyncProperty(entries, async (pairs) => {
        const body = `{"agent":"worker","task":"t","metadata":${objectText(pairs)}}`;
        const r = await send(h.runtime.app, "POST", "/v1/tasks", tenant, body);
        if (r.status >= 500) fail(r, "a 5xx");
        if (r.status !== 201) return expect4xx(r, { status: [400], code: ["invalid_request"] });
        const metadata = (r.body as { metadata: Record<string, string> }).metadata;
        for (const [k, v] of pairs) {
          if (!Object.hasOwn(metadata, k) || metadata[k] !== v) fail(r, `metadata key ${k} not echoed`);
        }
        if (Object.keys(metadata).length !== pairs.length) fail(r, "metadata holds keys it was not given");
      }),
    );
  });

  it("as secret names: 200 naming every secret, or a 4xx; __proto__ never dropped", async () => {
    const created = await send(
      h.runtime.app,
      "POST",
      "/v1/admin/tenants",
      admin,
      JSON.stringify({ id: "secrets-target", config: `agents:\n  root: { model: openai/gpt-4o }\n` }),
    );
    expect(created.status, created.text).toBe(201);
    const entries = fc.uniqueArray(fc.tuple(name, fc.string({ maxLength: 20 })), {
      minLength: 1,
      maxLength: 6,
      selector: ([k]) => k,
    });
    await fuzz(
      60,
      fc.asyncProperty(entries, async (pairs) => {
        const r = await send(
          h.runtime.app,
          "PUT",
          "/v1/admin/tenants/secrets-target/secrets",
          admin,
          objectText(pairs),
        );
        if (r.status >= 500) fail(r, "a 5xx");
        if (r.status !== 200) return expect4xx(r, { status: [400], code: ["invalid_request"] });
        const names = (r.body as { names: string[] }).names;
        if (
          names.join() !==
          pairs
            .map(([k]) => k)
            .sort()
            .join()
        )
          fail(r, "not every secret named back");
      }),
    );
  });

  it("as agent and model names of a config: 201 with every agent, which runs, or a 4xx", async () => {
    const names = fc.uniqueArray(name, { minLength: 2, maxLength: 4 });
    await fuzz(
      30,
      fc.asyncProperty(names, protoish, fc.boolean(), async (agents, modelName, quoted) => {
        const [rootName, ...subs] = agents as [string, ...string[]];
        const q = (s: string) => (quoted ? JSON.stringify(s) : s);
        const config = [
          "models:",
          `  ${q(modelName)}: { provider: openai, model: fake-model, base_url: "${h.fake.url}" }`,
          "agents:",
          `  ${q(rootName)}: { model: ${q(modelName)}, sub_agents: [${subs.map(q).join(", ")}] }`,
          ...subs.map((s) => `  ${q(s)}: { model: ${q(modelName)}, instruction: "I am ${s}" }`),
          "",
        ].join("\n");
        const id = nextTenantId("proto");
        const r = await send(
          h.runtime.app,
          "POST",
          "/v1/admin/tenants",
          admin,
          JSON.stringify({ id, config }),
        );
        if (r.status >= 500) fail(r, "a 5xx");
        if (r.status !== 201) return expect4xx(r);
        const body = r.body as { tenant: { agents: string[] }; api_key: string };
        if ([...body.tenant.agents].sort().join() !== [...agents].sort().join())
          fail(r, `agents ${JSON.stringify(body.tenant.agents)}, expected ${JSON.stringify(agents)}`);
        // The model under that name is kept too: a sub-agent runs on it.
        const sub = subs[0] as string;
        const run = await send(
          h.runtime.app,
          "POST",
          "/v1/tasks",
          { authorization: `Bearer ${body.api_key}`, "x-caller-agent": rootName },
          JSON.stringify({ agent: sub, task: "say ok" }),
        );
        if (run.status !== 201) fail(run, `the agent ${sub} of a stored config does not run`);
        const task = run.body as { id: string };
        const done = await waitFinished(h, body.api_key, task.id);
        if (done.status !== "completed" || done.result !== "ok")
          fail(run, `the task ended ${done.status}: ${done.error ?? done.result}`);
      }),
    );
  });

  it("as the agent to run on the default tenant: a 4xx (REST) or a tool error, never a 5xx", async () => {
    await fuzz(
      30,
      fc.asyncProperty(protoish, fc.boolean(), async (agent, viaTool) => {
        if (viaTool) {
          const r = await send(
            h.runtime.app,
            "POST",
            "/v1/tools/run_background_agent",
            tenant,
            JSON.stringify({ agent, task: "t" }),
          );
          if (r.status === 200) {
            if (!isObject(r.body) || r.body.isError !== true) fail(r, "expected a tool error");
            return;
          }
          return expect4xx(r);
        }
        expect4xx(
          await send(h.runtime.app, "POST", "/v1/tasks", tenant, JSON.stringify({ agent, task: "t" })),
        );
      }),
    );
  });
});

async function waitFinished(h: Harness, key: string, id: string) {
  return vi.waitFor(
    async () => {
      const r = await h.runtime.app.request(`/v1/tasks/${id}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      const t = (await r.json()) as { status: string; result: string | null; error: string | null };
      if (!["completed", "failed", "stopped"].includes(t.status)) throw new Error(`still ${t.status}`);
      return t;
    },
    { timeout: 20_000, interval: 20 },
  );
}

// ---------------------------------------------------------------------------------------------
// (c) stored items at and over their limits

/** Characters of 1 to 4 UTF-8 bytes (the last two UTF-16 units each). */
const wideChar = fc.constantFrom("a", "é", "中", "😀", "\u20ac", "𝄞");

/** `n` characters (code points): a prefix, then `fill` for the rest. */
function ofLength(prefix: string, fill: string, n: number): string {
  return prefix + fill.repeat(Math.max(0, n - [...prefix].length));
}

describe("fuzz: stored items at and over their limits", () => {
  const configWith = (instruction: string) =>
    `agents:\n  root: { model: openai/gpt-4o, sub_agents: [w] }\n  w:\n    model: openai/gpt-4o\n    instruction: ${JSON.stringify(instruction)}\n`;

  /** What the service stores for a config: its YAML and its parsed form, in UTF-8 bytes. */
  async function storedBytes(config: string): Promise<number> {
    const json = agentConfigToJson(await parseAgentConfigText(config, { allowPrivateNetwork: true }));
    return Buffer.byteLength(config) + Buffer.byteLength(json);
  }

  it("a config near the stored-size limit is stored when it fits, else 413 config_too_large", async () => {
    const created = await send(
      h.runtime.app,
      "POST",
      "/v1/admin/tenants",
      admin,
      JSON.stringify({ id: "big-replaced", config: configWith("small") }),
    );
    expect(created.status, created.text).toBe(201);
    // The instruction is held twice (YAML and parsed form): about half the limit each.
    const target = fc.oneof(
      fc.integer({ min: MAX_STORED_CONFIG_BYTES - 300, max: MAX_STORED_CONFIG_BYTES + 300 }),
      fc.integer({ min: MAX_STORED_CONFIG_BYTES - 40_000, max: MAX_STORED_CONFIG_BYTES + 200_000 }),
    );
    let fitted = 0;
    let refused = 0;
    let tooLarge = 0;
    await fuzz(
      40,
      fc.asyncProperty(
        fc.array(wideChar, { minLength: 1, maxLength: 4 }),
        target,
        fc.boolean(),
        async (chars, total, create) => {
          const unit = chars.join("");
          const unitBytes = Buffer.byteLength(unit);
          const instruction = unit.repeat(Math.max(1, Math.floor((total - 200) / 2 / unitBytes)));
          const config = configWith(instruction);
          const bodyBytes = Buffer.byteLength(JSON.stringify({ id: "big-000", config }));
          // Checked in this order: the body's size, the config's length, what it takes stored.
          const refusal =
            bodyBytes > MAX_BODY_BYTES
              ? { status: [413], code: ["payload_too_large"] }
              : config.length > MAX_CONFIG_CHARS
                ? { status: [400], code: ["invalid_request"] }
                : (await storedBytes(config)) > MAX_STORED_CONFIG_BYTES
                  ? { status: [413], code: ["config_too_large"] }
                  : undefined;
          const r = create
            ? await send(
                h.runtime.app,
                "POST",
                "/v1/admin/tenants",
                admin,
                JSON.stringify({ id: nextTenantId("big"), config }),
              )
            : await send(
                h.runtime.app,
                "PUT",
                "/v1/admin/tenants/big-replaced/config",
                admin,
                JSON.stringify({ config }),
              );
          if (!refusal) {
            fitted++;
            if (r.status !== (create ? 201 : 200)) fail(r, "a config that fits was not stored");
            const view = (r.body as { tenant: { config: string } }).tenant;
            if (view.config !== config) fail(r, "the stored config is not the one written");
          } else {
            refused++;
            expect4xx(r, refusal);
            if (refusal.code[0] === "config_too_large") tooLarge++;
          }
        },
      ),
    );
    // Both sides of the limit were tried.
    expect(fitted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(tooLarge).toBeGreaterThan(0);
  }, 120_000);

  it("a body over 1 MiB is 413 payload_too_large, whatever it holds", async () => {
    const r = await send(
      h.runtime.app,
      "POST",
      "/v1/admin/tenants",
      admin,
      JSON.stringify({ id: "huge", config: configWith("中".repeat(400_000)) }),
    );
    expect4xx(r, { status: [413] });
  });

  it("metadata at its limits (16 pairs, keys of 128 and values of 1024 characters, any width) is kept; one more is 400", async () => {
    await fuzz(
      40,
      fc.asyncProperty(
        fc.integer({ min: 14, max: 17 }),
        fc.constantFrom(127, 128, 129),
        fc.constantFrom(1023, 1024, 1025),
        wideChar,
        wideChar,
        async (count, keyLength, valueLength, keyFill, valueFill) => {
          const pairs: [string, string][] = Array.from({ length: count }, (_, i) => [
            ofLength(String(i).padStart(2, "0"), keyFill, keyLength),
            ofLength("", valueFill, valueLength),
          ]);
          const valid = count <= 16 && keyLength <= 128 && valueLength <= 1024;
          const body = `{"agent":"worker","task":"t","metadata":${objectText(pairs)}}`;
          const r = await send(h.runtime.app, "POST", "/v1/tasks", tenant, body);
          if (!valid) return expect4xx(r, { status: [400], code: ["invalid_request"] });
          if (r.status !== 201) fail(r, "metadata at its limits was refused");
          const kept = (r.body as { metadata: Record<string, string> }).metadata;
          if (JSON.stringify(Object.entries(kept).sort()) !== JSON.stringify([...pairs].sort()))
            fail(r, "metadata not echoed as given");
        },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// (d) redirect chains through guardedFetch

describe("fuzz: redirect chains through guardedFetch", () => {
  // The policy allows only 127.0.0.2 (standing in for public addresses); the target on
  // 127.0.0.1 stands in for a private one.
  const onlyFirst = (address: string) => address === "127.0.0.2";
  const hops: Server[] = [];
  const hopPorts: number[] = [];
  const hopHits: string[] = [];
  let target: Server;
  let targetPort = 0;
  let targetHits = 0;

  beforeAll(async () => {
    target = createServer((_req, res) => {
      targetHits += 1;
      res.end("private");
    });
    target.listen(0, "127.0.0.1");
    await once(target, "listening");
    targetPort = (target.address() as AddressInfo).port;
    for (let i = 0; i < 3; i++) {
      const server = createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://x");
        hopHits.push(`${i}${url.pathname}`);
        const next = url.searchParams.get("next");
        if (url.pathname === "/hop" && next) {
          res.writeHead(Number(url.searchParams.get("status")), { location: next }).end();
          return;
        }
        res.end("end");
      });
      server.listen(0, "127.0.0.2");
      await once(server, "listening");
      hops.push(server);
      hopPorts.push((server.address() as AddressInfo).port);
    }
  });
  afterAll(() => {
    target?.close();
    for (const s of hops) s.close();
  });

  const refusedTarget = () =>
    fc.constantFrom(
      `http://127.0.0.1:${targetPort}/`,
      `http://[::ffff:127.0.0.1]:${targetPort}/`,
      `http://[::ffff:7f00:1]:${targetPort}/x`,
      `http://localhost:${targetPort}/`,
      `http://2130706433:${targetPort}/`,
      `http://0x7f.1:${targetPort}/`,
      `http://127.1:${targetPort}/`,
    );

  it("the refused hop is never contacted; a chain of allowed hops is followed to its end", async () => {
    const status = fc.constantFrom(301, 302, 303, 307, 308);
    const chain = fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), status), { minLength: 1, maxLength: 3 });
    const end = fc.oneof(
      { weight: 3, arbitrary: refusedTarget().map((u) => ({ refused: true, url: u })) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 }).map((i) => ({ refused: false, url: i })) },
    );
    const f = guardedFetch({ allowPrivate: false, redirect: "follow", allowed: onlyFirst });
    await fuzz(
      60,
      fc.asyncProperty(chain, end, async (steps, last) => {
        hopHits.length = 0;
        let url =
          typeof last.url === "number" ? `http://127.0.0.2:${hopPorts[last.url]}/end` : (last.url as string);
        for (const [server, code] of [...steps].reverse()) {
          url = `http://127.0.0.2:${hopPorts[server]}/hop?status=${code}&next=${encodeURIComponent(url)}`;
        }
        const expectedHits = [
          ...steps.map(([s]) => `${s}/hop`),
          ...(last.refused ? [] : [`${last.url}/end`]),
        ];
        if (last.refused) {
          await expect(f(url)).rejects.toBeInstanceOf(PrivateNetworkRefusedError);
        } else {
          const res = await f(url);
          expect(res.status).toBe(200);
          expect(await res.text()).toBe("end");
        }
        expect(hopHits).toEqual(expectedHits);
        expect(targetHits).toBe(0);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Bugs this fuzzing found, as exact reproducers (they fail until the service is fixed).

describe("bugs: exact reproducers", () => {
  it("an agent named __proto__ is kept or refused, never dropped while its parent names it", async () => {
    // shared/agent-config.ts builds `agents` as a plain {} and sets agents[name]: for "__proto__"
    // that sets the object's prototype, so the agent vanishes from the parsed (and stored) form.
    const config =
      "agents:\n  root: { model: openai/gpt-4o, sub_agents: [__proto__] }\n  __proto__: { model: openai/gpt-4o }\n";
    const r = await send(
      h.runtime.app,
      "POST",
      "/v1/admin/tenants",
      admin,
      JSON.stringify({ id: "proto-agent", config }),
    );
    if (r.status >= 400) return expect4xx(r, { status: [422], code: ["invalid_config"] });
    const body = r.body as { tenant: { agents: string[] }; api_key: string };
    const run = await send(
      h.runtime.app,
      "POST",
      "/v1/tasks",
      { authorization: `Bearer ${body.api_key}` },
      JSON.stringify({ agent: "__proto__", task: "t" }),
    );
    expect(run.status, run.text).toBeLessThan(500);
    expect(body.tenant.agents).toEqual(["root", "__proto__"]);
  });
});
