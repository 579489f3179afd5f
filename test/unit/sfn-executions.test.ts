import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { executionArn, SfnExecutions } from "../../shared/adapters/sfn/sfn-executions.js";

// Step Functions cannot run here: these tests check the exact commands the adapter sends.
const sfn = mockClient(SFNClient);
const SM = "arn:aws:states:eu-west-1:123456789012:stateMachine:bga-tasks";

beforeEach(() => sfn.reset());

describe("Step Functions executions", () => {
  it("starts one execution per task, named after the task ID", async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: "x", startDate: new Date() });
    await new SfnExecutions(new SFNClient({}), SM).start({ tenantId: "acme", taskId: "agent_task_abc" });
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input)).toEqual([
      {
        stateMachineArn: SM,
        name: "agent_task_abc",
        input: '{"tenant_id":"acme","task_id":"agent_task_abc"}',
      },
    ]);
  });

  it("a repeated start is harmless", async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: "exists", $metadata: {} }));
    await expect(
      new SfnExecutions(new SFNClient({}), SM).start({ tenantId: "acme", taskId: "agent_task_abc" }),
    ).resolves.toBeUndefined();
  });

  it("stops the task's execution by its ARN", async () => {
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    await new SfnExecutions(new SFNClient({}), SM).stop({
      tenantId: "acme",
      taskId: "agent_task_abc",
      cause: "why",
    });
    expect(sfn.commandCalls(StopExecutionCommand)[0]?.args[0].input).toEqual({
      executionArn: "arn:aws:states:eu-west-1:123456789012:execution:bga-tasks:agent_task_abc",
      error: "TaskStopped",
      cause: "why",
    });
    sfn.on(StopExecutionCommand).rejects(new ExecutionDoesNotExist({ message: "gone", $metadata: {} }));
    await expect(
      new SfnExecutions(new SFNClient({}), SM).stop({
        tenantId: "acme",
        taskId: "agent_task_abc",
        cause: "why",
      }),
    ).resolves.toBeUndefined();
    expect(executionArn(SM, "n")).toBe("arn:aws:states:eu-west-1:123456789012:execution:bga-tasks:n");
  });
});
