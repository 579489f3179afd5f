import "../local/polyfills.js";
import { createDynamoDocumentClient, type DynamoDocumentClient } from "../shared/adapters/dynamo/client.js";
import { keys } from "../shared/table-schema.js";
import {
  type BenchRuntime,
  heading,
  label,
  median,
  nowMs,
  percentile,
  printTable,
  type SummaryRow,
  sleep,
  startBenchRuntime,
  TENANT_ID,
} from "./support.js";

export const LATENCY_RATIO_TARGET = 1.5;
const TOTAL_CHUNKS = 100_010;
const BATCH = 25; // BatchWriteItem's maximum
const PARALLEL = 16;

type Item = Record<string, unknown>;

/** Writes chunk items seq 1..total straight into the table with parallel BatchWriteItem calls. */
async function loadChunks(
  doc: DynamoDocumentClient,
  tableName: string,
  taskId: string,
  total: number,
): Promise<number> {
  const pk = keys.task(TENANT_ID, taskId).pk;
  const at = new Date().toISOString();
  const expiresAt = Math.floor(Date.now() / 1000) + 86_400;
  let bytes = 0;
  let next = 1;
  const worker = async () => {
    for (;;) {
      const from = next;
      if (from > total) return;
      next = Math.min(total + 1, from + BATCH);
      let items: Item[] = [];
      for (let seq = from; seq < next; seq++) {
        const text = `chunk ${seq} `;
        bytes += Buffer.byteLength(text);
        items.push({ pk, sk: keys.chunkSk(seq), seq, kind: "text", text, at, expires_at: expiresAt });
      }
      for (let attempt = 0; items.length > 0; attempt++) {
        const res = await doc.batchWrite({
          RequestItems: { [tableName]: items.map((Item) => ({ PutRequest: { Item } })) },
        });
        const left = res.UnprocessedItems?.[tableName] ?? [];
        items = left.flatMap((r) => (r.PutRequest?.Item ? [r.PutRequest.Item] : []));
        if (items.length > 0) await sleep(Math.min(1000, 20 * 2 ** attempt));
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return bytes;
}

interface Probe {
  name: string;
  after: number;
  expect: { count: number; firstSeq: number };
  times: number[];
}

async function timeProbe(bench: BenchRuntime, taskId: string, probe: Probe, keep: boolean): Promise<void> {
  const t0 = nowMs();
  const res = await bench.request("GET", `/v1/tasks/${taskId}/output?after=${probe.after}&limit=100`);
  const body: unknown = await res.json();
  const t1 = nowMs();
  if (res.status !== 200) throw new Error(`${probe.name}: HTTP ${res.status} ${JSON.stringify(body)}`);
  const chunks =
    typeof body === "object" && body !== null && "chunks" in body && Array.isArray(body.chunks)
      ? body.chunks
      : [];
  const first: unknown = chunks[0];
  const firstSeq =
    typeof first === "object" && first !== null && "seq" in first && typeof first.seq === "number"
      ? first.seq
      : -1;
  if (chunks.length !== probe.expect.count || firstSeq !== probe.expect.firstSeq)
    throw new Error(`${probe.name}: got ${chunks.length} chunks from seq ${firstSeq}`);
  if (keep) probe.times.push(t1 - t0);
}

/**
 * Bench 4: latency of GET /v1/tasks/{id}/output?after=…&limit=100 deep in a task's output
 * (after=100000 of 100 010 chunks) against near its start (after=10), through the Hono app.
 */
export async function benchOutputLatency(dynamodbEndpoint: string, samples = 200): Promise<SummaryRow[]> {
  heading(`4. GET /v1/tasks/{id}/output latency at seq 100 000 vs seq 10 (${TOTAL_CHUNKS} chunks)`);
  const bench = await startBenchRuntime({
    dynamodbEndpoint,
    executions: { start: async () => {}, stop: async () => {} },
  });
  const doc = createDynamoDocumentClient({ region: "us-east-1", endpoint: dynamodbEndpoint });
  try {
    // A real task record (POST creates it; no execution is started), moved to running by the repository.
    const taskId = await bench.startTask("worker", "output latency");
    const moved = await bench.runtime.repo.transition(TENANT_ID, taskId, "running");
    if (!moved.moved) throw new Error("could not move the task to running");
    const t0 = nowMs();
    const bytes = await loadChunks(doc, bench.tableName, taskId, TOTAL_CHUNKS);
    const loadMs = nowMs() - t0;
    // Keep the task record consistent with its chunks (what the runner's flushes would have left).
    await doc.update({
      TableName: bench.tableName,
      Key: keys.task(TENANT_ID, taskId),
      UpdateExpression: "SET last_seq = :seq, output_bytes = :bytes",
      ExpressionAttributeValues: { ":seq": TOTAL_CHUNKS, ":bytes": bytes },
    });
    console.log(
      `loaded ${TOTAL_CHUNKS} chunk items (${(bytes / 1024).toFixed(0)} KiB of text) with BatchWriteItem ×${Math.ceil(TOTAL_CHUNKS / BATCH)}, ${PARALLEL} in parallel, in ${(loadMs / 1000).toFixed(1)} s (${((TOTAL_CHUNKS / loadMs) * 1000).toFixed(0)} items/s)`,
    );

    const probes: Probe[] = [
      { name: "after=10", after: 10, expect: { count: 100, firstSeq: 11 }, times: [] },
      { name: "after=100000", after: 100_000, expect: { count: 10, firstSeq: 100_001 }, times: [] },
      { name: "after=99900 (full page)", after: 99_900, expect: { count: 100, firstSeq: 99_901 }, times: [] },
    ];
    const warmUp = 30;
    for (let i = 0; i < warmUp + samples; i++) {
      // Rotate the order so that no probe always runs first or last.
      for (let j = 0; j < probes.length; j++) {
        const probe = probes[(i + j) % probes.length];
        if (probe) await timeProbe(bench, taskId, probe, i >= warmUp);
      }
    }
    const base = probes[0];
    const baseMedian = median(base?.times ?? []);
    const rows = probes.map((p) => {
      const med = median(p.times);
      return [
        p.name,
        String(p.expect.count),
        String(p.times.length),
        med.toFixed(2),
        percentile(p.times, 95).toFixed(2),
        (med / baseMedian).toFixed(3),
      ];
    });
    printTable(
      ["request (limit=100)", "chunks", "samples", "median ms", "p95 ms", "median / after=10"],
      rows,
    );
    const deep = probes[1];
    const full = probes[2];
    const ratio = median(deep?.times ?? []) / baseMedian;
    const ratioP95 = percentile(deep?.times ?? [], 95) / percentile(base?.times ?? [], 95);
    const fullRatio = median(full?.times ?? []) / baseMedian;
    const pass = ratio <= LATENCY_RATIO_TARGET;
    console.log(
      `ratio after=100000 / after=10: median ${ratio.toFixed(3)}, p95 ${ratioP95.toFixed(3)}   target ≤ ${LATENCY_RATIO_TARGET}   ${label(pass)}`,
    );
    console.log(
      `like for like (100 chunks at seq 99 901 vs 100 at seq 11): median ratio ${fullRatio.toFixed(3)}   ${label(fullRatio <= LATENCY_RATIO_TARGET)}`,
    );
    return [
      {
        bench: "4. output latency after=100000 / after=10",
        measured: `${ratio.toFixed(3)} (p95 ${ratioP95.toFixed(3)})`,
        target: `≤ ${LATENCY_RATIO_TARGET}`,
        pass,
      },
      {
        bench: "4. … full page after=99900 / after=10",
        measured: fullRatio.toFixed(3),
        target: `≤ ${LATENCY_RATIO_TARGET}`,
        pass: fullRatio <= LATENCY_RATIO_TARGET,
      },
    ];
  } finally {
    await bench.close();
  }
}
