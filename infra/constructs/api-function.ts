import { Duration } from "aws-cdk-lib";
import {
  type FunctionUrl,
  FunctionUrlAuthType,
  InvokeMode,
  ParamsAndSecretsLayerVersion,
  ParamsAndSecretsVersions,
} from "aws-cdk-lib/aws-lambda";
import type { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { createNodeFunction, LAMBDA_TASK_ROOT } from "./node-function.js";
import { ConstructPropsError } from "./props-error.js";
import { AGENT_CONFIG_FILE } from "./runner-function.js";
import type { TaskStateMachine } from "./task-state-machine.js";
import type { TaskTable } from "./task-table.js";

export interface ApiFunctionProps {
  readonly table: TaskTable;
  readonly stateMachine: Pick<
    TaskStateMachine,
    "stateMachineArn" | "grantStartExecution" | "grantStopExecution"
  >;
  /** Absolute path of the default tenant's agent config YAML, copied into the bundle. */
  readonly agentConfigFile: string;
  /** Secret holding the default tenant's API key (read at the first request, never in the environment). */
  readonly defaultTenantKey: ISecret;
  /** Secret holding the admin token (for the admin API). */
  readonly adminToken: ISecret;
  /** Longest request: `wait` may block 840 s and SSE streams follow a task. @default 15 minutes */
  readonly timeout?: Duration;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/** The longest `wait_background_agents` timeout (SPEC §3) plus time to answer. */
const MIN_TIMEOUT_SECONDS = 840 + 30;

/**
 * The API Lambda (functions/api/handler.ts): the Hono app behind a Function URL with response
 * streaming (SSE). The URL needs no IAM auth: the app checks bearer keys itself. It may start
 * executions of the task state machine and stop them, and nothing else in Step Functions.
 */
export class ApiFunction extends Construct {
  readonly function: NodejsFunction;
  readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: ApiFunctionProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.minutes(15);
    if (timeout.toSeconds() < MIN_TIMEOUT_SECONDS || timeout.toSeconds() > 900) {
      throw new ConstructPropsError(
        this.node.path,
        `timeout must be between ${MIN_TIMEOUT_SECONDS} s (the longest wait) and 900 s (the Lambda limit)`,
      );
    }

    this.function = createNodeFunction(this, "Function", {
      entry: "functions/api/handler.ts",
      description: "Background Agents: MCP, REST and tool gateway (Hono)",
      timeout,
      memorySize: props.memorySize ?? 1024,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      files: { [AGENT_CONFIG_FILE]: props.agentConfigFile },
      paramsAndSecrets: ParamsAndSecretsLayerVersion.fromVersion(ParamsAndSecretsVersions.V1_0_103, {
        cacheSize: 10,
      }),
      environment: {
        BGA_TABLE_NAME: props.table.tableName,
        BGA_STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
        BGA_CONFIG: `${LAMBDA_TASK_ROOT}/${AGENT_CONFIG_FILE}`,
        BGA_ALLOW_PRIVATE_NETWORK: "false",
        BGA_DEFAULT_TENANT_KEY_SECRET_ARN: props.defaultTenantKey.secretArn,
        BGA_ADMIN_TOKEN_SECRET_ARN: props.adminToken.secretArn,
      },
    });

    props.table.grantReadWriteData(this.function);
    props.stateMachine.grantStartExecution(this.function);
    props.stateMachine.grantStopExecution(this.function);
    props.defaultTenantKey.grantRead(this.function);
    props.adminToken.grantRead(this.function);

    this.url = this.function.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.RESPONSE_STREAM,
    });
  }
}
