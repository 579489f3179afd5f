import "../local/polyfills.js";
import { cpus } from "node:os";
import { startEmbeddedDynamo } from "../local/embedded-dynamodb.js";
import { heading, label, printTable, type SummaryRow } from "./report.js";

/**
 * Runs the benchmarks and prints their figures. Nothing here fails on a timing: targets are shown
 * next to the figures with a PASS/MISS label for information only.
 *
 *   npx tsx bench/run-all.ts                      # all of them
 *   npx tsx bench/run-all.ts overhead transitions # a selection (the names of BENCHES)
 */
interface Bench {
  run: (endpoint: string) => Promise<SummaryRow[]>;
  /** Whether it needs DynamoDB Local (started once, only if a selected bench does). */
  dynamo: boolean;
}

// Each bench loads only when it runs (bundle needs no local runtime, cost loads aws-cdk-lib).
const BENCHES: Record<string, Bench> = {
  overhead: { run: async (e) => (await import("./overhead.js")).benchOverhead(e), dynamo: true },
  writes: { run: async (e) => (await import("./writes.js")).benchWrites(e), dynamo: true },
  transitions: { run: async (e) => (await import("./transitions.js")).benchTransitions(e), dynamo: true },
  output: { run: async (e) => (await import("./output-latency.js")).benchOutputLatency(e), dynamo: true },
  bundle: { run: async () => (await import("./bundle.js")).benchBundle(), dynamo: false },
  cost: { run: async (e) => (await import("./cost.js")).benchCost(e), dynamo: true },
  flush: { run: async (e) => (await import("./flush-cost.js")).benchFlushCost(e), dynamo: true },
  "first-output": { run: async (e) => (await import("./first-output.js")).benchFirstOutput(e), dynamo: true },
  throughput: { run: async (e) => (await import("./throughput.js")).benchThroughput(e), dynamo: true },
  webhook: { run: async (e) => (await import("./webhook-latency.js")).benchWebhookLatency(e), dynamo: true },
  "mcp-tasks": { run: async (e) => (await import("./mcp-tasks.js")).benchMcpTasks(e), dynamo: true },
  console: { run: async (e) => (await import("./console.js")).benchConsole(e), dynamo: true },
  harness: { run: async (e) => (await import("./harness-start.js")).benchHarnessStart(e), dynamo: true },
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((n) => !(n in BENCHES));
  if (unknown.length > 0) {
    console.error(`unknown bench: ${unknown.join(", ")}; choose from ${Object.keys(BENCHES).join(", ")}`);
    process.exitCode = 2;
    return;
  }
  const selected = wanted.length > 0 ? wanted : Object.keys(BENCHES);
  const started = Date.now();
  console.log(
    `Background Agents Cloud benchmarks: node ${process.version}, ${cpus().length} CPU(s), ${cpus()[0]?.model ?? "?"}`,
  );
  const dynamo = selected.some((n) => BENCHES[n]?.dynamo) ? await startEmbeddedDynamo() : undefined;
  if (dynamo) console.log(`DynamoDB Local (in memory) at ${dynamo.endpoint}`);
  const summary: SummaryRow[] = [];
  try {
    for (const name of selected) {
      const bench = BENCHES[name];
      if (!bench) continue;
      const t0 = Date.now();
      try {
        summary.push(...(await bench.run(dynamo?.endpoint ?? "")));
      } catch (err) {
        console.error(`bench ${name} failed:`, err);
        summary.push({ bench: `${name}: ERROR`, measured: String(err), target: "-", pass: false });
        process.exitCode = 1;
      }
      console.log(`(${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await dynamo?.stop();
  }
  heading("Summary (targets are informational)");
  printTable(
    ["bench", "measured", "target", "result"],
    summary.map((r) => [r.bench, r.measured, r.target, r.info ? "info" : label(r.pass)]),
  );
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

await main();
