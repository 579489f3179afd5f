import "../local/polyfills.js";
import { heading, label, median, percentile, printTable, type SummaryRow } from "./report.js";
import { type BenchRuntime, nowMs, sleep, startBenchRuntime, streamedText, waitFinished } from "./support.js";

export const FIRST_OUTPUT_LAG_TARGET_MS = 300;
const RUNS = 7;
const POLL_MS = 10;
/** The fake waits this long before each delta: its first text goes out DELAY_MS after the request. */
const DELAY_MS = 100;
const DELTAS = 30;
const DELTA_BYTES = 20;

/** Whether an output page holds a text chunk. */
function hasText(body: unknown): boolean {
  if (typeof body !== "object" || body === null || !("chunks" in body) || !Array.isArray(body.chunks))
    return false;
  return body.chunks.some(
    (c: unknown) => typeof c === "object" && c !== null && "kind" in c && c.kind === "text",
  );
}

/** Polls GET /v1/tasks/{id}/output every POLL_MS until a text chunk is readable; returns when it was. */
async function firstTextSeenAt(bench: BenchRuntime, id: string, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await bench.request("GET", `/v1/tasks/${id}/output?after=0&limit=10`);
    const body: unknown = await res.json();
    if (res.status !== 200) throw new Error(`GET output answered ${res.status}: ${JSON.stringify(body)}`);
    if (hasText(body)) return nowMs();
    await sleep(POLL_MS);
  }
  throw new Error(`no text chunk of ${id} within ${timeoutMs} ms`);
}

/** One task: the lag from the model's first text delta to that text readable through the API, ms. */
async function lagOnce(bench: BenchRuntime, run: number): Promise<number> {
  bench.fake.reset();
  bench.fake.enqueue(streamedText(DELTAS, DELTA_BYTES, DELAY_MS));
  const id = await bench.startTask("worker", `first output ${run}`);
  const seenAt = await firstTextSeenAt(bench, id);
  const request = bench.fake.requests[0];
  if (!request) throw new Error("the model was never called");
  // The fake sends its first delta after sleeping DELAY_MS from startedAt; timers only fire late,
  // so this is no later than the real send, and the lag no shorter than the real one.
  const firstDeltaAt = request.startedAt + DELAY_MS;
  await waitFinished(bench.runtime, id);
  return seenAt - firstDeltaAt;
}

/**
 * First-output lag: from the fake model's first text delta to the first text chunk readable via
 * GET /v1/tasks/{id}/output (polled every 10 ms). Default runner settings; one warm-up task first.
 */
export async function benchFirstOutput(dynamodbEndpoint: string): Promise<SummaryRow[]> {
  heading("First-output lag: model's first text delta → readable via GET /v1/tasks/{id}/output");
  const bench = await startBenchRuntime({ dynamodbEndpoint });
  try {
    await lagOnce(bench, 0); // warm-up
    const lags: number[] = [];
    for (let run = 1; run <= RUNS; run++) lags.push(await lagOnce(bench, run));
    const med = median(lags);
    const pass = med <= FIRST_OUTPUT_LAG_TARGET_MS;
    printTable(
      ["runs", "lags ms", "median ms", "p90 ms", "target", "result"],
      [
        [
          String(RUNS),
          lags.map((l) => l.toFixed(0)).join(" "),
          med.toFixed(0),
          percentile(lags, 90).toFixed(0),
        ].concat([`≤ ${FIRST_OUTPUT_LAG_TARGET_MS} ms`, label(pass)]),
      ],
    );
    console.log(
      `(one turn: ${DELTAS} deltas × ${DELTA_BYTES} B, ${DELAY_MS} ms apart; first delta at request start + ${DELAY_MS} ms; ` +
        `the API polled every ${POLL_MS} ms from the POST)`,
    );
    return [
      {
        bench: "first-output lag (median)",
        measured: `${med.toFixed(0)} ms (p90 ${percentile(lags, 90).toFixed(0)} ms)`,
        target: `≤ ${FIRST_OUTPUT_LAG_TARGET_MS} ms`,
        pass,
      },
    ];
  } finally {
    await bench.close();
  }
}
