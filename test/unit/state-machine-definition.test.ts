import "../../local/polyfills.js";
import { StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { describe, expect, it } from "vitest";
import {
  AGENT_KIND_STATE,
  ECS_RUN_TASK_SYNC,
  HARNESS_ENV,
  HARNESS_STATE,
  PREPARE_HARNESS_STATE,
  RECORD_FAILURE_STATE,
  RUN_AGENT_STATE,
  RUNNER_STATES,
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
    expect(def.StartAt).toBe(AGENT_KIND_STATE);
    expect(states[AGENT_KIND_STATE]?.Default).toBe(RUN_AGENT_STATE);
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

const harnessProps = {
  clusterArn: "arn:aws:ecs:eu-west-1:123456789012:cluster/bga",
  taskDefinitionArn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/bga-harness:3",
  containerName: "harness",
  subnetIds: ["subnet-a", "subnet-b"],
  securityGroupIds: ["sg-1"],
  assignPublicIp: true,
  apiUrl: "https://abc.lambda-url.eu-west-1.on.aws/",
};
const cloudDef = stateMachineDefinition({
  runnerFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:runner",
  harness: harnessProps,
});

type Call = { state: string; input: Record<string, unknown> };

/** Runs the definition with aws-local-stepfunctions, every Task state answered by `answer`. */
async function run(input: Record<string, string>, answer: (call: Call) => unknown) {
  const calls: Call[] = [];
  const handler = (state: string) => async (event: unknown) => {
    calls.push({ state, input: event as Record<string, unknown> });
    const out = answer({ state, input: event as Record<string, unknown> });
    if (out instanceof Error) throw out;
    return out as never;
  };
  const machine = new StateMachine(cloudDef as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: true, checkPaths: true },
  });
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(
        [...RUNNER_STATES, HARNESS_STATE].map((state) => [state, handler(state)]),
      ),
      retryIntervalOverrides: Object.fromEntries(
        [...RUNNER_STATES, HARNESS_STATE].map((state) => [state, 0]),
      ),
    },
  });
  const outcome = await execution.result.then(
    (output: unknown) => ({ ok: true, output }),
    (error: unknown) => ({ ok: false, error: String(error) }),
  );
  return { calls, outcome };
}

describe("the harness branch (SPEC §9)", () => {
  const ref = { tenant_id: "acme", task_id: "agent_task_AAAAAAAAAAAAAAAAAAAAAA" };

  it("runs a harness task as PrepareHarness then one ecs:runTask.sync RunTask, to Done", async () => {
    const { calls, outcome } = await run({ ...ref, kind: "harness" }, ({ state }) =>
      state === PREPARE_HARNESS_STATE ? { capability: "bgacap1.x.y", expires_at: 1 } : { ignored: true },
    );
    expect(outcome.ok).toBe(true);
    expect(calls.map((c) => c.state)).toEqual([PREPARE_HARNESS_STATE, HARNESS_STATE]);
    expect(calls[0]?.input).toEqual({ action: "prepare_harness", ...ref });
    // The handler of RunHarness gets the resolved Parameters: the RunTask request.
    expect(calls[1]?.input).toEqual({
      Cluster: harnessProps.clusterArn,
      TaskDefinition: harnessProps.taskDefinitionArn,
      LaunchType: "FARGATE",
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          Subnets: ["subnet-a", "subnet-b"],
          SecurityGroups: ["sg-1"],
          AssignPublicIp: "ENABLED",
        },
      },
      Overrides: {
        ContainerOverrides: [
          {
            Name: "harness",
            Environment: [
              { Name: HARNESS_ENV.apiUrl, Value: harnessProps.apiUrl },
              { Name: HARNESS_ENV.tenantId, Value: "acme" },
              { Name: HARNESS_ENV.taskId, Value: ref.task_id },
              { Name: HARNESS_ENV.capability, Value: "bgacap1.x.y" },
            ],
          },
        ],
      },
    });
    expect((cloudDef.States as Record<string, State>)[HARNESS_STATE]?.Resource).toBe(ECS_RUN_TASK_SYNC);
  });

  it("runs model turns for kind model and for an input without a kind (executions started before it)", async () => {
    for (const input of [{ ...ref, kind: "model" }, ref]) {
      const { calls, outcome } = await run(input, () => ({ ...ref, done: true }));
      expect(outcome.ok).toBe(true);
      expect(calls.map((c) => c.state)).toEqual([RUN_AGENT_STATE]);
    }
  });

  it("records the failure of a container that failed, with the task reference and the error", async () => {
    const failure = Object.assign(new Error("Essential container in task exited"), {
      name: "States.TaskFailed",
    });
    const { calls, outcome } = await run({ ...ref, kind: "harness" }, ({ state }) =>
      state === PREPARE_HARNESS_STATE
        ? { capability: "c", expires_at: 1 }
        : state === HARNESS_STATE
          ? failure
          : { ...ref, done: true },
    );
    expect(outcome.ok).toBe(false);
    expect(calls.map((c) => c.state)).toEqual([PREPARE_HARNESS_STATE, HARNESS_STATE, RECORD_FAILURE_STATE]);
    expect(calls[2]?.input).toMatchObject({ action: "fail", ...ref, error: "States.TaskFailed" });
  });

  it("records the failure when the capability cannot be minted, and runs no container", async () => {
    const { calls } = await run({ ...ref, kind: "harness" }, ({ state }) =>
      state === PREPARE_HARNESS_STATE
        ? Object.assign(new Error("tenant acme not found"), { name: "PermanentError" })
        : { ...ref, done: true },
    );
    expect(calls.map((c) => c.state)).toEqual([PREPARE_HARNESS_STATE, RECORD_FAILURE_STATE]);
  });

  it("puts no secret in the RunTask request: only the task reference, the API URL and the capability", () => {
    const runHarness = (cloudDef.States as Record<string, State>)[HARNESS_STATE] as State & {
      Parameters: { Overrides: { ContainerOverrides: { Environment: { Name: string }[] }[] } };
    };
    const names = runHarness.Parameters.Overrides.ContainerOverrides.flatMap((o) =>
      o.Environment.map((e) => e.Name),
    );
    expect(names.sort()).toEqual(Object.values(HARNESS_ENV).sort());
    expect(Object.keys(runHarness.Parameters.Overrides)).toEqual(["ContainerOverrides"]);
  });
});
