import "../local/polyfills.js";
import { StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import {
  RECORD_FAILURE_STATE,
  RUN_AGENT_STATE,
  stateMachineDefinition,
} from "../shared/state-machine/definition.js";
import {
  heading,
  label,
  printTable,
  type SummaryRow,
  startBenchRuntime,
  streamedText,
  TENANT_ID,
  thinkTurn,
} from "./support.js";

export const TRANSITIONS_TARGET = 8;
const RUNNER_ARN = "arn:aws:lambda:us-east-1:000000000000:function:bga-runner";

/**
 * Bench 3: state transitions (StateEntered events) of one execution for 1, 5 and 20 model turns.
 * The runtime's own executions are replaced by a no-op so that POST /v1/tasks only creates the task;
 * this bench then runs the project's definition itself with aws-local-stepfunctions to read its event log.
 */
export async function benchTransitions(dynamodbEndpoint: string): Promise<SummaryRow[]> {
  heading("3. State transitions per task (StateEntered events), default runner budget");
  const bench = await startBenchRuntime({
    dynamodbEndpoint,
    executions: { start: async () => {}, stop: async () => {} },
  });
  const definition = stateMachineDefinition({
    runnerFunctionArn: RUNNER_ARN,
  }) as unknown as StateMachineDefinition;
  const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
  const handler = (event: unknown) => bench.runtime.stepHandler(event) as Promise<never>;
  const rows: string[][] = [];
  const summary: SummaryRow[] = [];
  try {
    for (const turns of [1, 5, 20]) {
      bench.fake.reset();
      for (let i = 1; i < turns; i++) bench.fake.enqueue(thinkTurn(5, 8, 0, `step ${i}`));
      bench.fake.enqueue(streamedText(5, 8, 0));
      const id = await bench.startTask("thinker", `${turns} turns`);
      const execution = machine.run(
        { tenant_id: TENANT_ID, task_id: id },
        {
          overrides: {
            taskResourceLocalHandlers: { [RUN_AGENT_STATE]: handler, [RECORD_FAILURE_STATE]: handler },
          },
        },
      );
      const entered: string[] = [];
      let events = 0;
      const collect = (async () => {
        for await (const e of execution.eventLogs) {
          events += 1;
          if (e.type === "StateEntered") entered.push(e.state.name);
        }
      })();
      await execution.result;
      await collect;
      const task = await bench.runtime.repo.get(TENANT_ID, id, true);
      const modelTurns = bench.fake.requests.length;
      const pass = entered.length <= TRANSITIONS_TARGET;
      rows.push([
        String(turns),
        String(modelTurns),
        task?.status ?? "missing",
        String(entered.length),
        entered.join(" → "),
        String(events),
        `≤ ${TRANSITIONS_TARGET}`,
        label(pass),
      ]);
      summary.push({
        bench: `3. state transitions, ${turns} turn${turns === 1 ? "" : "s"}`,
        measured: `${entered.length} StateEntered`,
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
