import { Duration } from "aws-cdk-lib";
import type { Grant, IGrantable } from "aws-cdk-lib/aws-iam";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { acknowledgeGrantWildcards } from "./nag.js";
import { createNodeFunction, LAMBDA_TASK_ROOT } from "./node-function.js";
import { ConstructPropsError } from "./props-error.js";
import type { TaskTable } from "./task-table.js";

/** Name of the agent config file inside the runner and API bundles. */
export const AGENT_CONFIG_FILE = "agent-config.yaml";

export interface RunnerFunctionProps {
  readonly table: TaskTable;
  /** Absolute path of the default tenant's agent config YAML, copied into the bundle. */
  readonly agentConfigFile: string;
  /** Model turns one step runs before it hands back to the state machine. @default 600 */
  readonly budgetSeconds?: number;
  /** Lambda timeout; must leave room after the budget for one model turn. @default 15 minutes */
  readonly timeout?: Duration;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/** Least time a step keeps after its budget for the model turn in flight and the last flush. */
const MIN_TURN_SECONDS = 120;

/**
 * The agent step Lambda (functions/runner/handler.ts) that every Task state of the state
 * machine invokes: it runs model turns for a time budget and records output in the table.
 */
export class RunnerFunction extends Construct {
  readonly function: NodejsFunction;
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
      memorySize: props.memorySize ?? 1024,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      files: { [AGENT_CONFIG_FILE]: props.agentConfigFile },
      environment: {
        BGA_TABLE_NAME: props.table.tableName,
        BGA_RUNNER_BUDGET_SECONDS: String(budgetSeconds),
        BGA_CONFIG: `${LAMBDA_TASK_ROOT}/${AGENT_CONFIG_FILE}`,
        BGA_ALLOW_PRIVATE_NETWORK: "false",
      },
    });
    props.table.grantReadWriteData(this.function);
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
