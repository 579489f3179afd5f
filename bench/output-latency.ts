import "../local/polyfills.js";
import { BatchWriteCommand, type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { createLocalDynamoDocumentClient } from "../shared/adapters/dynamo/client.js";
import { keys } from "../shared/table-schema.js";
import { heading, label, median, percentile, printTable, type SummaryRow } from "./report.js";
import { NO_EXECUTIONS } from "./state-machine.js";
import { type BenchRuntime, nowMs, sleep, startBenchRuntime, TENANT_ID } from "./support.js";

export const LATENCY_RATIO_TARGET = 1.5;
const TOTAL_CHUNKS = 100_010;
const BATCH = 25; // BatchWriteItem's maximum
const PARALLEL = 16;
const WARM_UP_ROUNDS = 30;

type Item = Record<string, unknown>;

/** Puts `items` with BatchWriteItem, retrying what comes back unprocessed. */
async function batchPut(doc: DynamoDBDocumentClient, tableName: string, items: Item[]): Promise<void> {
  for (let attempt = 0; items.length > 0; attempt++) {
    const res = await doc.send(
      new BatchWriteCommand({
        RequestItems: { [tableName]: items.map((Item) => ({ PutRequest: { Item } })) },
      }),
    );
    const left = res.UnprocessedItems?.[tableName] ?? [];
    items = left.flatMap((r) => (r.PutRequest?.Item ? [r.PutRequest.Item] : []));
    if (items.length > 0) await sleep(Math.min(1000, 20 * 2 ** attempt));
  }
}

/** Writes chunk items seq 1..total straight into the table, PARALLEL BatchWriteItem calls in flight. */
async function loadChunks(doc: DynamoDBDocumentClient, tableName: string, taskId: string, total: number) {
  const pk = keys.task(TENANT_ID, taskId).pk;
  const at = new Date().toISOString();
  const expiresAt = Math.floor(Date.now() / 1000) + 86_400;
  let bytes = 0;
  let next = 1;
  const worker = async () => {
    while (next <= total) {
      const from = next;
      next = Math.min(total + 1, from + BATCH);
      const items: Item[] = [];
      for (let seq = from; seq < next; seq++) {
        const text = `chunk ${seq} `;
        bytes += Buffer.byteLength(text);
        items.push({ pk, sk: keys.chunkSk(seq), seq, kind: "text", text, at, expires_at: expiresAt });
      }
      await batchPut(doc, tableName, items);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return bytes;
}

/** A running task whose TOTAL_CHUNKS chunks are in the table, its counters set to match. */
async function loadTask(bench: BenchRuntime, doc: DynamoDBDocumentClient): Promise<string> {
  const taskId = await bench.startTask("worker", "output latency");
  const moved = await bench.runtime.repo.transition(TENANT_ID, taskId, "running");
  if (!moved.moved) throw new Error("could not move the task to running");
  const t0 = nowMs();
  const bytes = await loadChunks(doc, bench.tableName, taskId, TOTAL_CHUNKS);
  const loadMs = nowMs() - t0;
  // Keep the task record consistent with its chunks (what the runner's flushes would have left).
  await doc.send(
    new UpdateCommand({
      TableName: bench.tableName,
      Key: keys.task(TENANT_ID, taskId),
      UpdateExpression: "SET last_seq = :seq, output_bytes = :bytes",
      ExpressionAttributeValues: { ":seq": TOTAL_CHUNKS, ":bytes": bytes },
    }),
  );
  console.log(
    `loaded ${TOTAL_CHUNKS} chunk items (${(bytes / 1024).toFixed(0)} KiB of text) with BatchWriteItem ×${Math.ceil(TOTAL_CHUNKS / BATCH)}, ` +
      `${PARALLEL} in parallel, in ${(loadMs / 1000).toFixed(1)} s (${((TOTAL_CHUNKS / loadMs) * 1000).toFixed(0)} items/s)`,
  );
  return taskId;
}

interface Probe {
  name: string;
  after: number;
  expect: { count: number; firstSeq: number };
  times: number[];
}

function firstSeqOf(body: unknown): { count: number; firstSeq: number } {
  const chunks =
    typeof body === "object" && body !== null && "chunks" in body && Array.isArray(body.chunks)
      ? body.chunks
      : [];
  const first: unknown = chunks[0];
  const seq =
    typeof first === "object" && first !== null && "seq" in first && typeof first.seq === "number"
      ? first.seq
      : -1;
  return { count: chunks.length, firstSeq: seq };
}

async function timeProbe(bench: BenchRuntime, taskId: string, probe: Probe, keep: boolean): Promise<void> {
  const t0 = nowMs();
  const res = await bench.request("GET", `/v1/tasks/${taskId}/output?after=${probe.after}&limit=100`);
  const body: unknown = await res.json();
  const t1 = nowMs();
  if (res.status !== 200) throw new Error(`${probe.name}: HTTP ${res.status} ${JSON.stringify(body)}`);
  const got = firstSeqOf(body);
  if (got.count !== probe.expect.count || got.firstSeq !== probe.expect.firstSeq)
    throw new Error(`${probe.name}: got ${got.count} chunks from seq ${got.firstSeq}`);
  if (keep) probe.times.push(t1 - t0);
}

function report(probes: Probe[]): SummaryRow[] {
  const [base, deep, full] = probes.map((p) => p.times);
  const baseMedian = median(base ?? []);
  printTable(
    ["request (limit=100)", "chunks", "samples", "median ms", "p95 ms", "median / after=10"],
    probes.map((p) =>
      [p.name, String(p.expect.count), String(p.times.length)].concat([
        median(p.times).toFixed(2),
        percentile(p.times, 95).toFixed(2),
        (median(p.times) / baseMedian).toFixed(3),
      ]),
    ),
  );
  const ratio = median(deep ?? []) / baseMedian;
  const ratioP95 = percentile(deep ?? [], 95) / percentile(base ?? [], 95);
  const fullRatio = median(full ?? []) / baseMedian;
  const pass = ratio <= LATENCY_RATIO_TARGET;
  const target = `≤ ${LATENCY_RATIO_TARGET}`;
  console.log(
    `ratio after=100000 / after=10: median ${ratio.toFixed(3)}, p95 ${ratioP95.toFixed(3)}   target ${target}   ${label(pass)}`,
  );
  console.log(
    `like for like (100 chunks at seq 99 901 vs 100 at seq 11): median ratio ${fullRatio.toFixed(3)}   ${label(fullRatio <= LATENCY_RATIO_TARGET)}`,
  );
  return [
    {
      bench: "4. output latency after=100000 / after=10",
      measured: `${ratio.toFixed(3)} (p95 ${ratioP95.toFixed(3)})`,
      target,
      pass,
    },
    {
      bench: "4. … full page after=99900 / after=10",
      measured: fullRatio.toFixed(3),
      target,
      pass: fullRatio <= LATENCY_RATIO_TARGET,
    },
  ];
}

/**
 * Bench 4: latency of GET /v1/tasks/{id}/output?after=…&limit=100 deep in a task's output
 * (after=100000 of 100 010 chunks) against near its start (after=10), through the Hono app.
 */
export async function benchOutputLatency(dynamodbEndpoint: string, samples = 200): Promise<SummaryRow[]> {
  heading(`4. GET /v1/tasks/{id}/output latency at seq 100 000 vs seq 10 (${TOTAL_CHUNKS} chunks)`);
  const bench = await startBenchRuntime({ dynamodbEndpoint, executions: NO_EXECUTIONS });
  const doc = createLocalDynamoDocumentClient(dynamodbEndpoint);
  try {
    const taskId = await loadTask(bench, doc);
    const probes: Probe[] = [
      { name: "after=10", after: 10, expect: { count: 100, firstSeq: 11 }, times: [] },
      { name: "after=100000", after: 100_000, expect: { count: 10, firstSeq: 100_001 }, times: [] },
      { name: "after=99900 (full page)", after: 99_900, expect: { count: 100, firstSeq: 99_901 }, times: [] },
    ];
    for (let i = 0; i < WARM_UP_ROUNDS + samples; i++) {
      // Rotate the order so that no probe always runs first or last.
      for (let j = 0; j < probes.length; j++) {
        const probe = probes[(i + j) % probes.length];
        if (probe) await timeProbe(bench, taskId, probe, i >= WARM_UP_ROUNDS);
      }
    }
    return report(probes);
  } finally {
    doc.destroy();
    await bench.close();
  }
}
