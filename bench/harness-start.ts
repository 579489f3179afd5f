import "../local/polyfills.js";
import { randomUUID } from "node:crypto";
import { createLocalRuntime } from "../local/runtime.js";
import { createLogger } from "../shared/logger.js";
import { FakeAnthropic } from "../test/support/fake-anthropic.js";
import { FakeOpenAIResponses } from "../test/support/fake-openai-responses.js";
import { heading, label, median, percentile, printTable, type SummaryRow } from "./report.js";
import { API_KEY, apiRequest, nowMs, TENANT_ID, taskId, waitFinished } from "./support.js";

/**
 * Harness start (SPEC §9, locally): from `run` (POST /v1/tasks) to the coding CLI's first model
 * request, for Claude Code and Codex: the task written, the execution started, the state machine's
 * AgentKind → PrepareHarness → RunHarness, the claim, a fresh workspace (git init) and home, the
 * CLI's own start (the real binaries from node_modules), up to its first request to a scripted
 * model server on loopback. One warm-up task per CLI first (the binaries' first load).
 */

export const HARNESS_START_TARGET_MS = 2000;
const RUNS = 5;

export async function benchHarnessStart(dynamodbEndpoint: string): Promise<SummaryRow[]> {
  heading("Harness start: `run` → the CLI's first model request (local, real CLIs)");
  const anthropic = await new FakeAnthropic().start();
  const openai = await new FakeOpenAIResponses().start();
  const runtime = await createLocalRuntime({
    dynamodbEndpoint,
    tableName: `bga-bench-${randomUUID()}`,
    defaultTenant: {
      id: TENANT_ID,
      apiKey: API_KEY,
      env: { ANTHROPIC_API_KEY: "sk-ant-bench", OPENAI_API_KEY: "sk-bench" },
      config: `
agents:
  root:
    model: openai/gpt-4o-mini
    sub_agents: [claude, codex]
  claude:
    harness:
      type: claude-code
      env:
        ANTHROPIC_API_KEY: \${env.ANTHROPIC_API_KEY}
        ANTHROPIC_BASE_URL: ${anthropic.url}
  codex:
    harness:
      type: codex
      args: [--model, gpt-5.5]
      env:
        OPENAI_API_KEY: \${env.OPENAI_API_KEY}
        OPENAI_BASE_URL: ${openai.url}
`,
    },
    log: createLogger("silent"),
  });
  const rows: string[][] = [];
  const summary: SummaryRow[] = [];
  try {
    for (const [agent, requests] of [
      ["claude", () => anthropic.requests.map((r) => r.startedAt)],
      ["codex", () => openai.requests.map((r) => r.startedAt)],
    ] as const) {
      const once = async (run: number): Promise<number> => {
        anthropic.reset();
        openai.reset();
        const t0 = nowMs();
        const id = await taskId(
          await apiRequest(runtime, "POST", "/v1/tasks", { agent, task: `bench ${run}` }),
        );
        await waitFinished(runtime, id);
        const first = requests()[0];
        if (first === undefined) throw new Error(`${agent}: the CLI made no model request`);
        // Date.now() of the fake vs performance time here: both in ms since the epoch.
        return first - t0;
      };
      await once(0); // warm-up
      const times: number[] = [];
      for (let run = 1; run <= RUNS; run++) times.push(await once(run));
      const med = median(times);
      const pass = med <= HARNESS_START_TARGET_MS;
      rows.push([
        agent === "claude" ? "claude-code" : "codex",
        times.map((t) => t.toFixed(0)).join(" "),
        med.toFixed(0),
        percentile(times, 90).toFixed(0),
        `≤ ${HARNESS_START_TARGET_MS} ms`,
        label(pass),
      ]);
      summary.push({
        bench: `harness start → first model request, ${agent === "claude" ? "claude-code" : "codex"} (median)`,
        measured: `${med.toFixed(0)} ms (p90 ${percentile(times, 90).toFixed(0)} ms)`,
        target: `≤ ${HARNESS_START_TARGET_MS} ms`,
        pass,
      });
    }
    printTable(["CLI", "runs ms", "median ms", "p90 ms", "target", "result"], rows);
    console.log(`(${RUNS} runs each after a warm-up; an empty workspace; the fake answers "ok" at once)`);
    return summary;
  } finally {
    await runtime.close();
    await anthropic.close();
    await openai.close();
  }
}
