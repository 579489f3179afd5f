import "../local/polyfills.js";
import type { FakeReply } from "../test/support/fake-openai.js";
import { DynamoProxy } from "./dynamo-proxy.js";
import { heading, KIB, label, printTable, type SummaryRow } from "./report.js";
import { modelStreamingMs, startBenchRuntime, streamedText, thinkTurn, waitFinished } from "./support.js";

/**
 * Writes every task makes once, whatever its output: create, pending→running, and the finishing
 * transaction. The target allows these, and one write per model turn (its first text is written at
 * once), on top of one write per KiB or per second.
 */
export const PER_TASK_WRITES = 3;

/** The target: max(output KiB, streaming seconds) + model turns + 3. */
export function writesTarget(kibOut: number, seconds: number, turns: number): number {
  return Math.max(kibOut, seconds) + turns + PER_TASK_WRITES;
}

interface Shape {
  name: string;
  replies: FakeReply[];
}

const SHAPES: Shape[] = [
  { name: "(a) 10 KiB over ~10 s", replies: [streamedText(512, 20, 19)] },
  { name: "(b) 200 KiB over ~5 s", replies: [streamedText(250, 820, 20)] },
  { name: "(c) 1 KiB over ~30 s", replies: [streamedText(256, 4, 117)] },
  {
    name: "(d) bench-1 task: 3 turns × 100 × 8 B",
    replies: [thinkTurn(100, 8, 20, "step 1"), thinkTurn(100, 8, 20, "step 2"), streamedText(100, 8, 20)],
  },
];

interface ShapeResult {
  shape: Shape;
  turns: number;
  kib: number;
  seconds: number;
  proxied: number;
  proxiedOps: string;
  status: string;
}

async function runShape(dynamodbEndpoint: string, shape: Shape): Promise<ShapeResult> {
  const proxy = await new DynamoProxy(dynamodbEndpoint).start();
  const bench = await startBenchRuntime({
    dynamodbEndpoint: proxy.endpoint,
  });
  try {
    bench.fake.enqueue(...shape.replies);
    proxy.reset(); // table creation is not the task's
    const id = await bench.startTask(shape.replies.length > 1 ? "thinker" : "worker", shape.name);
    const { task } = await waitFinished(bench.runtime, id, 50);
    await bench.runtime.executions.drain(); // every write of the execution has landed
    return {
      shape,
      turns: bench.fake.requests.length,
      kib: task.output_bytes / KIB,
      seconds: modelStreamingMs(bench.fake) / 1000,
      proxied: proxy.total,
      proxiedOps: proxy.describe(),
      status: task.status,
    };
  } finally {
    await bench.close();
    await proxy.close();
  }
}

function resultRow(r: ShapeResult, target: number, pass: boolean): string[] {
  return [
    r.shape.name,
    String(r.turns),
    r.kib.toFixed(1),
    r.seconds.toFixed(2),
    `${r.proxied} (${r.proxiedOps})`,
    `≤ ${target.toFixed(1)}`,
    r.status === "completed" ? label(pass) : `${label(pass)} (${r.status})`,
  ];
}

/**
 * Bench 2: DynamoDB write requests per task against output size, streaming time and turns. The
 * shapes run in parallel, each on its own runtime, table, fake model and counting proxy.
 */
export async function benchWrites(dynamodbEndpoint: string): Promise<SummaryRow[]> {
  heading("2. DynamoDB writes per task vs output KiB, streaming seconds and turns (default runner settings)");
  const results = await Promise.all(SHAPES.map((s) => runShape(dynamodbEndpoint, s)));
  const rows: string[][] = [];
  const summary: SummaryRow[] = [];
  for (const r of results) {
    const target = writesTarget(r.kib, r.seconds, r.turns);
    const pass = r.proxied <= target;
    rows.push(resultRow(r, target, pass));
    summary.push({
      bench: `2. writes ${r.shape.name.split(" ")[0]} ${r.kib.toFixed(0)} KiB/${r.seconds.toFixed(1)} s/${r.turns} turn(s)`,
      measured: `${r.proxied} writes`,
      target: `≤ ${target.toFixed(1)}`,
      pass,
    });
  }
  const headers = ["shape", "turns", "KiB", "stream s", "write requests (proxy)"];
  printTable([...headers, "target max(KiB,s)+turns+3", "result"], rows);
  console.log(
    "write requests = what a proxy in front of DynamoDB Local saw from POST to the end of the execution (reads not counted);\n" +
      "target = max(KiB, s) + model turns + 3 once-per-task writes (create, pending→running, the finishing transaction).",
  );
  return summary;
}
