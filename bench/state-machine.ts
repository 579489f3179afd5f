import "../local/polyfills.js";
import { StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import {
  RECORD_FAILURE_STATE,
  RUN_AGENT_STATE,
  stateMachineDefinition,
} from "../shared/state-machine/definition.js";
import { nowMs, TENANT_ID } from "./support.js";

const RUNNER_ARN = "arn:aws:lambda:us-east-1:000000000000:function:bga-runner";

/** What one execution of the project's state machine did. */
export interface ExecutionLog {
  /** Names of the states entered, in order (each is a billed state transition). */
  entered: string[];
  /** Every event of the execution's log (Step Functions logs these at level ALL). */
  events: number;
  /** Wall time of each runner invocation, ms. */
  invocations: number[];
}

/**
 * Runs the project's own state machine definition (as `local/local-executions.ts` validates it)
 * for one task with aws-local-stepfunctions, its Lambda states mapped to `stepHandler`, and reads
 * the execution's event log. For benches whose runtime starts no execution itself.
 */
export async function runExecution(
  stepHandler: (event: unknown) => Promise<unknown>,
  taskId: string,
): Promise<ExecutionLog> {
  const definition = stateMachineDefinition({
    runnerFunctionArn: RUNNER_ARN,
  }) as unknown as StateMachineDefinition;
  const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
  const log: ExecutionLog = { entered: [], events: 0, invocations: [] };
  const handler = async (event: unknown): Promise<never> => {
    const t0 = nowMs();
    try {
      return (await stepHandler(event)) as never;
    } finally {
      log.invocations.push(nowMs() - t0);
    }
  };
  const execution = machine.run(
    { tenant_id: TENANT_ID, task_id: taskId },
    {
      overrides: {
        taskResourceLocalHandlers: { [RUN_AGENT_STATE]: handler, [RECORD_FAILURE_STATE]: handler },
      },
    },
  );
  const collect = (async () => {
    for await (const e of execution.eventLogs) {
      log.events += 1;
      if (e.type === "StateEntered") log.entered.push(e.state.name);
    }
  })();
  await execution.result;
  await collect;
  return log;
}

/** Executions that do nothing: POST /v1/tasks only creates the task; the bench runs it with runExecution. */
export const NO_EXECUTIONS = {
  start: async () => {},
  stop: async () => {},
  describe: async () => "missing" as const,
};
