import { describe, expect, it } from "vitest";
import {
  RECORD_FAILURE_STATE,
  RUN_AGENT_STATE,
  stateMachineDefinition,
} from "../../shared/state-machine/definition.js";
import { MAX_TASK_SECONDS_CEILING } from "../../shared/tenants.js";

const def = stateMachineDefinition({
  runnerFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:runner",
});
type State = Record<string, unknown> & { Type: string };
const states = def.States as Record<string, State>;

describe("the state machine definition", () => {
  it("loops the runner step until done, with a total time-out", () => {
    expect(def.StartAt).toBe(RUN_AGENT_STATE);
    expect(def.TimeoutSeconds).toBe(MAX_TASK_SECONDS_CEILING + 300);
    expect(states[RUN_AGENT_STATE]?.Next).toBe("IsDone");
    expect(states.IsDone).toEqual({
      Type: "Choice",
      Choices: [{ Variable: "$.done", BooleanEquals: true, Next: "Done" }],
      Default: RUN_AGENT_STATE,
    });
  });

  it("retries transient errors with backoff and catches the rest into RecordFailure", () => {
    const run = states[RUN_AGENT_STATE] as State & { Retry: { ErrorEquals: string[] }[]; Catch: unknown[] };
    expect(run.Retry[0]?.ErrorEquals).toContain("TransientError");
    expect(run.Retry[0]?.ErrorEquals).toContain("States.Timeout");
    expect(run.Retry[0]?.ErrorEquals).not.toContain("States.ALL");
    expect(run.Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: RECORD_FAILURE_STATE },
    ]);
    expect(states[RECORD_FAILURE_STATE]?.Next).toBe("Failed");
    expect(states.Failed?.Type).toBe("Fail");
  });

  it("uses JSONPath only, sets every Task's TimeoutSeconds and never ResultPath '$'", () => {
    expect(def.QueryLanguage).toBeUndefined();
    for (const [name, state] of Object.entries(states)) {
      expect(state.QueryLanguage, name).toBeUndefined();
      expect(state.ResultPath, name).not.toBe("$");
      if (state.Type === "Task") expect(state.TimeoutSeconds, name).toEqual(expect.any(Number));
    }
  });
});
