import "../local/polyfills.js";
import { StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { createDynamoDocumentClient } from "../shared/adapters/dynamo/client.js";
import {
  RECORD_FAILURE_STATE,
  RUN_AGENT_STATE,
  stateMachineDefinition,
} from "../shared/state-machine/definition.js";
import { keys } from "../shared/table-schema.js";
import { DEFAULT_LIMITS } from "../shared/tenants.js";
import type { FakeReply } from "../test/support/fake-openai.js";
import {
  heading,
  KIB,
  label,
  modelStreamingMs,
  nowMs,
  type ProxiedRequest,
  printTable,
  type SummaryRow,
  startBenchRuntime,
  TENANT_ID,
  WriteCountingProxy,
} from "./support.js";

// ---------------------------------------------------------------------------------------------
// Public list prices, us-east-1, as known to the author (2025); they may change. Check
// https://aws.amazon.com/{step-functions,lambda,dynamodb}/pricing/ before relying on them.
// ---------------------------------------------------------------------------------------------
/** Step Functions Standard: $0.025 per 1,000 state transitions. */
export const SFN_PRICE_PER_TRANSITION = 0.025 / 1000;
/** Lambda, Arm (Graviton): $0.0000133334 per GB-second of billed duration (first price tier). */
export const LAMBDA_ARM_PRICE_PER_GB_SECOND = 0.0000133334;
/** Lambda: $0.20 per 1M requests. */
export const LAMBDA_PRICE_PER_REQUEST = 0.2 / 1_000_000;
/** DynamoDB on-demand (Standard table class): $0.625 per million write request units. */
export const DYNAMO_PRICE_PER_WRU = 0.625 / 1_000_000;
/** DynamoDB on-demand (Standard table class): $0.125 per million read request units. */
export const DYNAMO_PRICE_PER_RRU = 0.125 / 1_000_000;
/** DynamoDB Standard table class storage: $0.25 per GB-month (first 25 GB/month are free; ignored). */
export const DYNAMO_PRICE_PER_GB_MONTH = 0.25;

// Model-token prices of a mid-tier model (stated assumption, not a measured figure).
/** $3 per million input tokens. */
export const MODEL_PRICE_PER_INPUT_TOKEN = 3 / 1_000_000;
/** $15 per million output tokens. */
export const MODEL_PRICE_PER_OUTPUT_TOKEN = 15 / 1_000_000;
/** Cache reads of a provider with prompt caching, for the sensitivity line only: $0.30 per million. */
const MODEL_PRICE_PER_CACHED_INPUT_TOKEN = 0.3 / 1_000_000;

// The typical task and how the model behaves (assumptions, stated in the output).
const TURNS = 20; // 19 `think` tool calls + the final answer
const DELTAS_PER_TURN = 20;
const DELTA_BYTES = 45; // ≈ 0.9 KiB of text per turn; with the tool call and result ≈ 1 KiB
const DELTA_DELAY_MS = 150; // 20 × 150 ms = 3 s per turn: a mid-tier model's speed
const MODEL_SECONDS_PER_TURN = (DELTAS_PER_TURN * DELTA_DELAY_MS) / 1000;
/** System prompt + tool definitions + task, tokens, in the first request. */
const CONTEXT_START_TOKENS = 1000;
/** Tokens each turn adds to the context (its text, tool call and tool result). */
const CONTEXT_TOKENS_PER_TURN = 300;
/** Bytes of output per output token (English text). */
const BYTES_PER_TOKEN = 4;

/** Memory of the functions, from infra/constructs/runner-function.ts and api-function.ts (defaults). */
const RUNNER_MEMORY_MB = 1024;
const API_MEMORY_MB = 1024;
/** How long a task's items are kept after it ends (DEFAULT_LIMITS.retention_days). */
const RETENTION_DAYS = DEFAULT_LIMITS.retention_days;
/** DynamoDB bills 100 bytes of overhead per stored item. */
const ITEM_STORAGE_OVERHEAD = 100;

/** Informational target: infrastructure cost ÷ model-token cost. */
export const COST_RATIO_TARGET = 0.01;

const RUNNER_ARN = "arn:aws:lambda:us-east-1:000000000000:function:bga-runner";

// ---------------------------------------------------------------------------------------------
// The fake model's text: words drawn from a fixed list by a seeded generator, so the output and
// the gzipped checkpoint compress about like prose (the bench helpers' repeated alphabet would
// compress to almost nothing and make the checkpoint items unrealistically small).
// ---------------------------------------------------------------------------------------------
const WORDS = (
  "the of and to in is that for it as with was on be by this are from or an at which have not " +
  "file test function value error result change code build check update module request response " +
  "data table item query write read flush chunk step state task agent model turn token output " +
  "input retry budget limit status record config tenant handler bundle import export import type " +
  "should would could first next then because however therefore instead also only every each " +
  "between before after during while until within without against through across behind"
).split(" ");

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

function prose(random: () => number, bytes: number): string {
  let text = "";
  while (text.length < bytes) {
    const word = WORDS[Math.floor(random() * WORDS.length)] ?? "word";
    text += random() < 0.08 ? `${word}. ` : `${word} `;
  }
  return text.slice(0, bytes);
}

function scriptedTask(): FakeReply[] {
  const random = prng(20_250_601);
  const turn = (): FakeReply => ({
    text: Array.from({ length: DELTAS_PER_TURN }, () => prose(random, DELTA_BYTES)),
    delayMs: DELTA_DELAY_MS,
  });
  const replies: FakeReply[] = [];
  for (let i = 1; i < TURNS; i++) {
    replies.push({
      ...turn(),
      toolCalls: [{ name: "think", arguments: JSON.stringify({ thought: prose(random, 80) }) }],
    });
  }
  replies.push(turn());
  return replies;
}

// ---------------------------------------------------------------------------------------------
// DynamoDB request units: from DynamoDB Local's ConsumedCapacity, and estimated from the bodies.
// ---------------------------------------------------------------------------------------------
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function utf8(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** Size of one AttributeValue (DynamoDB JSON) by DynamoDB's item-size rules. */
function attributeSize(value: unknown): number {
  if (!isRecord(value)) return 0;
  if (typeof value.S === "string") return utf8(value.S);
  if (typeof value.N === "string") {
    const digits =
      value.N.replace(/^-/, "")
        .replace(/[.eE].*$/, "")
        .replace(/^0+/, "").length || 1;
    return Math.ceil(digits / 2) + 1;
  }
  if (typeof value.B === "string") return Buffer.from(value.B, "base64").length;
  if ("BOOL" in value || "NULL" in value) return 1;
  if (Array.isArray(value.L)) return 3 + value.L.reduce((n: number, v) => n + 1 + attributeSize(v), 0);
  if (isRecord(value.M))
    return 3 + Object.entries(value.M).reduce((n, [k, v]) => n + 1 + utf8(k) + attributeSize(v), 0);
  for (const set of ["SS", "NS", "BS"] as const) {
    const items = value[set];
    if (Array.isArray(items))
      return items.reduce((n: number, v) => n + (typeof v === "string" ? utf8(v) : 0), 0);
  }
  return 0;
}

/** Size of an item (DynamoDB JSON): attribute names plus values. */
export function itemSize(item: unknown): number {
  if (!isRecord(item)) return 0;
  return Object.entries(item).reduce((n, [name, v]) => n + utf8(name) + attributeSize(v), 0);
}

const WRITE_OPS = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);
const READ_OPS = new Set(["GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"]);

/**
 * Σ CapacityUnits of a response's ConsumedCapacity (one object, or one per table): the total
 * (table + indexes) and the part of it that is global secondary indexes.
 */
function consumedUnits(response: unknown): { total: number; gsi: number } | undefined {
  if (!isRecord(response)) return undefined;
  const cc = response.ConsumedCapacity;
  const list = Array.isArray(cc) ? cc : cc === undefined ? [] : [cc];
  if (list.length === 0) return undefined;
  let total = 0;
  let gsi = 0;
  for (const c of list) {
    if (!isRecord(c)) continue;
    if (typeof c.CapacityUnits === "number") total += c.CapacityUnits;
    if (isRecord(c.GlobalSecondaryIndexes)) {
      for (const index of Object.values(c.GlobalSecondaryIndexes))
        if (isRecord(index) && typeof index.CapacityUnits === "number") gsi += index.CapacityUnits;
    }
  }
  return { total, gsi };
}

interface WriteEstimate {
  items: number;
  wru: number;
}

/**
 * Write request units of one write request from its body alone: ⌈size / 1 KB⌉ per item put,
 * doubled inside a transaction. An Update or Delete does not show the stored item's size, so it
 * counts as ≤ 1 KB. Index writes are not counted (DynamoDB Local's figure has them).
 */
function estimateWrite(op: string, request: unknown): WriteEstimate {
  if (!isRecord(request)) return { items: 0, wru: 0 };
  const kb = (item: unknown) => Math.max(1, Math.ceil(itemSize(item) / 1024));
  if (op === "PutItem") return { items: 1, wru: kb(request.Item) };
  if (op === "UpdateItem" || op === "DeleteItem") return { items: 1, wru: 1 };
  if (op === "BatchWriteItem" && isRecord(request.RequestItems)) {
    let items = 0;
    let wru = 0;
    for (const writes of Object.values(request.RequestItems)) {
      if (!Array.isArray(writes)) continue;
      for (const w of writes) {
        items += 1;
        wru += isRecord(w) && isRecord(w.PutRequest) ? kb(w.PutRequest.Item) : 1;
      }
    }
    return { items, wru };
  }
  if (op === "TransactWriteItems" && Array.isArray(request.TransactItems)) {
    let wru = 0;
    for (const t of request.TransactItems) wru += 2 * (isRecord(t) && isRecord(t.Put) ? kb(t.Put.Item) : 1);
    return { items: request.TransactItems.length, wru };
  }
  return { items: 0, wru: 0 };
}

/**
 * Read request units of one read from its request and response bodies: strongly consistent =
 * 1 RRU per 4 KB (an eventually consistent read half that); a GetItem per item, a Query on the
 * total size of what it returned, BatchGetItem per key; at least one unit per item or query.
 */
function estimateRead(op: string, request: unknown, response: unknown): { items: number; rru: number } {
  if (!isRecord(request) || !isRecord(response)) return { items: 0, rru: 0 };
  const factor = (consistent: unknown) => (consistent === true ? 1 : 0.5);
  const units = (bytes: number) => Math.max(1, Math.ceil(bytes / 4096));
  if (op === "GetItem") {
    const found = isRecord(response.Item) ? 1 : 0;
    return { items: found, rru: factor(request.ConsistentRead) * units(itemSize(response.Item)) };
  }
  if (op === "Query" || op === "Scan") {
    const items = Array.isArray(response.Items) ? response.Items : [];
    const bytes = items.reduce((n: number, i) => n + itemSize(i), 0);
    return { items: items.length, rru: factor(request.ConsistentRead) * units(bytes) };
  }
  if (op === "BatchGetItem" && isRecord(request.RequestItems) && isRecord(response.Responses)) {
    let items = 0;
    let rru = 0;
    for (const [table, spec] of Object.entries(request.RequestItems)) {
      if (!isRecord(spec) || !Array.isArray(spec.Keys)) continue;
      const got = response.Responses[table];
      const found = Array.isArray(got) ? got : [];
      items += found.length;
      rru += factor(spec.ConsistentRead) * found.reduce((n: number, i) => n + units(itemSize(i)), 0);
      rru += factor(spec.ConsistentRead) * Math.max(0, spec.Keys.length - found.length);
    }
    return { items, rru };
  }
  return { items: 0, rru: 0 };
}

interface OpTally {
  requests: number;
  items: number;
  estimated: number;
  consumed: number;
  /** Of `consumed`, the units of global secondary indexes. */
  consumedGsi: number;
  /** Requests whose response had no ConsumedCapacity. */
  missing: number;
}

function tally(requests: ProxiedRequest[]): Map<string, OpTally> {
  const byOp = new Map<string, OpTally>();
  for (const r of requests) {
    if (!WRITE_OPS.has(r.op) && !READ_OPS.has(r.op)) continue;
    const t = byOp.get(r.op) ?? {
      requests: 0,
      items: 0,
      estimated: 0,
      consumed: 0,
      consumedGsi: 0,
      missing: 0,
    };
    t.requests += 1;
    if (WRITE_OPS.has(r.op)) {
      const e = estimateWrite(r.op, r.request);
      t.items += e.items;
      t.estimated += e.wru;
    } else {
      const e = estimateRead(r.op, r.request, r.response);
      t.items += e.items;
      t.estimated += e.rru;
    }
    const consumed = consumedUnits(r.response);
    if (consumed === undefined) t.missing += 1;
    else {
      t.consumed += consumed.total;
      t.consumedGsi += consumed.gsi;
    }
    byOp.set(r.op, t);
  }
  return byOp;
}

function sum(byOp: Map<string, OpTally>, ops: Set<string>, pick: (t: OpTally) => number): number {
  let n = 0;
  for (const [op, t] of byOp) if (ops.has(op)) n += pick(t);
  return n;
}

// ---------------------------------------------------------------------------------------------

function usd(value: number): string {
  if (value === 0) return "$0";
  return value >= 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(7)}`;
}

/** Text of a tool result from the REST tool gateway (POST /v1/tools/{name}). */
async function toolText(res: Response): Promise<string> {
  const body: unknown = await res.json();
  if (res.status !== 200 || !isRecord(body) || !Array.isArray(body.content))
    throw new Error(`tool call answered ${res.status}: ${JSON.stringify(body)}`);
  if (body.isError === true) throw new Error(`tool error: ${JSON.stringify(body.content)}`);
  const first: unknown = body.content[0];
  return isRecord(first) && typeof first.text === "string" ? first.text : "";
}

interface Timed<T> {
  value: T;
  ms: number;
}

async function timed<T>(work: () => Promise<T>): Promise<Timed<T>> {
  const t0 = nowMs();
  const value = await work();
  return { value, ms: nowMs() - t0 };
}

/**
 * Bench 6: infrastructure cost of one typical task from counted operations and public prices,
 * against the model-token cost of the same task.
 *
 * The task runs through the local runtime at a realistic model speed (20 turns × 3 s), so the
 * runner's 1 s flush ticks write as often as they would in the cloud. The orchestrator's three
 * API calls go through the real app (REST tool gateway): run, wait (blocks until the task ends),
 * view. The bench runs the project's state machine itself (as bench 3 does) to count state
 * transitions and to time each runner invocation. Every DynamoDB request goes through a proxy
 * that records the bodies and asks for ConsumedCapacity.
 */
export async function benchCost(dynamodbEndpoint: string): Promise<SummaryRow[]> {
  heading("6. Cost per typical task: infrastructure vs model tokens (20 turns, ~20 KiB output)");
  const proxy = await new WriteCountingProxy(dynamodbEndpoint, {
    record: true,
    returnConsumedCapacity: true,
  }).start();
  const bench = await startBenchRuntime({
    dynamodbEndpoint: proxy.endpoint,
    executions: { start: async () => {}, stop: async () => {} },
    // As deployed: tenants and keys in the table, `wait` polling every second (functions/api/handler.ts).
    waitPollMs: 1000,
  });
  const definition = stateMachineDefinition({
    runnerFunctionArn: RUNNER_ARN,
  }) as unknown as StateMachineDefinition;
  const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
  const invocations: number[] = [];
  const handler = async (event: unknown): Promise<never> => {
    const t0 = nowMs();
    try {
      return (await bench.runtime.stepHandler(event)) as never;
    } finally {
      invocations.push(nowMs() - t0);
    }
  };

  try {
    bench.fake.enqueue(...scriptedTask());
    proxy.reset(); // table creation and the tenant's setup are not the task's

    // 1. The orchestrator starts the task.
    proxy.phase = "run";
    const run = await timed(async () =>
      toolText(
        await bench.request("POST", "/v1/tools/run_background_agent", {
          agent: "thinker",
          task: "Review the change and summarise the risks.",
        }),
      ),
    );
    const id = /ID: (\S+)/.exec(run.value)?.[1];
    if (!id) throw new Error(`no task ID in: ${run.value}`);

    // 2. The execution (state machine + runner steps), and meanwhile the orchestrator's wait.
    proxy.phase = "task";
    const execution = machine.run(
      { tenant_id: TENANT_ID, task_id: id },
      {
        overrides: {
          taskResourceLocalHandlers: { [RUN_AGENT_STATE]: handler, [RECORD_FAILURE_STATE]: handler },
        },
      },
    );
    const entered: string[] = [];
    const collect = (async () => {
      for await (const e of execution.eventLogs) if (e.type === "StateEntered") entered.push(e.state.name);
    })();
    const wait = timed(async () =>
      toolText(
        await bench.request("POST", "/v1/tools/wait_background_agents", { task_ids: [id], timeout: 300 }),
      ),
    );
    await execution.result;
    await collect;
    const waited = await wait;
    if (!waited.value.includes('"all_done":true'))
      throw new Error(`wait did not see the end: ${waited.value}`);

    // 3. The orchestrator reads the result.
    proxy.phase = "view";
    const view = await timed(async () =>
      toolText(await bench.request("POST", "/v1/tools/view_background_agent", { task_id: id })),
    );
    proxy.phase = "";
    const recorded = [...proxy.requests];

    const task = await bench.runtime.repo.get(TENANT_ID, id, true);
    if (task?.status !== "completed") throw new Error(`task ended ${task?.status ?? "missing"}`);

    // Storage: the task's items as stored (read directly, not through the proxy).
    // Raw Query (DynamoDB JSON): itemSize reads the stored form.
    const direct = createDynamoDocumentClient({ region: "us-east-1", endpoint: dynamodbEndpoint });
    let storedBytes = 0;
    let storedItems = 0;
    let start: unknown;
    do {
      const page: { Items?: unknown[]; LastEvaluatedKey?: unknown } = await direct.call("Query", {
        TableName: bench.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: keys.task(TENANT_ID, id).pk } },
        ExclusiveStartKey: start,
      });
      for (const item of page.Items ?? []) {
        storedItems += 1;
        // The task item is projected (ALL) into both GSIs as well.
        const sk = isRecord(item) && isRecord(item.sk) ? item.sk.S : undefined;
        const copies = sk === "TASK" ? 3 : 1;
        storedBytes += copies * (itemSize(item) + ITEM_STORAGE_OVERHEAD);
      }
      start = page.LastEvaluatedKey;
    } while (start);

    // ------------------------------------------------------------------------ counted figures
    const byOp = tally(recorded);
    const writeRequests = sum(byOp, WRITE_OPS, (t) => t.requests);
    const readRequests = sum(byOp, READ_OPS, (t) => t.requests);
    const wruConsumed = sum(byOp, WRITE_OPS, (t) => t.consumed);
    const rruConsumed = sum(byOp, READ_OPS, (t) => t.consumed);
    const wruGsi = sum(byOp, WRITE_OPS, (t) => t.consumedGsi);
    const wruEstimated = sum(byOp, WRITE_OPS, (t) => t.estimated);
    const rruEstimated = sum(byOp, READ_OPS, (t) => t.estimated);
    const missing = sum(byOp, new Set([...WRITE_OPS, ...READ_OPS]), (t) => t.missing);
    // Local's figure includes index writes and real item sizes; fall back to the estimate if absent.
    const wru = missing === 0 ? wruConsumed : Math.max(wruConsumed, wruEstimated);
    const rru = missing === 0 ? rruConsumed : Math.max(rruConsumed, rruEstimated);

    const runnerWallMs = invocations.reduce((a, b) => a + b, 0);
    const modelMs = modelStreamingMs(bench.fake);
    const runnerOverheadMs = Math.max(0, runnerWallMs - modelMs);
    const modeledRunnerSeconds = TURNS * MODEL_SECONDS_PER_TURN + runnerOverheadMs / 1000;
    const apiCalls: [string, number][] = [
      ["run", run.ms],
      ["wait", waited.ms],
      ["view", view.ms],
    ];
    const billedMs = (ms: number) => Math.max(1, Math.ceil(ms));
    const apiSeconds = apiCalls.reduce((n, [, ms]) => n + billedMs(ms) / 1000, 0);
    const runnerGbSeconds = (RUNNER_MEMORY_MB / 1024) * modeledRunnerSeconds;
    const apiGbSeconds = (API_MEMORY_MB / 1024) * apiSeconds;

    console.log(
      `task: ${bench.fake.requests.length} model turns (${TURNS - 1} think calls + answer), ${task.output_bytes} B of ` +
        `output (${(task.output_bytes / KIB).toFixed(1)} KiB) in ${task.last_seq} chunks; fake model ` +
        `${DELTAS_PER_TURN} deltas × ${DELTA_BYTES} B, ${DELTA_DELAY_MS} ms apart (${MODEL_SECONDS_PER_TURN} s per turn)`,
    );
    console.log(
      `StateEntered: ${entered.length} (${entered.join(" → ")}); runner invocations: ${invocations.length} ` +
        `(${invocations.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(", ")})`,
    );
    console.log(
      `runner: wall ${(runnerWallMs / 1000).toFixed(2)} s = model streaming ${(modelMs / 1000).toFixed(2)} s + ` +
        `overhead ${(runnerOverheadMs / 1000).toFixed(2)} s; billed as ${TURNS} × ${MODEL_SECONDS_PER_TURN} s + ` +
        `overhead = ${modeledRunnerSeconds.toFixed(2)} s at ${RUNNER_MEMORY_MB} MB`,
    );
    console.log(
      `API calls (${API_MEMORY_MB} MB): ${apiCalls.map(([n, ms]) => `${n} ${(ms / 1000).toFixed(3)} s`).join(", ")}`,
    );

    console.log(
      "\nDynamoDB requests of the task (run + execution + wait + view), by operation. consumed = DynamoDB " +
        "Local's ConsumedCapacity (ReturnConsumedCapacity=INDEXES added by the proxy: table + GSI units, " +
        "stored item sizes); estimate = from the bodies (writes: ⌈item/1 KB⌉ per put, updates/deletes as " +
        "≤ 1 KB, ×2 in a transaction, no index writes; reads: ⌈bytes/4 KB⌉, ½ if eventually consistent)",
    );
    printTable(
      ["operation", "kind", "requests", "items", "units (consumed)", "of which GSI", "units (estimate)"],
      [...byOp.entries()]
        .sort((x, y) => y[1].consumed - x[1].consumed)
        .map(([op, t]) => [
          op,
          WRITE_OPS.has(op) ? "write" : "read",
          String(t.requests),
          String(t.items),
          t.missing === t.requests ? "n/a" : String(t.consumed),
          t.missing === t.requests ? "n/a" : String(t.consumedGsi),
          String(t.estimated),
        ]),
    );
    const phases = ["run", "task", "view"].map((p) => {
      const rs = recorded.filter((r) => r.phase === p);
      return `${p}: ${rs.filter((r) => WRITE_OPS.has(r.op)).length} writes, ${rs.filter((r) => READ_OPS.has(r.op)).length} reads`;
    });
    console.log(
      `write requests ${writeRequests} (proxy count: ${proxy.total}, ${proxy.describe()}), read requests ` +
        `${readRequests}; by phase: ${phases.join("; ")}` +
        (missing > 0 ? `; ${missing} response(s) without ConsumedCapacity: estimate used where larger` : ""),
    );
    const tx = byOp.get("TransactWriteItems");
    console.log(
      `${wruGsi} of ${wruConsumed} WRU are index writes (the task item is projected, ALL, into both GSIs, so every ` +
        "update of it writes both); DynamoDB Local counts them twice inside a transaction like the table writes" +
        (tx
          ? `; per TransactWriteItems: ${(tx.items / tx.requests).toFixed(1)} items, ${(tx.consumed / tx.requests).toFixed(1)} WRU`
          : ""),
    );

    // -------------------------------------------------------------------------- model tokens
    let inputTokens = 0;
    let cachedInputTokens = 0;
    for (let turn = 0; turn < TURNS; turn++) {
      const context = CONTEXT_START_TOKENS + CONTEXT_TOKENS_PER_TURN * turn;
      inputTokens += context;
      cachedInputTokens += turn === 0 ? 0 : context - CONTEXT_TOKENS_PER_TURN;
    }
    const outputTokens = Math.round(task.output_bytes / BYTES_PER_TOKEN);

    const storageGbMonths = (storedBytes / 1024 ** 3) * (RETENTION_DAYS / 30.4);
    type Line = [item: string, quantity: number, unit: string, price: number, priceLabel: string];
    const infra: Line[] = [
      [
        "Step Functions Standard state transitions",
        entered.length,
        "transitions",
        SFN_PRICE_PER_TRANSITION,
        "$0.025 / 1k",
      ],
      ["Lambda requests: runner", invocations.length, "requests", LAMBDA_PRICE_PER_REQUEST, "$0.20 / 1M"],
      [
        "Lambda requests: API (run + wait + view)",
        apiCalls.length,
        "requests",
        LAMBDA_PRICE_PER_REQUEST,
        "$0.20 / 1M",
      ],
      [
        "Lambda ARM runner duration",
        runnerGbSeconds,
        "GB-s",
        LAMBDA_ARM_PRICE_PER_GB_SECOND,
        "$0.0000133334 / GB-s",
      ],
      [
        "Lambda ARM API duration",
        apiGbSeconds,
        "GB-s",
        LAMBDA_ARM_PRICE_PER_GB_SECOND,
        "$0.0000133334 / GB-s",
      ],
      ["DynamoDB write request units", wru, "WRU", DYNAMO_PRICE_PER_WRU, "$0.625 / 1M"],
      ["DynamoDB read request units", rru, "RRU", DYNAMO_PRICE_PER_RRU, "$0.125 / 1M"],
      [
        `DynamoDB storage, ${storedItems} items × ${RETENTION_DAYS} days`,
        storageGbMonths,
        "GB-month",
        DYNAMO_PRICE_PER_GB_MONTH,
        "$0.25 / GB-month",
      ],
    ];
    const model: Line[] = [
      ["Model input tokens", inputTokens, "tokens", MODEL_PRICE_PER_INPUT_TOKEN, "$3 / 1M"],
      ["Model output tokens", outputTokens, "tokens", MODEL_PRICE_PER_OUTPUT_TOKEN, "$15 / 1M"],
    ];
    const cost = (l: Line) => l[1] * l[3];
    const infraCost = infra.reduce((n, l) => n + cost(l), 0);
    const modelCost = model.reduce((n, l) => n + cost(l), 0);
    const ratio = infraCost / modelCost;
    const pass = ratio <= COST_RATIO_TARGET;
    const fmtQty = (q: number) =>
      Number.isInteger(q) ? String(q) : q < 0.01 ? q.toExponential(3) : q.toFixed(2);

    console.log(
      "\ncost of one task. Prices: us-east-1 public list prices (Arm Lambda, DynamoDB on-demand, Step Functions " +
        "Standard) as known to the author; they may change. Free tiers ignored.",
    );
    printTable(
      ["item", "quantity", "unit", "unit price", "cost", "% of infra"],
      [
        ...infra.map((l) => [
          l[0],
          fmtQty(l[1]),
          l[2],
          l[4],
          usd(cost(l)),
          ((100 * cost(l)) / infraCost).toFixed(1),
        ]),
        ["infrastructure total", "", "", "", usd(infraCost), "100.0"],
        ...model.map((l) => [l[0], fmtQty(l[1]), l[2], l[4], usd(cost(l)), ""]),
        ["model tokens total", "", "", "", usd(modelCost), ""],
        ["task total", "", "", "", usd(infraCost + modelCost), ""],
      ],
    );
    console.log(
      `assumptions: context ${CONTEXT_START_TOKENS} tokens (system + tools + task) + ${CONTEXT_TOKENS_PER_TURN} per turn, ` +
        `input = Σ over ${TURNS} turns; output = output bytes / ${BYTES_PER_TOKEN}; runner memory ${RUNNER_MEMORY_MB} MB ` +
        `(runner-function.ts default), API ${API_MEMORY_MB} MB (api-function.ts default); API durations as measured ` +
        "here (the wait lasts as long as the task); Lambda INIT (cold starts), CloudWatch Logs, Secrets Manager " +
        "and data transfer not included",
    );
    console.log(
      `infrastructure ÷ model tokens = ${(100 * ratio).toFixed(3)} %   target ≤ ${100 * COST_RATIO_TARGET} %   ${label(pass)}`,
    );
    const cachedModelCost =
      (inputTokens - cachedInputTokens) * MODEL_PRICE_PER_INPUT_TOKEN +
      cachedInputTokens * MODEL_PRICE_PER_CACHED_INPUT_TOKEN +
      outputTokens * MODEL_PRICE_PER_OUTPUT_TOKEN;
    const waitShare = (LAMBDA_ARM_PRICE_PER_GB_SECOND * (API_MEMORY_MB / 1024) * billedMs(waited.ms)) / 1000;
    console.log(
      `sensitivity: with prompt caching (earlier context read from cache at $0.30 / 1M) the model cost is ` +
        `${usd(cachedModelCost)} and the ratio ${((100 * infraCost) / cachedModelCost).toFixed(3)} %; ` +
        `the API's blocking wait alone costs ${usd(waitShare)} (${((100 * waitShare) / infraCost).toFixed(1)} % of infra)`,
    );

    return [
      {
        bench: "6. infra cost per task",
        measured: `${usd(infraCost)} (model ${usd(modelCost)})`,
        target: "-",
        pass: true,
        info: true,
      },
      {
        bench: "6. infra cost ÷ model-token cost",
        measured: `${(100 * ratio).toFixed(3)} %`,
        target: `≤ ${100 * COST_RATIO_TARGET} %`,
        pass,
      },
    ];
  } finally {
    await bench.close();
    await proxy.close();
  }
}
