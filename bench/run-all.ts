import "../local/polyfills.js";
import { cpus } from "node:os";
import { startEmbeddedDynamo } from "../local/embedded-dynamodb.js";
import { benchOutputLatency } from "./output-latency.js";
import { benchOverhead } from "./overhead.js";
import { heading, label, printTable, type SummaryRow } from "./support.js";
import { benchTransitions } from "./transitions.js";
import { benchWrites } from "./writes.js";

/**
 * Runs the benchmarks and prints their figures. Nothing here fails on a timing: targets are shown
 * next to the figures with a PASS/MISS label for information only.
 *
 *   npx tsx bench/run-all.ts                      # all four
 *   npx tsx bench/run-all.ts overhead transitions # a selection (overhead, writes, transitions, output)
 */
const BENCHES: Record<string, (endpoint: string) => Promise<SummaryRow[]>> = {
  overhead: (e) => benchOverhead(e),
  writes: (e) => benchWrites(e),
  transitions: (e) => benchTransitions(e),
  output: (e) => benchOutputLatency(e),
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
  const dynamo = await startEmbeddedDynamo();
  console.log(`DynamoDB Local (in memory) at ${dynamo.endpoint}`);
  const summary: SummaryRow[] = [];
  try {
    for (const name of selected) {
      const run = BENCHES[name];
      if (!run) continue;
      const t0 = Date.now();
      try {
        summary.push(...(await run(dynamo.endpoint)));
      } catch (err) {
        console.error(`bench ${name} failed:`, err);
        summary.push({ bench: `${name}: ERROR`, measured: String(err), target: "-", pass: false });
        process.exitCode = 1;
      }
      console.log(`(${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await dynamo.stop();
  }
  heading("Summary (targets are informational)");
  printTable(
    ["bench", "measured", "target", "result"],
    summary.map((r) => [r.bench, r.measured, r.target, label(r.pass)]),
  );
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

await main();
