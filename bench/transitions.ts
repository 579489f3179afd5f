import "../local/polyfills.js";
import { heading, label, printTable, type SummaryRow } from "./report.js";
import { NO_EXECUTIONS, runExecution } from "./state-machine.js";
import { startBenchRuntime, streamedText, TENANT_ID, thinkTurn } from "./support.js";

export const TRANSITIONS_TARGET = 8;

/**
 * Bench 3: state transitions (StateEntered events) of one execution for 1, 5 and 20 model turns.
 * POST /v1/tasks only creates the task; the bench runs the project's definition itself with
 * aws-local-stepfunctions to read its event log.
 */
export async function benchTransitions(dynamodbEndpoint: string): Promise<SummaryRow[]> {
  heading("3. State transitions per task (StateEntered events), default runner budget");
  const bench = await startBenchRuntime({ dynamodbEndpoint, executions: NO_EXECUTIONS });
  const rows: string[][] = [];
  const summary: SummaryRow[] = [];
  try {
    for (const turns of [1, 5, 20]) {
      bench.fake.reset();
      for (let i = 1; i < turns; i++) bench.fake.enqueue(thinkTurn(5, 8, 0, `step ${i}`));
      bench.fake.enqueue(streamedText(5, 8, 0));
      const id = await bench.startTask("thinker", `${turns} turns`);
      const log = await runExecution(bench.runtime.stepHandler, id);
      const task = await bench.runtime.repo.get(TENANT_ID, id, true);
      const pass = log.entered.length <= TRANSITIONS_TARGET;
      rows.push([
        String(turns),
        String(bench.fake.requests.length),
        task?.status ?? "missing",
        String(log.entered.length),
        log.entered.join(" → "),
        String(log.events),
        `≤ ${TRANSITIONS_TARGET}`,
        label(pass),
      ]);
      summary.push({
        bench: `3. state transitions, ${turns} turn${turns === 1 ? "" : "s"}`,
        measured: `${log.entered.length} StateEntered`,
        target: `≤ ${TRANSITIONS_TARGET}`,
        pass,
      });
    }
  } finally {
    await bench.close();
  }
  printTable(
    ["turns", "model reqs", "status", "StateEntered", "states", "all events", "target", "result"],
    rows,
  );
  return summary;
}
