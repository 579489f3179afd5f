import type { TaskRecord } from "../../shared/domain/task.js";
import type { StructuredLogger } from "../../shared/logger.js";
import { isRecord } from "../dynamo-json.js";
import { DynamoProxy, type ProxiedRequest } from "../dynamo-proxy.js";
import { type ExecutionLog, NO_EXECUTIONS, runExecution } from "../state-machine.js";
import { type BenchRuntime, nowMs, startBenchRuntime, TENANT_ID } from "../support.js";
import { typicalPrompt, typicalReplies } from "./typical-task.js";

/** What one typical task did, measured. */
export interface TaskRun {
  task: TaskRecord;
  execution: ExecutionLog;
  /** The orchestrator's three API calls, ms each. */
  api: { run: number; wait: number; view: number };
  /** Every DynamoDB request of the task (run + execution + wait + view), with consumed capacity. */
  requests: ProxiedRequest[];
  proxyWrites: string;
  /** Log lines at info and above the service wrote, and their JSON bytes. */
  log: { lines: number; bytes: number };
  modelRequests: number;
  tableName: string;
}

/** A logger that writes nothing and counts what it would have written at level info. */
function countingLogger(): { log: StructuredLogger; counted: TaskRun["log"] } {
  const counted = { lines: 0, bytes: 0 };
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    counted.lines += 1;
    counted.bytes +=
      Buffer.byteLength(JSON.stringify({ level, time: new Date().toISOString(), message, ...fields })) + 1;
  };
  return {
    log: { debug: () => {}, info: write("info"), warn: write("warn"), error: write("error") },
    counted,
  };
}

/** Text of a tool result from the REST tool gateway (POST /v1/tools/{name}). */
async function tool(bench: BenchRuntime, name: string, args: unknown): Promise<{ text: string; ms: number }> {
  const t0 = nowMs();
  const res = await bench.request("POST", `/v1/tools/${name}`, args);
  const body: unknown = await res.json();
  const ms = nowMs() - t0;
  if (res.status !== 200 || !isRecord(body) || !Array.isArray(body.content) || body.isError === true)
    throw new Error(`${name} answered ${res.status}: ${JSON.stringify(body)}`);
  const first: unknown = body.content[0];
  return { text: isRecord(first) && typeof first.text === "string" ? first.text : "", ms };
}

/**
 * Runs the typical task as an orchestrator would (run, wait, view through the REST tool gateway),
 * the project's state machine run by the bench (to read its event log), every DynamoDB request
 * through a recording proxy. As deployed: tenant in the table, `wait` polling every second.
 */
export async function runTypicalTask(dynamodbEndpoint: string): Promise<TaskRun> {
  const proxy = await new DynamoProxy(dynamodbEndpoint, { record: true }).start();
  const { log, counted } = countingLogger();
  const bench = await startBenchRuntime({
    dynamodbEndpoint: proxy.endpoint,
    executions: NO_EXECUTIONS,
    waitPollMs: 1000,
    log,
  });
  try {
    bench.fake.enqueue(...typicalReplies());
    proxy.reset(); // table creation and the tenant's setup are not the task's
    Object.assign(counted, { lines: 0, bytes: 0 });
    const run = await tool(bench, "run_background_agent", { agent: "thinker", task: typicalPrompt() });
    const id = /ID: (\S+)/.exec(run.text)?.[1];
    if (!id) throw new Error(`no task ID in: ${run.text}`);
    const wait = tool(bench, "wait_background_agents", { task_ids: [id], timeout: 840 });
    const execution = await runExecution(bench.runtime.stepHandler, id);
    const waited = await wait;
    if (!waited.text.includes('"all_done":true')) throw new Error(`wait did not see the end: ${waited.text}`);
    const view = await tool(bench, "view_background_agent", { task_id: id });
    const requests = [...proxy.requests];
    const task = await bench.runtime.repo.get(TENANT_ID, id, true);
    if (task?.status !== "completed") throw new Error(`task ended ${task?.status ?? "missing"}`);
    const api = { run: run.ms, wait: waited.ms, view: view.ms };
    const modelRequests = bench.fake.requests.length;
    return {
      task,
      execution,
      api,
      requests,
      proxyWrites: proxy.describe(),
      log: { ...counted },
      modelRequests,
      tableName: bench.tableName,
    };
  } finally {
    await bench.close();
    await proxy.close();
  }
}
