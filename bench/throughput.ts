import "../local/polyfills.js";
import { heading, label, printTable, type SummaryRow } from "./report.js";
import {
  type BenchRuntime,
  nowMs,
  sleep,
  startBenchRuntime,
  streamedText,
  TENANT_ID,
  taskId,
} from "./support.js";

export const ADMIT_ALL_TARGET_S = 20;
const RUNS = 1000;
const BATCH = 100;
/** Each task streams a short answer: 10 deltas × 20 B, 150 ms apart (~1.5 s). */
const REPLY = streamedText(10, 20, 150);
/** Give up waiting for the tasks to finish after this long (the bench stops by itself). */
const COMPLETION_TIMEOUT_MS = 600_000;
const POLL_MS = 500;
const FINISHED = ["completed", "failed", "stopped"];

interface Admission {
  ids: string[];
  /** HTTP status → count. */
  statuses: Map<number, number>;
  /** From the first POST to the last 201 answered, ms. */
  lastAdmittedMs: number;
  /** How long each batch took to be answered, ms. */
  batchMs: number[];
}

/** POSTs RUNS tasks, BATCH at a time (the next batch once the last one has been answered). */
async function submitAll(bench: BenchRuntime, t0: number): Promise<Admission> {
  const admission: Admission = { ids: [], statuses: new Map(), lastAdmittedMs: Number.NaN, batchMs: [] };
  const post = async (n: number) => {
    const res = await bench.request("POST", "/v1/tasks", { agent: "worker", task: `throughput ${n}` });
    admission.statuses.set(res.status, (admission.statuses.get(res.status) ?? 0) + 1);
    if (res.status !== 201) return void (await res.text());
    admission.ids.push(await taskId(res));
    admission.lastAdmittedMs = nowMs() - t0;
  };
  for (let sent = 0; sent < RUNS; sent += BATCH) {
    const started = nowMs();
    await Promise.all(Array.from({ length: Math.min(BATCH, RUNS - sent) }, (_, i) => post(sent + i)));
    admission.batchMs.push(nowMs() - started);
  }
  return admission;
}

/** Task status → count, from consistent batch reads. */
async function countStatuses(bench: BenchRuntime, ids: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const task of (await bench.runtime.repo.getMany(TENANT_ID, ids)).values())
    counts.set(task.status, (counts.get(task.status) ?? 0) + 1);
  return counts;
}

/** Polls the tasks until all are finished or COMPLETION_TIMEOUT_MS passes; statuses and when, ms after t0. */
async function awaitCompletion(bench: BenchRuntime, ids: string[], t0: number) {
  const deadline = Date.now() + COMPLETION_TIMEOUT_MS;
  let statuses = await countStatuses(bench, ids);
  const finished = () => FINISHED.reduce((n, s) => n + (statuses.get(s) ?? 0), 0);
  while (finished() < ids.length && Date.now() < deadline) {
    await sleep(POLL_MS);
    statuses = await countStatuses(bench, ids);
  }
  return { statuses, doneMs: nowMs() - t0, allFinished: finished() === ids.length };
}

const describe = <K>(counts: Map<K, number>) => [...counts].map(([k, n]) => `${k}×${n}`).join(" ") || "none";

/**
 * Local throughput: RUNS tasks POSTed BATCH at a time through the in-process app while the earlier
 * ones stream (each a ~1.5 s answer from the fake model), max_running_tasks raised to RUNS. Reports
 * admissions, the time to the last one admitted and the time until all are finished.
 */
export async function benchThroughput(dynamodbEndpoint: string): Promise<SummaryRow[]> {
  heading(`Local throughput: ${RUNS} tasks, ${BATCH} POSTs at a time, while earlier ones stream`);
  const bench = await startBenchRuntime({ dynamodbEndpoint, limits: { max_running_tasks: RUNS } });
  try {
    bench.fake.setFallback(REPLY);
    const t0 = nowMs();
    const admission = await submitAll(bench, t0);
    const done = await awaitCompletion(bench, admission.ids, t0);
    const admitted = admission.statuses.get(201) ?? 0;
    const completed = done.statuses.get("completed") ?? 0;
    const admitS = admission.lastAdmittedMs / 1000;
    const rows = [
      [
        "admitted (201)",
        `${admitted} of ${RUNS} (answers: ${describe(admission.statuses)})`,
        `= ${RUNS}`,
        label(admitted === RUNS),
      ],
      [
        "time to the last admitted",
        `${admitS.toFixed(1)} s`,
        `≤ ${ADMIT_ALL_TARGET_S} s`,
        label(admitS <= ADMIT_ALL_TARGET_S),
      ],
      [
        "completed",
        `${completed} of ${RUNS} (${describe(done.statuses)})`,
        `= ${RUNS}`,
        label(completed === RUNS),
      ],
      [
        "time to all finished",
        `${(done.doneMs / 1000).toFixed(1)} s${done.allFinished ? "" : " (timed out)"}`,
        "-",
        "info",
      ],
    ];
    printTable(["figure", "measured", "target", "result"], rows);
    const batches = admission.batchMs.map((ms) => (ms / 1000).toFixed(1)).join(" ");
    console.log(`each batch of ${BATCH} POSTs answered in (s): ${batches}`);
    console.log(`(model requests served: ${bench.fake.requests.length}; times from the first POST)`);
    return rows.map(([figure, measured, target, result]) => ({
      bench: `throughput: ${figure}`,
      measured: measured ?? "",
      target: target ?? "-",
      pass: result === "PASS",
      ...(result === "info" ? { info: true } : {}),
    }));
  } finally {
    await bench.close();
  }
}
