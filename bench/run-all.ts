import "../local/polyfills.js";
import { cpus } from "node:os";
import { startEmbeddedDynamo } from "../local/embedded-dynamodb.js";
import { benchBundle } from "./bundle.js";
import { benchCost } from "./cost.js";
import { benchOutputLatency } from "./output-latency.js";
import { benchOverhead } from "./overhead.js";
import { heading, label, printTable, type SummaryRow } from "./support.js";
import { benchTransitions } from "./transitions.js";
import { benchWrites } from "./writes.js";

/**
 * Runs the benchmarks and prints their figures. Nothing here fails on a timing: targets are shown
 * next to the figures with a PASS/MISS label for information only.
 *
 *   npx tsx bench/run-all.ts                      # all six
 *   npx tsx bench/run-all.ts overhead transitions # a selection (overhead, writes, transitions, output, bundle, cost)
 */
interface Bench {
  run: (endpoint: string) => Promise<SummaryRow[]>;
  /** Whether it needs DynamoDB Local (started once, only if a selected bench does). */
  dynamo: boolean;
}

const BENCHES: Record<string, Bench> = {
  overhead: { run: (e) => benchOverhead(e), dynamo: true },
  writes: { run: (e) => benchWrites(e), dynamo: true },
  transitions: { run: (e) => benchTransitions(e), dynamo: true },
  output: { run: (e) => benchOutputLatency(e), dynamo: true },
  bundle: { run: () => benchBundle(), dynamo: false },
  cost: { run: (e) => benchCost(e), dynamo: true },
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
