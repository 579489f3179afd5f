import "../local/polyfills.js";
import type { FlushInput } from "../shared/ports.js";
import { writeUnits } from "./capacity.js";
import { DynamoProxy, WRITE_OPERATIONS } from "./dynamo-proxy.js";
import { heading, KIB, label, median, printTable, type SummaryRow } from "./report.js";
import { type BenchRuntime, filler, startBenchRuntime, streamedText, waitFinished } from "./support.js";

export const FLUSH_COST_RATIO_TARGET = 1.1;
/** Task texts compared: 0.1 KiB and 100 KiB (the default max_task_bytes). */
const TASK_BYTES = [Math.round(0.1 * KIB), 100 * KIB];
/** The same model script for both: ~5 s of streamed text, 2 KB. */
const SCRIPT = { deltas: 50, bytes: 40, delayMs: 100 };

/**
 * Labels the proxy's requests with the repository write they belong to: `flush#n` (chunks and
 * counters only), `checkpoint#n` or `finish#n`. Works because one task's writes are serialized.
 */
function labelRepositoryWrites(bench: BenchRuntime, proxy: DynamoProxy): void {
  const repo = bench.runtime.repo;
  const original = repo.flush.bind(repo);
  let n = 0;
  repo.flush = async (input: FlushInput) => {
    const kind = input.finish ? "finish" : input.checkpoint ? "checkpoint" : "flush";
    proxy.phase = `${kind}#${++n}`;
    try {
      return await original(input);
    } finally {
      proxy.phase = "other";
    }
  };
}

interface FlushCost {
  taskBytes: number;
  /** Write units of each plain flush. */
  perFlush: number[];
  /** Write units of the whole task, POST to end. */
  taskUnits: number;
  writeRequests: number;
  status: string;
}

/** One task with `taskBytes` of task text; write units of each plain flush (bench/capacity.ts). */
async function measure(bench: BenchRuntime, proxy: DynamoProxy, taskBytes: number): Promise<FlushCost> {
  bench.fake.reset();
  bench.fake.enqueue(streamedText(SCRIPT.deltas, SCRIPT.bytes, SCRIPT.delayMs));
  proxy.reset();
  proxy.phase = "other";
  const id = await bench.startTask("worker", filler(taskBytes));
  const { task } = await waitFinished(bench.runtime, id, 50);
  await bench.runtime.executions.drain();
  const writes = proxy.requests.filter((r) => WRITE_OPERATIONS.has(r.op));
  const flushes = new Map<string, number>();
  for (const r of writes)
    if (r.phase.startsWith("flush#")) flushes.set(r.phase, (flushes.get(r.phase) ?? 0) + writeUnits([r]));
  return {
    taskBytes,
    perFlush: [...flushes.values()],
    taskUnits: writeUnits(writes),
    writeRequests: writes.length,
    status: task.status,
  };
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Write units per flush against the size of the task text: the same ~5 s script with 0.1 KiB and
 * with 100 KiB of task text. Units: DynamoDB's rule for transactions (2 per KB per item, sizes read
 * by the proxy before and after), DynamoDB Local's ConsumedCapacity otherwise (bench/capacity.ts).
 */
export async function benchFlushCost(dynamodbEndpoint: string): Promise<SummaryRow[]> {
  heading("Write units per flush vs task text size (0.1 KiB and 100 KiB, same 5 s script)");
  const proxy = await new DynamoProxy(dynamodbEndpoint, { record: true }).start();
  const bench = await startBenchRuntime({ dynamodbEndpoint: proxy.endpoint });
  try {
    labelRepositoryWrites(bench, proxy);
    await measure(bench, proxy, TASK_BYTES[0] ?? 0); // warm-up
    const [small, large] = [
      await measure(bench, proxy, TASK_BYTES[0] ?? 0),
      await measure(bench, proxy, TASK_BYTES[1] ?? 0),
    ];
    if (!small || !large || small.perFlush.length === 0 || large.perFlush.length === 0)
      throw new Error("a task made no plain flush");
    printTable(
      [
        "task text",
        "status",
        "plain flushes",
        "WRU per flush (each)",
        "mean WRU/flush",
        "task WRU (all writes)",
        "write requests",
      ],
      [small, large].map((c) => [
        `${(c.taskBytes / KIB).toFixed(1)} KiB`,
        c.status,
        String(c.perFlush.length),
        c.perFlush.join(" "),
        mean(c.perFlush).toFixed(2),
        String(c.taskUnits),
        String(c.writeRequests),
      ]),
    );
    const ratio = mean(large.perFlush) / mean(small.perFlush);
    const pass = ratio <= FLUSH_COST_RATIO_TARGET;
    console.log(
      `mean WRU per plain flush, 100 KiB / 0.1 KiB = ${ratio.toFixed(2)} (medians ${median(large.perFlush)} / ${median(small.perFlush)})` +
        `   target ≤ ${FLUSH_COST_RATIO_TARGET}   ${label(pass)}\n` +
        "(plain flush = a repository flush with chunks and counters only, no checkpoint, not the finish; WRU = table + index units; transactions at 2 per KB per item)",
    );
    return [
      {
        bench: "flush WRU, 100 KiB / 0.1 KiB task text",
        measured: `${ratio.toFixed(2)} (${mean(large.perFlush).toFixed(1)} / ${mean(small.perFlush).toFixed(1)} WRU per flush)`,
        target: `≤ ${FLUSH_COST_RATIO_TARGET}`,
        pass,
      },
    ];
  } finally {
    await bench.close();
    await proxy.close();
  }
}
