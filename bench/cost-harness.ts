import "../local/polyfills.js";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Listener, listenOnLoopback } from "../local/listen.js";
import { LocalExecutions } from "../local/local-executions.js";
import { createLocalRuntime, type LocalRuntime } from "../local/runtime.js";
import { isFinished, type TaskRecord } from "../shared/domain/task.js";
import { createLogger } from "../shared/logger.js";
import type { Executions } from "../shared/ports.js";
import { ServiceKeys } from "../shared/security/service-secret.js";
import {
  AGENT_KIND_STATE,
  HARNESS_STATE,
  PREPARE_HARNESS_STATE,
} from "../shared/state-machine/definition.js";
import { ContainerProcesses } from "../test/support/container-process.js";
import { FakeAnthropic, type FakeAnthropicReply } from "../test/support/fake-anthropic.js";
import { sumOf, tallyByOperation } from "./capacity.js";
import { cost, type Line, total } from "./cost/lines.js";
import { PRICES } from "./cost/prices.js";
import type { StackInventory } from "./cost/stack-inventory.js";
import { SECONDS_PER_TURN, TYPICAL_TASK } from "./cost/typical-task.js";
import { DynamoProxy } from "./dynamo-proxy.js";
import { heading, infoRow, pct, printTable, type SummaryRow, usd } from "./report.js";

/**
 * Bench 6b: what one harness task (SPEC §9) costs on AWS, next to its model tokens. Measured on a
 * real local run of the cloud path: the shared state machine definition, PrepareHarness, the
 * container's entrypoint as a process (test/support/container-process.ts stands in for ECS)
 * running the real Claude Code CLI against a scripted Anthropic API, reporting through the
 * API's internal routes over HTTP, every DynamoDB request through a recording proxy. What a local
 * run cannot measure (Fargate start-up, model time per turn) is a stated assumption.
 */

export const HARNESS_ASSUMPTIONS = {
  /** Fargate bills from the start of the image pull to the task's end: pull + ENI + start, s. */
  fargateStartupSeconds: 40,
  /** Model time per turn, as in the model-agent typical task. */
  secondsPerTurn: SECONDS_PER_TURN,
  /** PrepareHarness: one runner invocation (capability minted, one tenant read), ms billed. */
  prepareMs: 100,
  /** The container image (node, git, the two CLIs, production node_modules), GB stored in ECR. */
  imageGb: 0.8,
  /** Bytes per token for the request bodies the CLI sends (JSON with prompts, tools, context). */
  bytesPerToken: TYPICAL_TASK.bytesPerToken,
} as const;

/** The harness task: 10 turns, 9 Bash calls then the answer, ~2 KB of assistant text per turn. */
const TURNS = TYPICAL_TASK.turns;
const TEXT_BYTES_PER_TURN = TYPICAL_TASK.deltasPerTurn * TYPICAL_TASK.deltaBytes;

function script(): FakeAnthropicReply[] {
  const words = "the change to the module keeps each test passing while the handler reads the config ";
  const text = (i: number) =>
    `Step ${i}: ${words.repeat(Math.ceil(TEXT_BYTES_PER_TURN / words.length))}`.slice(0, TEXT_BYTES_PER_TURN);
  return Array.from({ length: TURNS }, (_, i) =>
    i < TURNS - 1
      ? {
          text: text(i),
          toolCalls: [
            {
              name: "Bash",
              input: JSON.stringify({
                command: `echo "step ${i}" >> notes.md && wc -l notes.md`,
                description: "note",
              }),
            },
          ],
        }
      : { text: `Done. ${text(i)}` },
  );
}

interface HarnessRun {
  task: TaskRecord;
  containerMs: number;
  containerLogBytes: number;
  /** Internal-route requests by action, and the API time they took (local). */
  internal: Map<string, { requests: number; ms: number }>;
  modelRequestBytes: number[];
  outputTextBytes: number;
  dynamo: { wru: number; rru: number };
}

async function runHarnessTask(dynamodbEndpoint: string): Promise<HarnessRun> {
  const proxy = await new DynamoProxy(dynamodbEndpoint, { record: true }).start();
  const anthropic = await new FakeAnthropic().start();
  const home = mkdtempSync(join(tmpdir(), "bga-bench-container-"));
  let listener: Listener | undefined;
  let runtime: LocalRuntime | undefined;
  let apiUrl = "";
  const containers = new ContainerProcesses({ apiUrl: () => apiUrl, home, env: { BGA_LOG_LEVEL: "info" } });
  try {
    let local: LocalExecutions | undefined;
    const executions: Executions = {
      start: (input) => (local as LocalExecutions).start(input),
      stop: (input) => (local as LocalExecutions).stop(input),
      describe: (input) => (local as LocalExecutions).describe(input),
    };
    runtime = await createLocalRuntime({
      dynamodbEndpoint: proxy.endpoint,
      tableName: `bga-bench-harness-${randomUUID()}`,
      serviceSecret: ServiceKeys.generateSecret(),
      executions,
      defaultTenant: {
        apiKey: "bench-harness-key-0123456789",
        env: { ANTHROPIC_API_KEY: "sk-ant-bench" },
        config: `
agents:
  root:
    model: openai/gpt-4o-mini
    sub_agents: [coder]
  coder:
    harness:
      type: claude-code
      env:
        ANTHROPIC_API_KEY: \${env.ANTHROPIC_API_KEY}
        ANTHROPIC_BASE_URL: ${anthropic.url}
`,
      },
      log: createLogger("silent"),
    });
    const rt = runtime;
    local = new LocalExecutions({
      handler: rt.stepHandler,
      harness: { handler: containers.handler, stop: (taskId) => containers.stop(taskId) },
    });
    const internal = new Map<string, { requests: number; ms: number }>();
    listener = await listenOnLoopback(0, async (req: Request) => {
      const action = /^\/internal\/v1\/harness\/[^/]+\/(\w+)$/.exec(new URL(req.url).pathname)?.[1];
      const t0 = performance.now();
      const res = await rt.app.fetch(req);
      if (action) {
        await res.clone().arrayBuffer();
        const t = internal.get(action) ?? { requests: 0, ms: 0 };
        t.requests += 1;
        t.ms += performance.now() - t0;
        internal.set(action, t);
      }
      return res;
    });
    apiUrl = `http://127.0.0.1:${listener.port}/`;
    anthropic.enqueue(...script());
    anthropic.setFallback({ text: "ok" });

    proxy.phase = "task";
    const res = await rt.app.request("/v1/tasks", {
      method: "POST",
      headers: { authorization: "Bearer bench-harness-key-0123456789", "content-type": "application/json" },
      body: JSON.stringify({ agent: "coder", task: "Add ten notes to notes.md, one per step." }),
    });
    const { id } = (await res.json()) as { id: string };
    let task = await rt.repo.get("default", id, true);
    const deadline = Date.now() + 180_000;
    while (!task || !isFinished(task.status)) {
      if (Date.now() > deadline) throw new Error(`harness task still ${task?.status}`);
      await new Promise((r) => setTimeout(r, 100));
      task = await rt.repo.get("default", id, true);
    }
    const run = containers.runs.get(id);
    await run?.exit;
    await local.drain();
    if (task.status !== "completed")
      throw new Error(`harness task ${task.status}: ${task.error}\n${run?.output()}`);
    const byOp = tallyByOperation(proxy.requests.filter((r) => r.phase === "task"));
    return {
      task,
      containerMs: (run?.endedAt ?? 0) - (run?.startedAt ?? 0),
      containerLogBytes: Buffer.byteLength(run?.output() ?? ""),
      internal,
      modelRequestBytes: anthropic.requests.map((r) => Buffer.byteLength(JSON.stringify(r.body))),
      outputTextBytes: script().reduce(
        (n, r) =>
          n +
          Buffer.byteLength(typeof r.text === "string" ? r.text : "") +
          (r.toolCalls ?? []).reduce((m, c) => m + Buffer.byteLength(c.input), 0),
        0,
      ),
      dynamo: {
        wru: sumOf(byOp, "write", (t) => t.units),
        rru: sumOf(byOp, "read", (t) => t.units),
      },
    };
  } finally {
    containers.killAll();
    listener?.close();
    await runtime?.close();
    await anthropic.close();
    await proxy.close();
    rmSync(home, { recursive: true, force: true });
  }
}

function line(item: string, quantity: number, unit: string, price: number, priceLabel: string): Line {
  return { item, quantity, unit, price, priceLabel };
}

/** The infrastructure lines of one harness task, and the ECR storage per month. */
export function harnessLines(run: HarnessRun, stack: StackInventory): { perTask: Line[]; monthly: Line[] } {
  const a = HARNESS_ASSUMPTIONS;
  const vcpu = stack.harnessCpu / 1024;
  const gb = stack.harnessMemoryMiB / 1024;
  const runSeconds = run.containerMs / 1000 + TURNS * a.secondsPerTurn;
  const billedSeconds = Math.max(60, Math.ceil(a.fargateStartupSeconds + runSeconds));
  const internalRequests = [...run.internal.values()].reduce((n, t) => n + t.requests, 0);
  const internalMs = [...run.internal.values()].reduce((n, t) => n + Math.max(1, Math.ceil(t.ms)), 0);
  const requestGb = run.modelRequestBytes.reduce((n, b) => n + b, 0) / 1024 ** 3;
  const gbS = { price: PRICES.lambdaArmGbSecond, unit: "GB-s", priceLabel: "$0.0000133334 / GB-s" };
  const logGb = (run.containerLogBytes + 2 * 1024) / 1024 ** 3; // + the two Lambda invocations' lines
  return {
    perTask: [
      line(
        `Fargate vCPU (${vcpu} vCPU, arm64) × ${billedSeconds} s billed`,
        (vcpu * billedSeconds) / 3600,
        "vCPU-h",
        PRICES.fargateArmVcpuHour,
        "$0.03238 / vCPU-h",
      ),
      line(
        `Fargate memory (${gb} GB) × ${billedSeconds} s`,
        (gb * billedSeconds) / 3600,
        "GB-h",
        PRICES.fargateArmGbHour,
        "$0.00356 / GB-h",
      ),
      line(
        "Public IPv4 address while the task runs",
        billedSeconds / 3600,
        "h",
        PRICES.publicIpv4Hour,
        "$0.005 / h",
      ),
      line(
        "Data out to the model provider (request bodies)",
        requestGb,
        "GB",
        PRICES.dataOutGb,
        "$0.09 / GB",
      ),
      line(
        `Step Functions transitions (${AGENT_KIND_STATE}, ${PREPARE_HARNESS_STATE}, ${HARNESS_STATE}, Done)`,
        4,
        "transitions",
        PRICES.sfnTransition,
        "$0.025 / 1K",
      ),
      line(
        "Lambda requests: API (run, wait, view) + internal routes + PrepareHarness",
        3 + internalRequests + 1,
        "requests",
        PRICES.lambdaRequest,
        "$0.20 / 1M",
      ),
      {
        item: `Lambda API duration of the internal routes (${stack.apiMemoryMb} MB)`,
        quantity: (internalMs / 1000) * (stack.apiMemoryMb / 1024),
        ...gbS,
      },
      {
        // As for a model agent's task: the orchestrator's `wait` holds an API invocation open.
        item: `Lambda API: an orchestrator's wait as long as the task (${stack.apiMemoryMb} MB)`,
        quantity: (a.fargateStartupSeconds + runSeconds) * (stack.apiMemoryMb / 1024),
        ...gbS,
      },
      {
        item: `Lambda PrepareHarness (${stack.runnerMemoryMb} MB)`,
        quantity: (a.prepareMs / 1000) * (stack.runnerMemoryMb / 1024),
        ...gbS,
      },
      line("DynamoDB write request units (consumed)", run.dynamo.wru, "WRU", PRICES.dynamoWru, "$0.625 / 1M"),
      line("DynamoDB read request units (consumed)", run.dynamo.rru, "RRU", PRICES.dynamoRru, "$0.125 / 1M"),
      line("CloudWatch Logs ingestion (the container's log)", logGb, "GB", PRICES.logsIngestGb, "$0.50 / GB"),
    ],
    monthly: [
      line(
        `ECR storage of the image (~${a.imageGb} GB, assumed)`,
        a.imageGb,
        "GB-month",
        PRICES.ecrStorageGbMonth,
        "$0.10 / GB-month",
      ),
    ],
  };
}

function modelLinesOf(run: HarnessRun): Line[] {
  const input = run.modelRequestBytes.reduce((n, b) => n + b, 0) / HARNESS_ASSUMPTIONS.bytesPerToken;
  const output = run.outputTextBytes / HARNESS_ASSUMPTIONS.bytesPerToken;
  return [
    line(
      "Model input tokens (the CLI's requests as sent, bytes / 4)",
      Math.round(input),
      "tokens",
      PRICES.modelInputToken,
      "$3 / 1M",
    ),
    line("Model output tokens", Math.round(output), "tokens", PRICES.modelOutputToken, "$15 / 1M"),
  ];
}

export async function benchHarnessCost(
  dynamodbEndpoint: string,
  stack: StackInventory,
): Promise<SummaryRow[]> {
  heading(`6b. Cost of a harness task on Fargate (Claude Code, ${TURNS} turns × ${SECONDS_PER_TURN} s)`);
  const run = await runHarnessTask(dynamodbEndpoint);
  const internal = [...run.internal.entries()]
    .map(([k, t]) => `${k} ${t.requests} (${t.ms.toFixed(0)} ms)`)
    .join(", ");
  const sizes = run.modelRequestBytes;
  console.log(
    `measured locally: container (entrypoint + CLI, instant model) ${(run.containerMs / 1000).toFixed(2)} s; ` +
      `${sizes.length} model requests of ${(Math.min(...sizes) / 1024).toFixed(0)}–${(Math.max(...sizes) / 1024).toFixed(0)} KiB ` +
      `(Σ ${(sizes.reduce((n, b) => n + b, 0) / 1024).toFixed(0)} KiB: the CLI's system prompt and tools in each); ` +
      `internal routes: ${internal}; DynamoDB ${run.dynamo.wru} WRU, ${run.dynamo.rru} RRU; ` +
      `container log ${run.containerLogBytes} B; output ${run.task.output_bytes} B in ${run.task.last_seq} chunks`,
  );
  const { perTask, monthly } = harnessLines(run, stack);
  const model = modelLinesOf(run);
  const [infraCost, modelCost] = [total(perTask), total(model)];
  const rows = (lines: Line[], whole: number) =>
    lines.map((l) => [
      l.item,
      Number.isInteger(l.quantity)
        ? String(l.quantity)
        : l.quantity < 0.01
          ? l.quantity.toExponential(3)
          : l.quantity.toFixed(3),
      l.unit,
      l.priceLabel,
      usd(cost(l)),
      whole ? pct(cost(l), whole) : "",
    ]);
  printTable(
    ["item", "quantity", "unit", "unit price", "cost", "% of infra"],
    [
      ...rows(perTask, infraCost),
      ["infrastructure total", "", "", "", usd(infraCost), "100.0"],
      ...rows(model, 0),
      ["model tokens total", "", "", "", usd(modelCost), ""],
      ...rows(monthly, 0),
    ],
  );
  const a = HARNESS_ASSUMPTIONS;
  console.log(
    `assumptions: Fargate start-up billed ${a.fargateStartupSeconds} s (image pull included), ${a.secondsPerTurn} s of model time per turn, ` +
      `1-minute minimum; task size from the synthesized stack (${stack.harnessCpu} CPU units, ${stack.harnessMemoryMiB} MiB); ` +
      `PrepareHarness ${a.prepareMs} ms; internal-route Lambda time = the local API's; no prompt caching`,
  );
  const ratio = infraCost / modelCost;
  console.log(`harness infrastructure ÷ model tokens = ${(100 * ratio).toFixed(2)} %`);
  return [
    infoRow(
      "6b. harness task cost",
      `${usd(infraCost)} infra (Fargate ${usd(cost(perTask[0] as Line) + cost(perTask[1] as Line))}) vs model ${usd(modelCost)} = ${(100 * ratio).toFixed(2)} %`,
    ),
  ];
}
