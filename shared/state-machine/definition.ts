/**
 * The one definition of the task state machine (Amazon States Language, JSONPath).
 * CDK deploys it with the runner Lambda's ARN and the harness task's ECS resources; the local
 * runtime runs the very same object with aws-local-stepfunctions, mapping each Task state (by
 * name) to the same handler code (RunHarness to the in-process harness runner).
 *
 *   AgentKind ──model (default)──▶ RunAgentStep ──▶ IsDone ──done──▶ Done
 *       │                              ▲   │          │
 *       │                              └───┼──────────┘ (not done: another time budget)
 *       │                                  └─ error ─▶ RecordFailure ──▶ Failed
 *       └──harness──▶ PrepareHarness ──▶ RunHarness (ecs:runTask.sync, Fargate) ──▶ Done
 *                            └─ error ──────────┴─ error ─▶ RecordFailure
 *
 * A step runs model turns for a time budget and returns `{done}`, so a task of 20 model
 * turns costs the same handful of state transitions as a task of one. A harness task (SPEC §9)
 * is one container: PrepareHarness (the runner Lambda) mints the task's capability, RunHarness
 * runs the container and waits for it; StopExecution stops the container.
 */

export const RUN_AGENT_STATE = "RunAgentStep";
export const RECORD_FAILURE_STATE = "RecordFailure";
/** The Choice on the execution input's `kind` ("model" | "harness"; absent: model). */
export const AGENT_KIND_STATE = "AgentKind";
/** Mints the harness task's capability (runner Lambda, action `prepare_harness`). */
export const PREPARE_HARNESS_STATE = "PrepareHarness";
/** The Fargate task of a harness run (`ecs:runTask.sync`); locally, the in-process harness runner. */
export const HARNESS_STATE = "RunHarness";
/** Every Task state whose resource is the runner Lambda (locally: the step handler). */
export const RUNNER_STATES = [RUN_AGENT_STATE, PREPARE_HARNESS_STATE, RECORD_FAILURE_STATE] as const;
/** The integration RunHarness uses: RunTask, then wait for the task to stop (stop it on StopExecution). */
export const ECS_RUN_TASK_SYNC = "arn:aws:states:::ecs:runTask.sync";

/**
 * The container's environment as RunHarness overrides it: the task reference, where the internal
 * API is and the task's capability. Nothing else: never a tenant secret (the container fetches
 * its resolved secrets with the capability, over TLS; functions/harness/main.ts).
 */
export const HARNESS_ENV = {
  apiUrl: "BGA_API_URL",
  tenantId: "BGA_TENANT_ID",
  taskId: "BGA_TASK_ID",
  capability: "BGA_TASK_CAPABILITY",
} as const;

/** Error names of the ECS API worth another RunTask (throttling, a capacity shortfall, a service fault). */
export const RETRYABLE_ECS_ERRORS = [
  "ECS.AmazonECSException",
  "ECS.ServerException",
  "ECS.ThrottlingException",
] as const;

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
/**
 * RunHarness's time-out: the ceiling of max_task_seconds (24 h) + 120 s, under the execution's.
 * The runner in the container ends the task at its own limit; this only catches a lost container.
 */
export const DEFAULT_HARNESS_TIMEOUT_SECONDS = 86_520;

/** Where and how RunHarness runs the harness container (the stack's ECS resources; placeholders locally). */
export interface HarnessRunProps {
  readonly clusterArn: string;
  readonly taskDefinitionArn: string;
  /** The container of the task definition the overrides name. */
  readonly containerName: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  /** Public subnets without a NAT gateway need a public IP to reach the API and the model. */
  readonly assignPublicIp: boolean;
  /** Base URL of the API serving the internal harness routes (the API's Function URL). */
  readonly apiUrl: string;
  /** @default DEFAULT_HARNESS_TIMEOUT_SECONDS */
  readonly timeoutSeconds?: number;
}

/** What the local runtime passes when it has no ECS: the same states, resources that say so. */
export const LOCAL_HARNESS_RUN: HarnessRunProps = {
  clusterArn: "arn:aws:ecs:us-east-1:000000000000:cluster/bga-local",
  taskDefinitionArn: "arn:aws:ecs:us-east-1:000000000000:task-definition/bga-harness:1",
  containerName: "harness",
  subnetIds: ["subnet-local"],
  securityGroupIds: ["sg-local"],
  assignPublicIp: true,
  apiUrl: "http://127.0.0.1/",
};

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
  /** The harness branch's ECS resources. @default LOCAL_HARNESS_RUN (placeholders: the local runtime maps RunHarness) */
  readonly harness?: HarnessRunProps;
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
  const harness = props.harness ?? LOCAL_HARNESS_RUN;
  const recordFailure = [
    { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: RECORD_FAILURE_STATE },
  ];
  return {
    Comment: "Background Agents Cloud: one execution drives one sub-agent task",
    StartAt: AGENT_KIND_STATE,
    TimeoutSeconds: props.timeoutSeconds ?? DEFAULT_EXECUTION_TIMEOUT_SECONDS,
    States: {
      [AGENT_KIND_STATE]: {
        Type: "Choice",
        Comment: "A harness agent (SPEC §9) runs in its own container; any other runs model turns",
        Choices: [
          {
            And: [
              { Variable: "$.kind", IsPresent: true },
              { Variable: "$.kind", StringEquals: "harness" },
            ],
            Next: PREPARE_HARNESS_STATE,
          },
        ],
        Default: RUN_AGENT_STATE,
      },
      [PREPARE_HARNESS_STATE]: {
        Type: "Task",
        Comment: "Mints the task's capability for the container; returns {capability}",
        Resource: props.runnerFunctionArn,
        Parameters: { action: "prepare_harness", "tenant_id.$": "$.tenant_id", "task_id.$": "$.task_id" },
        ResultPath: "$.harness",
        TimeoutSeconds: 60,
        Retry: retry,
        Catch: recordFailure,
        Next: HARNESS_STATE,
      },
      [HARNESS_STATE]: {
        Type: "Task",
        Comment: "Runs the harness container on Fargate and waits for it; StopExecution stops it",
        Resource: ECS_RUN_TASK_SYNC,
        Parameters: {
          Cluster: harness.clusterArn,
          TaskDefinition: harness.taskDefinitionArn,
          LaunchType: "FARGATE",
          NetworkConfiguration: {
            AwsvpcConfiguration: {
              Subnets: [...harness.subnetIds],
              SecurityGroups: [...harness.securityGroupIds],
              AssignPublicIp: harness.assignPublicIp ? "ENABLED" : "DISABLED",
            },
          },
          Overrides: {
            ContainerOverrides: [
              {
                Name: harness.containerName,
                Environment: [
                  { Name: HARNESS_ENV.apiUrl, Value: harness.apiUrl },
                  { Name: HARNESS_ENV.tenantId, "Value.$": "$.tenant_id" },
                  { Name: HARNESS_ENV.taskId, "Value.$": "$.task_id" },
                  { Name: HARNESS_ENV.capability, "Value.$": "$.harness.capability" },
                ],
              },
            ],
          },
        },
        // The ECS task description is not needed downstream: the task's outcome is on the task.
        ResultPath: null,
        TimeoutSeconds: harness.timeoutSeconds ?? DEFAULT_HARNESS_TIMEOUT_SECONDS,
        Retry: [
          {
            ErrorEquals: [...RETRYABLE_ECS_ERRORS],
            IntervalSeconds: 5,
            MaxAttempts: 3,
            BackoffRate: 2,
            JitterStrategy: "FULL",
          },
        ],
        Catch: recordFailure,
        Next: "Done",
      },
      [RUN_AGENT_STATE]: {
        Type: "Task",
        Comment: "Runs model turns for one time budget; returns {tenant_id, task_id, done}",
        Resource: props.runnerFunctionArn,
        Parameters: { action: "run", "tenant_id.$": "$.tenant_id", "task_id.$": "$.task_id" },
        TimeoutSeconds: props.stepTimeoutSeconds ?? DEFAULT_STEP_TIMEOUT_SECONDS,
        Retry: retry,
        Catch: recordFailure,
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
