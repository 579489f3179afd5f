import { SFNServiceException, StateMachineDoesNotExist } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createStepFunctionsClient,
  executionArn,
  SfnExecutions,
} from "../../shared/adapters/sfn/sfn-executions.js";
import { awsError, FakeAwsJsonEndpoint } from "../support/fake-aws-json.js";

// Step Functions cannot run here: the official SDK client talks to a fake endpoint that records
// the exact requests it sends.
const SM = "arn:aws:states:eu-west-1:123456789012:stateMachine:bga-tasks";
const endpoint = new FakeAwsJsonEndpoint({ status: 200, body: {} });
let executions: SfnExecutions;

beforeAll(async () => {
  await endpoint.start();
  const sfn = createStepFunctionsClient({
    region: "eu-west-1",
    endpoint: endpoint.url,
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
  });
  executions = new SfnExecutions(sfn, SM);
});
afterAll(() => endpoint.stop());
beforeEach(() => endpoint.reset());

describe("Step Functions executions", () => {
  it("starts one execution per task, named after the task ID", async () => {
    endpoint.enqueue({ status: 200, body: { executionArn: "x", startDate: 1767225600 } });
    await executions.start({ tenantId: "acme", taskId: "agent_task_abc" });
    expect(endpoint.requests).toHaveLength(1);
    const [req] = endpoint.requests;
    expect(req?.method).toBe("POST");
    expect(req?.path).toBe("/");
    expect(req?.target).toBe("AWSStepFunctions.StartExecution");
    expect(req?.headers["content-type"]).toBe("application/x-amz-json-1.0");
    expect(req?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/states\/aws4_request, /,
    );
    expect(req?.body).toEqual({
      stateMachineArn: SM,
      name: "agent_task_abc",
      // The state machine branches on the kind (SPEC §9); a start without one is a model agent's.
      input: '{"tenant_id":"acme","task_id":"agent_task_abc","kind":"model"}',
    });
    endpoint.enqueue({ status: 200, body: { executionArn: "y", startDate: 1767225600 } });
    await executions.start({ tenantId: "acme", taskId: "agent_task_def", kind: "harness" });
    expect(endpoint.requests[1]?.body).toMatchObject({
      input: '{"tenant_id":"acme","task_id":"agent_task_def","kind":"harness"}',
    });
  });

  it("a repeated start is harmless", async () => {
    endpoint.enqueue({
      status: 400,
      body: { __type: "ExecutionAlreadyExists", message: "Execution Already Exists: 'arn:…'" },
    });
    await expect(executions.start({ tenantId: "acme", taskId: "agent_task_abc" })).resolves.toBeUndefined();
    expect(endpoint.requests).toHaveLength(1);
  });

  it("stops the task's execution by its ARN", async () => {
    endpoint.enqueue({ status: 200, body: { stopDate: 1767225600 } });
    await executions.stop({ tenantId: "acme", taskId: "agent_task_abc", cause: "why" });
    expect(endpoint.requests.map((r) => [r.target, r.body])).toEqual([
      [
        "AWSStepFunctions.StopExecution",
        {
          executionArn: "arn:aws:states:eu-west-1:123456789012:execution:bga-tasks:agent_task_abc",
          error: "TaskStopped",
          cause: "why",
        },
      ],
    ]);
    expect(executionArn(SM, "n")).toBe("arn:aws:states:eu-west-1:123456789012:execution:bga-tasks:n");
  });

  it("stopping an execution that does not exist is harmless", async () => {
    endpoint.enqueue(awsError(400, "ExecutionDoesNotExist", "Execution Does Not Exist"));
    await expect(
      executions.stop({ tenantId: "acme", taskId: "agent_task_abc", cause: "why" }),
    ).resolves.toBeUndefined();
  });

  it("other errors reach the caller, after retries where they are worth it", async () => {
    endpoint.enqueue(awsError(400, "StateMachineDoesNotExist", "State Machine Does Not Exist"));
    const refused = await executions.start({ tenantId: "acme", taskId: "t1" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StateMachineDoesNotExist);
    expect(refused).toMatchObject({ name: "StateMachineDoesNotExist", $metadata: { httpStatusCode: 400 } });
    expect(endpoint.requests).toHaveLength(1);

    endpoint.reset();
    endpoint.enqueue(
      awsError(400, "ThrottlingException", "Rate exceeded"),
      awsError(400, "ThrottlingException", "Rate exceeded"),
      { status: 200, body: { executionArn: "x" } },
    );
    await executions.start({ tenantId: "acme", taskId: "t2" });
    expect(endpoint.requests.map((r) => r.target)).toEqual(Array(3).fill("AWSStepFunctions.StartExecution"));

    endpoint.reset();
    endpoint.enqueue(
      awsError(400, "AccessDeniedException", "not authorized to perform states:StopExecution"),
    );
    const denied = await executions
      .stop({ tenantId: "acme", taskId: "t3", cause: "why" })
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(SFNServiceException);
    expect(denied).toMatchObject({
      name: "AccessDeniedException",
      message: "not authorized to perform states:StopExecution",
    });
  });
});

describe("describing a task's execution (the sweep)", () => {
  it("running, ended, or missing: by DescribeExecution of the task's execution", async () => {
    endpoint.enqueue(
      { status: 200, body: { executionArn: "x", stateMachineArn: SM, status: "RUNNING", startDate: 1 } },
      { status: 200, body: { executionArn: "x", stateMachineArn: SM, status: "SUCCEEDED", startDate: 1 } },
      awsError(400, "ExecutionDoesNotExist", "Execution Does Not Exist"),
    );
    const ref = { tenantId: "acme", taskId: "agent_task_abc" };
    expect(await executions.describe(ref)).toBe("running");
    expect(await executions.describe(ref)).toBe("ended");
    expect(await executions.describe(ref)).toBe("missing");
    expect(endpoint.requests.map((r) => [r.target, r.body])).toEqual(
      Array(3).fill([
        "AWSStepFunctions.DescribeExecution",
        { executionArn: "arn:aws:states:eu-west-1:123456789012:execution:bga-tasks:agent_task_abc" },
      ]),
    );
  });
});
