/**
 * The one definition of the task state machine (Amazon States Language, JSONPath).
 * CDK deploys it with the runner Lambda's ARN; the local runtime runs the very same object
 * with aws-local-stepfunctions, mapping each Task state (by name) to the same handler code.
 *
 *   RunAgentStep ──▶ IsDone ──done──▶ Done
 *        ▲   │          │
 *        └───┼──────────┘ (not done: another time budget)
 *            └─ error ─▶ RecordFailure ──▶ Failed
 *
 * A step runs model turns for a time budget and returns `{done}`, so a task of 20 model
 * turns costs the same handful of state transitions as a task of one.
 */

export const RUN_AGENT_STATE = "RunAgentStep";
export const RECORD_FAILURE_STATE = "RecordFailure";

/** Error names the runner throws or Lambda reports that are worth another attempt. */
export const RETRYABLE_ERRORS = [
  "TransientError",
  "SecretReadError",
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
  "States.Timeout",
] as const;

/** The execution time-out: the ceiling of every tenant's max_task_seconds (24 h) + 300 s. */
export const DEFAULT_EXECUTION_TIMEOUT_SECONDS = 86_700;
/** A runner step's time-out: the Lambda limit. */
export const DEFAULT_STEP_TIMEOUT_SECONDS = 900;

export interface StateMachineDefinitionProps {
  /** ARN of the runner Lambda (a CDK token in the stack, any well-formed ARN locally). */
  readonly runnerFunctionArn: string;
  /** Hard limit on a whole execution. Default: the ceiling of every tenant's max_task_seconds (24 h) + 300 s.
   * Each tenant's own max_task_seconds is enforced by the runner step, which fails the task with a clear error. */
  readonly timeoutSeconds?: number;
  /** Limit on one runner step; keep it above the runner's budget + one model turn. Default 900. */
  readonly stepTimeoutSeconds?: number;
  /** Attempts for a retryable step error. Default 6. */
  readonly maxAttempts?: number;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function stateMachineDefinition(props: StateMachineDefinitionProps): { [key: string]: Json } {
  const retry = [
    {
      ErrorEquals: [...RETRYABLE_ERRORS],
      IntervalSeconds: 2,
      MaxAttempts: props.maxAttempts ?? 6,
      BackoffRate: 2,
      MaxDelaySeconds: 60,
      JitterStrategy: "FULL",
    },
  ];
  return {
    Comment: "Background Agents Cloud: one execution drives one sub-agent task",
    StartAt: RUN_AGENT_STATE,
    TimeoutSeconds: props.timeoutSeconds ?? DEFAULT_EXECUTION_TIMEOUT_SECONDS,
    States: {
      [RUN_AGENT_STATE]: {
        Type: "Task",
        Comment: "Runs model turns for one time budget; returns {tenant_id, task_id, done}",
        Resource: props.runnerFunctionArn,
        Parameters: { action: "run", "tenant_id.$": "$.tenant_id", "task_id.$": "$.task_id" },
        TimeoutSeconds: props.stepTimeoutSeconds ?? DEFAULT_STEP_TIMEOUT_SECONDS,
        Retry: retry,
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: RECORD_FAILURE_STATE }],
        Next: "IsDone",
      },
      IsDone: {
        Type: "Choice",
        Choices: [{ Variable: "$.done", BooleanEquals: true, Next: "Done" }],
        Default: RUN_AGENT_STATE,
      },
      [RECORD_FAILURE_STATE]: {
        Type: "Task",
        Comment: "Marks the task failed (and frees its slot) when the step failed for good",
        Resource: props.runnerFunctionArn,
        Parameters: {
          action: "fail",
          "tenant_id.$": "$.tenant_id",
          "task_id.$": "$.task_id",
          "error.$": "$.failure.Error",
          "cause.$": "$.failure.Cause",
        },
        TimeoutSeconds: 60,
        Retry: retry,
        Next: "Failed",
      },
      Done: { Type: "Succeed" },
      Failed: {
        Type: "Fail",
        Error: "TaskFailed",
        Cause: "the sub-agent task failed; its error is on the task",
      },
    },
  };
}
