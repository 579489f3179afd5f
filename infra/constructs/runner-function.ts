import { ArnFormat, Duration, Stack } from "aws-cdk-lib";
import { Grant, type IGrantable } from "aws-cdk-lib/aws-iam";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { acknowledgeGrantWildcards } from "./nag.js";
import { createNodeFunction, secretsExtension } from "./node-function.js";
import { ConstructPropsError } from "./props-error.js";
import type { TaskTable } from "./task-table.js";

export interface RunnerFunctionProps {
  readonly table: TaskTable;
  /**
   * The service secret: decrypts each tenant's own secrets (`${env.NAME}`, provider keys). Read
   * through the Parameters and Secrets extension at the first step, never in the environment.
   */
  readonly serviceSecret: ISecret;
  /**
   * The task state machine, by ARN and name (fixed, so there is no dependency cycle): a sub-agent
   * with the `background_agents` toolset starts and stops executions of it. @default no nested dispatch
   */
  readonly stateMachine?: { readonly arn: string; readonly name: string };
  /** Let tenants use the amazon-bedrock provider (invoke any foundation model / inference profile). @default true */
  readonly bedrock?: boolean;
  /** Model turns one step runs before it hands back to the state machine. @default 600 */
  readonly budgetSeconds?: number;
  /** Lambda timeout; must leave room after the budget for one model turn. @default 15 minutes */
  readonly timeout?: Duration;
  /**
   * Lambda bills GB-seconds, and the runner mostly waits on the model stream: 512 MB is
   * ample memory (a cold start has less CPU than at 1024 MB). @default 512
   */
  readonly memorySize?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/** Least time a step keeps after its budget for the model turn in flight and the last flush. */
const MIN_TURN_SECONDS = 120;

/**
 * The agent step Lambda (functions/runner/handler.ts) that every Task state of the state
 * machine invokes: it runs model turns for a time budget and records output in the table. Its
 * tenants' configs and secrets come from the table; it may read the service secret and no other.
 */
export class RunnerFunction extends Construct {
  readonly function: LambdaFunction;
  readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: RunnerFunctionProps) {
    super(scope, id);
    const budgetSeconds = props.budgetSeconds ?? 600;
    this.timeout = props.timeout ?? Duration.minutes(15);
    const timeoutSeconds = this.timeout.toSeconds();
    if (!Number.isInteger(budgetSeconds) || budgetSeconds < 10) {
      throw new ConstructPropsError(
        this.node.path,
        `budgetSeconds must be an integer ≥ 10 (got ${budgetSeconds})`,
      );
    }
    if (timeoutSeconds > 900) {
      throw new ConstructPropsError(this.node.path, "timeout must be at most 15 minutes (the Lambda limit)");
    }
    if (timeoutSeconds < budgetSeconds + MIN_TURN_SECONDS) {
      throw new ConstructPropsError(
        this.node.path,
        `timeout (${timeoutSeconds} s) must exceed budgetSeconds (${budgetSeconds}) by at least ${MIN_TURN_SECONDS} s`,
      );
    }

    this.function = createNodeFunction(this, "Function", {
      entry: "functions/runner/handler.ts",
      description: "Background Agents: runs a sub-agent's model turns for one step of its execution",
      timeout: this.timeout,
      memorySize: props.memorySize ?? 512,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      paramsAndSecrets: secretsExtension(),
      environment: {
        BGA_TABLE_NAME: props.table.tableName,
        BGA_RUNNER_BUDGET_SECONDS: String(budgetSeconds),
        BGA_ALLOW_PRIVATE_NETWORK: "false",
        BGA_SERVICE_SECRET_ARN: props.serviceSecret.secretArn,
        ...(props.stateMachine ? { BGA_STATE_MACHINE_ARN: props.stateMachine.arn } : {}),
      },
    });
    props.table.grantReadWriteData(this.function);
    props.serviceSecret.grantRead(this.function);
    if (props.bedrock ?? true) {
      // The amazon-bedrock provider calls ConverseStream with this role (no keys anywhere).
      const bedrock = Grant.addToPrincipal({
        grantee: this.function,
        actions: ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
        resourceArns: [
          "arn:aws:bedrock:*::foundation-model/*",
          Stack.of(this).formatArn({
            service: "bedrock",
            region: "*",
            resource: "inference-profile",
            resourceName: "*",
          }),
        ],
      });
      acknowledgeGrantWildcards(
        this.function,
        bedrock,
        "Tenants choose their Bedrock models in their agent configs: any foundation model or inference profile, invoke only",
      );
    }
    if (props.stateMachine) {
      // Nested dispatch: start executions of the task state machine, stop its executions; nothing else.
      Grant.addToPrincipal({
        grantee: this.function,
        actions: ["states:StartExecution"],
        resourceArns: [props.stateMachine.arn],
      });
      const stop = Grant.addToPrincipal({
        grantee: this.function,
        actions: ["states:StopExecution"],
        resourceArns: [
          Stack.of(this).formatArn({
            service: "states",
            resource: "execution",
            resourceName: `${props.stateMachine.name}:*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      });
      acknowledgeGrantWildcards(
        this.function,
        stop,
        "StopExecution on the executions of the task state machine only (execution:<its name>:*): a parent's stop cascades to the children it started",
      );
    }
  }

  get functionArn(): string {
    return this.function.functionArn;
  }

  /** Lets the state machine invoke the step (lambda:InvokeFunction on the function and its versions). */
  grantInvoke(grantee: IGrantable): Grant {
    const grant = this.function.grantInvoke(grantee);
    acknowledgeGrantWildcards(
      grantee,
      grant,
      "<runner ARN>:* covers only versions and aliases of the runner function itself",
    );
    return grant;
  }
}
