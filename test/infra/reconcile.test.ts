import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, inject, it } from "vitest";
import {
  ExecutionInputMissingError,
  type ReconcileOutcome,
  reconcileExecution,
} from "../../functions/reconciler/reconcile.js";
import { createLocalDynamoDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { ensureTable } from "../../shared/adapters/dynamo/table.js";
import { DynamoTaskRepository } from "../../shared/adapters/dynamo/task-repository.js";
import { newTaskId, newTaskRecord, type TaskRecord } from "../../shared/domain/task.js";
import { createLogger } from "../../shared/logger.js";

const TENANT = "team-a";
const STATE_MACHINE_ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:TaskStateMachineB1B749D4-abc";

const TABLE = `reconcile-${randomUUID()}`;

const doc = createLocalDynamoDocumentClient(inject("dynamodbEndpoint"));
const repo = new DynamoTaskRepository(doc, { tableName: TABLE, retentionDays: 30, maxTaskSeconds: 3600 });
const deps = { repo, log: createLogger("silent") };

beforeAll(async () => {
  await ensureTable(doc, TABLE);
});

async function newTask(status: "pending" | "running" = "running"): Promise<TaskRecord> {
  const record = newTaskRecord({
    tenant_id: TENANT,
    agent: "worker",
    caller: "root",
    task: "summarise the report",
  });
  await repo.create({ record, maxRunningTasks: 1000 });
  if (status === "running") await repo.transition(TENANT, record.id, "running");
  return record;
}

/** An EventBridge event as Step Functions sends it (the shape of the AWS documentation's example). */
function statusChange(
  taskId: string,
  status: string,
  extra: { error?: string | null; cause?: string | null; input?: string | null } = {},
) {
  const executionArn = `${STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:")}:${taskId}`;
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Step Functions Execution Status Change",
    source: "aws.states",
    account: "123456789012",
    time: "2026-01-01T12:00:00Z",
    region: "eu-west-1",
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn: STATE_MACHINE_ARN,
      name: taskId,
      status,
      startDate: 1_767_268_800_000,
      stopDate: status === "RUNNING" ? null : 1_767_269_100_000,
      input: extra.input !== undefined ? extra.input : JSON.stringify({ tenant_id: TENANT, task_id: taskId }),
      output: null,
      inputDetails: { included: extra.input !== null },
      outputDetails: null,
      error: extra.error ?? null,
      cause: extra.cause ?? null,
      redriveCount: 0,
      redriveStatus: "NOT_REDRIVABLE",
    },
  };
}

async function reconcile(event: unknown): Promise<ReconcileOutcome> {
  return reconcileExecution(deps, event);
}

describe("reconcileExecution", () => {
  it("fails a running task whose execution timed out", async () => {
    const task = await newTask();
    const outcome = await reconcile(statusChange(task.id, "TIMED_OUT"));
    expect(outcome).toEqual({ action: "failed", taskId: task.id, error: "the execution timed out" });
    const stored = await repo.get(TENANT, task.id, true);
    expect(stored).toMatchObject({ status: "failed", error: "the execution timed out" });
    expect(stored?.ended_at).not.toBeNull();
  });

  it("fails a task whose execution failed, naming the error but not its internal cause", async () => {
    const task = await newTask();
    const outcome = await reconcile(
      statusChange(task.id, "FAILED", {
        error: "States.Runtime",
        cause: "An error occurred while executing the state 'RecordFailure' (internal detail)",
      }),
    );
    expect(outcome).toMatchObject({ action: "failed", error: "the execution failed: States.Runtime" });
    const stored = await repo.get(TENANT, task.id, true);
    expect(stored?.status).toBe("failed");
    expect(stored?.error).toBe("the execution failed: States.Runtime");
  });

  it("fails a pending task whose execution was aborted from the console", async () => {
    const task = await newTask("pending");
    await reconcile(statusChange(task.id, "ABORTED"));
    expect(await repo.get(TENANT, task.id, true)).toMatchObject({
      status: "failed",
      error: "the execution was aborted outside the API",
    });
  });

  it("frees the tenant's slot when it fails a task", async () => {
    const before = await repo.runningCount(TENANT);
    const task = await newTask();
    expect(await repo.runningCount(TENANT)).toBe(before + 1);
    await reconcile(statusChange(task.id, "TIMED_OUT"));
    expect(await repo.runningCount(TENANT)).toBe(before);
  });

  it("leaves a task stopped through the API as it is (StopExecution also aborts the execution)", async () => {
    const task = await newTask();
    await repo.transition(TENANT, task.id, "stopped");
    const outcome = await reconcile(
      statusChange(task.id, "ABORTED", { error: "TaskStopped", cause: "stopped by the API" }),
    );
    expect(outcome).toEqual({ action: "unchanged", taskId: task.id, status: "stopped" });
    expect(await repo.get(TENANT, task.id, true)).toMatchObject({ status: "stopped", error: null });
  });

  it("leaves a task the state machine already recorded as failed with its own error", async () => {
    const task = await newTask();
    await repo.transition(TENANT, task.id, "failed", { error: "model call failed: 401" });
    const outcome = await reconcile(statusChange(task.id, "FAILED", { error: "TaskFailed" }));
    expect(outcome).toMatchObject({ action: "unchanged", status: "failed" });
    expect((await repo.get(TENANT, task.id, true))?.error).toBe("model call failed: 401");
  });

  it("ignores a SUCCEEDED execution", async () => {
    const task = await newTask();
    expect(await reconcile(statusChange(task.id, "SUCCEEDED"))).toEqual({
      action: "ignored",
      status: "SUCCEEDED",
    });
    expect((await repo.get(TENANT, task.id, true))?.status).toBe("running");
  });

  it("reports a task that does not exist as unchanged", async () => {
    const outcome = await reconcile(statusChange(newTaskId(), "TIMED_OUT"));
    expect(outcome).toMatchObject({ action: "unchanged", status: null });
  });

  it("rejects an event of another shape and an execution input that is not the API's", async () => {
    await expect(reconcile({ source: "aws.states", detail: {} })).rejects.toThrow();
    const task = await newTask();
    await expect(reconcile(statusChange(task.id, "FAILED", { input: "{not json" }))).rejects.toThrow(
      /not JSON/,
    );
    await expect(
      reconcile(
        statusChange(task.id, "FAILED", { input: JSON.stringify({ tenant_id: TENANT, task_id: "x" }) }),
      ),
    ).rejects.toThrow(/not a task ID/);
    expect((await repo.get(TENANT, task.id, true))?.status).toBe("running");
  });

  it("throws (so Lambda retries, then dead-letters) when the event carries no input", async () => {
    const task = await newTask();
    await expect(reconcile(statusChange(task.id, "TIMED_OUT", { input: null }))).rejects.toThrow(
      ExecutionInputMissingError,
    );
  });
});
