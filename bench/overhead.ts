import "../local/polyfills.js";
import type { FakeOpenAI } from "../test/support/fake-openai.js";
import { heading, label, median, printTable, type SummaryRow } from "./report.js";
import {
  type BenchRuntime,
  modelStreamingMs,
  nowMs,
  startBenchRuntime,
  streamedText,
  thinkTurn,
  waitFinished,
} from "./support.js";

export const OVERHEAD_TARGET = 1.05;
const TURNS = 3;
const DELTAS = 100;
const DELTA_BYTES = 8;
const DELAY_MS = 20;

/** One task: `turns` model turns (all but the last end in a think tool call), `deltas` deltas each. */
export function scriptTask(
  fake: FakeOpenAI,
  turns: number,
  deltas: number,
  bytes: number,
  delayMs: number,
): void {
  for (let i = 1; i < turns; i++) fake.enqueue(thinkTurn(deltas, bytes, delayMs, `step ${i}`));
  fake.enqueue(streamedText(deltas, bytes, delayMs));
}

/** One timed task: its wall/model ratio and the breakdown row. */
async function timedRun(bench: BenchRuntime, run: number): Promise<{ ratio: number; row: string[] }> {
  bench.fake.reset();
  scriptTask(bench.fake, TURNS, DELTAS, DELTA_BYTES, DELAY_MS);
  const t0 = nowMs();
  const id = await bench.startTask("thinker", `overhead run ${run}`);
  const posted = nowMs();
  const { task, seenAt } = await waitFinished(bench.runtime, id, 10);
  const reqs = bench.fake.requests;
  if (task.status !== "completed" || reqs.length !== TURNS)
    throw new Error(`run ${run}: status ${task.status}, ${reqs.length} model requests`);
  const wall = seenAt - t0;
  const model = modelStreamingMs(bench.fake);
  const lastEnd = reqs[reqs.length - 1]?.endedAt ?? Number.NaN;
  const gaps = reqs.slice(1).map((r, i) => r.startedAt - (reqs[i]?.endedAt ?? r.startedAt));
  const endedAt = task.ended_at ? Date.parse(task.ended_at) : Number.NaN;
  const row = [
    String(run),
    wall.toFixed(0),
    model.toFixed(0),
    (wall / model).toFixed(4),
    (posted - t0).toFixed(1),
    ((reqs[0]?.startedAt ?? Number.NaN) - t0).toFixed(0),
    gaps.map((g) => g.toFixed(0)).join(" / "),
    (endedAt - lastEnd).toFixed(0),
    (seenAt - lastEnd).toFixed(0),
  ];
  return { ratio: wall / model, row };
}

/**
 * Bench 1: wall time of a task (POST /v1/tasks → status `completed` seen in the store) divided by
 * the fake model's own streaming time. Default runner settings (flushIntervalMs 1000).
 */
export async function benchOverhead(dynamodbEndpoint: string, runs = 5): Promise<SummaryRow[]> {
  heading("1. Orchestration overhead (3 model turns: 2 think calls + answer, 100 deltas × 20 ms each)");
  const bench = await startBenchRuntime({ dynamodbEndpoint });
  try {
    // Warm-up (JIT of DynamoDB Local and of this process); not counted.
    scriptTask(bench.fake, TURNS, 10, DELTA_BYTES, 5);
    await waitFinished(bench.runtime, await bench.startTask("thinker", "warm up"));
    const results = [];
    for (let run = 1; run <= runs; run++) results.push(await timedRun(bench, run));
    printTable(
      [
        "run",
        "wall ms",
        "model ms",
        "wall/model",
        "POST ms",
        "POST→1st model req",
        "gaps between turns ms",
      ].concat(["last stream end→ended_at", "→seen"]),
      results.map((r) => r.row),
    );
    const med = median(results.map((r) => r.ratio));
    const pass = med <= OVERHEAD_TARGET;
    console.log(
      `median wall/model over ${runs} runs: ${med.toFixed(4)}   target ≤ ${OVERHEAD_TARGET}   ${label(pass)}`,
    );
    console.log(
      "(wall = POST start → `completed` seen by a consistent GetItem poll every 10 ms; model = Σ endedAt − startedAt of the fake's requests)",
    );
    return [
      {
        bench: "1. overhead wall/model (median)",
        measured: med.toFixed(4),
        target: `≤ ${OVERHEAD_TARGET}`,
        pass,
      },
    ];
  } finally {
    await bench.close();
  }
}
