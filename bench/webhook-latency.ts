import "../local/polyfills.js";
import { WebhookReceiver } from "../test/support/webhook-receiver.js";
import { heading, label, median, percentile, printTable, type SummaryRow } from "./report.js";
import { type BenchRuntime, sleep, startBenchRuntime, TENANT_ID, waitFinished } from "./support.js";

export const WEBHOOK_DELAY_TARGET_MS = 1000;
const RUNS = 10;

/** Waits until the receiver holds a POST for `taskId`; returns it. */
async function postFor(receiver: WebhookReceiver, taskId: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = receiver.received.find((r) => r.payload?.data.id === taskId);
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`no webhook POST for ${taskId} within ${timeoutMs} ms`);
    await sleep(2);
  }
}

/** One task that completes at once: from its stored `ended_at` to the POST at the receiver, ms. */
async function completedOnce(bench: BenchRuntime, receiver: WebhookReceiver, run: number): Promise<number> {
  bench.fake.reset();
  bench.fake.enqueue({ text: `answer ${run}` });
  const id = await bench.startTask("worker", `webhook ${run}`);
  const { task } = await waitFinished(bench.runtime, id);
  const got = await postFor(receiver, id);
  if (got.verifyError) throw new Error(`the POST did not verify: ${got.verifyError}`);
  return got.receivedAt - Date.parse(task.ended_at ?? "");
}

/** One running task stopped through the API: from the stop's answer to the POST, ms. */
async function stoppedOnce(bench: BenchRuntime, receiver: WebhookReceiver, run: number): Promise<number> {
  bench.fake.reset();
  let release = () => {};
  bench.fake.enqueue({ text: ["a", "b"], holdAfter: 1, hold: new Promise<void>((r) => (release = r)) });
  const id = await bench.startTask("worker", `stopped ${run}`);
  for (;;) {
    const t = await bench.runtime.repo.get(TENANT_ID, id, true);
    if (t?.status === "running") break;
    await sleep(5);
  }
  const res = await bench.request("POST", `/v1/tasks/${id}/stop`);
  const acked = Date.now();
  if (res.status !== 200) throw new Error(`stop answered ${res.status}`);
  const got = await postFor(receiver, id);
  release();
  return got.receivedAt - acked;
}

/**
 * Completion push locally (SPEC §11, issue 14): the delay from a task's end to the signed POST at
 * a loopback receiver (which verifies it with the `standardwebhooks` package), for tasks that
 * complete and for tasks stopped through the API. One warm-up task first.
 */
export async function benchWebhookLatency(dynamodbEndpoint: string): Promise<SummaryRow[]> {
  heading("Webhook delay: task end → signed POST at the receiver (npm start's in-process delivery)");
  const bench = await startBenchRuntime({ dynamodbEndpoint });
  const receiver = await new WebhookReceiver().start();
  try {
    receiver.useSecret((await bench.runtime.tenantAdmin.setWebhook(TENANT_ID, receiver.url)).secret);
    await completedOnce(bench, receiver, 0); // warm-up
    const completed: number[] = [];
    for (let run = 1; run <= RUNS; run++) completed.push(await completedOnce(bench, receiver, run));
    const stopped: number[] = [];
    for (let run = 1; run <= 5; run++) stopped.push(await stoppedOnce(bench, receiver, run));
    const rows = [
      ["completed: ended_at → POST", completed],
      ["stopped: stop answered → POST", stopped],
    ] as const;
    printTable(
      ["case", "runs", "delays ms", "median ms", "p90 ms", "max ms", "target", "result"],
      rows.map(([name, delays]) => [
        name,
        String(delays.length),
        delays.map((d) => d.toFixed(0)).join(" "),
        median(delays).toFixed(0),
        percentile(delays, 90).toFixed(0),
        Math.max(...delays).toFixed(0),
        `≤ ${WEBHOOK_DELAY_TARGET_MS} ms`,
        label(Math.max(...delays) <= WEBHOOK_DELAY_TARGET_MS),
      ]),
    );
    console.log(
      "(ended_at is stamped before the task's final write; the POST is timed as the receiver gets it. Every POST verified.)",
    );
    return rows.map(([name, delays]) => ({
      bench: `webhook delay, ${name} (p90)`,
      measured: `${percentile(delays, 90).toFixed(0)} ms`,
      target: `≤ ${WEBHOOK_DELAY_TARGET_MS} ms`,
      pass: percentile(delays, 90) <= WEBHOOK_DELAY_TARGET_MS,
    }));
  } finally {
    await receiver.close();
    await bench.close();
  }
}
