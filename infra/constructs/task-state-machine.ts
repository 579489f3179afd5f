import { ArnFormat, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Grant, type IGrantable } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import {
  DEFAULT_STEP_TIMEOUT_SECONDS,
  DEFAULT_EXECUTION_TIMEOUT_SECONDS as DEFAULT_TIMEOUT_SECONDS,
  type HarnessRunProps,
  stateMachineDefinition,
} from "../../shared/state-machine/definition.js";
import { acknowledgeGrantWildcards } from "./nag.js";
import { ConstructPropsError } from "./props-error.js";
import type { RunnerFunction } from "./runner-function.js";

export interface TaskStateMachineProps {
  /** The step Lambda every Task state invokes. */
  readonly runner: Pick<RunnerFunction, "functionArn" | "grantInvoke" | "timeout">;
  /** A fixed name, so the runner can be given the state machine's ARN without a dependency cycle. @default generated */
  readonly stateMachineName?: string;
  /** Hard limit on one execution. @default the definition's default (86 700 s) */
  readonly timeoutSeconds?: number;
  /** Limit on one runner step; at least the runner's Lambda timeout. @default the definition's default (900 s) */
  readonly stepTimeoutSeconds?: number;
  /** Attempts for a retryable step error. @default the definition's default (6) */
  readonly maxAttempts?: number;
  /** What the execution log records: ALL (every state transition) or ERROR. @default LogLevel.ALL */
  readonly logLevel?: LogLevel.ALL | LogLevel.ERROR;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Where RunHarness runs harness tasks (a HarnessTask), and how the state machine's role is
   * allowed to. @default none: the definition's local placeholders (harness tasks cannot run)
   */
  readonly harness?: {
    readonly run: HarnessRunProps;
    grantRun(grantee: IGrantable): Grant;
  };
}

/** A state machine by ARN, for constructs that must not depend on it (the API: RunHarness needs its URL). */
export interface TaskStateMachineRef {
  readonly stateMachineArn: string;
  grantStartExecution(grantee: IGrantable): Grant;
  grantStopExecution(grantee: IGrantable): Grant;
}

/**
 * The task state machine: a Standard execution per task, from THE definition in
 * shared/state-machine/definition.ts (the same object the local runtime runs), with execution
 * logs and X-Ray tracing. Its role may invoke only the runner.
 */
export class TaskStateMachine extends Construct {
  readonly stateMachine: StateMachine;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: TaskStateMachineProps) {
    super(scope, id);
    const stepTimeout = props.stepTimeoutSeconds ?? DEFAULT_STEP_TIMEOUT_SECONDS;
    const timeout = props.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const runnerTimeout = props.runner.timeout.toSeconds();
    if (stepTimeout < runnerTimeout) {
      throw new ConstructPropsError(
        this.node.path,
        `stepTimeoutSeconds (${stepTimeout}) must be at least the runner's timeout (${runnerTimeout} s)`,
      );
    }
    if (timeout <= stepTimeout) {
      throw new ConstructPropsError(
        this.node.path,
        `timeoutSeconds (${timeout}) must exceed stepTimeoutSeconds (${stepTimeout})`,
      );
    }
    if (props.maxAttempts !== undefined && (!Number.isInteger(props.maxAttempts) || props.maxAttempts < 0)) {
      throw new ConstructPropsError(this.node.path, "maxAttempts must be a non-negative integer");
    }

    const definition = stateMachineDefinition({
      runnerFunctionArn: props.runner.functionArn,
      ...(props.timeoutSeconds !== undefined ? { timeoutSeconds: props.timeoutSeconds } : {}),
      ...(props.stepTimeoutSeconds !== undefined ? { stepTimeoutSeconds: props.stepTimeoutSeconds } : {}),
      ...(props.maxAttempts !== undefined ? { maxAttempts: props.maxAttempts } : {}),
      ...(props.harness ? { harness: props.harness.run } : {}),
    });

    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // Tokens inside the JSON text (the runner ARN) become an Fn::Join in the template.
    this.stateMachine = new StateMachine(this, "StateMachine", {
      definitionBody: DefinitionBody.fromString(JSON.stringify(definition)),
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
      stateMachineType: StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: {
        destination: this.logGroup,
        level: props.logLevel ?? LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    props.runner.grantInvoke(this.stateMachine);
    if (props.harness) {
      const grant = props.harness.grantRun(this.stateMachine);
      acknowledgeGrantWildcards(
        this.stateMachine,
        grant,
        "ecs:StopTask and ecs:DescribeTasks of the harness cluster's tasks, whose IDs ECS assigns at run " +
          "time (and conditioned on that cluster): what ecs:runTask.sync needs to follow and stop its task",
      );
    }
    Validations.of(this.stateMachine.role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Only the X-Ray (PutTraceSegments, PutTelemetryRecords, GetSampling*) and CloudWatch Logs delivery " +
        "actions that Step Functions tracing and logging require; AWS supports no narrower resource for them",
    });
  }

  /** Lets the grantee start executions of this state machine (states:StartExecution on its ARN). */
  grantStartExecution(grantee: IGrantable): Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** Lets the grantee stop executions of this state machine, and no other (execution:<name>:*). */
  grantStopExecution(grantee: IGrantable): Grant {
    return this.grantOnExecutions(grantee, "states:StopExecution");
  }

  /** DescribeExecution of this state machine's executions (what the reconciler's sweep reads). */
  grantDescribeExecution(grantee: IGrantable): Grant {
    return this.grantOnExecutions(grantee, "states:DescribeExecution");
  }

  /** An action on this state machine's executions (execution:<name>:*), its wildcard acknowledged. */
  private grantOnExecutions(grantee: IGrantable, action: string): Grant {
    const grant = this.stateMachine.grantExecution(grantee, action);
    acknowledgeGrantWildcards(
      grantee,
      grant,
      "Execution names are task IDs, known only at run time: the wildcard covers executions of this state machine only",
    );
    return grant;
  }

  get stateMachineArn(): string {
    return this.stateMachine.stateMachineArn;
  }

  /**
   * The state machine named `stateMachineName` in `scope`'s stack, by its ARN alone: grants on it
   * reference no resource, so the grantee does not depend on the state machine (which may then
   * depend on the grantee, e.g. on the API's URL).
   */
  static fromName(scope: Construct, id: string, stateMachineName: string): TaskStateMachineRef {
    const stack = Stack.of(scope);
    const stateMachineArn = stack.formatArn({
      service: "states",
      resource: "stateMachine",
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const executions = stack.formatArn({
      service: "states",
      resource: "execution",
      resourceName: `${stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const imported = StateMachine.fromStateMachineArn(scope, id, stateMachineArn);
    const reason =
      "Execution names are task IDs, known only at run time: the wildcard covers executions of this state machine only";
    return {
      stateMachineArn,
      grantStartExecution: (grantee) => imported.grantStartExecution(grantee),
      grantStopExecution: (grantee) => {
        const grant = Grant.addToPrincipal({
          grantee,
          actions: ["states:StopExecution"],
          resourceArns: [executions],
        });
        acknowledgeGrantWildcards(grantee, grant, reason);
        return grant;
      },
    };
  }
}
