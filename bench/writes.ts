import "../local/polyfills.js";
import type { OutputWriter } from "../functions/runner/output-writer.js";
import type { FakeReply } from "../test/support/fake-openai.js";
import {
  heading,
  KIB,
  label,
  modelStreamingMs,
  printTable,
  type SummaryRow,
  startBenchRuntime,
  streamedText,
  thinkTurn,
  WriteCountingProxy,
  waitFinished,
} from "./support.js";

/** Writes every task makes outside the runner's OutputWriter: create (1 transaction) + pending→running (1 update). */
export const FIXED_WRITES = 2;
/**
 * Writes every task makes once, whatever its output: create, pending→running, and the finishing
 * transaction (last chunks + final status + slot release). The target allows these on top of
 * one write per KiB or per second.
 */
export const PER_TASK_WRITES = 3;

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
  runnerWrites: number;
  writers: number;
  proxied: number;
  proxiedOps: string;
  status: string;
}

async function runShape(dynamodbEndpoint: string, shape: Shape): Promise<ShapeResult> {
  const proxy = await new WriteCountingProxy(dynamodbEndpoint).start();
  const writers: OutputWriter[] = [];
  const bench = await startBenchRuntime({
    dynamodbEndpoint: proxy.endpoint,
    onWriter: (w) => writers.push(w),
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
      runnerWrites: writers.reduce((n, w) => n + w.writes, 0),
      writers: writers.length,
      proxied: proxy.total,
      proxiedOps: proxy.describe(),
      status: task.status,
    };
  } finally {
    await bench.close();
    await proxy.close();
  }
}

/**
 * Bench 2: DynamoDB writes per task against output size and streaming time. The shapes run in
 * parallel, each on its own runtime, table, fake model and counting proxy.
 */
export async function benchWrites(dynamodbEndpoint: string): Promise<SummaryRow[]> {
  heading("2. DynamoDB writes per task vs output KiB and streaming seconds (default runner settings)");
  const results = await Promise.all(SHAPES.map((s) => runShape(dynamodbEndpoint, s)));
  const rows: string[][] = [];
  const summary: SummaryRow[] = [];
  for (const r of results) {
    const total = r.runnerWrites + FIXED_WRITES;
    const bound = Math.max(r.kib, r.seconds);
    const target = bound + PER_TASK_WRITES;
    const pass = total <= target;
    rows.push([
      r.shape.name,
      String(r.turns),
      r.kib.toFixed(1),
      r.seconds.toFixed(2),
      String(r.runnerWrites),
      `${total}`,
      `${r.proxied} (${r.proxiedOps})`,
      `≤ ${target.toFixed(1)}`,
      r.status === "completed" ? label(pass) : `${label(pass)} (${r.status})`,
    ]);
    summary.push({
      bench: `2. writes ${r.shape.name.split(" ")[0]} ${r.kib.toFixed(0)} KiB/${r.seconds.toFixed(1)} s`,
      measured: `${total} writes`,
      target: `≤ ${target.toFixed(1)}`,
      pass,
    });
  }
  printTable(
    [
      "shape",
      "turns",
      "KiB",
      "stream s",
      "runner writes",
      "total (+2)",
      "proxy-counted",
      "target max(KiB,s)+3",
      "result",
    ],
    rows,
  );
  console.log(
    "runner writes = Σ OutputWriter.writes (onWriter); total adds the fixed create (1 TransactWriteItems) and",
  );
  console.log(
    "pending→running (1 UpdateItem). proxy-counted = write requests seen by a proxy in front of DynamoDB Local",
  );
  console.log("from POST to the end of the execution (status reads are not writes and are not counted).");
  console.log(
    "target = max(KiB, s) + 3 once-per-task writes: create, pending→running and the finishing transaction.",
  );
  return summary;
}
