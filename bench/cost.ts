import "../local/polyfills.js";
import { createLocalDynamoDocumentClient } from "../shared/adapters/dynamo/client.js";
import { tallyByOperation } from "./capacity.js";
import {
  ASSUMPTIONS,
  cost,
  type Line,
  logBytes,
  modelLines,
  monthlyLines,
  perTaskLines,
  total,
} from "./cost/lines.js";
import { runTypicalTask, type TaskRun } from "./cost/run-task.js";
import { type StackInventory, stackInventory } from "./cost/stack-inventory.js";
import { storedBytes } from "./cost/storage.js";
import { SECONDS_PER_TURN, TYPICAL_TASK } from "./cost/typical-task.js";
import { heading, infoRow, KIB, label, pct, printTable, type SummaryRow, usd } from "./report.js";

/** Informational target: infrastructure cost ÷ model-token cost of the typical task. */
export const COST_RATIO_TARGET = 0.01;
/** Monthly volumes the fixed costs are spread over, for information. */
const TASKS_PER_MONTH = [1_000, 10_000];

function printRun(run: TaskRun, stored: { bytes: number; items: number }): void {
  const t = run.task;
  const walls = run.execution.invocations.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(", ");
  console.log(
    `task: ${(TYPICAL_TASK.promptBytes / KIB).toFixed(0)} KiB prompt; ${run.modelRequests} model turns of ~${SECONDS_PER_TURN} s ` +
      `(${TYPICAL_TASK.turns - 1} think calls + answer); ${t.output_bytes} B of output in ${t.last_seq} chunks\n` +
      `execution: ${run.execution.entered.join(" → ")} (${run.execution.events} events); runner invocations: ${walls}\n` +
      `API calls: run ${run.api.run.toFixed(0)} ms, wait ${(run.api.wait / 1000).toFixed(2)} s, view ${run.api.view.toFixed(0)} ms; ` +
      `stored: ${stored.items} items, ${stored.bytes} B with index entries; logs: ${run.log.lines} service lines, ~${logBytes(run)} B in all`,
  );
}

function printDynamo(run: TaskRun): void {
  console.log(
    "\nDynamoDB requests of the task (run + execution + wait + view). units = DynamoDB Local's ConsumedCapacity " +
      "(the proxy adds ReturnConsumedCapacity=INDEXES), except TransactWriteItems: 2 WRU per KB per item (sizes read " +
      "before and after each request) + the index units Local reports; Local's own figure alongside",
  );
  const byOp = [...tallyByOperation(run.requests).entries()].sort((x, y) => y[1].units - x[1].units);
  printTable(
    [
      "operation",
      "kind",
      "requests",
      "items written",
      "units",
      "of which GSI",
      "Local reported",
      "no capacity",
    ],
    byOp.map(([op, t]) =>
      [op, t.kind, t.requests, t.items, t.units, t.gsiUnits, t.reported, t.missing].map(String),
    ),
  );
  console.log(`write requests by operation (proxy count): ${run.proxyWrites}`);
}

function costRows(lines: Line[], infraCost: number): string[][] {
  const qty = (q: number) => (Number.isInteger(q) ? String(q) : q < 0.01 ? q.toExponential(3) : q.toFixed(2));
  return lines.map((l) => [
    l.item,
    qty(l.quantity),
    l.unit,
    l.priceLabel,
    usd(cost(l)),
    infraCost ? pct(cost(l), infraCost) : "",
  ]);
}

function printCost(infra: Line[], model: Line[]): void {
  const [infraCost, modelCost] = [total(infra), total(model)];
  console.log(
    "\ncost of one task: us-east-1 list prices as known to the author (bench/cost/prices.ts); free tiers ignored",
  );
  printTable(
    ["item", "quantity", "unit", "unit price", "cost", "% of infra"],
    [
      ...costRows(infra, infraCost),
      ["infrastructure total", "", "", "", usd(infraCost), "100.0"],
      ...costRows(model, 0),
      ["model tokens total", "", "", "", usd(modelCost), ""],
    ],
  );
  const a = ASSUMPTIONS;
  console.log(
    `assumptions: ${TYPICAL_TASK.turns} turns × ${SECONDS_PER_TURN} s; tokens = bytes / ${TYPICAL_TASK.bytesPerToken}; each request sends ` +
      `${TYPICAL_TASK.systemTokens} system+tool tokens, the prompt and every earlier turn (+${TYPICAL_TASK.toolTurnTokens} per tool call); ` +
      `${100 * a.coldStartShare} % of invocations cold, Init Duration API ${a.apiInitMs} ms, runner ${a.runnerInitMs} ms; ` +
      `logs: ${a.logBytesPerInvocation} B per invocation, +${a.logBytesPerLineExtra} B per line, ${a.logBytesPerSfnEvent} B per execution event`,
  );
}

function printMonthly(monthly: Line[], stack: StackInventory): number {
  const fixed = total(monthly);
  console.log(
    `\nfixed monthly costs (from the synthesized stack: ${stack.secrets} secrets, ${stack.alarms} alarms, ` +
      `${stack.dashboards} dashboard, ${stack.kmsKeys} customer-managed KMS keys, ${stack.logGroups} log groups)`,
  );
  printTable(
    ["item", "quantity", "unit", "unit price", "cost / month", ""],
    [...costRows(monthly, 0), ["fixed total", "", "", "", usd(fixed), ""]],
  );
  console.log(TASKS_PER_MONTH.map((n) => `at ${n} tasks/month: +${usd(fixed / n)} per task`).join("; "));
  return fixed;
}

/**
 * Bench 6: infrastructure cost of one typical task (10 KiB prompt, 10 turns × 10 s) from what a
 * real local run consumed and public prices, against its model-token cost; fixed monthly costs
 * of the stack apart.
 */
export async function benchCost(dynamodbEndpoint: string): Promise<SummaryRow[]> {
  heading("6. Cost per typical task: infrastructure vs model tokens (10 KiB prompt, 10 turns × 10 s)");
  const stack = await stackInventory();
  const run = await runTypicalTask(dynamodbEndpoint);
  const doc = createLocalDynamoDocumentClient(dynamodbEndpoint);
  const stored = await storedBytes(doc, run.tableName, run.task.id).finally(() => doc.destroy());
  printRun(run, stored);
  printDynamo(run);
  const infra = perTaskLines(run, stored, stack);
  const model = modelLines(run.task.output_bytes);
  printCost(infra, model);
  const ratio = total(infra) / total(model);
  const pass = ratio <= COST_RATIO_TARGET;
  console.log(
    `infrastructure ÷ model tokens = ${(100 * ratio).toFixed(3)} %   target ≤ ${100 * COST_RATIO_TARGET} %   ${label(pass)}`,
  );
  const allCold = total(perTaskLines(run, stored, stack, 1)) / total(model);
  const cached = total(infra) / total(modelLines(run.task.output_bytes, true));
  console.log(
    `sensitivity: every invocation cold ${(100 * allCold).toFixed(3)} %; with prompt caching (earlier context at $0.30 / 1M) ${(100 * cached).toFixed(3)} %`,
  );
  const fixed = printMonthly(monthlyLines(stack), stack);
  const harness = await (await import("./cost-harness.js")).benchHarnessCost(dynamodbEndpoint, stack);
  return [
    ...harness,
    infoRow(
      "6. infra cost per task",
      `${usd(total(infra))} (model ${usd(total(model))}); fixed ${usd(fixed)} / month`,
    ),
    {
      bench: "6. infra cost ÷ model-token cost",
      measured: `${(100 * ratio).toFixed(3)} %`,
      target: `≤ ${100 * COST_RATIO_TARGET} %`,
      pass,
    },
  ];
}
