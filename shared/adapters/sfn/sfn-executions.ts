import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import type { Executions } from "../../ports.js";
import type { AwsCredentials } from "../dynamo/client.js";

/** ARN of the execution named `name` of a state machine (execution names are task IDs). */
export function executionArn(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${name}`;
}

export interface StepFunctionsClientOptions {
  region: string;
  /** Default the region's Step Functions endpoint. */
  endpoint?: string | undefined;
  /** Default: the SDK's default credential chain. */
  credentials?: AwsCredentials | undefined;
}

/** The one Step Functions client of a process: the official SDK v3 client, standard retry mode. */
export function createStepFunctionsClient(options: StepFunctionsClientOptions): SFNClient {
  return new SFNClient({
    region: options.region,
    retryMode: "standard",
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
}

/**
 * Step Functions executions: one Standard execution per task, named after the task ID, so a
 * repeated start is harmless. The client retries throttling with backoff; what still fails is
 * reported to the caller, which marks the task failed.
 */
export class SfnExecutions implements Executions {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(input: { tenantId: string; taskId: string; kind?: "model" | "harness" }): Promise<void> {
    try {
      await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: input.taskId,
          // The state machine branches on `kind` (SPEC §9). No secret ever goes in the input.
          input: JSON.stringify({
            tenant_id: input.tenantId,
            task_id: input.taskId,
            kind: input.kind ?? "model",
          }),
        }),
      );
    } catch (err) {
      if (err instanceof ExecutionAlreadyExists) return;
      throw err;
    }
  }

  async stop(input: { tenantId: string; taskId: string; cause: string }): Promise<void> {
    try {
      await this.sfn.send(
        new StopExecutionCommand({
          executionArn: executionArn(this.stateMachineArn, input.taskId),
          error: "TaskStopped",
          cause: input.cause,
        }),
      );
    } catch (err) {
      if (err instanceof ExecutionDoesNotExist) return;
      throw err;
    }
  }

  async describe(input: { tenantId: string; taskId: string }): Promise<"running" | "ended" | "missing"> {
    try {
      const { status } = await this.sfn.send(
        new DescribeExecutionCommand({ executionArn: executionArn(this.stateMachineArn, input.taskId) }),
      );
      return status === "RUNNING" || status === "PENDING_REDRIVE" ? "running" : "ended";
    } catch (err) {
      if (err instanceof ExecutionDoesNotExist) return "missing";
      throw err;
    }
  }
}
