/**
 * Fuzzing every route with malformed input (SPEC §4 and §7): bad input is always a 4xx with the
 * error format `{"error":{"code":"<snake_case>","message":"…"}}`, never a 2xx, never a 5xx, never a
 * hang. The generators build inputs that are malformed by construction; where an input might
 * happen to be valid, the check is only "not 5xx and JSON", and a comment says so.
 *
 * Exceptions the contract itself makes:
 * - `POST /v1/tools/{name}`: arguments that fit the tool's schema but name something that does not
 *   exist (an unknown task id, an agent outside `sub_agents`) are the tool's own errors: 200 with
 *   `isError: true`. Arguments that do not fit the schema are 400 `invalid_arguments`.
 * - `POST /mcp` speaks JSON-RPC through the MCP SDK (WebStandardStreamableHTTPServerTransport,
 *   stateless, JSON responses). What the SDK does with garbage, as measured:
 *   - a wrong `Accept` → 406, a wrong `Content-Type` → 415, an unsupported `Mcp-Protocol-Version`
 *     → 400, a body that is not JSON or not a JSON-RPC message (also a batch with any such element)
 *     → 400; all with a JSON-RPC error body `{"jsonrpc":"2.0","error":{"code":<number>,"message"},
 *     "id":null}` (so `error.code` is a number there, not our snake_case string);
 *   - a well-formed request with an unknown method or invalid params → 200 with a JSON-RPC error
 *     object (`error`, no `result`), e.g. -32601 Method not found, -32603 for params that fail the
 *     SDK's own schema;
 *   - `tools/call` of an unknown tool, or of a known tool with arguments that do not fit its
 *     schema → 200 with `result.isError: true` (MCP's convention: tool errors are results);
 *   - notifications and responses (messages without a request) → 202 with no body, as the MCP
 *     spec says; they are not malformed, so the generators never send them alone. An empty batch
 *     `[]` is also answered 202 by the SDK (see the known-bugs block at the end).
 *   The auth and body-size checks in front of /mcp answer with our own error format.
 *
 * Real bugs found while writing this are pinned, as exact reproducers, in the last describe block;
 * the fuzz properties reach them too, so both fail until the service is fixed. FUZZ_SEED=<seed>
 * replays a failed property.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, API_KEY, type Harness, startHarness, testConfig } from "../support/harness.js";

// ---------------------------------------------------------------------------------------------
// Facts of the contract the generators need (SPEC §3, §4, §7, and the harness's default tenant).

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_TASK_BYTES = 100 * 1024; // the default tenant runs with the default limits
const DEFAULT_TENANT = "default";
const TARGET_TENANT = "fuzz-target"; // admin mutations are aimed here, never at the default tenant
const BOUND_CALLER = "orchestrator";
const AGENTS = ["worker", "thinker"]; // root's sub_agents in testConfig
const TOOL_NAMES = [
  "run_background_agent",
  "list_background_agents",
  "view_background_agent",
  "stop_background_agent",
  "wait_background_agents",
] as const;
type ToolName = (typeof TOOL_NAMES)[number];
const isToolName = (n: string) => (TOOL_NAMES as readonly string[]).includes(n);
const STATUSES = ["pending", "running", "completed", "failed", "stopped"];
const MCP_ACCEPT = "application/json, text/event-stream";
const MCP_KNOWN_METHODS = new Set(["initialize", "ping", "tools/list", "tools/call"]);
const MCP_PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07"];

const CALLER_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const TENANT_ID_RE = /^[a-z0-9][a-z0-9-]{1,62}$/;
const SECRET_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const SHAPED_TASK_ID_RE = /^agent_task_[A-Za-z0-9_-]{22}$/;
const SNAKE_RE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const BEARER_RE = /^Bearer\s+(\S+)\s*$/i;

/** Known paths and the methods they serve (SPEC §4, §7); anything else is 404. */
const KNOWN_ROUTES: { re: RegExp; template: string; methods: string[] }[] = [
  { re: /^\/healthz$/, template: "/healthz", methods: ["GET"] },
  { re: /^\/openapi\.json$/, template: "/openapi.json", methods: ["GET"] },
  { re: /^\/mcp$/, template: "/mcp", methods: ["POST"] },
  { re: /^\/v1\/tools$/, template: "/v1/tools", methods: ["GET"] },
  { re: /^\/v1\/tools\/[^/]+$/, template: "/v1/tools/{name}", methods: ["POST"] },
  { re: /^\/v1\/agents$/, template: "/v1/agents", methods: ["GET"] },
  { re: /^\/console$/, template: "/console", methods: ["GET"] },
  { re: /^\/console\/app\.js$/, template: "/console/app.js", methods: ["GET"] },
  { re: /^\/console\/app\.css$/, template: "/console/app.css", methods: ["GET"] },
  { re: /^\/v1\/tasks$/, template: "/v1/tasks", methods: ["GET", "POST"] },
  { re: /^\/v1\/tasks\/[^/]+$/, template: "/v1/tasks/{id}", methods: ["GET"] },
  { re: /^\/v1\/tasks\/[^/]+\/output$/, template: "/v1/tasks/{id}/output", methods: ["GET"] },
  { re: /^\/v1\/tasks\/[^/]+\/events$/, template: "/v1/tasks/{id}/events", methods: ["GET"] },
  { re: /^\/v1\/tasks\/[^/]+\/stop$/, template: "/v1/tasks/{id}/stop", methods: ["POST"] },
  { re: /^\/v1\/admin\/tenants$/, template: "/v1/admin/tenants", methods: ["GET", "POST"] },
  {
    re: /^\/v1\/admin\/tenants\/[^/]+\/config$/,
    template: "/v1/admin/tenants/{id}/config",
    methods: ["PUT"],
  },
  {
    re: /^\/v1\/admin\/tenants\/[^/]+\/limits$/,
    template: "/v1/admin/tenants/{id}/limits",
    methods: ["PATCH"],
  },
  {
    re: /^\/v1\/admin\/tenants\/[^/]+\/secrets$/,
    template: "/v1/admin/tenants/{id}/secrets",
    methods: ["PUT"],
  },
  {
    re: /^\/v1\/admin\/tenants\/[^/]+\/keys$/,
    template: "/v1/admin/tenants/{id}/keys",
    methods: ["GET", "POST"],
  },
  {
    re: /^\/v1\/admin\/tenants\/[^/]+\/keys\/[^/]+$/,
    template: "/v1/admin/tenants/{id}/keys/{key_id}",
    methods: ["DELETE"],
  },
];
const isAdminPath = (path: string) => path === "/v1/admin" || path.startsWith("/v1/admin/");

// ---------------------------------------------------------------------------------------------
// The harness, one real task, a second tenant, and the bookkeeping.

let h: Harness;
let realTaskId = "";
let boundKey = "";

/** Inputs tried per route group ("METHOD /template"), and how many were answered wrongly. */
const tried = new Map<string, number>();
const wrong = new Map<string, number>();

beforeAll(async () => {
  h = await startHarness();
  const task = await h.run("worker", "a real task, so some routes are probed with a real id");
  realTaskId = task.id;
  await h.waitForStatus(realTaskId, "completed");
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const created = await h.request(
    "POST",
    "/v1/admin/tenants",
    { id: TARGET_TENANT, config: testConfig(h.fake.url) },
    admin,
  );
  if (created.status !== 201) throw new Error(`could not create ${TARGET_TENANT}: ${created.text}`);
  const key = await h.request(
    "POST",
    `/v1/admin/tenants/${TARGET_TENANT}/keys`,
    { callers: [BOUND_CALLER] },
    admin,
  );
  if (key.status !== 201) throw new Error(`could not create a bound key: ${key.text}`);
  boundKey = String(key.json.api_key);
});

afterAll(async () => {
  await h?.close();
  const total = [...tried.values()].reduce((a, b) => a + b, 0);
  const bad = [...wrong.values()].reduce((a, b) => a + b, 0);
  const groups = [...tried.entries()].sort(([a], [b]) => a.localeCompare(b));
  // a route is a known path (template or concrete tool path), whatever the method
  const routes = new Set(groups.map(([g]) => /\/\S*/.exec(g)?.[0]).filter((r) => r !== undefined));
  const width = Math.max(0, ...groups.map(([g]) => g.length));
  const lines = groups.map(([g, n]) => {
    const w = wrong.get(g);
    return `  ${g.padEnd(width)} ${String(n).padStart(6)}${w ? `   (${w} answered wrongly)` : ""}`;
  });
  console.log(
    `fuzz: ${total} inputs across ${routes.size} routes (and unknown paths), ${bad === 0 ? "all 4xx" : `${bad} answered wrongly (shrinking included)`}\n${lines.join("\n")}`,
  );
});

// ---------------------------------------------------------------------------------------------
// Sending and checking.

interface Reply {
  group: string;
  request: string;
  status: number;
  text: string;
  body: unknown;
  headers: Headers;
}

const HANG_MS = 15_000;

function preview(text: string | undefined, max = 300): string {
  if (text === undefined) return "(none)";
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, max))}… (${text.length} chars)`;
}

/**
 * One request to the app in process; `group` names the route for the counter. A header whose
 * value is undefined is left out. No answer within HANG_MS is a failure.
 */
async function send(
  group: string,
  method: string,
  path: string,
  headers: Record<string, string | undefined>,
  body?: string,
): Promise<Reply> {
  tried.set(group, (tried.get(group) ?? 0) + 1);
  const sent: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) sent[k] = v;
  const shown = Object.fromEntries(
    Object.entries(sent).map(([k, v]) => [k, v.length > 80 ? `${v.slice(0, 80)}…(${v.length} chars)` : v]),
  );
  const shownPath = path.length > 300 ? `${path.slice(0, 300)}…(${path.length} chars)` : path;
  const request = `${method} ${shownPath} headers=${JSON.stringify(shown)} body=${preview(body)}`;
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: no answer in ${HANG_MS} ms to ${request}`)), HANG_MS);
  });
  const answer = (async (): Promise<Reply> => {
    const res = await h.runtime.app.request(path, {
      method,
      headers: sent,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { group, request, status: res.status, text, body: parsed, headers: res.headers };
  })();
  try {
    return await Promise.race([answer, hang]);
  } finally {
    clearTimeout(timer);
  }
}

const tenantHeaders = (extra: Record<string, string | undefined> = {}) => ({
  authorization: `Bearer ${API_KEY}`,
  "content-type": "application/json",
  ...extra,
});
const adminHeaders = (extra: Record<string, string | undefined> = {}) => ({
  authorization: `Bearer ${ADMIN_TOKEN}`,
  "content-type": "application/json",
  ...extra,
});
const mcpHeaders = (extra: Record<string, string | undefined> = {}) =>
  tenantHeaders({ accept: MCP_ACCEPT, ...extra });
const headersFor = (path: string) =>
  isAdminPath(path) ? adminHeaders() : path === "/mcp" ? mcpHeaders() : tenantHeaders();

function fail(r: Reply, why: string): never {
  wrong.set(r.group, (wrong.get(r.group) ?? 0) + 1);
  throw new Error(`${why}\n  request: ${r.request}\n  answer:  ${r.status} ${preview(r.text, 500)}`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isJson = (r: Reply) => (r.headers.get("content-type") ?? "").includes("application/json");

function isErrorFormat(body: unknown): boolean {
  if (!isObject(body) || !isObject(body.error)) return false;
  const { code, message } = body.error;
  return typeof code === "string" && SNAKE_RE.test(code) && typeof message === "string" && message.length > 0;
}

/** A 4xx with the error format; optionally one of the given statuses and codes. */
function expect4xx(r: Reply, opts: { status?: number | number[]; code?: string | string[] } = {}): void {
  if (r.status < 400 || r.status > 499) fail(r, `expected a 4xx, got ${r.status}`);
  const statuses = opts.status === undefined ? undefined : ([] as number[]).concat(opts.status);
  if (statuses && !statuses.includes(r.status)) fail(r, `expected status ${statuses.join(" or ")}`);
  if (!isJson(r)) fail(r, "expected a JSON answer");
  if (!isErrorFormat(r.body)) fail(r, 'expected {"error":{"code":"<snake_case>","message":"…"}}');
  const codes = opts.code === undefined ? undefined : ([] as string[]).concat(opts.code);
  const code = (r.body as { error: { code: string } }).error.code;
  if (codes && !codes.includes(code)) fail(r, `expected error code ${codes.join(" or ")}, got ${code}`);
  if (r.status === 405 && !r.headers.get("allow")) fail(r, "a 405 must carry an Allow header");
}

/** For inputs that might happen to be valid: no 5xx, a JSON answer, errors in the error format. */
function expectNot5xxJson(r: Reply): void {
  if (r.status >= 500) fail(r, `expected no 5xx, got ${r.status}`);
  if (r.body === undefined || !isJson(r)) fail(r, "expected a JSON answer");
  if (r.status >= 400) expect4xx(r);
}

/** A tool's own error: isError: true, a text, and structuredContent. */
function isToolError(body: unknown): boolean {
  if (!isObject(body) || body.isError !== true || !Array.isArray(body.content)) return false;
  const first: unknown = body.content[0];
  return (
    isObject(first) &&
    first.type === "text" &&
    typeof first.text === "string" &&
    first.text.length > 0 &&
    isObject(body.structuredContent)
  );
}

/** Schema-valid tool arguments naming nothing real: a tool error (200, isError), or at most a 4xx. */
function expectToolRefusal(r: Reply): void {
  if (r.status === 200) {
    if (!isToolError(r.body)) fail(r, "expected a tool error result (isError: true)");
    return;
  }
  expect4xx(r);
}

function isJsonRpcError(m: unknown): boolean {
  return (
    isObject(m) &&
    m.jsonrpc === "2.0" &&
    !("result" in m) &&
    isObject(m.error) &&
    Number.isInteger(m.error.code) &&
    typeof m.error.message === "string" &&
    m.error.message.length > 0
  );
}

/**
 * /mcp refuses: a 4xx (our error format from auth and size checks, a JSON-RPC error from the SDK),
 * or 200 with JSON-RPC error objects only; with `toolErrors`, tool results with isError: true too.
 */
function expectMcpRefusal(r: Reply, opts: { toolErrors?: boolean } = {}): void {
  if (r.status >= 400 && r.status <= 499) {
    if (!isJson(r)) fail(r, "expected a JSON answer");
    if (!isErrorFormat(r.body) && !isJsonRpcError(r.body))
      fail(r, "expected our error format or a JSON-RPC error");
    return;
  }
  if (r.status !== 200) fail(r, `expected a 4xx or a 200 with JSON-RPC errors, got ${r.status}`);
  const messages = Array.isArray(r.body) ? r.body : [r.body];
  if (messages.length === 0) fail(r, "expected at least one JSON-RPC response");
  for (const m of messages) {
    if (isJsonRpcError(m)) continue;
    if (opts.toolErrors && isObject(m) && m.jsonrpc === "2.0" && isToolError(m.result)) continue;
    fail(r, "expected JSON-RPC error objects (error, no result)");
  }
}

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
/** fc.assert with a run count; FUZZ_SEED=<n> replays a run (fast-check prints the seed on failure). */
async function fuzz<T>(numRuns: number, property: fc.IAsyncProperty<T>): Promise<void> {
  await fc.assert(property, { numRuns, ...(seed !== undefined ? { seed } : {}) });
}

// ---------------------------------------------------------------------------------------------
// Generators.

/** Lone surrogates replaced, so the string can be percent-encoded (URLs cannot carry them). */
const wellFormed = (s: string) =>
  s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const nastyPiece = fc.constantFrom(
  "\u0000",
  "\u0007",
  "\u202e",
  "\ufeff",
  "\u200b",
  "\uffff",
  "😀",
  "e\u0301",
  "\\",
  '"',
  "'",
  "${env.SECRET}",
  "%00",
  "%zz",
  "\r\n",
  "<script>",
  "../",
  "NaN",
  "null",
  "constructor",
  "toString",
);
/** Strings of every kind: ASCII, any code point, graphemes, control characters, lone surrogates, NULs. */
const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary-ascii" }),
  fc.string({
    unit: fc.oneof(loneSurrogate, nastyPiece, fc.string({ unit: "binary", minLength: 1, maxLength: 1 })),
  }),
);
const nonEmpty = anyString.filter((s) => s.length > 0);
/** The same, fit for a URL. */
const urlString = anyString.map(wellFormed);
/** A long string, built quickly (fc.string with a large minLength is slow). */
const longString = (min: number, max: number) =>
  fc
    .tuple(fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 8 }), fc.integer({ min, max }))
    .map(([s, n]) => s.repeat(Math.ceil(n / s.length)).slice(0, n));

const smallJson = fc.jsonValue({ maxDepth: 2 });
const smallDict = fc.dictionary(fc.string(), smallJson, { maxKeys: 3 });
const notAString = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(smallJson, { maxLength: 3 }),
  smallDict,
);
const notAnObject = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  anyString,
  fc.array(smallJson, { maxLength: 4 }),
);
const notAnArray = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), anyString, smallDict);
const notAnInteger = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
  anyString,
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
);

/**
 * Text that JSON.parse refuses; never blank (an empty body means "no body" to some routes). Leading
 * BOMs are no fault: the runtime's fetch body decoding drops them (RFC 8259 allows ignoring one).
 */
const notJson = fc
  .oneof(
    anyString,
    fc.json().map((j) => `${j}}`),
    fc.json().map((j) => j.slice(0, Math.max(0, j.length - 1))),
    fc.json().map((j) => `${j}\u0000`),
    fc.constantFrom(
      "{",
      "[",
      '{"a":',
      "{'a': 1}",
      "undefined",
      "NaN",
      "{a:1}",
      "[1,]",
      '{"a":1,}',
      "\u0000",
      "\ufeff{",
      '{"a":"\\x41"}',
    ),
  )
  .filter((s) => {
    if (s.trim() === "") return false;
    try {
      JSON.parse(s.replace(/^\ufeff+/, ""));
      return false;
    } catch {
      return true;
    }
  });

/** Keys a strict schema does not know. `__proto__` is left out: see the report (it is dropped). */
const extraKey = (allowed: string[]) =>
  fc.oneof(fc.string(), anyString).filter((k) => !allowed.includes(k) && k !== "__proto__");

/** A change to one field that makes an object invalid for its schema: a bad value, or no field. */
type Patch = { field: string; value: unknown } | { field: string; drop: true };
const set = (field: string, value: fc.Arbitrary<unknown>): fc.Arbitrary<Patch> =>
  value.map((v) => ({ field, value: v }));
const drop = (field: string): fc.Arbitrary<Patch> => fc.constant({ field, drop: true as const });
const extra = (allowed: string[]): fc.Arbitrary<Patch> =>
  fc.tuple(extraKey(allowed), smallJson).map(([field, value]) => ({ field, value }));

function applyPatches(base: Record<string, unknown>, patches: Patch[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const p of patches) {
    if ("drop" in p) delete out[p.field];
    else
      Object.defineProperty(out, p.field, {
        value: p.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return out;
}

/** A valid-looking object with one to three invalidating patches: malformed by construction. */
const broken = (base: fc.Arbitrary<Record<string, unknown>>, patches: fc.Arbitrary<Patch>) =>
  fc.tuple(base, fc.array(patches, { minLength: 1, maxLength: 3 })).map(([b, ps]) => applyPatches(b, ps));

/** Deeply nested JSON text (arrays or objects), sometimes cut short by one character. */
const deepJson = fc
  .tuple(fc.integer({ min: 50, max: 60_000 }), fc.boolean(), fc.boolean())
  .map(([depth, arrays, truncate]) => {
    const text = arrays
      ? `${"[".repeat(depth)}1${"]".repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
    return truncate ? text.slice(0, -1) : text;
  });

// ---- task bodies (POST /v1/tasks) ----

const okMetadata = fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 40 }), {
  maxKeys: 4,
});
const TASK_FIELDS = ["agent", "task", "expected_output", "metadata"];
const taskBase = fc.record(
  {
    agent: fc.constantFrom(...AGENTS),
    task: fc.string({ minLength: 1, maxLength: 60 }),
    expected_output: fc.string({ maxLength: 40 }),
    metadata: okMetadata,
  },
  { requiredKeys: ["agent", "task"] },
) as fc.Arbitrary<Record<string, unknown>>;
const badMetadata = fc.oneof(
  notAnObject,
  fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), notAString, { minKeys: 1, maxKeys: 3 }),
  fc.string({ maxLength: 5 }).map((v) => ({ "": v })),
  fc.tuple(longString(129, 400), fc.string()).map(([k, v]) => ({ [k]: v })),
  longString(1025, 3000).map((v) => ({ k: v })),
  fc
    .uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 17, maxLength: 40 })
    .map((keys) => Object.fromEntries(keys.map((k) => [k, "v"]))),
);
const brokenTaskBody = broken(
  taskBase,
  fc.oneof(
    drop("agent"),
    drop("task"),
    set("agent", notAString),
    set("task", notAString),
    set("expected_output", notAString),
    set("agent", fc.constant("")),
    set("task", fc.constant("")),
    set("agent", longString(129, 1000)),
    set("metadata", badMetadata),
    extra(TASK_FIELDS),
  ),
);

// ---- tool arguments ----

const runBase = fc.record(
  {
    agent: fc.constantFrom(...AGENTS),
    task: fc.string({ minLength: 1, maxLength: 60 }),
    expected_output: fc.string({ maxLength: 40 }),
  },
  { requiredKeys: ["agent", "task"] },
) as fc.Arbitrary<Record<string, unknown>>;
const idBase = fc.record({ task_id: nonEmpty }) as fc.Arbitrary<Record<string, unknown>>;
const waitBase = fc.record(
  {
    task_ids: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 4 }),
    timeout: fc.constant(0),
  },
  { requiredKeys: ["task_ids"] },
) as fc.Arbitrary<Record<string, unknown>>;
const brokenTaskId = fc.oneof(
  drop("task_id"),
  set("task_id", notAString),
  set("task_id", fc.constant("")),
  extra(["task_id"]),
);

/** Arguments that break each tool's schema (SPEC §3). */
const brokenArgs: Record<ToolName, fc.Arbitrary<Record<string, unknown>>> = {
  run_background_agent: broken(
    runBase,
    fc.oneof(
      drop("agent"),
      drop("task"),
      set("agent", notAString),
      set("task", notAString),
      set("expected_output", notAString),
      set("agent", fc.constant("")),
      set("task", fc.constant("")),
      extra(["agent", "task", "expected_output"]),
    ),
  ),
  // no arguments at all: any key is one too many
  list_background_agents: broken(fc.constant<Record<string, unknown>>({}), extra([])),
  view_background_agent: broken(idBase, brokenTaskId),
  stop_background_agent: broken(idBase, brokenTaskId),
  wait_background_agents: broken(
    waitBase,
    fc.oneof(
      drop("task_ids"),
      set("task_ids", notAnArray),
      set("task_ids", fc.constant([])),
      set(
        "task_ids",
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 101, maxLength: 130 }),
      ),
      set(
        "task_ids",
        fc.string({ minLength: 1, maxLength: 10 }).map((id) => [id, `${id}-other`, id]),
      ),
      set(
        "task_ids",
        fc
          .array(fc.oneof(notAString, fc.constant("")), { minLength: 1, maxLength: 3 })
          .map((xs) => ["ok", ...xs]),
      ),
      set("timeout", notAnInteger),
      set("timeout", fc.integer({ max: -1 })),
      set("timeout", fc.integer({ min: 841 })),
      extra(["task_ids", "timeout"]),
    ),
  ),
};

/** Task ids that exist nowhere: any string, very long ones, unicode, NULs, ids of the right shape. */
const ghostTaskId = fc.oneof(
  { weight: 3, arbitrary: nonEmpty },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{22}$/).map((s) => `agent_task_${s}`) },
  { weight: 2, arbitrary: longString(200, 4000) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 300, maxLength: 800 }) },
);

// ---- headers ----

/** Characters a header value may carry (a ByteString without CR, LF or NUL). */
const headerChar = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09))
  .map((c) => String.fromCharCode(c));
const headerValue = (maxLength = 200) => fc.string({ unit: headerChar, maxLength });
/** A header value as Headers keeps it: trimmed of spaces and tabs. */
const normalized = (v: string) => v.replace(/^[\t ]+|[\t ]+$/g, "");

/** Authorization values that carry no valid credential (the server's own Bearer rule filters). */
const badAuthorization = fc
  .oneof(
    fc.constant(undefined),
    fc.constant(""),
    headerValue(),
    headerValue().map((t) => `Bearer ${t}`),
    fc
      .tuple(
        fc.constantFrom("Basic", "Token", "Digest", "Bearer:", "Bearer=", "B", "Bearer\t\t", ""),
        headerValue(),
      )
      .map(([s, t]) => `${s} ${t}`),
    fc.constantFrom(
      "Bearer",
      "Bearer ",
      `Bearer ${API_KEY} ${API_KEY}`,
      `Bearer ${API_KEY}x`,
      `Bearer ${API_KEY.toUpperCase()}`,
      `Bearer ${API_KEY.slice(0, -1)}`,
      `Bearer "${API_KEY}"`,
      `Basic ${Buffer.from(`user:${API_KEY}`).toString("base64")}`,
      `Token ${API_KEY}`,
      API_KEY,
      `Bearer ${ADMIN_TOKEN}x`,
      `Bearer${API_KEY}`,
    ),
    longString(2000, 100_000).map((t) => `Bearer ${t}`),
  )
  .filter((v) => {
    if (v === undefined) return true;
    const token = BEARER_RE.exec(normalized(v))?.[1];
    return token !== API_KEY && token !== ADMIN_TOKEN;
  });

const badCaller = fc
  .oneof(
    fc.constant(""),
    headerValue(40),
    fc
      .tuple(fc.string({ minLength: 1, maxLength: 10 }), headerValue(5), fc.string({ maxLength: 10 }))
      .map(([a, b, c]) => `${a}${b}${c}`),
    fc.constantFrom(
      "ro ot",
      "root/worker",
      "root\tx",
      "ünïcode",
      "a,b",
      "root;",
      "*",
      "%72oot",
      "root\u00a0",
    ),
    fc.stringMatching(/^[A-Za-z0-9_.:-]{129,300}$/),
  )
  .filter((v) => !CALLER_RE.test(normalized(v)));
const otherCaller = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,128}$/).filter((c) => c !== BOUND_CALLER);

// ---- path segments ----

/** A task id as a raw path segment: percent-encoded junk, raw junk, over-long, or of the right shape. */
const idSegment = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 60 }).map(encodeURIComponent),
  },
  { weight: 2, arbitrary: urlString.filter((s) => s.length > 0).map(encodeURIComponent) },
  {
    weight: 2,
    arbitrary: fc.string({
      unit: fc.constantFrom(
        ..."% %2 %FF %C3 %E2%82 %00 %2F %2e ~ ! $ & ' ( ) * + , ; = : @ - . _ a Z 0".split(" "),
      ),
      minLength: 1,
      maxLength: 30,
    }),
  },
  { weight: 1, arbitrary: longString(201, 3000).map(encodeURIComponent) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{22}$/).map((s) => `agent_task_${s}`) },
);

// ---- query values ----

/** What z.coerce.number().int() with a range accepts; the generators keep clear of it. */
const intIn = (v: string, min: number, max: number) => {
  const n = Number(v);
  return Number.isInteger(n) && n >= min && n <= max;
};
const numberishJunk = fc.oneof(
  urlString,
  fc.integer().map(String),
  fc.double().map(String),
  fc.constantFrom(
    "",
    " ",
    "0",
    "-1",
    "101",
    "1001",
    "1.5",
    "1e400",
    "-0.5",
    "Infinity",
    "NaN",
    "1_0",
    "١",
    "0b2",
    "9007199254740993",
    "2e53",
    "[1]",
    "true",
  ),
);
const badLimit = numberishJunk.filter((v) => !intIn(v, 1, 100));
const badOutputLimit = numberishJunk.filter((v) => !intIn(v, 1, 1000));
const badAfter = numberishJunk.filter((v) => !intIn(v, 0, Number.MAX_SAFE_INTEGER));
const badStatus = urlString.filter((s) => !STATUSES.includes(s));
const badAgentFilter = fc.oneof(fc.constant(""), longString(129, 1000));
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v) ?? "", "utf8").toString("base64url");
/** Cursors that cannot be an earlier page's next_cursor. */
const badCursor = fc.oneof(
  fc.constant(""),
  urlString.filter((s) => s.length > 0 && s.length <= 2048),
  longString(2049, 6000),
  smallJson.map(b64),
  fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? "").toString("base64")),
  fc.record({ pk: notAString, sk: notAString, gsi1pk: fc.constant(`TENANT#${DEFAULT_TENANT}`) }).map(b64),
  fc
    .record({ pk: fc.string(), sk: fc.string(), gsi1pk: fc.string(), gsi1sk: fc.string() })
    .filter((c) => c.gsi1pk !== `TENANT#${DEFAULT_TENANT}`)
    .map(b64),
  // another tenant's partition
  fc
    .record({
      pk: fc.string(),
      sk: fc.string(),
      gsi1pk: fc.constant(`TENANT#${TARGET_TENANT}`),
      gsi1sk: fc.string(),
    })
    .map(b64),
);
/**
 * Forged cursors that carry this listing's partition but a start key DynamoDB cannot use (a key
 * missing or empty): they must be refused with 400, not handed to DynamoDB.
 */
const brokenForgedCursor = fc
  .record(
    {
      pk: fc.oneof(fc.constant(""), fc.string({ minLength: 1, maxLength: 40 })),
      sk: fc.oneof(fc.constant(""), fc.string({ minLength: 1, maxLength: 40 })),
      gsi1pk: fc.constant(`TENANT#${DEFAULT_TENANT}`),
      gsi1sk: fc.oneof(fc.constant(""), fc.string({ minLength: 1, maxLength: 40 })),
    },
    { requiredKeys: ["pk", "sk", "gsi1pk"] },
  )
  .filter((c) => c.pk === "" || c.sk === "" || c.gsi1sk === undefined || c.gsi1sk === "")
  .map((c) => `cursor=${b64(c)}`);
/** The same for a listing by status (the by_status index). */
const brokenForgedStatusCursor = fc
  .tuple(
    fc.constantFrom(...STATUSES),
    fc.record(
      {
        pk: fc.oneof(fc.constant(""), fc.string({ minLength: 1, maxLength: 40 })),
        sk: fc.oneof(fc.constant(""), fc.string({ minLength: 1, maxLength: 40 })),
        gsi2sk: fc.oneof(fc.constant(""), fc.string({ minLength: 1, maxLength: 40 })),
      },
      { requiredKeys: ["pk", "sk"] },
    ),
  )
  .filter(([, c]) => c.pk === "" || c.sk === "" || c.gsi2sk === undefined || c.gsi2sk === "")
  .map(
    ([status, c]) =>
      `status=${status}&cursor=${b64({ ...c, gsi2pk: `TENANT#${DEFAULT_TENANT}#STATUS#${status}` })}`,
  );

// ---- admin bodies ----

const ghostTenantId = fc
  .stringMatching(/^[a-z0-9][a-z0-9-]{1,62}$/)
  .filter((id) => id !== DEFAULT_TENANT && id !== TARGET_TENANT);
/** Tenant ids off the pattern, already fit for a path (percent-encoded, never empty). */
const badTenantSegment = fc
  .oneof(
    fc.stringMatching(/^[a-z0-9]$/),
    fc.stringMatching(/^-[a-z0-9-]{1,20}$/),
    fc.stringMatching(/^[a-z0-9][A-Z_.~][a-z0-9-]{0,10}$/),
    fc.stringMatching(/^[a-z0-9][a-z0-9-]{63,80}$/),
    urlString,
  )
  .filter((s) => s.length > 0 && !TENANT_ID_RE.test(s))
  .map(encodeURIComponent);
const badTenantIdValue = fc.oneof(
  notAString,
  fc.constant(""),
  urlString.filter((s) => !TENANT_ID_RE.test(s)),
  fc.stringMatching(/^[a-z0-9][a-z0-9-]{63,80}$/),
);
/**
 * YAML that is no valid agent config: JSON junk, text junk, and some classic YAML traps. (Note:
 * `agents: {}`, a config without a single agent, is accepted by the service, so it is not here.)
 */
const garbageConfig = fc.oneof(
  nonEmpty,
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom(
    "a",
    "agents:",
    "agents: []",
    "agents: ~",
    "agents:\n  root:\n",
    "agents:\n  root:\n    model: nope\n",
    "agents:\n  root:\n    model: openai/x\n    sub_agents: [ghost]\n",
    "agents: !!binary aGVsbG8=",
    "agents: !!set {a, b}",
    "!!python/object:os.system ['ls']",
    "a: &a [*a]",
    "a: &a [x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n",
    "<<: *missing",
    "agents:\n  root:\n    model: openai/x\n  root:\n    model: openai/y\n",
    "---\n---\n---\n",
    "%YAML 1.2\n---\nagents: []",
    "\ufeffagents: []",
    "agents:\n\troot: {}",
    `${"[".repeat(5000)}${"]".repeat(5000)}`,
    `${"- ".repeat(3000)}x`,
    `${"a:\n ".repeat(2000)}b`,
  ),
);
const LIMIT_RANGES: Record<string, [number, number]> = {
  max_running_tasks: [1, 10_000],
  max_task_seconds: [1, 86_400],
  max_output_bytes: [1, 1024 ** 3],
  max_task_bytes: [16, 1024 * 1024],
  retention_days: [1, 3650],
};
const LIMIT_FIELDS = Object.keys(LIMIT_RANGES);
/** A value out of a limit's range, or of the wrong type. */
const badLimitValue = (field: string) => {
  const [min, max] = LIMIT_RANGES[field] ?? [0, 0];
  return fc.oneof(
    notAnInteger,
    fc.integer({ max: min - 1 }),
    fc.integer({ min: max + 1 }),
    fc.constant(1e300),
  );
};
/** A limits patch with at least one bad value or unknown key (other entries are valid). */
const badLimitsPatch = broken(
  fc
    .subarray(LIMIT_FIELDS)
    .map((fields) => Object.fromEntries(fields.map((f) => [f, LIMIT_RANGES[f]?.[1] ?? 1]))) as fc.Arbitrary<
    Record<string, unknown>
  >,
  fc.oneof(...LIMIT_FIELDS.map((f) => set(f, badLimitValue(f))), extra(LIMIT_FIELDS)),
);
const badSecretName = fc
  .oneof(
    fc.constant(""),
    fc.stringMatching(/^[0-9][A-Za-z0-9_]{0,10}$/),
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,5}[-.\s/$][A-Za-z0-9_]{0,5}$/),
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{128,160}$/),
    anyString,
  )
  .filter((n) => !SECRET_NAME_RE.test(n));
const okSecrets = fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,15}$/), fc.string({ maxLength: 30 }), {
  maxKeys: 4,
});
const badSecrets = fc.oneof(
  notAnObject,
  fc
    .tuple(okSecrets, badSecretName, fc.string({ maxLength: 20 }))
    .map(([ok, name, v]) => ({ ...ok, [name]: v })),
  fc
    .tuple(okSecrets, fc.stringMatching(/^[A-Z][A-Z0-9_]{0,10}$/), notAString)
    .map(([ok, name, v]) => ({ ...ok, [name]: v })),
  fc
    .uniqueArray(fc.stringMatching(/^[A-Z][A-Z0-9_]{2,12}$/), { minLength: 101, maxLength: 120 })
    .map((names) => Object.fromEntries(names.map((n) => [n, "v"]))),
);
/** Bodies for POST …/keys that are no `{callers?: [1–50 agent names]}` (an empty body is valid). */
const badKeyBody = fc.oneof(
  notJson,
  notAnObject.map((v) => JSON.stringify(v)),
  broken(
    fc.constant<Record<string, unknown>>({}),
    fc.oneof(
      set("callers", notAnArray),
      set("callers", fc.constant([])),
      set("callers", fc.array(fc.oneof(notAString, badCaller), { minLength: 1, maxLength: 3 })),
      set("callers", fc.uniqueArray(fc.stringMatching(/^[a-z]{3,10}$/), { minLength: 51, maxLength: 60 })),
      extra(["callers"]),
    ),
  ).map((b) => JSON.stringify(b)),
);

// ---- MCP messages ----

const rpcId = fc.oneof(fc.integer(), fc.string({ maxLength: 20 }));
/** One request the server must answer with a JSON-RPC error (or a tool error result). */
const badRpcRequest = fc.oneof(
  // a method nobody serves
  fc.record(
    {
      jsonrpc: fc.constant("2.0"),
      id: rpcId,
      method: anyString.filter((m) => !MCP_KNOWN_METHODS.has(m)),
      params: fc.oneof(smallDict, notAnObject),
    },
    { requiredKeys: ["jsonrpc", "id", "method"] },
  ),
  // tools/call: params of the wrong shape, an unknown tool, or arguments off the tool's schema
  fc.record({
    jsonrpc: fc.constant("2.0"),
    id: rpcId,
    method: fc.constant("tools/call"),
    params: fc.oneof(
      notAnObject,
      fc.record({ name: notAString, arguments: smallDict }),
      fc.record({ name: anyString.filter((n) => !isToolName(n)) }),
      fc.record({ name: fc.constantFrom(...TOOL_NAMES), arguments: notAnObject }),
      fc
        .constantFrom(...TOOL_NAMES)
        .chain((name) => brokenArgs[name].map((args) => ({ name, arguments: args }))),
    ),
  }),
  // tools/list with params it cannot take
  fc.record({
    jsonrpc: fc.constant("2.0"),
    id: rpcId,
    method: fc.constant("tools/list"),
    params: fc.oneof(notAnObject, fc.record({ cursor: notAString })),
  }),
  // initialize without what it needs
  fc.record({
    jsonrpc: fc.constant("2.0"),
    id: rpcId,
    method: fc.constant("initialize"),
    params: fc.oneof(
      notAnObject,
      fc.dictionary(extraKey(["protocolVersion", "capabilities", "clientInfo"]), smallJson, { maxKeys: 2 }),
    ),
  }),
);
/** Something that is no JSON-RPC message at all. */
const notRpcMessage = fc.oneof(
  notAnObject.filter((v) => !Array.isArray(v)),
  // no or a wrong "jsonrpc"
  fc
    .tuple(
      smallDict,
      fc.option(
        fc.oneof(
          notAString,
          anyString.filter((s) => s !== "2.0"),
        ),
      ),
    )
    .map(([o, v]) => {
      const out: Record<string, unknown> = { ...o, method: "tools/list", id: 1 };
      if (v === null) delete out.jsonrpc;
      else out.jsonrpc = v;
      return out;
    }),
  // an id of the wrong type
  fc.record({
    jsonrpc: fc.constant("2.0"),
    id: fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
      fc.dictionary(fc.string(), fc.integer(), { maxKeys: 1 }),
    ),
    method: fc.constant("tools/list"),
  }),
  // a method that is no string
  fc.record({ jsonrpc: fc.constant("2.0"), id: rpcId, method: notAString }),
);

// ---------------------------------------------------------------------------------------------
// The properties. Run counts are set so the file runs in well under a minute on 2 cores.

const RUNS = {
  tasksBody: 1000,
  tasksSemantic: 200,
  toolsBroken: 300, // per tool
  toolsSemantic: 300,
  toolsUnknown: 200,
  mcp: 1500,
  mcpHeaders: 300,
  adminCreate: 500,
  adminConfig: 300,
  adminLimits: 400,
  adminSecrets: 400,
  adminKeys: 400,
  deep: 40,
  auth: 1500,
  caller: 600,
  idempotency: 150,
  pathIds: 600,
  listQuery: 1000,
  forgedCursor: 100,
  outputQuery: 600,
  methods: 1000,
  unknownPaths: 800,
};

describe("fuzz: bodies", () => {
  it("POST /v1/tasks: malformed bodies are 400 invalid_request", async () => {
    const body = fc.oneof(
      { weight: 4, arbitrary: brokenTaskBody.map((b) => JSON.stringify(b)) },
      { weight: 1, arbitrary: notAnObject.map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: notJson },
    );
    await fuzz(
      RUNS.tasksBody,
      fc.asyncProperty(body, async (text) => {
        expect4xx(await send("POST /v1/tasks", "POST", "/v1/tasks", tenantHeaders(), text), {
          status: 400,
          code: "invalid_request",
        });
      }),
    );
  });

  it("POST /v1/tasks: an agent outside sub_agents is 403, task text over max_task_bytes 413", async () => {
    const input = fc.oneof(
      fc
        .record({
          agent: fc.string({ minLength: 1, maxLength: 128 }),
          task: fc.string({ minLength: 1, maxLength: 50 }),
        })
        .filter((b) => !AGENTS.includes(b.agent))
        .map((b) => ({ body: b, status: 403, code: "agent_not_allowed" })),
      fc.tuple(fc.constantFrom("x", "é", "€", "😀"), fc.integer({ min: 1, max: 2000 })).map(([ch, over]) => {
        // counted in bytes: multi-byte text goes over with fewer characters than the limit
        const task = ch.repeat(Math.ceil((MAX_TASK_BYTES + over) / Buffer.byteLength(ch)));
        return { body: { agent: "worker", task }, status: 413, code: "task_too_large" };
      }),
    );
    await fuzz(
      RUNS.tasksSemantic,
      fc.asyncProperty(input, async ({ body, status, code }) => {
        const r = await send("POST /v1/tasks", "POST", "/v1/tasks", tenantHeaders(), JSON.stringify(body));
        expect4xx(r, { status, code });
      }),
    );
  });

  for (const tool of TOOL_NAMES) {
    it(`POST /v1/tools/${tool}: arguments off the schema are 400 invalid_arguments`, async () => {
      const input = fc.oneof(
        { weight: 4, arbitrary: brokenArgs[tool].map((b) => ({ text: JSON.stringify(b), json: true })) },
        { weight: 1, arbitrary: notAnObject.map((v) => ({ text: JSON.stringify(v), json: true })) },
        { weight: 1, arbitrary: notJson.map((text) => ({ text, json: false })) },
      );
      await fuzz(
        RUNS.toolsBroken,
        fc.asyncProperty(input, async ({ text, json }) => {
          const r = await send(`POST /v1/tools/${tool}`, "POST", `/v1/tools/${tool}`, tenantHeaders(), text);
          // text that is no JSON fails before the tool's schema is looked at: invalid_request
          expect4xx(r, {
            status: 400,
            code: json ? "invalid_arguments" : ["invalid_arguments", "invalid_request"],
          });
        }),
      );
    });
  }

  it("POST /v1/tools/{name}: schema-valid arguments naming nothing real are tool errors (200, isError)", async () => {
    const input = fc.oneof(
      fc
        .record({ agent: nonEmpty.filter((a) => !AGENTS.includes(a)), task: nonEmpty })
        .map((args) => ({ tool: "run_background_agent", args })),
      ghostTaskId.map((task_id) => ({ tool: "view_background_agent", args: { task_id } })),
      ghostTaskId.map((task_id) => ({ tool: "stop_background_agent", args: { task_id } })),
      fc
        .uniqueArray(ghostTaskId, { minLength: 1, maxLength: 4 })
        .map((task_ids) => ({ tool: "wait_background_agents", args: { task_ids, timeout: 0 } })),
    );
    await fuzz(
      RUNS.toolsSemantic,
      fc.asyncProperty(input, async ({ tool, args }) => {
        const path = `/v1/tools/${tool}`;
        expectToolRefusal(await send(`POST ${path}`, "POST", path, tenantHeaders(), JSON.stringify(args)));
      }),
    );
  });

  it("POST /v1/tools/{unknown}: 404 (or 400 when the body is no JSON object)", async () => {
    const input = fc.tuple(
      urlString.filter((n) => n.length > 0 && !isToolName(n)),
      fc.oneof(
        fc.constant("{}"),
        notJson,
        smallJson.map((v) => JSON.stringify(v)),
      ),
    );
    await fuzz(
      RUNS.toolsUnknown,
      fc.asyncProperty(input, async ([name, body]) => {
        const r = await send(
          "POST /v1/tools/{name}",
          "POST",
          `/v1/tools/${encodeURIComponent(name)}`,
          tenantHeaders(),
          body,
        );
        // "." and ".." are path steps: the request lands on another path (404 or 405 there)
        expect4xx(r, { code: ["not_found", "invalid_arguments", "invalid_request", "method_not_allowed"] });
      }),
    );
  });

  it("POST /mcp: garbage is a 4xx or a JSON-RPC error, never a result", async () => {
    const input = fc.oneof(
      { weight: 2, arbitrary: notJson.map((text) => ({ text, toolErrors: false })) },
      { weight: 2, arbitrary: notRpcMessage.map((m) => ({ text: JSON.stringify(m), toolErrors: false })) },
      { weight: 5, arbitrary: badRpcRequest.map((m) => ({ text: JSON.stringify(m), toolErrors: true })) },
      {
        weight: 2,
        // batches holding at least one request (notifications alone are a 202), junk mixed in
        arbitrary: fc
          .array(fc.oneof(badRpcRequest, notRpcMessage), { minLength: 1, maxLength: 4 })
          .filter((ms) => ms.some((m) => isObject(m) && "id" in m && "method" in m))
          .map((ms) => ({ text: JSON.stringify(ms), toolErrors: true })),
      },
    );
    await fuzz(
      RUNS.mcp,
      fc.asyncProperty(input, async ({ text, toolErrors }) => {
        expectMcpRefusal(await send("POST /mcp", "POST", "/mcp", mcpHeaders(), text), { toolErrors });
      }),
    );
  });

  it("POST /mcp: a bad Accept, Content-Type or Mcp-Protocol-Version is a 4xx", async () => {
    const listTools = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
    const badHeaders = fc.oneof(
      headerValue(80)
        .filter((v) => !(v.includes("application/json") && v.includes("text/event-stream")))
        .map((accept) => ({ accept })),
      fc.constant({ accept: undefined }),
      fc
        .oneof(
          headerValue(80),
          fc.constantFrom(
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "application/jsonx",
            "json",
          ),
        )
        .filter(
          (ct) =>
            !ct.toLowerCase().includes("application/json") || ct.toLowerCase().includes("application/jsonx"),
        )
        .map((ct) => ({ "content-type": ct })),
      fc.constant({ "content-type": undefined }),
      headerValue(40)
        .filter((v) => !MCP_PROTOCOL_VERSIONS.includes(normalized(v)))
        .map((v) => ({ "mcp-protocol-version": v })),
    );
    await fuzz(
      RUNS.mcpHeaders,
      fc.asyncProperty(badHeaders, async (extraHeaders) => {
        const r = await send("POST /mcp", "POST", "/mcp", mcpHeaders(extraHeaders), listTools);
        if (r.status < 400 || r.status > 499) fail(r, `expected a 4xx, got ${r.status}`);
        expectMcpRefusal(r);
      }),
    );
  });

  it("admin POST /v1/admin/tenants: malformed bodies are 400, configs that are no agent config 422", async () => {
    const base = fc.record(
      { id: ghostTenantId, config: fc.constant("agents: {}"), limits: fc.constant({ max_running_tasks: 3 }) },
      { requiredKeys: ["id", "config"] },
    ) as fc.Arbitrary<Record<string, unknown>>;
    const input = fc.oneof(
      broken(
        base,
        fc.oneof(
          drop("id"),
          drop("config"),
          set("id", badTenantIdValue),
          set("config", fc.oneof(notAString, fc.constant(""))),
          set("limits", notAnObject),
          set("limits", badLimitsPatch),
          extra(["id", "config", "limits"]),
        ),
      ).map((b) => ({ text: JSON.stringify(b), code: ["invalid_request"] })),
      notAnObject.map((v) => ({ text: JSON.stringify(v), code: ["invalid_request"] })),
      notJson.map((text) => ({ text, code: ["invalid_request"] })),
      // well-formed, but the config is junk: 422 (checked before the id, so never 409)
      fc
        .record({ id: ghostTenantId, config: garbageConfig })
        .map((b) => ({ text: JSON.stringify(b), code: ["invalid_config", "invalid_request"] })),
    );
    await fuzz(
      RUNS.adminCreate,
      fc.asyncProperty(input, async ({ text, code }) => {
        const r = await send("POST /v1/admin/tenants", "POST", "/v1/admin/tenants", adminHeaders(), text);
        expect4xx(r, { code });
      }),
    );
  });

  it("admin PUT /v1/admin/tenants/{id}/config: 400, 404 or 422, never applied", async () => {
    const input = fc.oneof(
      garbageConfig.map((config) => ({
        id: TARGET_TENANT,
        text: JSON.stringify({ config }),
        code: ["invalid_config", "invalid_request"],
      })),
      broken(
        fc.constant<Record<string, unknown>>({ config: "agents: {}" }),
        fc.oneof(drop("config"), set("config", fc.oneof(notAString, fc.constant(""))), extra(["config"])),
      ).map((b) => ({ id: TARGET_TENANT, text: JSON.stringify(b), code: ["invalid_request"] })),
      notJson.map((text) => ({ id: TARGET_TENANT, text, code: ["invalid_request"] })),
      badTenantSegment.map((id) => ({
        id,
        text: '{"config":"agents: {}"}',
        code: ["invalid_request", "not_found", "method_not_allowed"],
      })),
      // an unknown tenant: its config is checked first (422) or the tenant is missing (404)
      ghostTenantId.map((id) => ({
        id,
        text: JSON.stringify({ config: "agents:\n  root:\n    model: openai/x\n" }),
        code: ["tenant_not_found", "invalid_config"],
      })),
    );
    await fuzz(
      RUNS.adminConfig,
      fc.asyncProperty(input, async ({ id, text, code }) => {
        const path = `/v1/admin/tenants/${id}/config`;
        expect4xx(await send("PUT /v1/admin/tenants/{id}/config", "PUT", path, adminHeaders(), text), {
          code,
        });
      }),
    );
  });

  it("admin PATCH /v1/admin/tenants/{id}/limits: bad values are 400, unknown tenants 404", async () => {
    const input = fc.oneof(
      {
        weight: 4,
        arbitrary: badLimitsPatch.map((b) => ({
          id: TARGET_TENANT,
          text: JSON.stringify(b),
          code: ["invalid_request"],
        })),
      },
      {
        weight: 1,
        arbitrary: notAnObject.map((v) => ({
          id: TARGET_TENANT,
          text: JSON.stringify(v),
          code: ["invalid_request"],
        })),
      },
      {
        weight: 1,
        arbitrary: notJson.map((text) => ({ id: TARGET_TENANT, text, code: ["invalid_request"] })),
      },
      {
        weight: 1,
        arbitrary: badTenantSegment.map((id) => ({
          id,
          text: '{"max_running_tasks":5}',
          code: ["invalid_request", "not_found", "method_not_allowed"],
        })),
      },
      {
        weight: 1,
        arbitrary: ghostTenantId.map((id) => ({
          id,
          text: '{"max_running_tasks":5}',
          code: ["tenant_not_found"],
        })),
      },
    );
    await fuzz(
      RUNS.adminLimits,
      fc.asyncProperty(input, async ({ id, text, code }) => {
        const path = `/v1/admin/tenants/${id}/limits`;
        expect4xx(await send("PATCH /v1/admin/tenants/{id}/limits", "PATCH", path, adminHeaders(), text), {
          code,
        });
      }),
    );
  });

  it("admin PUT /v1/admin/tenants/{id}/secrets: bad names, values and shapes are 400", async () => {
    const input = fc.oneof(
      {
        weight: 4,
        arbitrary: badSecrets.map((b) => ({
          id: TARGET_TENANT,
          text: JSON.stringify(b),
          code: ["invalid_request"],
        })),
      },
      {
        weight: 1,
        arbitrary: notJson.map((text) => ({ id: TARGET_TENANT, text, code: ["invalid_request"] })),
      },
      {
        weight: 1,
        arbitrary: ghostTenantId.map((id) => ({ id, text: '{"A":"b"}', code: ["tenant_not_found"] })),
      },
      {
        weight: 1,
        arbitrary: badTenantSegment.map((id) => ({
          id,
          text: '{"A":"b"}',
          code: ["invalid_request", "not_found", "method_not_allowed"],
        })),
      },
    );
    await fuzz(
      RUNS.adminSecrets,
      fc.asyncProperty(input, async ({ id, text, code }) => {
        const path = `/v1/admin/tenants/${id}/secrets`;
        expect4xx(await send("PUT /v1/admin/tenants/{id}/secrets", "PUT", path, adminHeaders(), text), {
          code,
        });
      }),
    );
  });

  it("admin keys: bad bodies are 400, unknown tenants and keys 404", async () => {
    type KeyCase = { method: string; template: string; path: string; text?: string; code: string[] };
    const keysOf = (id: string) => `/v1/admin/tenants/${id}/keys`;
    const input: fc.Arbitrary<KeyCase> = fc.oneof(
      badKeyBody.map((text) => ({
        method: "POST",
        template: "/v1/admin/tenants/{id}/keys",
        path: keysOf(TARGET_TENANT),
        text,
        code: ["invalid_request"],
      })),
      fc.tuple(fc.constantFrom("GET", "POST"), ghostTenantId).map(([method, id]) => ({
        method,
        template: "/v1/admin/tenants/{id}/keys",
        path: keysOf(id),
        code: ["tenant_not_found"],
      })),
      fc.tuple(fc.constantFrom("GET", "POST"), badTenantSegment).map(([method, id]) => ({
        method,
        template: "/v1/admin/tenants/{id}/keys",
        path: keysOf(id),
        code: ["invalid_request", "not_found", "method_not_allowed"],
      })),
      // revoking keys that do not exist (key ids never look like real ones: `key_…`)
      fc
        .tuple(
          fc.oneof(fc.constantFrom(TARGET_TENANT, DEFAULT_TENANT), ghostTenantId, badTenantSegment),
          idSegment,
        )
        .map(([id, keyId]) => ({
          method: "DELETE",
          template: "/v1/admin/tenants/{id}/keys/{key_id}",
          path: `${keysOf(id)}/${keyId}`,
          code: ["key_not_found", "tenant_not_found", "invalid_request", "not_found", "method_not_allowed"],
        })),
    );
    await fuzz(
      RUNS.adminKeys,
      fc.asyncProperty(input, async ({ method, template, path, text, code }) => {
        expect4xx(await send(`${method} ${template}`, method, path, adminHeaders(), text), { code });
      }),
    );
  });

  it("deeply nested JSON anywhere is a 4xx (or a JSON-RPC error), never a crash", async () => {
    const targets: { group: string; method: string; path: string; wrap: (d: string) => string }[] = [
      {
        group: "POST /v1/tasks",
        method: "POST",
        path: "/v1/tasks",
        wrap: (d) => `{"agent":"worker","task":"x","metadata":${d}}`,
      },
      {
        group: "POST /v1/tasks",
        method: "POST",
        path: "/v1/tasks",
        wrap: (d) => `{"agent":${d},"task":"x"}`,
      },
      {
        group: "POST /v1/tools/wait_background_agents",
        method: "POST",
        path: "/v1/tools/wait_background_agents",
        wrap: (d) => `{"task_ids":${d}}`,
      },
      {
        group: "POST /v1/tools/view_background_agent",
        method: "POST",
        path: "/v1/tools/view_background_agent",
        wrap: (d) => d,
      },
      {
        group: "POST /v1/admin/tenants",
        method: "POST",
        path: "/v1/admin/tenants",
        wrap: (d) => `{"id":"deep-one","config":"x","limits":${d}}`,
      },
      {
        group: "PUT /v1/admin/tenants/{id}/secrets",
        method: "PUT",
        path: `/v1/admin/tenants/${TARGET_TENANT}/secrets`,
        wrap: (d) => `{"A":${d}}`,
      },
      {
        group: "POST /mcp",
        method: "POST",
        path: "/mcp",
        wrap: (d) => `{"jsonrpc":"2.0","id":1,"method":"nope","params":{"a":${d}}}`,
      },
      {
        group: "POST /mcp",
        method: "POST",
        path: "/mcp",
        wrap: (d) =>
          `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"view_background_agent","arguments":{"task_id":${d}}}}`,
      },
      { group: "POST /mcp", method: "POST", path: "/mcp", wrap: (d) => d },
    ];
    await fuzz(
      RUNS.deep,
      fc.asyncProperty(fc.constantFrom(...targets), deepJson, async (t, deep) => {
        const r = await send(t.group, t.method, t.path, headersFor(t.path), t.wrap(deep));
        if (t.path === "/mcp") expectMcpRefusal(r, { toolErrors: true });
        else expect4xx(r);
      }),
    );
  });
});

describe("fuzz: big bodies (a handful; they are slow)", () => {
  it("task text over max_task_bytes is 413 task_too_large; bodies over 1 MiB are 413 payload_too_large", async () => {
    const x = (n: number) => "x".repeat(n);
    const secrets = `/v1/admin/tenants/${TARGET_TENANT}/secrets`;
    const config = `/v1/admin/tenants/${TARGET_TENANT}/config`;
    const run = "/v1/tools/run_background_agent";
    const frame = JSON.stringify({ agent: "worker", task: "x", junk: "" });
    const exactlyOneMiB = JSON.stringify({
      agent: "worker",
      task: "x",
      junk: x(MAX_BODY_BYTES - frame.length),
    });
    const cases: [group: string, method: string, path: string, body: string, status: number, code: string][] =
      [
        [
          "POST /v1/tasks",
          "POST",
          "/v1/tasks",
          JSON.stringify({ agent: "worker", task: x(MAX_TASK_BYTES + 1) }),
          413,
          "task_too_large",
        ],
        // fewer characters than the limit, more bytes
        [
          "POST /v1/tasks",
          "POST",
          "/v1/tasks",
          JSON.stringify({ agent: "worker", task: "€".repeat(Math.ceil((MAX_TASK_BYTES + 1) / 3)) }),
          413,
          "task_too_large",
        ],
        // exactly at the limit is not too large: an agent outside sub_agents is what is wrong
        [
          "POST /v1/tasks",
          "POST",
          "/v1/tasks",
          JSON.stringify({ agent: "nobody", task: x(MAX_TASK_BYTES) }),
          403,
          "agent_not_allowed",
        ],
        // exactly at the limit, with a property too many
        [
          "POST /v1/tasks",
          "POST",
          "/v1/tasks",
          JSON.stringify({ agent: "worker", task: x(MAX_TASK_BYTES), bogus: true }),
          400,
          "invalid_request",
        ],
        // a body just under 1 MiB whose task is far over max_task_bytes
        [
          "POST /v1/tasks",
          "POST",
          "/v1/tasks",
          JSON.stringify({ agent: "worker", task: x(MAX_BODY_BYTES - 100) }),
          413,
          "task_too_large",
        ],
        // a body of exactly 1 MiB is not too large: it is junk (an unknown property)
        ["POST /v1/tasks", "POST", "/v1/tasks", exactlyOneMiB, 400, "invalid_request"],
        [
          "POST /v1/tasks",
          "POST",
          "/v1/tasks",
          JSON.stringify({ agent: "worker", task: x(MAX_BODY_BYTES) }),
          413,
          "payload_too_large",
        ],
        [
          `POST ${run}`,
          "POST",
          run,
          JSON.stringify({ agent: "worker", task: x(MAX_BODY_BYTES) }),
          413,
          "payload_too_large",
        ],
        ["POST /mcp", "POST", "/mcp", x(MAX_BODY_BYTES + 1), 413, "payload_too_large"],
        [
          "POST /v1/admin/tenants",
          "POST",
          "/v1/admin/tenants",
          JSON.stringify({ id: "big", config: x(MAX_BODY_BYTES) }),
          413,
          "payload_too_large",
        ],
        [
          "PUT /v1/admin/tenants/{id}/secrets",
          "PUT",
          secrets,
          JSON.stringify({ A: x(MAX_BODY_BYTES) }),
          413,
          "payload_too_large",
        ],
        // a config just over its own 256 KiB limit; a secret value just over 64 KiB
        [
          "PUT /v1/admin/tenants/{id}/config",
          "PUT",
          config,
          JSON.stringify({ config: `#${x(256 * 1024)}` }),
          400,
          "invalid_request",
        ],
        [
          "PUT /v1/admin/tenants/{id}/secrets",
          "PUT",
          secrets,
          JSON.stringify({ A: x(64 * 1024 + 1) }),
          400,
          "invalid_request",
        ],
      ];
    expect(Buffer.byteLength(exactlyOneMiB)).toBe(MAX_BODY_BYTES);
    for (const [group, method, path, body, status, code] of cases) {
      expect4xx(await send(group, method, path, headersFor(path), body), { status, code });
    }
    // through the tool gateway the same limit is the tool's own error: a result with isError
    const tool = await send(
      `POST ${run}`,
      "POST",
      run,
      tenantHeaders(),
      JSON.stringify({ agent: "worker", task: x(MAX_TASK_BYTES + 1) }),
    );
    expectToolRefusal(tool);
    expect(tool.text).toContain("task_too_large");
  });
});

describe("fuzz: headers", () => {
  type Route = { group: string; method: string; path: string; body?: string; admin?: boolean; mcp?: boolean };
  const protectedRoutes = (): Route[] => [
    { group: "GET /v1/tasks", method: "GET", path: "/v1/tasks" },
    { group: "POST /v1/tasks", method: "POST", path: "/v1/tasks", body: '{"agent":"worker","task":"x"}' },
    { group: "GET /v1/tasks/{id}", method: "GET", path: `/v1/tasks/${realTaskId}` },
    { group: "GET /v1/tasks/{id}/output", method: "GET", path: `/v1/tasks/${realTaskId}/output` },
    { group: "GET /v1/tasks/{id}/events", method: "GET", path: `/v1/tasks/${realTaskId}/events` },
    { group: "POST /v1/tasks/{id}/stop", method: "POST", path: `/v1/tasks/${realTaskId}/stop` },
    { group: "GET /v1/tools", method: "GET", path: "/v1/tools" },
    ...TOOL_NAMES.map((t) => ({
      group: `POST /v1/tools/${t}`,
      method: "POST",
      path: `/v1/tools/${t}`,
      body: "{}",
    })),
    {
      group: "POST /mcp",
      method: "POST",
      path: "/mcp",
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
      mcp: true,
    },
    { group: "GET /v1/admin/tenants", method: "GET", path: "/v1/admin/tenants", admin: true },
    {
      group: "POST /v1/admin/tenants",
      method: "POST",
      path: "/v1/admin/tenants",
      admin: true,
      body: JSON.stringify({ id: "never-made", config: testConfig(h.fake.url) }),
    },
    {
      group: "PUT /v1/admin/tenants/{id}/config",
      method: "PUT",
      path: `/v1/admin/tenants/${TARGET_TENANT}/config`,
      admin: true,
      body: JSON.stringify({ config: testConfig(h.fake.url) }),
    },
    {
      group: "PATCH /v1/admin/tenants/{id}/limits",
      method: "PATCH",
      path: `/v1/admin/tenants/${TARGET_TENANT}/limits`,
      admin: true,
      body: '{"max_running_tasks":1}',
    },
    {
      group: "PUT /v1/admin/tenants/{id}/secrets",
      method: "PUT",
      path: `/v1/admin/tenants/${TARGET_TENANT}/secrets`,
      admin: true,
      body: '{"A":"b"}',
    },
    {
      group: "POST /v1/admin/tenants/{id}/keys",
      method: "POST",
      path: `/v1/admin/tenants/${TARGET_TENANT}/keys`,
      admin: true,
    },
    {
      group: "GET /v1/admin/tenants/{id}/keys",
      method: "GET",
      path: `/v1/admin/tenants/${TARGET_TENANT}/keys`,
      admin: true,
    },
    {
      group: "DELETE /v1/admin/tenants/{id}/keys/{key_id}",
      method: "DELETE",
      path: `/v1/admin/tenants/${TARGET_TENANT}/keys/key_nope`,
      admin: true,
    },
  ];

  it("a missing, malformed or wrong Authorization is 401 on every protected route", async () => {
    const routes = protectedRoutes();
    await fuzz(
      RUNS.auth,
      fc.asyncProperty(
        fc.constantFrom(...routes),
        badAuthorization,
        fc.nat(9),
        async (route, authorization, dice) => {
          // now and then the other side's credential: the admin token is no tenant key (401); a
          // tenant key on the admin API is refused with 403 (SPEC §7)
          const cross = dice === 0;
          const auth = cross ? `Bearer ${route.admin ? API_KEY : ADMIN_TOKEN}` : authorization;
          const r = await send(
            route.group,
            route.method,
            route.path,
            {
              authorization: auth,
              "content-type": "application/json",
              accept: route.mcp ? MCP_ACCEPT : undefined,
            },
            route.body,
          );
          if (cross && route.admin) expect4xx(r, { status: 403, code: "forbidden" });
          else expect4xx(r, { status: 401, code: "unauthorized" });
        },
      ),
    );
  });

  it("a malformed X-Caller-Agent is 400; a caller the key is not bound to is 403", async () => {
    const routes = protectedRoutes().filter(
      (r) => !r.admin && (r.method === "GET" || r.body === "{}" || r.mcp),
    );
    const caller = fc.oneof(
      badCaller.map((c) => ({ caller: c, valid: false })),
      otherCaller.map((c) => ({ caller: c, valid: true })),
    );
    await fuzz(
      RUNS.caller,
      fc.asyncProperty(
        fc.constantFrom(...routes),
        caller,
        fc.boolean(),
        async (route, { caller, valid }, bound) => {
          // a valid caller name is only refused by a key bound to other callers
          const key = valid || bound ? boundKey : API_KEY;
          const r = await send(
            route.group,
            route.method,
            route.path,
            {
              authorization: `Bearer ${key}`,
              "content-type": "application/json",
              accept: route.mcp ? MCP_ACCEPT : undefined,
              "x-caller-agent": caller,
            },
            route.body,
          );
          if (valid) expect4xx(r, { status: 403, code: "forbidden" });
          else expect4xx(r, { status: 400, code: "invalid_request" });
        },
      ),
    );
  });

  it("an Idempotency-Key that is empty or over 255 characters is 400", async () => {
    const badKey = fc
      .oneof(
        fc.constantFrom("", " ", "\t", "  \t "),
        fc.tuple(headerValue(20), longString(256, 5000)).map(([a, b]) => `${a}${b}`),
      )
      .filter((k) => normalized(k).length === 0 || normalized(k).length > 255);
    await fuzz(
      RUNS.idempotency,
      fc.asyncProperty(badKey, async (key) => {
        // the body is valid: only the key is wrong, so a task would start if the key were taken
        const r = await send(
          "POST /v1/tasks",
          "POST",
          "/v1/tasks",
          tenantHeaders({ "idempotency-key": key }),
          '{"agent":"worker","task":"idempotent?"}',
        );
        expect4xx(r, { status: 400, code: "invalid_request" });
      }),
    );
  });
});

describe("fuzz: path parameters", () => {
  it("task ids that do not exist are 404 task_not_found, over-long ones 400", async () => {
    const routes = [
      { group: "GET /v1/tasks/{id}", method: "GET", suffix: "" },
      { group: "GET /v1/tasks/{id}/output", method: "GET", suffix: "/output" },
      { group: "GET /v1/tasks/{id}/events", method: "GET", suffix: "/events" },
      { group: "POST /v1/tasks/{id}/stop", method: "POST", suffix: "/stop" },
    ];
    await fuzz(
      RUNS.pathIds,
      fc.asyncProperty(fc.constantFrom(...routes), idSegment, async (route, segment) => {
        const r = await send(
          route.group,
          route.method,
          `/v1/tasks/${segment}${route.suffix}`,
          tenantHeaders(),
        );
        if (SHAPED_TASK_ID_RE.test(segment)) expect4xx(r, { status: 404, code: "task_not_found" });
        // segments like "." or "%2e%2e" are path steps: the request lands on another path (404/405)
        else expect4xx(r, { code: ["task_not_found", "invalid_request", "not_found", "method_not_allowed"] });
      }),
    );
  });
});

describe("fuzz: query strings", () => {
  const pair = (k: string, v: string) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`;

  it("GET /v1/tasks: a bad limit, status, agent or cursor is 400", async () => {
    const bad = fc.oneof(
      badLimit.map((v) => pair("limit", v)),
      badStatus.map((v) => pair("status", v)),
      badAgentFilter.map((v) => pair("agent", v)),
      badCursor.map((v) => pair("cursor", v)),
      brokenForgedCursor,
      brokenForgedStatusCursor,
      // a repeated parameter is a list, which no parameter takes
      fc.constantFrom(
        "limit=5&limit=5",
        "status=completed&status=failed",
        "agent=worker&agent=worker",
        "cursor=a&cursor=b",
      ),
    );
    // harmless company: a valid parameter, or one nobody reads
    const good = fc.oneof(
      fc.constantFrom("limit=5", "agent=worker"),
      fc
        .tuple(
          urlString.filter((k) => !["limit", "status", "agent", "cursor"].includes(k)),
          urlString,
        )
        .map(([k, v]) => pair(k, v)),
    );
    await fuzz(
      RUNS.listQuery,
      fc.asyncProperty(
        fc.array(bad, { minLength: 1, maxLength: 3 }),
        fc.array(good, { maxLength: 2 }),
        async (bads, goods) => {
          const r = await send(
            "GET /v1/tasks",
            "GET",
            `/v1/tasks?${[...goods, ...bads].join("&")}`,
            tenantHeaders(),
          );
          expect4xx(r, { status: 400, code: "invalid_request" });
        },
      ),
    );
  });

  it("GET /v1/tasks: forged cursors that carry this listing's partition never crash", async () => {
    // A forged cursor with every key present and non-empty looks like a real one (cursors are not
    // signed), so it may be answered 200: the check is only "not 5xx and JSON".
    const forged = fc.oneof(
      fc
        .record({
          pk: fc.string({ minLength: 1, maxLength: 60 }),
          sk: fc.string({ minLength: 1, maxLength: 60 }),
          gsi1pk: fc.constant(`TENANT#${DEFAULT_TENANT}`),
          gsi1sk: fc.string({ minLength: 1, maxLength: 60 }),
        })
        .map((c) => `cursor=${b64(c)}`),
      fc
        .tuple(
          fc.constantFrom(...STATUSES),
          fc.record({
            pk: fc.string({ minLength: 1, maxLength: 30 }),
            sk: fc.string({ minLength: 1, maxLength: 30 }),
            gsi2sk: fc.string({ minLength: 1, maxLength: 30 }),
          }),
        )
        .map(
          ([status, c]) =>
            `status=${status}&cursor=${b64({ ...c, gsi2pk: `TENANT#${DEFAULT_TENANT}#STATUS#${status}` })}`,
        ),
    );
    await fuzz(
      RUNS.forgedCursor,
      fc.asyncProperty(forged, async (qs) => {
        expectNot5xxJson(await send("GET /v1/tasks", "GET", `/v1/tasks?${qs}`, tenantHeaders()));
      }),
    );
  });

  it("GET /v1/tasks/{id}/output: a bad after or limit is 400, on a real task and on others", async () => {
    const bad = fc.oneof(
      badAfter.map((v) => pair("after", v)),
      badOutputLimit.map((v) => pair("limit", v)),
    );
    const id = fc.oneof(fc.constant("real"), fc.stringMatching(/^[A-Za-z0-9_-]{1,60}$/));
    await fuzz(
      RUNS.outputQuery,
      fc.asyncProperty(fc.array(bad, { minLength: 1, maxLength: 3 }), id, async (pairs, which) => {
        const path = `/v1/tasks/${which === "real" ? realTaskId : which}/output?${pairs.join("&")}`;
        expect4xx(await send("GET /v1/tasks/{id}/output", "GET", path, tenantHeaders()), {
          status: 400,
          code: "invalid_request",
        });
      }),
    );
  });
});

describe("fuzz: methods and paths", () => {
  const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
  // fetch refuses CONNECT, TRACE and TRACK; HEAD is GET without a body
  const NOT_SENT = ["CONNECT", "TRACE", "TRACK", "HEAD"];
  const concretePath = (template: string, seg: string) =>
    template
      .replace("{id}", template.startsWith("/v1/admin") ? TARGET_TENANT : seg === "real" ? realTaskId : seg)
      .replace("{name}", seg === "real" ? "view_background_agent" : seg)
      .replace("{key_id}", seg);

  it("a wrong method on a known path is 405 with an Allow header that leaves it out", async () => {
    const method = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...METHODS) },
      { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{3,10}$/) },
    );
    const segment = fc.oneof(fc.constant("real"), fc.stringMatching(/^[A-Za-z0-9_-]{1,30}$/));
    await fuzz(
      RUNS.methods,
      fc.asyncProperty(
        fc.constantFrom(...KNOWN_ROUTES),
        method,
        segment,
        fc.option(smallJson, { nil: undefined }),
        async (route, m, seg, body) => {
          fc.pre(!route.methods.includes(m) && !NOT_SENT.includes(m));
          const path = concretePath(route.template, seg);
          const text = m === "GET" || body === undefined ? undefined : JSON.stringify(body);
          const r = await send(`${route.template} [wrong method]`, m, path, headersFor(path), text);
          expect4xx(r, { status: 405, code: "method_not_allowed" });
          const allow = (r.headers.get("allow") ?? "").split(",").map((s) => s.trim());
          if (allow.includes(m)) fail(r, `Allow lists the method it refused: ${allow.join(", ")}`);
        },
      ),
    );
  });

  it("every method an Allow header lists is served (none answers 405)", async () => {
    for (const route of KNOWN_ROUTES) {
      const path = concretePath(route.template, "real");
      const probe = await send(`${route.template} [wrong method]`, "OPTIONS", path, headersFor(path));
      expect4xx(probe, { status: 405, code: "method_not_allowed" });
      const allow = (probe.headers.get("allow") ?? "").split(",").map((s) => s.trim());
      for (const m of allow.filter((a) => a && !NOT_SENT.includes(a))) {
        // "[]" fits no body schema, so nothing is changed; a GET carries no body
        const r = await send(
          `${m} ${route.template}`,
          m,
          path,
          headersFor(path),
          m === "GET" ? undefined : "[]",
        );
        if (r.status === 405) fail(r, `${path} lists ${m} in Allow (${allow.join(", ")}) but answers it 405`);
      }
    }
  });

  it("unknown paths are 404 not_found", async () => {
    const segment = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9._~-]{1,20}$/),
      fc.string({ unit: "binary", minLength: 1, maxLength: 10 }).map(encodeURIComponent),
      fc.constantFrom(
        "tasks",
        "tools",
        "admin",
        "tenants",
        "v1",
        "mcp",
        "healthz",
        "output",
        "events",
        "stop",
        "keys",
        "",
      ),
    );
    /** The path as the router sees it: normalized by URL, percent-decoded where that is safe. */
    const routed = (p: string) => {
      const pathname = new URL(`http://localhost${p}`).pathname;
      try {
        return [pathname, decodeURI(pathname), decodeURIComponent(pathname)];
      } catch {
        return [pathname];
      }
    };
    const path = fc
      .tuple(
        fc.constantFrom(
          "/",
          "/v1/",
          "/v2/",
          "/v1/tasks/x/",
          "/v1/admin/",
          "/v1/admin/tenants/x/",
          "/mcp/",
          "/v1/tools/x/",
        ),
        fc.array(segment, { minLength: 1, maxLength: 4 }),
      )
      .map(([prefix, segs]) => `${prefix}${segs.join("/")}`)
      .filter((p) => !routed(p).some((q) => KNOWN_ROUTES.some((r) => r.re.test(q))));
    await fuzz(
      RUNS.unknownPaths,
      fc.asyncProperty(path, fc.constantFrom(...METHODS), async (p, m) => {
        const admin = routed(p).some(isAdminPath);
        const r = await send("(unknown paths)", m, p, admin ? adminHeaders() : tenantHeaders());
        expect4xx(r, { status: 404, code: "not_found" });
      }),
    );
  });
});

describe("regressions: bugs the fuzzing found, as exact reproducers (fixed)", () => {
  const view = "/v1/tools/view_background_agent";
  const stop = "/v1/tools/stop_background_agent";
  const wait = "/v1/tools/wait_background_agents";

  it("view/stop/wait with a task_id over 2028 bytes is a tool error, not a 500 (REST) or -32603 (MCP)", async () => {
    // "TENANT#default#TASK#" + the id is the partition key; DynamoDB allows 2048 bytes
    const id = "x".repeat(2029);
    expectToolRefusal(
      await send(`POST ${view}`, "POST", view, tenantHeaders(), JSON.stringify({ task_id: id })),
    );
    expectToolRefusal(
      await send(`POST ${stop}`, "POST", stop, tenantHeaders(), JSON.stringify({ task_id: id })),
    );
    expectToolRefusal(
      await send(
        `POST ${wait}`,
        "POST",
        wait,
        tenantHeaders(),
        JSON.stringify({ task_ids: [id], timeout: 0 }),
      ),
    );
    const mcp = await send(
      "POST /mcp",
      "POST",
      "/mcp",
      mcpHeaders(),
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "view_background_agent", arguments: { task_id: id } },
      }),
    );
    if (!(isObject(mcp.body) && isToolError(mcp.body.result))) fail(mcp, "expected a tool error result");
  });

  it("a forged cursor with this listing's partition but a missing or empty key is 400, not 500", async () => {
    const cursors: [string, Record<string, string>][] = [
      ["", { pk: "x", sk: "y", gsi1pk: `TENANT#${DEFAULT_TENANT}` }],
      ["", { pk: "", sk: "", gsi1pk: `TENANT#${DEFAULT_TENANT}`, gsi1sk: "" }],
      ["status=completed&", { pk: "x", sk: "y", gsi2pk: `TENANT#${DEFAULT_TENANT}#STATUS#completed` }],
    ];
    for (const [qs, c] of cursors) {
      expect4xx(await send("GET /v1/tasks", "GET", `/v1/tasks?${qs}cursor=${b64(c)}`, tenantHeaders()), {
        status: 400,
        code: "invalid_request",
      });
    }
  });

  it("a task whose record would not fit in DynamoDB (expected_output of 600 KB) is 413 task_too_large", async () => {
    // max_task_bytes counts the task text with its expected_output (the goal the agent is given)
    const body = JSON.stringify({ agent: "worker", task: "x", expected_output: "y".repeat(600_000) });
    expect4xx(await send("POST /v1/tasks", "POST", "/v1/tasks", tenantHeaders(), body), {
      status: 413,
      code: "task_too_large",
    });
  });

  it("secrets that together exceed what one item holds (12 x 60 KB) are 400 invalid_request", async () => {
    // each value is under its own 64 KiB limit and the body under 1 MiB: the total is what is wrong
    const secrets = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`S${i}`, "v".repeat(60_000)]));
    const path = `/v1/admin/tenants/${TARGET_TENANT}/secrets`;
    const r = await send(
      "PUT /v1/admin/tenants/{id}/secrets",
      "PUT",
      path,
      adminHeaders(),
      JSON.stringify(secrets),
    );
    expect4xx(r, { status: 400, code: "invalid_request" });
    expect((r.body as { error: { message: string } }).error.message).toContain("in total");
  });

  it("GET and DELETE /mcp answer 405 with an Allow header", async () => {
    for (const m of ["GET", "DELETE"]) {
      expect4xx(await send("/mcp [wrong method]", m, "/mcp", mcpHeaders()), {
        status: 405,
        code: "method_not_allowed",
      });
    }
  });

  it("an empty JSON-RPC batch is refused (4xx or a JSON-RPC error), not answered 202", async () => {
    expectMcpRefusal(await send("POST /mcp", "POST", "/mcp", mcpHeaders(), "[]"));
  });
});
