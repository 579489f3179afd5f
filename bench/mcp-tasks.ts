import "../local/polyfills.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { heading, infoRow, label, median, percentile, printTable, type SummaryRow } from "./report.js";
import { API_KEY, type BenchRuntime, sleep, startBenchRuntime, TENANT_ID, waitFinished } from "./support.js";

/** The API's `wait` poll as deployed (functions/api/handler.ts) and as `npm start` runs it. */
const WAIT_POLLS_MS = [1000, 250];
const RUNS = 10;
/** The answer may come at most one poll after the end, and this much besides. */
const SLACK_MS = 100;

/** The official MCP client on the app in process (no port: the figures are the service's). */
async function connect(bench: BenchRuntime): Promise<Client> {
  const client = new Client({ name: "bench", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL("http://127.0.0.1:8787/mcp"), {
      requestInit: { headers: { authorization: `Bearer ${API_KEY}` } },
      fetch: async (url, init) => bench.runtime.app.fetch(new Request(url, init)),
    }),
  );
  await client.listTools();
  return client;
}

interface Run {
  createMs: number;
  getWorkingMs: number;
  endToResultMs: number;
}

/**
 * One task as an MCP task: the task-augmented call (until the MCP task is back), a `tasks/get`
 * while it works (with its last line of output), and — with a `tasks/result` already waiting —
 * the delay from the task's `ended_at` to the answer.
 */
async function once(bench: BenchRuntime, client: Client, run: number): Promise<Run> {
  let release = () => {};
  const hold = new Promise<void>((r) => {
    release = r;
  });
  bench.fake.reset();
  bench.fake.enqueue({ text: ["first line\n", "the rest"], holdAfter: 1, hold });
  const t0 = performance.now();
  const stream = client.experimental.tasks.callToolStream(
    { name: "run_background_agent", arguments: { agent: "worker", task: `mcp task ${run}` } },
    CallToolResultSchema,
  );
  const first = await stream.next();
  const createMs = performance.now() - t0;
  await stream.return(undefined);
  if (first.value?.type !== "taskCreated") throw new Error(`no task: ${JSON.stringify(first.value)}`);
  const id = first.value.task.taskId;
  for (;;) {
    const task = await bench.runtime.repo.get(TENANT_ID, id, true);
    if (task && task.output_bytes > 0) break;
    await sleep(10);
  }
  const g0 = performance.now();
  const working = await client.experimental.tasks.getTask(id);
  const getWorkingMs = performance.now() - g0;
  if (working.statusMessage !== "first line") throw new Error(`statusMessage: ${working.statusMessage}`);
  const answered = client.experimental.tasks.getTaskResult(id, CallToolResultSchema).then(() => Date.now());
  await sleep(50);
  release();
  const answeredAt = await answered;
  const { task: ended } = await waitFinished(bench.runtime, id);
  if (!ended.ended_at) throw new Error(`no ended_at on ${id}`);
  return { createMs, getWorkingMs, endToResultMs: answeredAt - Date.parse(ended.ended_at) };
}

/**
 * MCP Tasks: how long a task-augmented run_background_agent takes to answer, a tasks/get of a
 * working task (one task read, one read of its newest output), and how soon a waiting
 * tasks/result answers after the task ends (bounded by the API's wait poll), at the deployed poll
 * (1000 ms) and at npm start's (250 ms). In process, DynamoDB Local; one warm-up task each.
 */
export async function benchMcpTasks(dynamodbEndpoint: string): Promise<SummaryRow[]> {
  heading("MCP Tasks: create, tasks/get, task end → tasks/result answer");
  const rows: string[][] = [];
  const summary: SummaryRow[] = [];
  for (const waitPollMs of WAIT_POLLS_MS) {
    const bench = await startBenchRuntime({ dynamodbEndpoint, waitPollMs });
    const client = await connect(bench);
    try {
      await once(bench, client, 0); // warm-up
      const runs: Run[] = [];
      for (let run = 1; run <= RUNS; run++) runs.push(await once(bench, client, run));
      const ends = runs.map((r) => r.endToResultMs);
      const target = waitPollMs + SLACK_MS;
      const pass = median(ends) <= target;
      rows.push([
        `${waitPollMs} ms`,
        median(runs.map((r) => r.createMs)).toFixed(1),
        median(runs.map((r) => r.getWorkingMs)).toFixed(1),
        `${median(ends).toFixed(0)} (p90 ${percentile(ends, 90).toFixed(0)})`,
        `≤ ${target} ms`,
        label(pass),
      ]);
      summary.push({
        bench: `MCP task end → tasks/result answer (wait poll ${waitPollMs} ms)`,
        measured: `${median(ends).toFixed(0)} ms median (p90 ${percentile(ends, 90).toFixed(0)} ms)`,
        target: `≤ ${target} ms`,
        pass,
      });
      if (waitPollMs === WAIT_POLLS_MS[0]) {
        summary.push(
          infoRow(
            "MCP task create / tasks/get (working), median",
            `${median(runs.map((r) => r.createMs)).toFixed(1)} ms / ${median(runs.map((r) => r.getWorkingMs)).toFixed(1)} ms`,
          ),
        );
      }
    } finally {
      await client.close();
      await bench.close();
    }
  }
  printTable(["wait poll", "create ms", "tasks/get ms", "end → result ms", "target", "result"], rows);
  console.log(`(${RUNS} runs each after a warm-up; in process, no HTTP port; medians)`);
  return summary;
}
