import type { Executions } from "../../ports.js";
import {
  type AwsCredentials,
  AwsJsonClient,
  isAwsServiceError,
  STEP_FUNCTIONS,
} from "../aws/aws-json-client.js";

/** ARN of the execution named `name` of a state machine (execution names are task IDs). */
export function executionArn(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${name}`;
}

export interface StepFunctionsClientOptions {
  region: string;
  /** Default `https://states.<region>.amazonaws.com`. */
  endpoint?: string | undefined;
  /** Default: the Lambda role's, from the environment at each call. */
  credentials?: AwsCredentials | undefined;
  /** Attempts per call (default 5: a start is worth a few more than usual under throttling). */
  maxAttempts?: number | undefined;
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

/**
 * A Step Functions client (AWS JSON 1.0 over `fetch`). In Lambda the Powertools Tracer traces
 * its requests as `fetch` subsegments (undici diagnostics channels), named after the host.
 */
export function createStepFunctionsClient(options: StepFunctionsClientOptions): AwsJsonClient {
  return new AwsJsonClient({ service: STEP_FUNCTIONS, ...options, maxAttempts: options.maxAttempts ?? 5 });
}

/**
 * Step Functions executions: one Standard execution per task, named after the task ID, so a
 * repeated start is harmless. The client retries throttling with backoff (its maxAttempts);
 * what still fails is reported to the caller, which marks the task failed.
 */
export class SfnExecutions implements Executions {
  constructor(
    private readonly sfn: AwsJsonClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(input: { tenantId: string; taskId: string }): Promise<void> {
    try {
      await this.sfn.call("StartExecution", {
        stateMachineArn: this.stateMachineArn,
        name: input.taskId,
        input: JSON.stringify({ tenant_id: input.tenantId, task_id: input.taskId }),
      });
    } catch (err) {
      if (isAwsServiceError(err, "ExecutionAlreadyExists")) return;
      throw err;
    }
  }

  async stop(input: { tenantId: string; taskId: string; cause: string }): Promise<void> {
    try {
      await this.sfn.call("StopExecution", {
        executionArn: executionArn(this.stateMachineArn, input.taskId),
        error: "TaskStopped",
        cause: input.cause,
      });
    } catch (err) {
      if (isAwsServiceError(err, "ExecutionDoesNotExist")) return;
      throw err;
    }
  }
}
